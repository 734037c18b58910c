"""`pip install .` (not editable) ships what the product reads at run time: the project is built into a
fresh directory, and a fresh interpreter with only that copy of it on its path imports every module and
loads every migration, named query, console template, message catalog, data file and static file from
there (tests/installed_probe.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("protocol", "gateway", "telemetry", "diagnostics", "outbox", "api", "firmware_sim", "ondol")
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis", ".ondol",
    "test-artifacts",
)  # fmt: skip


def _data_files() -> set[str]:
    """Every file of the product's packages in the source tree that is not Python source."""
    return {
        p.relative_to(ROOT).as_posix()
        for package in PRODUCT
        for p in (ROOT / package).rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


def _install(tmp_path: Path) -> Path:
    """The project built from a copy of the source tree (the build writes into the tree it builds) and
    installed into a new directory, with the virtualenv's own pip and setuptools, offline."""
    source, target = tmp_path / "source", tmp_path / "installed"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return target.resolve()


def test_the_installed_package_reads_everything_from_itself(tmp_path: Path) -> None:
    installed = _install(tmp_path)
    data = _data_files()
    queries = sorted(
        [".".join(Path(f).parent.parent.parts), Path(f).stem]
        for f in data
        if Path(f).parent.name == "queries"
    )
    result = subprocess.run(
        [sys.executable, "-I", str(ROOT / "tests" / "installed_probe.py"), str(installed), json.dumps(queries)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    probe = json.loads(result.stdout.splitlines()[-1])

    outside = [m for m in probe["modules"] if not Path(m).is_relative_to(installed)]
    assert outside == [], "modules imported from outside the installed copy"
    source_packages = [ROOT / package for package in PRODUCT]
    assert [f for f in probe["opened"] if any(Path(f).is_relative_to(p) for p in source_packages)] == [], (
        "files read from the source tree"
    )  # (the virtualenv may live inside the checkout, as `make venv` puts it: its files are not the tree's)

    read = {
        Path(f).relative_to(installed).as_posix()
        for f in probe["opened"]
        if Path(f).is_relative_to(installed)
    }
    missing = sorted(f for f in data if not f.endswith(".md") and f not in read)
    assert missing == [], "data files the installed product did not read from itself"
    shipped = {p.relative_to(installed).as_posix() for package in PRODUCT for p in (installed / package).rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}  # fmt: skip
    assert sorted(data - shipped) == [], "source data files missing from the installed copy"

    migrations = {Path(m).relative_to(installed).as_posix() for m in probe["migrations"]}
    assert migrations == {f for f in data if Path(f).parent.name == "migrations"}
    assert len(probe["templates"]) == len([f for f in data if f.startswith("api/console/templates/")])
    assert all(Path(f).is_relative_to(installed) for f in probe["served"])
    assert {
        "api/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "api/console/static/vendor/htmx/htmx.min.js",
    } <= {Path(f).relative_to(installed).as_posix() for f in probe["served"]}
