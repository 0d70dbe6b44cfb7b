"""Unit tests of the `quietroom staff` commands in server/cli.py."""

import io
from pathlib import Path

import pytest

from server import staff_file
from server.cli import main

PASSWORD = "long enough secret"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "staff.json"


def staff(path: Path, *args: str, environ: dict[str, str] | None = None) -> int:
    return main(["staff", "--staff-file", str(path), *args], environ or {})


def typed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_add_with_password_stdin_then_verify(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed(monkeypatch, PASSWORD + "\n")
    assert staff(path, "add", "anna", "--password-stdin") == 0
    out = capsys.readouterr().out
    assert "'anna' saved" in out
    assert PASSWORD not in out
    assert staff_file.verify(path, "anna", PASSWORD) is True


def test_list_prints_sorted_names(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staff_file.write(path, {"zoe": "$argon2id$z", "anna": "$argon2id$a"})
    assert staff(path, "list") == 0
    assert capsys.readouterr().out == "anna\nzoe\n"


def test_list_of_missing_file_is_empty(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert staff(path, "list") == 0
    assert capsys.readouterr().out == ""


def test_staff_file_from_environment(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staff_file.write(path, {"anna": "$argon2id$a"})
    assert main(["staff", "list"], {"QUIETROOM_STAFF_FILE": str(path)}) == 0
    assert capsys.readouterr().out == "anna\n"


def test_remove(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staff_file.write(path, {"zoe": "$argon2id$z", "anna": "$argon2id$a"})
    assert staff(path, "remove", "anna") == 0
    assert "'anna' removed" in capsys.readouterr().out
    assert staff_file.read(path) == {"zoe": "$argon2id$z"}


def test_remove_unknown_name_is_exit_1(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    staff_file.write(path, {"zoe": "$argon2id$z"})
    assert staff(path, "remove", "anna") == 1
    assert "no staff account named 'anna'" in capsys.readouterr().err
    assert staff_file.read(path) == {"zoe": "$argon2id$z"}


@pytest.mark.parametrize("name", ["bad name", ".anna", "a" * 41, "ánna"])
def test_add_with_invalid_name_is_exit_2(
    path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed(monkeypatch, PASSWORD + "\n")
    assert staff(path, "add", name, "--password-stdin") == 2
    err = capsys.readouterr().err
    assert err.startswith("quietroom staff: a staff name is 1 to 40")
    assert not path.exists()


@pytest.mark.parametrize("password", ["", "\n", "short\n", "123456789\n"])
def test_add_with_too_short_password_is_exit_2(
    path: Path,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typed(monkeypatch, password)
    assert staff(path, "add", "anna", "--password-stdin") == 2
    assert "a password is at least 10 characters and at most 256 bytes" in capsys.readouterr().err
    assert not path.exists()


def test_corrupt_staff_file_is_exit_2(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.write_text("{not json")
    assert staff(path, "list") == 2
    assert "staff file is not in the expected format" in capsys.readouterr().err


def test_staff_without_action_is_a_usage_error(path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        staff(path)
    assert exc.value.code == 2


def test_non_utf8_staff_file_is_exit_2(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert staff(path, "list") == 2
    assert "quietroom staff:" in capsys.readouterr().err
