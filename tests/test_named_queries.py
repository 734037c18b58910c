"""Named queries: parameters by name, each file parsed once, and every module declaring (`.require`)
the statements it reads, so that a renamed or deleted statement fails at import, not at 3 a.m."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from telemetry import named_queries
from telemetry.named_queries import parse

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "gateway", "telemetry", "diagnostics", "outbox", "api", "ondol")


def test_named_parameters_become_numbered_in_order_and_are_bound_by_name() -> None:
    queries = parse("t.sql", "-- name: q\nSELECT :b::int, ':a' -- :c\nFROM t WHERE x = :a AND y = :b\n")
    assert queries["q"] == "SELECT $1::int, ':a' -- :c\nFROM t WHERE x = $2 AND y = $1"
    assert queries.bind("q", {"a": 1, "b": 2}) == (queries["q"], (2, 1))
    with pytest.raises(TypeError, match=r"missing \['a'\]"):
        queries.bind("q", {"b": 2})
    with pytest.raises(TypeError, match=r"unknown \['z'\]"):
        queries.bind("q", {"a": 1, "b": 2, "z": 3})


def test_a_statement_mixing_named_and_numbered_parameters_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes"):
        parse("t.sql", "-- name: q\nSELECT :a, $2\n")


def test_each_file_is_parsed_once() -> None:
    assert named_queries.load("devices") is named_queries.load("devices")


def _loads_and_uses(tree: ast.Module) -> list[tuple[str, set[str] | None, set[str]]]:
    """Per module-level name bound to named_queries.load(...): the names it requires (None: no
    .require) and the statements the module reads through it (`_Q["x"]`, `_Q.bind("x", …)`)."""
    loaders: dict[str, set[str] | None] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            call = node.value
            required: set[str] | None = None
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "require"
            ):
                required = {
                    a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                }
                call = call.func.value
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "load"
                and isinstance(target, ast.Name)
            ):
                loaders[target.id] = required
    used: dict[str, set[str]] = {name: set() for name in loaders}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in used
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            used[node.value.id].add(node.slice.value)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in used
            and node.func.attr in ("bind", "parameters")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            used[node.func.value.id].add(str(node.args[0].value))
    return [(name, loaders[name], used[name]) for name in loaders]


def test_every_module_requires_the_statements_it_reads() -> None:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for name, required, used in _loads_and_uses(tree):
                where = f"{path.relative_to(ROOT)}:{name}"
                if required is None:
                    problems.append(f"{where} loads queries without .require(...)")
                elif used - required:
                    problems.append(f"{where} reads {sorted(used - required)} without requiring them")
    assert problems == []
