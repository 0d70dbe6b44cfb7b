"""Unit tests of server/staff_file.py. argon2id is slow: one account is hashed for the module."""

import json
import shutil
import stat
from pathlib import Path

import pytest

from server import staff_file
from server.staff_file import StaffFileError

NAME = "anna.staff"
PASSWORD = "long enough secret"


@pytest.fixture(scope="module")
def account_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("staff") / "staff.json"
    staff_file.add(path, NAME, PASSWORD)
    return path


@pytest.fixture
def copy(account_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "staff.json"
    shutil.copy(account_file, path)
    return path


# ---------------------------------------------------------------- add and verify


def test_verify_with_the_right_password(account_file: Path) -> None:
    assert staff_file.verify(account_file, NAME, PASSWORD) is True


def test_verify_with_a_wrong_password(account_file: Path) -> None:
    assert staff_file.verify(account_file, NAME, PASSWORD + "!") is False


def test_verify_of_an_unknown_name(account_file: Path) -> None:
    assert staff_file.verify(account_file, "nobody", PASSWORD) is False


def test_stored_hash_is_argon2id_and_password_is_not_in_the_file(account_file: Path) -> None:
    text = account_file.read_text()
    assert staff_file.read(account_file)[NAME].startswith("$argon2id$")
    assert PASSWORD not in text


def test_file_is_owner_only(account_file: Path) -> None:
    assert stat.S_IMODE(account_file.stat().st_mode) == 0o600


def test_no_temporary_files_are_left_behind(account_file: Path) -> None:
    assert [p.name for p in account_file.parent.iterdir()] == ["staff.json"]


def test_verify_against_a_missing_file_is_false(tmp_path: Path) -> None:
    assert staff_file.verify(tmp_path / "none.json", NAME, PASSWORD) is False


def test_verify_against_a_broken_hash_is_false(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    staff_file.write(path, {NAME: "not-a-hash"})
    assert staff_file.verify(path, NAME, PASSWORD) is False


def test_non_ascii_password_over_the_byte_limit_is_refused_at_add(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    with pytest.raises(staff_file.StaffFileError, match="256 bytes"):
        staff_file.add(path, NAME, "é" * 200)  # 200 characters, 400 bytes
    assert not path.exists()


# ---------------------------------------------------------------- read, write, remove


def test_missing_file_means_no_staff(tmp_path: Path) -> None:
    assert staff_file.read(tmp_path / "none.json") == {}


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "staff.json"
    staff_file.write(path, {"b": "$argon2id$2", "a": "$argon2id$1"})
    assert staff_file.read(path) == {"a": "$argon2id$1", "b": "$argon2id$2"}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_remove(copy: Path) -> None:
    assert staff_file.remove(copy, NAME) is True
    assert staff_file.read(copy) == {}
    assert staff_file.remove(copy, NAME) is False


def test_remove_from_missing_file_is_false(tmp_path: Path) -> None:
    assert staff_file.remove(tmp_path / "none.json", NAME) is False
    assert not (tmp_path / "none.json").exists()


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        "[]",
        "null",
        '"staff"',
        "{}",
        '{"staff": []}',
        '{"staff": {"anna": 1}}',
        '{"staff": {"anna": null}}',
    ],
)
def test_corrupt_file_is_a_staff_file_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "staff.json"
    path.write_text(content)
    with pytest.raises(StaffFileError, match="not in the expected format"):
        staff_file.read(path)


def test_unreadable_path_is_a_staff_file_error(tmp_path: Path) -> None:
    with pytest.raises(StaffFileError, match="cannot read the staff file"):
        staff_file.read(tmp_path)


def test_non_utf8_file_is_a_staff_file_error(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    path.write_bytes(b'\xff\xfe{"staff": {}}')
    with pytest.raises(StaffFileError):
        staff_file.read(path)


def test_add_to_a_corrupt_file_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    path.write_text("{")
    with pytest.raises(StaffFileError):
        staff_file.add(path, NAME, PASSWORD)
    assert path.read_text() == "{"


# ---------------------------------------------------------------- names and passwords


@pytest.mark.parametrize("name", ["a", "Anna", "anna.staff", "a_b-c@example.org", "9" * 40])
def test_good_names(name: str) -> None:
    assert staff_file.check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".anna", "-anna", "an na", "anna\n", "ánna", "a" * 41, "anna/x", "a:b"]
)
def test_bad_names(name: str) -> None:
    with pytest.raises(StaffFileError, match="staff name"):
        staff_file.check_name(name)


@pytest.mark.parametrize("password", ["", "short", "x" * 9, "x" * 257])
def test_bad_password_lengths(password: str) -> None:
    with pytest.raises(StaffFileError, match="at least 10 characters and at most 256 bytes"):
        staff_file.check_password(password)


def test_bad_name_or_password_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    with pytest.raises(StaffFileError):
        staff_file.add(path, "bad name", PASSWORD)
    with pytest.raises(StaffFileError):
        staff_file.add(path, NAME, "short")
    assert not path.exists()


def test_file_format(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    staff_file.write(path, {"anna": "$argon2id$x"})
    assert json.loads(path.read_text()) == {"staff": {"anna": "$argon2id$x"}}
