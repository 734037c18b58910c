"""Phone numbers as Ondol keeps them: E.164 (`+821012345678`), whichever way a person wrote them.

`e164_phone` is the one function every number passes through where it enters (registration, contacts,
search, API keys, customer requests): "010-1234-5678", "+82 10 1234 5678" and "01012345678" are one
number, stored once, so one person is one contact and gets each alert once. The store's SQL function
`e164_phone()` (migration 0017, which converted the numbers stored before) follows the same rule; a
test holds the two together.

Korean numbers are written nationally (a leading 0) or with the country code 82; numbers abroad need
`+` and their country code. Anything else is refused with the reason.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["InvalidPhoneError", "e164_phone", "national_phone"]

_WRITING: Final = re.compile(r"\+?[0-9 ()./-]+")
_SPACE: Final = " \t\n\r\f\v"
"""What is trimmed around a number (the SQL function trims the same)."""
_KOREA: Final = "82"
_E164_MAX_DIGITS: Final = 15


class InvalidPhoneError(ValueError):
    """Text that is not a phone number Ondol can reach; the message says why."""

    def __init__(self, text: str, why: str) -> None:
        super().__init__(f"{text!r} is not a phone number: {why}")


def e164_phone(text: str) -> str:
    """The number in `text` in E.164: Korean numbers as +82 and the national number without its 0."""
    written = text.strip(_SPACE)
    if not _WRITING.fullmatch(written):
        raise InvalidPhoneError(text, "use digits, spaces, dashes, brackets and a leading + only")
    digits = "".join(c for c in written if c.isdigit())
    if written.startswith("+"):
        return _with_country_code(text, digits)
    if digits.startswith("0") and not digits.startswith("00"):
        return "+" + _KOREA + _korean(text, digits[1:])
    if digits.startswith(_KOREA) and len(digits) >= 11:  # the country code written without its +
        return "+" + _KOREA + _korean(text, _without_trunk_zero(digits[2:]))
    raise InvalidPhoneError(
        text, "a Korean number starts with 0 (010-1234-5678); one abroad with + and its country code"
    )


def _with_country_code(text: str, digits: str) -> str:
    if digits.startswith(_KOREA):
        return "+" + _KOREA + _korean(text, _without_trunk_zero(digits[2:]))
    if digits.startswith("0") or not 8 <= len(digits) <= _E164_MAX_DIGITS:
        raise InvalidPhoneError(text, "after + come a country code and at most 15 digits in all")
    return "+" + digits


def _without_trunk_zero(national: str) -> str:
    """ "+82 010-…" and "+82 (0)10-…" keep the national 0 the international form drops."""
    return national[1:] if national.startswith("0") else national


def _korean(text: str, number: str) -> str:
    """`number`, a Korean national number without its leading 0, checked for its length."""
    if not 8 <= len(number) <= 10 or number.startswith("0"):
        raise InvalidPhoneError(text, "a Korean number has 9 to 11 digits with its leading 0")
    if number.startswith("10") and len(number) != 10:
        raise InvalidPhoneError(text, "a mobile number is 010 and 8 digits")
    return number


def national_phone(e164: str) -> str:
    """The national form of a number `e164_phone` returned: "+821012345678" → "01012345678" (how
    customer API keys name their phone, and what the access log hashes); a number abroad loses its +."""
    if e164.startswith("+" + _KOREA):
        return "0" + e164[1 + len(_KOREA) :]
    return e164.removeprefix("+")
