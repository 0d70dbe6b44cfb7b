"""The organization's settings file (`--org-file`, TOML): only ever read, checked whole.

Each key maps onto a setting of the one config table (`server/config.py`); what a flag or
a QUIETROOM_* variable sets wins over the file, and the file wins over the defaults. A
refusal names the file, the line and the reason, never the file's content.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.org_texts import LANGUAGES, MAX_TEXT_CHARS, clean_text
from signaling.hours import HoursError, parse_hours
from signaling.plan import parse_plan
from signaling.protocol import ProtocolError

MAX_FILE_BYTES = 256 * 1024
MAX_ORG_NAME = 80


class OrgFileError(ValueError):
    """A settings file that cannot be used: where and why, without its content."""


def texts_by_language(value: Any) -> dict[str, str]:
    """A table of texts by language, such as [consent] with en = "..." and fr = "..."."""
    if not isinstance(value, dict):
        raise ValueError("must be a table of texts by language (en, fr)")
    texts: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang[:8]!r}: use {' or '.join(LANGUAGES)}")
        if not isinstance(text, str):
            raise ValueError(f"{lang} must be text")
        if len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"{lang} is longer than {MAX_TEXT_CHARS} characters")
        texts[lang] = clean_text(text)
    return texts


def org_name(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_ORG_NAME or not value.isprintable():
        raise ValueError(f"must be text of at most {MAX_ORG_NAME} characters on one line")
    return value.strip()


def boolean(value: Any) -> bool:
    """A TOML boolean: `true` or `false`, never text ("true") or a number (1)."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false (a TOML boolean, without quotes)")
    return value


def whole_number(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        return parse(str(value))

    return check


def text_or_number(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("must be text or a number")
        return parse(str(value))

    return check


def text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be text")
        return parse(value)

    return check


def plan(value: Any) -> Any:
    try:
        return parse_plan(value)
    except ProtocolError as exc:
        raise ValueError(exc.reason) from None


def hours(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("must be a table such as [hours]")
    try:
        return parse_hours(value)
    except HoursError as exc:
        raise ValueError(str(exc)) from None


def line_of(source: str, key: str) -> int:
    """The line where `key` is set: its own [table] header, or `key = ...` at the top."""
    header = re.compile(rf"^\s*\[\s*{re.escape(key)}\s*\]")
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    table = ""
    for number, line in enumerate(source.splitlines(), start=1):
        if header.match(line):
            return number
        if re.match(r"^\s*\[", line):
            table = line.strip()
        elif not table and assignment.match(line):
            return number
    return 0


def read_org_file(path: str, keys: dict[str, tuple[str, Callable[[Any], Any]]]) -> dict[str, Any]:
    """Settings from the file at `path`: key -> (setting name, check), as in config.py.

    Returns setting name -> checked value; raises OrgFileError naming the line and reason.
    """
    try:
        raw = Path(path).read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise OrgFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise OrgFileError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        source = raw.decode("utf-8")
        table = tomllib.loads(source)
    except UnicodeDecodeError:
        raise OrgFileError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib says where ("... (at line 3, column 7)") and what kind of mistake, only.
        raise OrgFileError(f"{path}: not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise OrgFileError(
                f"{path}, line {line_of(source, key)}: unknown setting {key[:32]!r} "
                f"(known: {known})"
            )
        name, check = keys[key]
        try:
            values[name] = check(value)
        except ValueError as exc:
            raise OrgFileError(f"{path}, line {line_of(source, key)}: {key}: {exc}") from None
    return values
