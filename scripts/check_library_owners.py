"""Each third-party library is imported by the modules that own it, and nowhere else in the packages.

import-linter guards the arrows between our packages; this guards the edges to the outside world, so
that paho never leaks past the MQTT edge, asyncpg past the store, and so on. Run by `make lint`.
"""

from __future__ import annotations

import ast
import sys
from fnmatch import fnmatch
from pathlib import Path

PACKAGES = ("protocol", "gateway", "telemetry", "diagnostics", "outbox", "api", "firmware_sim", "ondol")

OWNERS: dict[str, tuple[str, ...]] = {
    "paho": ("gateway/mqtt_edge.py", "firmware_sim/mqtt_link.py"),
    "apscheduler": ("diagnostics/scheduler.py",),
    "fastapi": ("api/*",),
    "starlette": ("api/*",),
    "uvicorn": ("ondol/processes.py",),
    "prometheus_client": ("telemetry/prometheus.py",),
    "typer": ("ondol/cli.py",),
    "asyncpg": ("telemetry/*",),
    "pydantic_settings": ("ondol/settings.py",),
    "httpx": ("ondol/local_stack.py", "outbox/outbound_http.py"),
    "numpy": ("firmware_sim/physics.py",),
    "rich": ("ondol/campaign_report.py",),
    "jinja2": ("api/console/rendering.py",),
    "playwright": (),
}


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def main(root: Path) -> int:
    problems = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            for library in imported_roots(ast.parse(path.read_text(encoding="utf-8"), relative)):
                owners = OWNERS.get(library)
                if owners is not None and not any(fnmatch(relative, pattern) for pattern in owners):
                    problems.append(
                        f"{relative} imports {library}, which only {', '.join(owners)} may import"
                    )
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).resolve().parent.parent))
