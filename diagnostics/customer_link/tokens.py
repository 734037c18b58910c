"""Link tokens: random to anyone without the server's secret, stored only as a hash.

A token is the HMAC of the link's id and salt under the secret, so the alert worker can put the same
token in every message about the case (resends included) without storing it; the page finds the link
by the token's SHA-256. A database copy therefore opens nothing, and a guessed token is a guess at
128 random bits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

__all__ = ["TOKEN_PATTERN", "LinkSecret", "new_salt", "token_hash"]

TOKEN_BYTES: Final = 16
TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""What a token looks like (16 bytes, URL-safe base64 without padding); anything else is refused
before the database is asked."""


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def token_hash(token: str) -> bytes:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("ascii")).digest()


@dataclass(frozen=True, slots=True)
class LinkSecret:
    """The server's secret that tokens are derived from (ONDOL_LINK_SECRET), at least 32 bytes."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise ValueError("the link secret must be at least 32 bytes")

    def token(self, link_id: int, salt: bytes) -> str:
        digest = hmac.new(self.key, link_id.to_bytes(8, "big") + salt, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).rstrip(b"=").decode("ascii")
