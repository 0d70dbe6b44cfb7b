"""Unit tests of server/org_file.py through server/config.py: the organization's settings
file, its place among flags and variables, and every way a file is refused."""

from pathlib import Path

import pytest

from server.cli import main
from server.config import ConfigError, load
from server.state import State
from signaling.protocol import DisruptionPlan, ProtocolError

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "org.toml"


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def test_the_documented_example_is_valid_and_read_whole() -> None:
    config = load(["--org-file", str(EXAMPLE)], {})
    assert config.exit_url == "https://www.theweathernetwork.com/"
    assert (config.check_in_minutes, config.call_expiry, config.max_participants) == (15, 7200, 4)
    assert config.default_plan == DisruptionPlan("staff-calls-back", 10, "")
    assert config.hours.zone == "America/Toronto" and not config.hours.always_open
    assert len(config.hours.holidays) == 3
    assert config.consent_file["fr"].startswith("Shelter North offre du soutien")
    assert "1-800-555-0199" in config.handout_file["en"]
    assert config.organization == ""  # pages name no organization unless asked


def test_flags_and_variables_win_over_the_file(tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text('check_in_minutes = 30\nexit_url = "https://a.example.org/"\n')
    assert load([], {"QUIETROOM_ORG_FILE": str(org)}).check_in_minutes == 30
    config = load(
        ["--org-file", str(org), "--check-in-minutes", "5"],
        {"QUIETROOM_EXIT_URL": "https://b.example.org/"},
    )
    assert (config.check_in_minutes, config.exit_url) == (5, "https://b.example.org/")


def test_require_end_to_end_is_a_toml_boolean_and_flags_win(tmp_path: Path) -> None:
    org = tmp_path / "org.toml"
    org.write_text("require_end_to_end = true\n")
    assert load(["--org-file", str(org)], {}).require_e2ee is True
    assert load(["--org-file", str(org), "--require-e2ee", "false"], {}).require_e2ee is False
    org.write_text("require_end_to_end = false\n")
    assert load([], {"QUIETROOM_ORG_FILE": str(org)}).require_e2ee is False
    assert load(["--org-file", str(org)], {"QUIETROOM_REQUIRE_E2EE": "on"}).require_e2ee is True
    org.write_text('require_end_to_end = "true"\n')
    with pytest.raises(ConfigError) as refusal:
        load(["--org-file", str(org)], {})
    assert str(refusal.value) == (
        f"{org}, line 1: require_end_to_end: must be true or false (a TOML boolean, without quotes)"
    )


def test_a_reload_requires_end_to_end_for_the_next_joins(tmp_path: Path) -> None:
    """SIGHUP's State.reload: a page that cannot seal is refused from then on, also in a
    call made before; whoever is in a call already stays."""
    org = tmp_path / "org.toml"
    org.write_text("require_end_to_end = false\n")
    argv = ["--org-file", str(org), "--media-workers", "1"]  # no worker starts here
    state = State.create(load(argv, {}))
    call = state.store.create("river.staff", now=0)
    staff, _ = state.store.join_staff("river.staff", call.id, now=1)  # e2ee: false
    org.write_text("require_end_to_end = true\n")
    state.reload(load(argv, {}))
    assert state.config.require_e2ee is True and state.store.rules.require_e2ee is True
    token = next(iter(call.invites))
    with pytest.raises(ProtocolError) as refusal:
        state.store.join_invite(token, "", now=2, e2ee=False)
    assert refusal.value.code == "e2ee-required"
    person, _ = state.store.join_invite(token, "", now=3, e2ee=True)
    assert [p.id for p in call.in_lobby()] == [person.id]
    assert [p.id for p in call.in_call()] == [staff.id]
    org.write_text("")
    state.reload(load(argv, {}))
    assert state.store.join_invite(token, "", now=4, e2ee=False)


SECRET = "Only the shelter's own words"


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (f'exit_url = "https://ok.example.org/"\ncheck_in_minutes = "{SECRET}"\n', "line 2"),
        (f'[consent]\nen = "{SECRET}"\nde = "Hallo"\n', "line 1: consent: unknown language"),
        (f'[consent]\nen = "{SECRET}"\n\n[hours]\nmonday = ["9 to 5"]\n', "line 4: hours:"),
        (f'[hours]\ntime_zone = "Nowhere/{SECRET}"\n', "line 1: hours"),
        (f'organisation = "{SECRET}"\n', "line 1: unknown setting"),
        (f'[drop_plan]\naction = "pray"\nnote = "{SECRET}"\n', "line 1: drop_plan"),
        (f"max_participants = 12\n# {SECRET}\n", "line 1: max_participants"),
        (f"call_expiry = true\n# {SECRET}\n", "line 1: call_expiry"),
        (f'require_end_to_end = "{SECRET}"\n', "line 1: require_end_to_end: must be true"),
        (f"# {SECRET}\nrequire_end_to_end = 1\n", "line 2: require_end_to_end: must be true"),
        (f'exit_url = "http://{SECRET}"\n', "line 1: exit_url"),
        (f'[consent]\nen = "{SECRET}\n', "not valid TOML"),
        (f"check_in_minutes = 10\ncheck_in_minutes = 12 # {SECRET}\n", "line 2"),
    ],
)
def test_a_bad_file_is_refused_with_line_and_reason_and_none_of_its_content(
    tmp_path: Path, content: str, where: str
) -> None:
    org = tmp_path / "org.toml"
    org.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(["--org-file", str(org)], {})
    message = str(info.value)
    assert str(org) in message and where in message, message
    assert SECRET not in message and "Only" not in message


def test_an_unreadable_or_binary_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(["--org-file", str(tmp_path / "missing.toml")], {})
    binary = tmp_path / "org.toml"
    binary.write_bytes(b"exit_url = \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load(["--org-file", str(binary)], {})


def test_check_config_says_valid_or_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--org-file", str(EXAMPLE)], {}) == 0
    out = capsys.readouterr().out
    assert "are valid" in out and "America/Toronto" in out
    bad = tmp_path / "org.toml"
    bad.write_text("check_in_minutes = 500\n")
    assert main(["check-config", "--org-file", str(bad)], {}) == 2
    assert "line 1: check_in_minutes" in capsys.readouterr().err
    assert main(["check-config", "--port", "http"], {}) == 2
