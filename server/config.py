"""Every setting in one place: its CLI flag, its QUIETROOM_* variable, its default and its check."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from server.org_file import (
    OrgFileError,
    boolean,
    hours,
    org_name,
    plan,
    read_org_file,
    text,
    text_or_number,
    texts_by_language,
    whole_number,
)
from server.org_texts import parse_text_files
from signaling.call import ChatLimit
from signaling.hours import Hours
from signaling.protocol import DisruptionPlan


class ConfigError(Exception):
    """A setting with a value that cannot be used; the message names the setting."""


def parse_duration(text: str) -> float:
    """Seconds from '7200', '90m', '2h' or '30s'."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise ValueError("expected a duration such as 7200, 90m or 2h")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    if not 60 <= value <= 7 * 24 * 3600:
        raise ValueError("must be between 1 minute and 7 days")
    return value


def parse_grace(text: str) -> float:
    """Seconds (or 90s, 2m) someone whose connection dropped may take to come back."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([sm]?)\s*", text)
    if not match:
        raise ValueError("expected a duration such as 120, 90s or 2m")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60}[match.group(2)]
    if not 0 <= value <= 3600:
        raise ValueError("must be between 0 (no reconnection) and 1 hour")
    return value


def parse_networks(text: str) -> list[str]:
    """Comma-separated addresses or networks (10.0.0.5, 10.0.0.0/24, fd00::/8)."""
    items = [a.strip() for a in text.split(",") if a.strip()]
    return [str(ipaddress.ip_network(item, strict=False)) for item in items]


def parse_port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError("must be between 0 and 65535")
    return port


def parse_addresses(text: str) -> list[str]:
    items = [a.strip() for a in text.split(",") if a.strip()]
    for item in items:
        ipaddress.ip_address(item)
    return items


def parse_participants(text: str) -> int:
    value = int(text)
    if not 2 <= value <= 8:
        raise ValueError("must be between 2 and 8")
    return value


def parse_workers(text: str) -> int:
    """'auto' (one per core) or a count; 0 runs media inside the signaling process."""
    if text.strip().lower() == "auto":
        return os.cpu_count() or 1
    value = int(text)
    if not 0 <= value <= 64:
        raise ValueError("must be 'auto' or between 0 and 64")
    return value


def parse_tcp_port(text: str) -> int | None:
    """A port for ICE-TCP, or 'off' (None): no ICE over TCP."""
    if text.strip().lower() == "off":
        return None
    return parse_port(text)


def parse_calls_per_staff(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10000:
        raise ValueError("must be between 1 and 10000")
    return value


def parse_kbps(text: str) -> int:
    value = int(text)
    if not 30 <= value <= 5000:
        raise ValueError("must be between 30 and 5000 (kbit/s)")
    return value


def parse_check_in(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 120:
        raise ValueError("must be between 0 (no reminder) and 120 minutes")
    return value


def parse_exit_url(text: str) -> str:
    """Where the quick exit goes: a public https page, so nothing of the call shows."""
    if not re.fullmatch(r"https://[A-Za-z0-9.\-]+(:\d{1,5})?(/[^\s\"'<>\\]*)?", text.strip()):
        raise ValueError("expected an https address such as https://www.example.org/")
    return text.strip()


def parse_bind(text: str) -> str:
    """'' (off) or HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464."""
    text = text.strip()
    if not text:
        return ""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT such as 127.0.0.1:9464")
    ipaddress.ip_address(host.strip("[]"))
    if not 1 <= int(port) <= 65535:
        raise ValueError("the port must be between 1 and 65535")
    return text


def parse_count(text: str, lowest: int, highest: int) -> int:
    value = int(text)
    if not lowest <= value <= highest:
        raise ValueError(f"must be between {lowest} and {highest}")
    return value


def parse_chat_limit(text: str) -> ChatLimit:
    """LINES/SECONDS: at most LINES chat lines from one person in any SECONDS (5/10s, 20/1m)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*([sm]?)\s*", text)
    if not match:
        raise ValueError("expected LINES/SECONDS such as 5/10s or 20/1m")
    lines = int(match.group(1))
    seconds = float(match.group(2)) * (60 if match.group(3) == "m" else 1)
    if not 1 <= lines <= 1000:
        raise ValueError("the lines must be between 1 and 1000")
    if not 1 <= seconds <= 3600:
        raise ValueError("the time must be between 1 second and 1 hour")
    return ChatLimit(lines, seconds)


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_level(text: str) -> str:
    level = text.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("expected debug, info, warning or error")
    return level


def parse_url(text: str) -> str:
    if text and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/.*)?", text):
        raise ValueError("expected an address such as https://calls.example.org")
    return text.rstrip("/")


TURN_URL = re.compile(r"turns?:[A-Za-z0-9.\-\[\]:]{1,200}(\?transport=(udp|tcp))?")


def parse_turn_urls(text: str) -> list[str]:
    items = [u.strip() for u in text.split(",") if u.strip()]
    if len(items) > 4:
        raise ValueError("at most 4 TURN URLs")
    for item in items:
        if not TURN_URL.fullmatch(item):
            raise ValueError("expected URLs such as turn:turn.example.org:3478?transport=udp")
    return items


def parse_secret(text: str) -> str:
    if not 16 <= len(text) <= 256 or not text.isprintable() or " " in text:
        raise ValueError("must be 16 to 256 printable characters without spaces")
    return text


def parse_trunk_password(text: str) -> str:
    if not 8 <= len(text) <= 256 or not text.isprintable() or " " in text:
        raise ValueError("must be 8 to 256 printable characters without spaces")
    return text


def parse_sip_user(text: str) -> str:
    if text and not re.fullmatch(r"[A-Za-z0-9._~+-]{1,64}", text):
        raise ValueError("expected letters, digits and . _ ~ + - (at most 64)")
    return text


def parse_number(text: str) -> str:
    """The dial-in number as people should read it: digits, with + ( ) - . and spaces."""
    text = " ".join(text.split())
    if text and not re.fullmatch(r"\+?[0-9][0-9 ().-]{2,30}", text):
        raise ValueError("expected a phone number such as +1 555 010 0199")
    return text


def parse_address(text: str) -> str:
    text = text.strip()
    if text:
        ipaddress.ip_address(text)
    return text


REDIS_URL = re.compile(r"rediss?://[A-Za-z0-9.\-\[\]:]{1,200}(/\d{1,2})?")


def parse_redis_url(text: str) -> str:
    """redis://HOST:PORT/DB or rediss:// (TLS); the password goes in QUIETROOM_REDIS_PASSWORD,
    never in the address, which can show in a process list."""
    text = text.strip()
    if text and not REDIS_URL.fullmatch(text):
        raise ValueError(
            "expected an address such as redis://10.0.0.5:6379/0 (the password goes in"
            " QUIETROOM_REDIS_PASSWORD, not in the address)"
        )
    return text


def parse_node_address(text: str) -> str:
    """Where the other nodes reach this one: http(s)://HOST:PORT, on the private network."""
    text = text.strip().rstrip("/")
    if text and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]]{1,200}:\d{1,5}", text):
        raise ValueError("expected an address such as http://10.0.0.11:8444")
    return text


def default_staff_file() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return str(Path(base) / "quietroom" / "staff.json")


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "QUIETROOM_" + self.name.upper()


OPTIONS: list[Option] = [
    Option(
        "org_file",
        "",
        str,
        "the organization's settings file (TOML, only read; reloaded on SIGHUP): hours, "
        "texts, call rules; flags and variables win over it",
    ),
    Option("host", "127.0.0.1", str, "address the HTTPS server listens on"),
    Option("port", 8443, parse_port, "TCP port of the HTTPS server (0: any free port)"),
    Option("tls_cert", "", str, "PEM certificate file (empty: a self-signed one made in memory)"),
    Option("tls_key", "", str, "PEM private key file for --tls-cert"),
    Option("plain_http", False, parse_bool, "serve plain HTTP, for use behind a TLS proxy"),
    Option("public_url", "", parse_url, "address people use to reach the server, for links"),
    Option(
        "ice_addresses",
        [],
        parse_addresses,
        "comma-separated IP addresses media offers in ICE (empty: every interface but loopback)",
    ),
    Option("staff_file", None, str, "file of staff accounts (written only by 'quietroom staff')"),
    Option(
        "trusted_proxy",
        [],
        parse_networks,
        "comma-separated addresses of reverse proxies (Caddy, nginx) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (empty: none)",
    ),
    Option("call_expiry", 7200.0, parse_duration, "how long a call and its links live (2h, 90m)"),
    Option("max_participants", 4, parse_participants, "most people in one call (2 to 8)"),
    Option(
        "reconnect_grace",
        120.0,
        parse_grace,
        "how long someone whose connection dropped keeps their place (0: they leave at once)",
    ),
    Option("staff_session", 43200.0, parse_duration, "how long a staff sign-in lasts"),
    Option(
        "calls_per_staff",
        20,
        parse_calls_per_staff,
        "most open calls one staff account may have (raise it for load tests)",
    ),
    Option("log_level", "INFO", parse_level, "debug, info, warning or error"),
    Option(
        "turn_urls",
        [],
        parse_turn_urls,
        "comma-separated TURN URLs browsers may relay media through, e.g. "
        "turn:turn.example.org:3478?transport=udp (empty: none)",
    ),
    Option(
        "turn_secret",
        "",
        parse_secret,
        "the secret shared with coturn (its static-auth-secret); prefer the environment "
        "variable, which other users cannot see in the process list",
    ),
    Option(
        "audio_only_below",
        150,
        parse_kbps,
        "kbit/s: a viewer whose link stays under this gets audio only until it recovers",
    ),
    Option(
        "video_back_above",
        300,
        parse_kbps,
        "kbit/s: a viewer on audio only for a weak link gets video again once it can take this",
    ),
    Option(
        "consent_file",
        {},
        parse_text_files,
        "the organization's consent text shown before a survivor joins: a plain-text file "
        "for every language, or en=PATH,fr=PATH",
    ),
    Option(
        "handout_file",
        {},
        parse_text_files,
        "the organization's own text on the printable handout (/guide): PATH or en=PATH,fr=PATH",
    ),
    Option(
        "exit_url",
        "https://www.google.com/search?q=weather",
        parse_exit_url,
        "where 'leave quickly' takes a survivor: a neutral public page (https)",
    ),
    Option(
        "check_in_minutes",
        15,
        parse_check_in,
        "remind staff to check in with the survivor this often, unless a call sets its own "
        "(0: no reminder)",
    ),
    Option(
        "organization",
        "",
        org_name,
        "the organization's name on survivor pages (empty: pages name no organization)",
    ),
    Option(
        "metrics_address",
        "",
        parse_bind,
        "HOST:PORT where /metrics (Prometheus text, no personal data) is served, apart from "
        "the pages (empty: no metrics)",
    ),
    Option(
        "lobby_knocks",
        20,
        lambda text: parse_count(text, 0, 1000),
        "people who may knock at one call's lobby per minute (0: no limit)",
    ),
    Option(
        "chat_limit",
        ChatLimit(),
        parse_chat_limit,
        "chat lines one person may send in any stretch of time, LINES/SECONDS (5/10s, 20/1m); "
        "one more is refused with chat-rate",
    ),
    Option(
        "require_e2ee",
        False,
        parse_bool,
        "let nobody join whose page cannot seal its media end to end (its browser cannot, or "
        "its link lacks the call's secret): they are refused with e2ee-required, rather than "
        "the whole call going in the clear; connection tests still run",
    ),
    Option(
        "sockets_per_address",
        64,
        lambda text: parse_count(text, 1, 100000),
        "open signaling sockets allowed from one address (several people may share one)",
    ),
    Option(
        "sip_listen",
        "",
        parse_bind,
        "HOST:PORT (UDP) where phones come in from the organization's SIP trunk or phone "
        "system (empty: no phones); see docs/phone.md",
    ),
    Option(
        "sip_trunk",
        [],
        parse_networks,
        "comma-separated addresses or networks of the trunk, the only ones whose SIP and "
        "calls are taken",
    ),
    Option(
        "sip_address",
        "",
        parse_address,
        "the address the trunk sends a phone's sound to, in our SDP (empty: the host of "
        "--sip-listen)",
    ),
    Option("sip_user", "", parse_sip_user, "the user the trunk must authenticate as (digest)"),
    Option(
        "sip_password",
        "",
        parse_trunk_password,
        "the trunk's digest password, with --sip-user; prefer the environment variable",
    ),
    Option(
        "dial_in_number",
        "",
        parse_number,
        "the number people call to join by phone, as pages show it (e.g. +1 555 010 0199)",
    ),
    Option(
        "media_workers",
        "auto",
        parse_workers,
        "media worker processes: auto (one per core), or a number; 0 = in this process",
    ),
    Option(
        "media_port",
        40000,
        parse_port,
        "UDP port all media goes through: worker N (from 0) on this port + N; 0: any free port",
    ),
    Option(
        "media_tcp_port",
        40000,
        parse_tcp_port,
        "TCP port for ICE over TCP, for networks that block UDP: worker N on this port + N;"
        " 0: any free port; off: no ICE over TCP",
    ),
    Option(
        "redis",
        "",
        parse_redis_url,
        "many nodes behind one address (docs/scaling.md): the Redis they share, such as "
        "redis://10.0.0.5:6379/0; empty: one node on its own, no Redis",
    ),
    Option(
        "redis_password",
        "",
        parse_secret,
        "the Redis password (set it in the environment, not on the command line)",
    ),
    Option(
        "redis_allow_persistence",
        False,
        parse_bool,
        "start even if Redis keeps data on disk (RDB snapshots or AOF); only for a Redis "
        "whose disk you have made sure of yourself",
    ),
    Option(
        "node_address",
        "",
        parse_node_address,
        "with --redis: where the other nodes reach this one, on the private network, "
        "such as http://10.0.0.11:8444",
    ),
    Option(
        "node_listen",
        "",
        parse_bind,
        "with --redis: the address and port this node listens on for the other nodes "
        "(HOST:PORT; default: the host of --node-address and its port)",
    ),
    Option(
        "cluster_secret",
        "",
        parse_secret,
        "with --redis: the secret every node of the cluster shares, to prove requests come "
        "from one of them (set it in the environment)",
    ),
]


# Settings only the org file sets (tables, no flag): their defaults.
FILE_ONLY: dict[str, Any] = {"hours": Hours(), "default_plan": DisruptionPlan()}

# The org file's keys: key -> (setting, how its TOML value is checked).
ORG_FILE_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "organization": ("organization", org_name),
    "exit_url": ("exit_url", text(parse_exit_url)),
    "check_in_minutes": ("check_in_minutes", whole_number(parse_check_in)),
    "call_expiry": ("call_expiry", text_or_number(parse_duration)),
    "max_participants": ("max_participants", whole_number(parse_participants)),
    "require_end_to_end": ("require_e2ee", boolean),
    "dial_in_number": ("dial_in_number", text(parse_number)),
    "consent": ("consent_file", texts_by_language),
    "handout": ("handout_file", texts_by_language),
    "drop_plan": ("default_plan", plan),
    "hours": ("hours", hours),
}

# What a reload of the org file (SIGHUP) may change while the server runs.
RELOADABLE = (
    "organization",
    "exit_url",
    "check_in_minutes",
    "call_expiry",
    "max_participants",
    "consent_file",
    "handout_file",
    "default_plan",
    "hours",
    "require_e2ee",
    "dial_in_number",
)


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    tls_cert: str
    tls_key: str
    plain_http: bool
    public_url: str
    ice_addresses: list[str]
    staff_file: str
    trusted_proxy: list[str]
    call_expiry: float
    max_participants: int
    reconnect_grace: float
    staff_session: float
    calls_per_staff: int
    log_level: str
    turn_urls: list[str]
    turn_secret: str
    audio_only_below: int
    video_back_above: int
    consent_file: dict[str, str]
    handout_file: dict[str, str]
    exit_url: str
    check_in_minutes: int
    organization: str
    metrics_address: str
    lobby_knocks: int
    chat_limit: ChatLimit
    require_e2ee: bool
    sockets_per_address: int
    sip_listen: str
    sip_trunk: list[str]
    sip_address: str
    sip_user: str
    sip_password: str
    dial_in_number: str
    media_workers: int
    media_port: int
    media_tcp_port: int | None
    redis: str = ""
    redis_password: str = ""
    redis_allow_persistence: bool = False
    node_address: str = ""
    node_listen: str = ""
    cluster_secret: str = ""
    org_file: str = ""
    hours: Hours = field(default_factory=Hours)
    default_plan: DisruptionPlan = field(default_factory=DisruptionPlan)

    @classmethod
    def defaults(cls, **overrides: Any) -> Config:
        return load([], {}, **overrides)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        default = default_staff_file() if option.name == "staff_file" else option.default
        shown = ",".join(default) if isinstance(default, list) else default
        if isinstance(default, dict):
            shown = "none"
        switch = isinstance(option.default, bool)
        parser.add_argument(
            option.flag,
            dest=option.name,
            default=None,
            nargs="?" if switch else None,
            const="true" if switch else None,
            metavar="BOOL" if switch else option.name.split("_")[-1].upper(),
            help=f"{option.help} [env {option.env}; default: {shown!s}]",
        )


def load(argv: Sequence[str], environ: Mapping[str, str], **overrides: Any) -> Config:
    """Settings from CLI arguments, then QUIETROOM_* variables, then defaults."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    args = parser.parse_args(list(argv))
    return from_namespace(args, environ, **overrides)


def org_file_values(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the org file sets, if one is given (flag, then variable)."""
    path = getattr(args, "org_file", None) or environ.get("QUIETROOM_ORG_FILE", "")
    if not path:
        return {}
    try:
        return read_org_file(path, ORG_FILE_KEYS)
    except OrgFileError as exc:
        raise ConfigError(str(exc)) from None


def check_sip(values: dict[str, Any]) -> None:
    """Phones need the trunk's addresses, the number to show and an address for their sound."""
    if not values["sip_listen"]:
        return
    if not values["sip_trunk"]:
        raise ConfigError("--sip-listen needs --sip-trunk: the addresses calls may come from")
    if not values["dial_in_number"]:
        raise ConfigError("--sip-listen needs --dial-in-number: the number people call")
    if bool(values["sip_user"]) != bool(values["sip_password"]):
        raise ConfigError("--sip-user and --sip-password (QUIETROOM_SIP_PASSWORD) go together")
    host = values["sip_listen"].rpartition(":")[0].strip("[]")
    if not values["sip_address"] and ipaddress.ip_address(host).is_unspecified:
        raise ConfigError(
            "--sip-listen on every address needs --sip-address: the one the trunk reaches"
        )


def check_cluster(values: dict[str, Any]) -> None:
    """Many nodes need where the others reach this one and the secret they share."""
    if not values["redis"]:
        return
    if not values["node_address"]:
        raise ConfigError("--redis needs --node-address: where the other nodes reach this one")
    if not values["public_url"]:
        raise ConfigError(
            "--redis needs --public-url: the one address people reach, whichever node serves"
        )
    if not values["cluster_secret"]:
        raise ConfigError(
            "--redis needs QUIETROOM_CLUSTER_SECRET: the secret every node of the cluster shares"
        )


def from_namespace(
    args: argparse.Namespace, environ: Mapping[str, str], **overrides: Any
) -> Config:
    values: dict[str, Any] = dict(FILE_ONLY)
    from_file = org_file_values(args, environ)
    values.update({k: v for k, v in from_file.items() if k in FILE_ONLY})
    for option in OPTIONS:
        raw, source = getattr(args, option.name, None), option.flag
        if raw is None and option.env in environ:
            raw, source = environ[option.env], option.env
        if raw is None and option.name in from_file:
            values[option.name] = from_file[option.name]
            continue
        if raw is None:
            value = default_staff_file() if option.name == "staff_file" else option.default
            if isinstance(value, str) and option.parse is parse_workers:
                value = parse_workers(value)
        else:
            try:
                value = option.parse(raw)
            except ValueError as exc:
                hidden = option.parse in (parse_secret, parse_trunk_password, parse_redis_url)
                shown = "the value" if hidden else repr(raw)
                raise ConfigError(f"{source}: {shown} is not valid: {exc}") from None
        values[option.name] = value
    values.update(overrides)
    if bool(values["tls_cert"]) != bool(values["tls_key"]):
        raise ConfigError("--tls-cert and --tls-key must be given together")
    if bool(values["turn_urls"]) != bool(values["turn_secret"]):
        raise ConfigError("--turn-urls and --turn-secret (QUIETROOM_TURN_SECRET) go together")
    check_sip(values)
    check_cluster(values)
    if values["video_back_above"] <= values["audio_only_below"]:
        raise ConfigError("--video-back-above must be higher than --audio-only-below")
    last = max(values["media_workers"], 1) - 1  # worker N takes the port + N
    for name in ("media_port", "media_tcp_port"):
        if values[name] and values[name] + last > 65535:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} + the number of media workers must stay under 65536")
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known})
