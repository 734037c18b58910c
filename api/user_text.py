"""Text people type that other people read: names, addresses, notes. One check, used wherever such
text enters (the API's bodies and the console's forms).

Bidirectional control characters are refused: an invisible right-to-left override (U+202E) in a
customer's name reverses how the console shows the words after it, so "Kim" can be made to read as
something else, and a note can hide what it says. Nobody writes a Korean or English name or note with
them; a name in Arabic or Hebrew needs none either (the characters carry their own direction, and the
console isolates every such text in <bdi>).
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = ["BIDI_CONTROLS", "BIDI_ERROR", "UserText", "bidi_controls_in", "refuse_bidi_controls"]

BIDI_CONTROLS: Final = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, overrides and their pop
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # left-to-right, right-to-left and Arabic letter marks
)
BIDI_ERROR: Final = "bidi_control"
"""The validation error's type: the console words it in the page's language."""


def bidi_controls_in(text: str) -> list[str]:
    """The bidi control characters in `text`, as U+XXXX, in order of first appearance."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in text if c in BIDI_CONTROLS))


def refuse_bidi_controls(text: str) -> str:
    """`text` unchanged, or a validation error (422) naming the characters."""
    found = bidi_controls_in(text)
    if found:
        raise PydanticCustomError(
            BIDI_ERROR,
            "must not contain bidirectional control characters ({chars}): they change how the text "
            "around them reads",
            {"chars": ", ".join(found)},
        )
    return text


UserText = Annotated[str, AfterValidator(refuse_bidi_controls)]
"""A name, address or note someone typed: a str without bidi control characters."""
