"""Staff accounts: names and argon2id password hashes in one JSON file, written only by the CLI."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.pwhash

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,39}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# A hash to check against when the name is unknown, so both cases take the same time.
_DUMMY_HASH = nacl.pwhash.argon2id.str(b"quietroom-timing-equaliser")


class StaffFileError(Exception):
    """The staff file or an account request is unusable; the message says why."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise StaffFileError(
            "a staff name is 1 to 40 letters, digits or . _ @ -, starting with a letter or digit"
        )
    return name


def check_password(password: str) -> bytes:
    if len(password) < MIN_PASSWORD or len(password.encode()) > MAX_PASSWORD:
        raise StaffFileError(
            f"a password is at least {MIN_PASSWORD} characters and at most {MAX_PASSWORD} bytes"
        )
    return password.encode()


@dataclass
class Accounts:
    """Everything in the staff file: password hashes, who is an admin, second factors."""

    hashes: dict[str, str] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    totp: dict[str, str] = field(default_factory=dict)  # name -> base32 TOTP secret


def read(path: Path) -> dict[str, str]:
    """Name -> hash; a missing file means no staff yet."""
    return load(path).hashes


def admins(path: Path) -> set[str]:
    """The accounts with the admin role (they see how many calls run and may end any)."""
    return load(path).admins


def load(path: Path) -> Accounts:
    """The whole file; a missing file means no staff yet."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Accounts()
    except OSError as exc:
        raise StaffFileError(f"cannot read the staff file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StaffFileError("the staff file is not in the expected format") from None
    try:
        body = json.loads(raw)
        staff = body["staff"]
        roles = body.get("admins", [])
        factors = body.get("totp", {})
        if not (
            _text_map(staff)
            and _text_map(factors)
            and isinstance(roles, list)
            and all(isinstance(n, str) for n in roles)
        ):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise StaffFileError("the staff file is not in the expected format") from None
    names = set(staff)
    return Accounts(
        dict(staff),
        {n for n in roles if n in names},
        {n: s for n, s in factors.items() if n in names},
    )


def _text_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def write(path: Path, accounts: Accounts | dict[str, str]) -> None:
    """Replace the file atomically, readable by its owner only."""
    if isinstance(accounts, dict):
        accounts = Accounts(accounts)
    names = set(accounts.hashes)
    body: dict[str, object] = {"staff": dict(sorted(accounts.hashes.items()))}
    if accounts.admins & names:
        body["admins"] = sorted(accounts.admins & names)
    if accounts.totp:
        body["totp"] = {n: s for n, s in sorted(accounts.totp.items()) if n in names}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".staff-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add(path: Path, name: str, password: str, admin: bool | None = None) -> None:
    """Add an account (or set a new password); `admin` sets its role, None keeps it."""
    accounts = load(path)
    accounts.hashes[check_name(name)] = hashed(password)
    if admin is True:
        accounts.admins.add(name)
    elif admin is False:
        accounts.admins.discard(name)
    write(path, accounts)


def passwd(path: Path, name: str, password: str) -> bool:
    """A new password for an existing account; False if there is no such account."""
    accounts = load(path)
    if name not in accounts.hashes:
        return False
    accounts.hashes[name] = hashed(password)
    write(path, accounts)
    return True


def set_totp(path: Path, name: str, secret: str | None) -> bool:
    """Turn the second factor of an existing account on (with `secret`) or off."""
    accounts = load(path)
    if name not in accounts.hashes:
        return False
    if secret is None:
        accounts.totp.pop(name, None)
    else:
        accounts.totp[name] = secret
    write(path, accounts)
    return True


def hashed(password: str) -> str:
    return nacl.pwhash.argon2id.str(check_password(password)).decode()


def remove(path: Path, name: str) -> bool:
    accounts = load(path)
    if name not in accounts.hashes:
        return False
    del accounts.hashes[name]
    write(path, accounts)
    return True


def verify(path: Path, name: str, password: str) -> bool:
    """True if `name` exists with this password. Slow on purpose (argon2id)."""
    staff = read(path)
    stored = staff.get(name)
    secret = password.encode()
    if len(secret) > MAX_PASSWORD:
        return False
    try:
        return nacl.pwhash.verify((stored or _DUMMY_HASH.decode()).encode(), secret) and bool(
            stored
        )
    except nacl.exceptions.InvalidkeyError:
        return False
