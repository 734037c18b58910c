"""Opaque keyset cursors, so clients page without learning (or depending on) the key behind a page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Final, TypeVar

from api.problems import ProblemError

__all__ = ["decode_id_cursor", "decode_text_cursor", "encode_id_cursor", "encode_text_cursor", "split_page"]

T = TypeVar("T")

_TEXT: Final = "t1:"
_ID: Final = "i1:"


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, prefix: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw.startswith(prefix) or len(raw) == len(prefix):
        raise ProblemError(
            400, "bad-cursor", "The cursor is not one this API returned; start again without it."
        )
    return raw[len(prefix) :]


def encode_text_cursor(key: str) -> str:
    return _encode(_TEXT + key)


def decode_text_cursor(cursor: str) -> str:
    return _decode(cursor, _TEXT)


def encode_id_cursor(key: int) -> str:
    return _encode(f"{_ID}{key}")


def decode_id_cursor(cursor: str) -> int:
    value = _decode(cursor, _ID)
    if not value.isdigit() or len(value) > 18:
        raise ProblemError(
            400, "bad-cursor", "The cursor is not one this API returned; start again without it."
        )
    return int(value)


def split_page(rows: Sequence[T], limit: int) -> tuple[Sequence[T], T | None]:
    """Rows fetched with `limit + 1`: the page, and its last row when another page follows."""
    page = rows[:limit]
    return page, (page[-1] if len(rows) > limit else None)
