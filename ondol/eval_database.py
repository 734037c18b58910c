"""A throwaway PostgreSQL for `ondol eval`: private data directory, free loopback port, removed after."""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from ondol.local_servers import PostgresServer, free_port

__all__ = ["scratch_database"]


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def scratch_database(database_url: str | None, say: Callable[[str], None]) -> Iterator[str]:
    """Yield `database_url` if given, else the DSN of a fresh private cluster (deleted on exit).

    SIGTERM (a CI timeout, `kill`) is turned into SystemExit while the cluster lives, so the cluster
    is stopped and its directory removed then too, not left running on a port."""
    if database_url:
        yield database_url
        return
    base = Path(tempfile.mkdtemp(prefix="ondol-eval-"))
    server = PostgresServer(base, free_port(), durable=False)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if in_main else None
    try:
        server.initialise()
        server.start()
        say(f"scratch PostgreSQL on 127.0.0.1:{server.port}")
        yield server.dsn
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(server.data_dir.parent, ignore_errors=True)
            shutil.rmtree(base, ignore_errors=True)
            if in_main:
                signal.signal(signal.SIGTERM, previous)
