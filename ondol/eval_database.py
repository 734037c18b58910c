"""A throwaway PostgreSQL for `ondol eval`: private data directory, free loopback port, removed after."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ondol.local_servers import PostgresServer, free_port

__all__ = ["scratch_database"]


@contextmanager
def scratch_database(database_url: str | None, say: Callable[[str], None]) -> Iterator[str]:
    """Yield `database_url` if given, else the DSN of a fresh private cluster (deleted on exit)."""
    if database_url:
        yield database_url
        return
    base = Path(tempfile.mkdtemp(prefix="ondol-eval-"))
    server = PostgresServer(base, free_port(), durable=False)
    try:
        server.initialise()
        server.start()
        say(f"scratch PostgreSQL on 127.0.0.1:{server.port}")
        yield server.dsn
    finally:
        server.stop()
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
