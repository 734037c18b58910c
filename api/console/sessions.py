"""Console sign-ins (migration 0015): a session token stands in for an API key in the browser.

The token is random and only its SHA-256 is stored, as with API keys; the session is worth nothing
once its key is revoked or its time is up. Each session carries a CSRF token the page must echo on
every change it asks for.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from api.access_keys import KeyIdentity
from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["NewSession", "SessionIdentity", "end_session", "open_session", "session_identity"]

_Q: Final = named_queries.load("console_sessions", package="api.console").require(
    "insert_session", "session_identity", "delete_session", "delete_expired_sessions"
)


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    """For the cookie only; never stored."""
    csrf_token: str


@dataclass(frozen=True, slots=True)
class SessionIdentity:
    key: KeyIdentity
    csrf_token: str


async def open_session(conn: Connection, *, key_id: str, lifetime: timedelta) -> NewSession:
    """A new session for a verified key (and expired ones swept away: sign-ins are rare enough)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await conn.execute(_Q["delete_expired_sessions"])
    await conn.execute(_Q["insert_session"], _digest(token), key_id, csrf, lifetime)
    return NewSession(token, csrf)


async def session_identity(conn: Connection, token: str) -> SessionIdentity | None:
    """Who holds this session; None when it is unknown, expired or its key was revoked."""
    if not 20 <= len(token) <= 100:
        return None
    row = await conn.fetchrow(_Q["session_identity"], _digest(token))
    if row is None:
        return None
    key = KeyIdentity(
        key_id=row["key_id"], name=row["name"], role=row["role"],
        service_point_id=row["service_point_id"], customer_phone=row["customer_phone"],
    )  # fmt: skip
    return SessionIdentity(key, row["csrf_token"])


async def end_session(conn: Connection, token: str) -> None:
    await conn.execute(_Q["delete_session"], _digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
