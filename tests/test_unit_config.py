"""Unit tests of server/config.py: defaults, precedence, and every refused value."""

import os
import re
from pathlib import Path

import pytest

from server.config import OPTIONS, Config, ConfigError, load, parse_duration
from signaling.call import ChatLimit


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def test_defaults(config_home: Path) -> None:
    config = load([], {})
    assert config == Config(
        host="127.0.0.1",
        port=8443,
        tls_cert="",
        tls_key="",
        plain_http=False,
        public_url="",
        ice_addresses=[],
        staff_file=str(config_home / "quietroom" / "staff.json"),
        trusted_proxy=[],
        call_expiry=7200.0,
        max_participants=4,
        reconnect_grace=120.0,
        staff_session=43200.0,
        calls_per_staff=20,
        log_level="INFO",
        turn_urls=[],
        turn_secret="",
        audio_only_below=150,
        video_back_above=300,
        consent_file={},
        handout_file={},
        exit_url="https://www.google.com/search?q=weather",
        check_in_minutes=15,
        organization="",
        metrics_address="",
        lobby_knocks=20,
        chat_limit=ChatLimit(lines=5, seconds=10.0),
        require_e2ee=False,
        sockets_per_address=64,
        sip_listen="",
        sip_trunk=[],
        sip_address="",
        sip_user="",
        sip_password="",
        dial_in_number="",
        media_workers=os.cpu_count() or 1,
        media_port=40000,
        media_tcp_port=40000,
    )
    assert Config.defaults() == config


@pytest.mark.parametrize(("raw", "workers"), [("0", 0), ("3", 3), ("auto", os.cpu_count() or 1)])
def test_media_workers(raw: str, workers: int) -> None:
    assert load(["--media-workers", raw], {}).media_workers == workers
    assert load([], {"QUIETROOM_MEDIA_WORKERS": raw}).media_workers == workers


@pytest.mark.parametrize(
    ("argv", "udp", "tcp"),
    [
        (["--media-port", "5000", "--media-tcp-port", "443"], 5000, 443),
        (["--media-port", "0", "--media-tcp-port", "0"], 0, 0),
        (["--media-tcp-port", "off"], 40000, None),
        (["--media-tcp-port", "OFF"], 40000, None),
    ],
)
def test_media_ports(argv: list[str], udp: int, tcp: int | None) -> None:
    config = load(argv, {})
    assert (config.media_port, config.media_tcp_port) == (udp, tcp)
    env = {"QUIETROOM_MEDIA_PORT": argv[1], "QUIETROOM_MEDIA_TCP_PORT": argv[-1]}
    config = load([], env) if len(argv) == 4 else config
    assert (config.media_port, config.media_tcp_port) == (udp, tcp)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--media-port", "70000"], "--media-port"),
        (["--media-port", "udp"], "--media-port"),
        (["--media-tcp-port", "-1"], "--media-tcp-port"),
        (["--media-tcp-port", "on"], "--media-tcp-port"),
        (["--media-port", "65535", "--media-workers", "2"], "--media-port + the number"),
        (["--media-tcp-port", "65534", "--media-workers", "3"], "--media-tcp-port + the number"),
    ],
)
def test_bad_media_ports_say_which(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(argv, {})


SIP = ["--sip-listen", "127.0.0.1:5060", "--sip-trunk", "10.1.2.0/24", "--dial-in-number"]


def test_phones_are_set_together() -> None:
    config = load([*SIP, " +1  555 (010) 0199 "], {"QUIETROOM_SIP_PASSWORD": "s3cret-pass"}
                  | {"QUIETROOM_SIP_USER": "trunk-1"})  # fmt: skip
    assert config.sip_listen == "127.0.0.1:5060"
    assert config.sip_trunk == ["10.1.2.0/24"]
    assert config.dial_in_number == "+1 555 (010) 0199"
    assert (config.sip_user, config.sip_password) == ("trunk-1", "s3cret-pass")
    everywhere = load(["--sip-listen", "0.0.0.0:5060", "--sip-address", "203.0.113.9",
                       *SIP[2:], "555 0100"], {})  # fmt: skip
    assert everywhere.sip_address == "203.0.113.9"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--sip-listen", "127.0.0.1:5060"], {}, "--sip-listen needs --sip-trunk"),
        (SIP[:4], {}, "--sip-listen needs --dial-in-number"),
        ([*SIP, "call us"], {}, "--dial-in-number: 'call us' is not valid"),
        ([*SIP, "+1 555 0100", "--sip-user", "trunk"], {}, "--sip-user and --sip-password"),
        ([*SIP, "555 0100"], {"QUIETROOM_SIP_PASSWORD": "short"}, "QUIETROOM_SIP_PASSWORD: the"),
        ([*SIP, "555 0100", "--sip-user", "a b"], {}, "--sip-user"),
        ([*SIP, "555 0100", "--sip-trunk", "example.org"], {}, "--sip-trunk"),
        (["--sip-listen", "[::]:5060", *SIP[2:], "555 0100"], {}, "needs --sip-address"),
        (["--sip-listen", "pbx:5060", *SIP[2:], "555 0100"], {}, "--sip-listen"),
        ([*SIP, "555 0100", "--sip-address", "pbx.example"], {}, "--sip-address"),
    ],
)
def test_bad_phone_settings_say_which(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        load(argv, env)
    assert "short" not in str(refused.value)  # a password is never echoed


def test_the_last_worker_may_take_the_last_port() -> None:
    config = load(["--media-port", "65534", "--media-workers", "2"], {})
    assert config.media_port == 65534


@pytest.mark.parametrize("raw", ["-1", "65", "many"])
def test_bad_media_workers(raw: str) -> None:
    with pytest.raises(ConfigError, match="--media-workers"):
        load(["--media-workers", raw], {})


def test_every_option_has_a_flag_and_a_variable() -> None:
    option = next(o for o in OPTIONS if o.name == "max_participants")
    assert option.flag == "--max-participants"
    assert option.env == "QUIETROOM_MAX_PARTICIPANTS"


def test_env_beats_default() -> None:
    assert load([], {"QUIETROOM_PORT": "9000"}).port == 9000


def test_flag_beats_env() -> None:
    config = load(["--port", "9001"], {"QUIETROOM_PORT": "9000"})
    assert config.port == 9001


def test_flag_beats_env_beats_default_per_option() -> None:
    config = load(
        ["--max-participants", "6"],
        {"QUIETROOM_MAX_PARTICIPANTS": "3", "QUIETROOM_LOG_LEVEL": "debug"},
    )
    assert (config.max_participants, config.log_level, config.port) == (6, "DEBUG", 8443)


def test_overrides_beat_everything() -> None:
    assert load(["--port", "9001"], {}, port=0).port == 0


def test_staff_file_from_env() -> None:
    assert load([], {"QUIETROOM_STAFF_FILE": "/srv/staff.json"}).staff_file == "/srv/staff.json"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h", 7200), ("90m", 5400), ("3600", 3600), ("60s", 60), (" 1.5h ", 5400), ("7200", 7200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert load(["--call-expiry", text], {}).call_expiry == seconds


@pytest.mark.parametrize("text", ["soon", "", "2d", "-5m", "59", "30s", "169h", "1e4", "h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("port", "70000"),
        ("port", "-1"),
        ("port", "http"),
        ("max_participants", "1"),
        ("max_participants", "9"),
        ("max_participants", "four"),
        ("call_expiry", "soon"),
        ("staff_session", "forever"),
        ("ice_addresses", "not-an-ip"),
        ("ice_addresses", "192.0.2.1,not-an-ip"),
        ("log_level", "loud"),
        ("plain_http", "maybe"),
        ("require_e2ee", "maybe"),
        ("require_e2ee", "required"),
        ("public_url", "ftp://calls.example.org"),
        ("public_url", "calls.example.org"),
        ("turn_urls", "stun:stun.example.org"),
        ("turn_urls", "turn:a.example.org,http://b.example.org"),
        ("turn_urls", "turn:turn.example.org?transport=sctp"),
        ("turn_urls", ",".join(["turn:a.example.org"] * 5)),
        ("reconnect_grace", "forever"),
        ("reconnect_grace", "2h"),
        ("reconnect_grace", "-1"),
        ("turn_secret", "short"),
        ("turn_secret", "sixteen chars with spaces"),
        ("audio_only_below", "29"),
        ("audio_only_below", "slow"),
        ("video_back_above", "5001"),
        ("video_back_above", "300kbps"),
        ("metrics_address", "9464"),
        ("lobby_knocks", "-1"),
        ("chat_limit", "5"),
        ("chat_limit", "0/10s"),
        ("chat_limit", "5/0.5s"),
        ("chat_limit", "5/2h"),
        ("chat_limit", "1001/10s"),
        ("chat_limit", "five/10s"),
        ("trusted_proxy", "proxy.example.org"),
        ("sockets_per_address", "0"),
        ("metrics_address", "localhost:9464"),
        ("metrics_address", "127.0.0.1:0"),
        ("check_in_minutes", "121"),
        ("exit_url", "http://example.org/"),
    ],
)
def test_bad_value_names_the_flag_and_the_variable(name: str, value: str) -> None:
    flag = "--" + name.replace("_", "-")
    variable = "QUIETROOM_" + name.upper()
    with pytest.raises(ConfigError, match=f"^{flag}: "):
        load([flag, value], {})
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load([], {variable: value})


@pytest.mark.parametrize(
    ("raw", "lines", "seconds"),
    [("5/10s", 5, 10.0), ("5/10", 5, 10.0), (" 20 / 1m ", 20, 60.0), ("1/1.5s", 1, 1.5)],
)
def test_chat_limit(raw: str, lines: int, seconds: float) -> None:
    assert load(["--chat-limit", raw], {}).chat_limit == ChatLimit(lines, seconds)
    assert load([], {"QUIETROOM_CHAT_LIMIT": raw}).chat_limit == ChatLimit(lines, seconds)


def test_a_bad_chat_limit_says_what_is_expected() -> None:
    with pytest.raises(ConfigError) as refusal:
        load(["--chat-limit", "lots"], {})
    assert str(refusal.value) == (
        "--chat-limit: 'lots' is not valid: expected LINES/SECONDS such as 5/10s or 20/1m"
    )


def test_bad_value_from_env_is_ignored_when_flag_is_given() -> None:
    assert load(["--port", "8000"], {"QUIETROOM_PORT": "70000"}).port == 8000


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        (["--tls-cert", "cert.pem"], {}),
        (["--tls-key", "key.pem"], {}),
        ([], {"QUIETROOM_TLS_CERT": "cert.pem"}),
    ],
)
def test_tls_cert_and_key_go_together(argv: list[str], environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key"):
        load(argv, environ)


def test_video_comes_back_only_above_where_it_stopped() -> None:
    config = load(["--audio-only-below", "100"], {"QUIETROOM_VIDEO_BACK_ABOVE": "250"})
    assert (config.audio_only_below, config.video_back_above) == (100, 250)
    with pytest.raises(ConfigError, match="--video-back-above must be higher"):
        load(["--audio-only-below", "300"], {})


def test_tls_cert_and_key_together_are_accepted() -> None:
    config = load(["--tls-cert", "c.pem"], {"QUIETROOM_TLS_KEY": "k.pem"})
    assert (config.tls_cert, config.tls_key) == ("c.pem", "k.pem")


def test_ice_addresses_are_split_and_trimmed() -> None:
    config = load([], {"QUIETROOM_ICE_ADDRESSES": " 192.0.2.1, 2001:db8::1 ,,"})
    assert config.ice_addresses == ["192.0.2.1", "2001:db8::1"]


@pytest.mark.parametrize(
    ("text", "value"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)]
)
def test_plain_http_values(text: str, value: bool) -> None:
    assert load(["--plain-http", text], {}).plain_http is value


def test_require_e2ee_from_the_flag_or_the_variable() -> None:
    assert load(["--require-e2ee"], {}).require_e2ee is True  # the flag alone: true
    assert load(["--require-e2ee", "yes"], {}).require_e2ee is True
    assert load([], {"QUIETROOM_REQUIRE_E2EE": "true"}).require_e2ee is True
    assert load(["--require-e2ee", "false"], {"QUIETROOM_REQUIRE_E2EE": "1"}).require_e2ee is False
    assert load([], {"QUIETROOM_REQUIRE_E2EE": "off"}).require_e2ee is False


def test_a_bad_require_e2ee_says_what_is_expected() -> None:
    with pytest.raises(ConfigError) as refusal:
        load([], {"QUIETROOM_REQUIRE_E2EE": "always"})
    assert str(refusal.value) == (
        "QUIETROOM_REQUIRE_E2EE: 'always' is not valid: expected true or false"
    )


def test_public_url_loses_its_trailing_slash() -> None:
    assert load(["--public-url", "https://calls.example.org/"], {}).public_url == (
        "https://calls.example.org"
    )


def test_log_level_is_upper_cased() -> None:
    assert load(["--log-level", "warning"], {}).log_level == "WARNING"


def test_turn_urls_and_secret_go_together_and_the_secret_is_never_echoed() -> None:
    secret = "s3cret-s3cret-s3cret"
    with pytest.raises(ConfigError, match="--turn-urls and --turn-secret"):
        load(["--turn-urls", "turn:turn.example.org:3478"], {})
    with pytest.raises(ConfigError, match="--turn-urls and --turn-secret"):
        load([], {"QUIETROOM_TURN_SECRET": secret})
    config = load(
        ["--turn-urls", "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349"],
        {"QUIETROOM_TURN_SECRET": secret},
    )
    assert config.turn_urls == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    assert config.turn_secret == secret
    with pytest.raises(ConfigError) as caught:
        load([], {"QUIETROOM_TURN_SECRET": secret + " x"})
    assert secret not in str(caught.value)


def test_a_secret_that_starts_with_a_dash_is_read_with_the_equals_form() -> None:
    config = load(["--turn-urls=turn:a.example.org", "--turn-secret=-leading-dash-secret"], {})
    assert config.turn_secret == "-leading-dash-secret"


# ---------------------------------------------------------------- the organization's texts


def test_consent_and_handout_texts_by_language(tmp_path: Path) -> None:
    en, fr = tmp_path / "consent.en.txt", tmp_path / "consent.fr.txt"
    en.write_text("We keep no record.\r\nCall us any time.\x07\n", encoding="utf-8")
    fr.write_text("Nous ne gardons aucune trace.", encoding="utf-8")
    config = load(["--consent-file", f"en={en},fr={fr}", "--handout-file", str(en)], {})
    assert config.consent_file == {
        "en": "We keep no record.\nCall us any time.",
        "fr": "Nous ne gardons aucune trace.",
    }
    assert config.handout_file == {"en": config.consent_file["en"]} | {
        "fr": config.consent_file["en"]
    }
    from_env = load([], {"QUIETROOM_CONSENT_FILE": f"fr={fr}"})
    assert from_env.consent_file == {"fr": "Nous ne gardons aucune trace."}


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("missing.txt", "cannot read"),
        ("de=consent.txt", "unknown language"),
        ("en=consent.txt,en=consent.txt", "given twice"),
        ("en=", "LANGUAGE=PATH"),
        ("latin1.txt", "not UTF-8"),
        ("long.txt", "longer than"),
    ],
)
def test_bad_text_files_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, why: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "consent.txt").write_text("ok", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "long.txt").write_text("x" * 20001, encoding="utf-8")
    with pytest.raises(ConfigError, match="--consent-file") as info:
        load(["--consent-file", spec], {})
    assert why in str(info.value)


@pytest.mark.parametrize("url", ["https://www.example.org/", "https://news.example.ca/today?x=1"])
def test_exit_url(url: str) -> None:
    assert load(["--exit-url", url], {}).exit_url == url


@pytest.mark.parametrize(
    "url", ["http://www.example.org/", "javascript:alert(1)", "https://", "example.org", ""]
)
def test_bad_exit_url(url: str) -> None:
    with pytest.raises(ConfigError, match="--exit-url"):
        load(["--exit-url", url], {})


@pytest.mark.parametrize(("raw", "ok"), [("0", True), ("120", True), ("121", False), ("x", False)])
def test_check_in_minutes(raw: str, ok: bool) -> None:
    if ok:
        assert load([], {"QUIETROOM_CHECK_IN_MINUTES": raw}).check_in_minutes == int(raw)
    else:
        with pytest.raises(ConfigError, match="QUIETROOM_CHECK_IN_MINUTES"):
            load([], {"QUIETROOM_CHECK_IN_MINUTES": raw})
