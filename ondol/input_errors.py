"""Validation errors in the user's terms: one line per problem, naming the field as the user wrote it
(`devices[3].contacts[0].phone`, `ONDOL_API_PORT`) with a plain message, and no library jargon,
type names or links to a library's error pages.

The command line is used by operators and integrators who edited a JSON file or an environment
variable; they need to know which value to change and to what, not how the validator is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError

__all__ = ["describe_validation_error", "field_path", "plain_message"]

_TYPES: Final[Mapping[str, str]] = {
    "missing": "missing (it is required)",
    "extra_forbidden": "not a known field (check its spelling)",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text (in quotes)",
    "list_type": "must be a list ([…])",
    "model_type": "must be an object ({…})",
    "model_attributes_type": "must be an object ({…})",
    "dict_type": "must be an object ({…})",
    "date_type": "must be a date written YYYY-MM-DD",
    "date_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD, without a time",
    "time_type": "must be a time written HH:MM",
    "time_parsing": "must be a time written HH:MM",
    "path_type": "must be a file path",
    "json_invalid": "is not valid JSON",
    "json_type": "must be written as JSON",
}
_NO_INPUT: Final = frozenset({"missing", "extra_forbidden"})
"""Errors where quoting the value would not help: there is none, or the field itself is wrong."""


def field_path(loc: Sequence[int | str], root: str = "") -> str:
    """`("devices", 3, "contacts", 0, "phone")` → `devices[3].contacts[0].phone`."""
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "the document"


def plain_message(error: Mapping[str, Any], patterns: Mapping[str, str] | None = None) -> str:
    """What is wrong with one value, in plain words. `patterns` describes the regular expressions a
    field must match (pattern → "a phone number of …"), which the user should never have to read."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        described = (patterns or {}).get(str(ctx.get("pattern", "")))
        return f"must be {described}" if described else "does not have the expected form"
    if kind in ("string_too_short", "too_short"):
        least = int(ctx.get("min_length", 1))
        unit = "character" if kind == "string_too_short" else "item"
        return "must not be empty" if least == 1 else f"needs at least {least} {unit}s"
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return f"may have at most {ctx.get('max_length')} {unit}"
    bounds = {"greater_than_equal": ("ge", "must be {} or more"), "greater_than": ("gt", "must be more than {}"),
              "less_than_equal": ("le", "must be {} or less"), "less_than": ("lt", "must be less than {}")}  # fmt: skip
    if kind in bounds:
        key, text = bounds[kind]
        bound = ctx.get(key)
        return text.format(int(bound) if isinstance(bound, float) and bound.is_integer() else bound)
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error") or error.get("msg", ""))
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in _TYPES:
        reason = ctx.get("error")
        return f"{_TYPES[kind]} ({reason})" if reason and kind.endswith("parsing") else _TYPES[kind]
    return str(error.get("msg", "is not valid"))


def describe_validation_error(
    exc: ValidationError,
    *,
    name: Callable[[Sequence[int | str]], str] = field_path,
    patterns: Mapping[str, str] | None = None,
    show_input: Callable[[Sequence[int | str]], bool] = lambda _loc: True,
) -> list[str]:
    """One `path: message` line per error. `name` turns an error's location into what the user calls
    the field; the offending value is quoted when it is short and `show_input` allows it (never for
    secrets)."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        message = plain_message(error, patterns)
        value = error.get("input")
        if not show_input(loc) and isinstance(value, str) and value:
            message = message.replace(repr(value), "the value").replace(
                value, "the value"
            )  # a check may quote it
        line = f"{name(loc)}: {message}"
        if error.get("type") not in _NO_INPUT and _quotable(value) and show_input(loc):
            line += f" (got {value!r})"
        lines.append(line)
    return lines


def _quotable(value: object) -> bool:
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 60
