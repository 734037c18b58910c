"""Run by tests/test_packaging.py in a fresh interpreter (`python -I`) with an installed copy of the
project first on sys.path: imports every module and reads every data file through the product's own
loaders, and prints as JSON every module file imported and every file opened, so the test can check
that all of them come from the installed copy.

Usage: python -I tests/installed_probe.py <installed directory> <query files as JSON [[package, stem], …]>
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("protocol", "gateway", "telemetry", "diagnostics", "outbox", "api", "firmware_sim", "ondol")


def main() -> None:
    installed = Path(sys.argv[1]).resolve()
    query_files: list[list[str]] = json.loads(sys.argv[2])
    sys.path.insert(0, str(installed))
    opened: set[str] = set()

    def on_open(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | Path):
            opened.add(str(Path(args[0]).resolve()))

    sys.addaudithook(on_open)
    modules = [_import_everything(name) for name in PACKAGES]

    # Every migration of every schema package, both editions, through the runner's discovery.
    from ondol.schema import SCHEMA_PACKAGES
    from telemetry.migrations import available, migration_files

    migrations = [str(Path(str(f.resource)).resolve()) for f in migration_files(SCHEMA_PACKAGES)]
    for variant in ("apache", "timescale"):
        assert available(variant, SCHEMA_PACKAGES), variant

    # Every named-query file the source tree has.
    from telemetry.named_queries import load

    for package, stem in query_files:
        assert load(stem, package).names(), f"{package}/queries/{stem}.sql"

    # Every console template, the console's messages, the customer texts, the catalog and other data.
    from api.console import rendering
    from api.console.i18n import messages
    from diagnostics.catalog import load_catalog
    from diagnostics.messages.texts import ALERT_TYPES, alimtalk_code
    from diagnostics.service_points import load_seed
    from telemetry.regions import REGIONS

    templates = rendering._env.list_templates()
    for name in templates:
        rendering._env.get_template(name)
    assert messages()
    assert load_catalog()
    assert load_seed()
    from diagnostics.answers.seed import seed_entries

    assert seed_entries()
    assert REGIONS
    assert all(alimtalk_code(kind) for kind in ALERT_TYPES)

    # Every static file, served by the app as the API serves it (docs assets and the console's).
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from api.api_docs import install_docs
    from api.console import install_console

    app = FastAPI(docs_url=None, redoc_url=None)
    install_docs(app)
    install_console(app)
    served: list[str] = []
    with TestClient(app) as client:
        for mount in app.routes:
            if isinstance(mount, Mount) and isinstance(mount.app, StaticFiles):
                for directory in mount.app.all_directories:
                    for file in sorted(Path(directory).rglob("*")):
                        if file.is_file():
                            url = f"{mount.path}/{file.relative_to(directory).as_posix()}"
                            assert client.get(url).status_code == 200, url
                            served.append(str(file.resolve()))

    print(json.dumps({"modules": sorted(m for ms in modules for m in ms), "opened": sorted(opened),
                      "migrations": migrations, "templates": templates, "served": served}))  # fmt: skip


def _import_everything(name: str) -> list[str]:
    """`name` and every module below it (but `__main__`, which would run); their files."""
    package = importlib.import_module(name)
    files = [str(package.__file__)]
    for info in pkgutil.walk_packages(package.__path__, f"{name}."):
        if not info.name.endswith(".__main__"):
            files.append(str(importlib.import_module(info.name).__file__))
    return files


if __name__ == "__main__":
    main()
