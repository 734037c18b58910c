"""Broker accounts (migration 0012): each device's own MQTT password, the gateways' accounts, and the
state the broker's password and ACL files are rendered from.

Passwords are hashed the way Mosquitto checks them (PBKDF2-SHA512, its `$7$` format), so the broker
verifies a device without ever seeing a table of secrets; the plain password exists only in what
`issue_device_password` returns.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = [
    "BrokerAccount",
    "DeviceAccount",
    "IssuedPassword",
    "accounts_revision",
    "accounts_snapshot",
    "device_account",
    "issue_device_password",
    "mosquitto_hash",
    "revoke_account",
    "set_account",
    "set_accounts",
    "verify_mosquitto_hash",
]

_ITERATIONS: Final = 101
"""Mosquitto's own default for `$7$` hashes; each connection pays it once."""

_Q: Final = named_queries.load("broker_accounts", package="gateway").require(
    "upsert_account",
    "insert_device_account_if_absent",
    "revoke_account",
    "active_accounts",
    "revision",
    "device_account",
)


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    username: str
    role: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class DeviceAccount:
    device_id: str
    password_hash: str
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedPassword:
    username: str
    password: str
    """Shown once; only its hash is stored."""
    issued_at: datetime


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """`$7$<iterations>$<salt>$<key>` as `mosquitto_passwd` writes it."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_mosquitto_hash(password: str, stored: str) -> bool:
    """Whether `password` matches a `$7$` hash (what the broker does on CONNECT)."""
    try:
        _, kind, iterations, salt, _key = stored.split("$")
        if kind != "7":
            return False
        expected = mosquitto_hash(password, salt=base64.b64decode(salt), iterations=int(iterations))
    except ValueError:
        return False
    return secrets.compare_digest(expected, stored)


async def set_account(
    conn: Connection, username: str, role: str, password_hash: str, *, issued_by: str
) -> None:
    """Create or replace an account: a device's username is its device id; a gateway's starts with
    `gw.` (the table refuses anything else)."""
    await set_accounts(conn, [(username, password_hash)], role=role, issued_by=issued_by)


async def set_accounts(
    conn: Connection, accounts: list[tuple[str, str]], *, role: str, issued_by: str
) -> None:
    """Create or replace many accounts of one role: (username, password hash) pairs."""
    await conn.executemany(
        _Q["upsert_account"],
        [(name, role, name if role == "device" else None, hashed, issued_by) for name, hashed in accounts],
    )


async def issue_device_password(
    conn: Connection, device_id: str, *, issued_by: str, replace: bool
) -> IssuedPassword | None:
    """A new random password for a registered device; None when it has an active one and `replace`
    is false (a provisioner may give a device its first password, not take over one in use)."""
    password = secrets.token_urlsafe(24)
    hashed = mosquitto_hash(password)
    if replace:
        row = await conn.fetchrow(_Q["upsert_account"], device_id, "device", device_id, hashed, issued_by)
    else:
        row = await conn.fetchrow(_Q["insert_device_account_if_absent"], device_id, hashed, issued_by)
    if row is None:
        return None
    return IssuedPassword(username=row["username"], password=password, issued_at=row["issued_at"])


async def revoke_account(conn: Connection, username: str, *, role: str = "device") -> bool:
    """Revoke an account of `role` (idempotent); False when there is none."""
    return await conn.fetchrow(_Q["revoke_account"], username, role) is not None


async def accounts_revision(conn: Connection) -> int:
    """A number that changes with every committed change to the accounts."""
    return int(await conn.fetchval(_Q["revision"]))


async def accounts_snapshot(conn: Connection) -> tuple[int, list[BrokerAccount]]:
    """The active accounts and the revision they are at, read from one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        revision = await accounts_revision(conn)
        rows = await conn.fetch(_Q["active_accounts"])
    return revision, [BrokerAccount(r["username"], r["role"], r["password_hash"]) for r in rows]


async def device_account(conn: Connection, device_id: str) -> DeviceAccount | None:
    """The device's broker account, revoked or not; None when it never had one."""
    row = await conn.fetchrow(_Q["device_account"], device_id)
    return None if row is None else DeviceAccount(row["username"], row["password_hash"], row["revoked_at"])
