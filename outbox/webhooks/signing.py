"""Standard Webhooks signatures (https://www.standardwebhooks.com): how Ondol signs each webhook,
and the helper a receiver uses to verify one.

A message is signed over `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 and the
subscription's secret (`whsec_` + base64 of the key); the `webhook-signature` header carries
`v1,<base64 signature>` (several, space-separated, while a secret is being rotated). A receiver
checks the signature in constant time, refuses a timestamp more than five minutes from its clock
(a replayed capture), and de-duplicates by `webhook-id`, which stays the same on every retry.

Only the standard library, so a receiver can copy this file as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Final

__all__ = [
    "SECRET_PREFIX",
    "TOLERANCE_S",
    "WebhookVerificationError",
    "new_secret",
    "sign",
    "signature_header",
    "verify",
]

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the standard prefix, not a secret)
TOLERANCE_S: Final = 300


class WebhookVerificationError(ValueError):
    """The message is not from the holder of the secret, or not from now."""


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The base64 HMAC-SHA256 of `{msg_id}.{timestamp}.{body}`."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()


def signature_header(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    return f"v1,{sign(secret, msg_id, timestamp, body)}"


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> str:
    """Check a received webhook; its `webhook-id` when genuine, else WebhookVerificationError.

    `headers` is looked up with lower-case names (most frameworks' header maps are case-insensitive;
    pass `{k.lower(): v}` otherwise).
    """
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too far from now (a replay?)")
    expected = sign(secret, msg_id, timestamp, body)
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return msg_id
    raise WebhookVerificationError("no matching signature")
