"""Loads the SQL of `{package}/queries/*.sql`, where each statement is introduced by `-- name: x`.

SQL lives in files so it can be read and reviewed as SQL; code refers to statements by name. Each
module says which statements it uses (`.require(...)`, checked by a test against what it reads), so a
missing name fails at import time rather than on the first request that needs it. Each file is read
and parsed once per process, however many modules use it.

A statement may name its parameters (`:device_id`) instead of numbering them (`$1`): `bind` then
turns keyword values into the positional arguments the driver takes, refusing a missing or unknown
name, so a statement with many parameters is called by name rather than by a long positional list.
A statement uses one style or the other, never both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Final

__all__ = ["NamedQueries", "load", "parse"]

_NAME_RE: Final = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_TOKENS: Final = re.compile(
    r"(?P<skip>'(?:[^']|'')*'|--[^\n]*|\"(?:[^\"]|\"\")*\"|::)|(?P<param>:[a-z_][a-z0-9_]*)|(?P<number>\$[0-9]+)"
)
"""String literals, comments, quoted identifiers and casts are skipped; `:name` and `$n` are found."""


class NamedQueries:
    """The statements of one query file, looked up by name."""

    def __init__(
        self, source: str, statements: dict[str, str], parameters: dict[str, tuple[str, ...]]
    ) -> None:
        self._source = source
        self._statements = statements
        self._parameters = parameters

    def __getitem__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise KeyError(f"no query named {name!r} in {self._source}") from None

    def names(self) -> frozenset[str]:
        return frozenset(self._statements)

    def parameters(self, name: str) -> tuple[str, ...]:
        """The named parameters of a statement in the order of their numbers ($1, $2, …)."""
        self[name]
        return self._parameters.get(name, ())

    def bind(self, name: str, values: Mapping[str, object]) -> tuple[str, tuple[object, ...]]:
        """The statement and its positional arguments from named `values` (each name exactly once)."""
        sql = self[name]
        wanted = self._parameters.get(name)
        if wanted is None:
            raise TypeError(f"{self._source}: {name} numbers its parameters; call it with positional ones")
        missing = [p for p in wanted if p not in values]
        unknown = sorted(set(values) - set(wanted))
        if missing or unknown:
            raise TypeError(
                f"{self._source}: {name} needs {list(wanted)}; missing {missing}, unknown {unknown}"
            )
        return sql, tuple(values[p] for p in wanted)

    def require(self, *names: str) -> NamedQueries:
        """Fail now if any of `names` is missing."""
        missing = [n for n in names if n not in self._statements]
        if missing:
            raise KeyError(f"{self._source} lacks queries {missing}")
        return self


def _number_parameters(source: str, name: str, body: str) -> tuple[str, tuple[str, ...] | None]:
    """`body` with `:names` turned into `$n` (and the names in order), or as it is when it numbers them."""
    order: list[str] = []
    numbered = False

    def replace(match: re.Match[str]) -> str:
        nonlocal numbered
        if match["param"]:
            param = match["param"][1:]
            if param not in order:
                order.append(param)
            return f"${order.index(param) + 1}"
        if match["number"]:
            numbered = True
        return match[0]

    converted = _TOKENS.sub(replace, body)
    if order and numbered:
        raise ValueError(f"{source}: {name} mixes :named and $numbered parameters")
    return (converted, tuple(order)) if order else (body, None)


def parse(source: str, text: str) -> NamedQueries:
    parts = _NAME_RE.split(text)
    statements: dict[str, str] = {}
    parameters: dict[str, tuple[str, ...]] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"query {name!r} is defined twice in {source}")
        sql, named = _number_parameters(source, name, body.strip())
        statements[name] = sql
        if named is not None:
            parameters[name] = named
    return NamedQueries(source, statements, parameters)


@cache
def load(file_stem: str, package: str = "telemetry") -> NamedQueries:
    """The named queries of `{package}/queries/{file_stem}.sql`, read and parsed once per process."""
    path = resources.files(package) / "queries" / f"{file_stem}.sql"
    return parse(f"{package}/queries/{file_stem}.sql", path.read_text(encoding="utf-8"))
