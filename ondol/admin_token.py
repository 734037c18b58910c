"""The local stack's admin API key: created on first start, kept in `<state_dir>/admin-token`.

The file is written with mode 0600 (it is a bearer secret). On later starts the stored key is
reused while the database still accepts it; a revoked or unknown key is replaced by a new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from api import access_keys
from telemetry.database import Connection

__all__ = ["TOKEN_FILE", "ensure_admin_token"]

TOKEN_FILE: Final = "admin-token"  # noqa: S105 - a file name, not a secret


async def ensure_admin_token(conn: Connection, state_dir: Path) -> tuple[str, bool]:
    """The local admin key, and whether it was created now."""
    path = state_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        identity = await access_keys.verify_key(conn, token)
        if identity is not None and identity.role == "admin":
            return token, False
    issued = await access_keys.issue_key(conn, name="local-admin", role="admin", created_by="ondol up")
    _write_private(path, issued.token)
    return issued.token, True


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only, never briefly world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to an existing file
    os.replace(temporary, path)
