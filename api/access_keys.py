"""API keys (migration 0008): issuing, verifying, listing and revoking them, and the object scopes
of technician and customer keys.

A key is `ondol_<key_id>_<secret>`. The id finds the row; the secret is checked against its stored
SHA-256 in constant time. The full key exists only in the value `issue_key` returns.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

from telemetry import named_queries
from telemetry.database import CheckViolation, Connection, ForeignKeyViolation
from telemetry.phone_numbers import InvalidPhoneError, e164_phone, national_phone

__all__ = [
    "ROLES",
    "IssuedKey",
    "KeyIdentity",
    "KeyScopeError",
    "device_has_contact",
    "device_served_by",
    "issue_key",
    "list_keys",
    "revoke_key",
    "verify_key",
]

ROLES: Final = ("admin", "agent", "technician", "customer", "device-provisioner")
_PREFIX: Final = "ondol"

_Q: Final = named_queries.load("access", package="api").require(
    "insert_key",
    "key_for_auth",
    "key_for_reads",
    "list_keys",
    "revoke_key",
    "device_has_contact",
    "device_served_by",
)


class KeyScopeError(ValueError):
    """The key's scope names no such service point, or a phone that is not a Korean number."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """Who a verified key speaks for."""

    key_id: str
    name: str
    role: str
    service_point_id: str | None
    customer_phone: str | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    token: str
    """The whole key; shown once, never stored."""
    record: dict[str, Any]


async def issue_key(
    conn: Connection,
    *,
    name: str,
    role: str,
    created_by: str,
    service_point_id: str | None = None,
    customer_phone: str | None = None,
) -> IssuedKey:
    """A new key; KeyScopeError when its scope is unusable. The role/scope pairing is the caller's
    to check first (the table refuses a wrong one too). A customer's phone may be written any way; the
    key keeps its national form."""
    if customer_phone is not None:
        try:
            customer_phone = national_phone(e164_phone(customer_phone))
        except InvalidPhoneError as exc:
            raise KeyScopeError("customer_phone", str(exc)) from exc
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    try:
        row = await conn.fetchrow(
            _Q["insert_key"],
            key_id,
            name,
            role,
            _digest(secret),
            service_point_id,
            customer_phone,
            created_by,
        )
    except ForeignKeyViolation as exc:
        raise KeyScopeError("service_point_id", f"no service point {service_point_id!r}") from exc
    except CheckViolation as exc:
        raise KeyScopeError("customer_phone", "not a Korean phone number") from exc
    assert row is not None  # INSERT ... RETURNING
    return IssuedKey(f"{_PREFIX}_{key_id}_{secret}", dict(row))


async def verify_key(conn: Connection, token: str, *, record_use: bool = True) -> KeyIdentity | None:
    """The identity of a valid, unrevoked key; None for anything else (malformed, unknown, wrong).
    `record_use`: mark the key used (a write; False on a read replica)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or len(parts[1]) != 16 or not parts[2]:
        return None
    key_id, secret = parts[1], parts[2]
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    row = await conn.fetchrow(_Q["key_for_auth" if record_use else "key_for_reads"], key_id)
    if row is None or not hmac.compare_digest(bytes(row["secret_sha256"]), _digest(secret)):
        return None
    return KeyIdentity(
        key_id=row["key_id"], name=row["name"], role=row["role"],
        service_point_id=row["service_point_id"], customer_phone=row["customer_phone"],
    )  # fmt: skip


async def list_keys(conn: Connection, *, after: str, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(_Q["list_keys"], after, limit)]


async def revoke_key(conn: Connection, key_id: str) -> bool:
    """Revoke a key (idempotent); False when there is no such key."""
    return await conn.fetchval(_Q["revoke_key"], key_id) is not None


async def device_has_contact(conn: Connection, *, device_id: str, phone_national: str) -> bool:
    return bool(await conn.fetchval(_Q["device_has_contact"], device_id, phone_national))


async def device_served_by(conn: Connection, *, device_id: str, service_point_id: str) -> bool:
    return bool(await conn.fetchval(_Q["device_served_by"], device_id, service_point_id))


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
