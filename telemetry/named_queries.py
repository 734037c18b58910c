"""Loads the SQL of `telemetry/queries/*.sql`, where each statement is introduced by `-- name: x`.

SQL lives in files so it can be read and reviewed as SQL; code refers to statements by name, and a
missing name fails at import time rather than on the first request that needs it.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Final

__all__ = ["NamedQueries", "load"]

_NAME_RE: Final = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class NamedQueries:
    """The statements of one query file, looked up by name."""

    def __init__(self, source: str, statements: dict[str, str]) -> None:
        self._source = source
        self._statements = statements

    def __getitem__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise KeyError(f"no query named {name!r} in {self._source}") from None

    def names(self) -> frozenset[str]:
        return frozenset(self._statements)

    def require(self, *names: str) -> NamedQueries:
        """Fail now if any of `names` is missing."""
        missing = [n for n in names if n not in self._statements]
        if missing:
            raise KeyError(f"{self._source} lacks queries {missing}")
        return self


def parse(source: str, text: str) -> NamedQueries:
    parts = _NAME_RE.split(text)
    statements: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in statements:
            raise ValueError(f"query {name!r} is defined twice in {source}")
        statements[name] = body.strip()
    return NamedQueries(source, statements)


def load(file_stem: str, package: str = "telemetry") -> NamedQueries:
    """The named queries of `{package}/queries/{file_stem}.sql`."""
    path = resources.files(package) / "queries" / f"{file_stem}.sql"
    return parse(f"{package}/queries/{file_stem}.sql", path.read_text(encoding="utf-8"))
