"""Keeps the broker's password and ACL files equal to the broker accounts in the database.

Mosquitto checks CONNECT against a password file and every publish and subscribe against an ACL
file, and re-reads both on SIGHUP. This module renders both from `broker_accounts`, replaces them
atomically, and signals the broker, whenever the accounts' revision moves. The database stays the
only place accounts are managed; a broker restarted from these files enforces the same rules.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.broker_accounts import BrokerAccount, accounts_revision, accounts_snapshot
from protocol.contract import TOPIC_ROOT, MessageKind
from telemetry.database import STORE_TRANSIENT, Connection, connect

__all__ = ["AuthFiles", "render_acl", "render_passwords", "run_broker_auth", "sync_auth_files"]

log = logging.getLogger(__name__)


def render_passwords(accounts: list[BrokerAccount]) -> str:
    return "".join(f"{a.username}:{a.password_hash}\n" for a in accounts)


DEVICE_PUBLISHES: Final = tuple(
    k.value
    for k in (MessageKind.TELEMETRY, MessageKind.EVENTS, MessageKind.STATUS, MessageKind.COMMAND_RESULTS)
)


def render_acl(accounts: list[BrokerAccount]) -> str:
    """Devices: only their own topics (`%u` is the username, which is the device id): publish reports
    and command answers, read commands. Gateway accounts: read the whole tree (which also covers a
    shared subscription) and publish commands (the command dispatcher logs in with one)."""
    lines = [
        "# Rendered from broker_accounts; edits here are overwritten.",
        "# A device publishes its own reports and answers, and reads its own commands; nothing else.",
        *(f"pattern write {TOPIC_ROOT}/%u/{kind}" for kind in DEVICE_PUBLISHES),
        f"pattern read {TOPIC_ROOT}/%u/{MessageKind.COMMANDS.value}",
    ]
    for account in accounts:
        if account.role == "gateway":
            lines += ["", f"user {account.username}", f"topic read {TOPIC_ROOT}/#",
                      f"topic write {TOPIC_ROOT}/+/{MessageKind.COMMANDS.value}"]  # fmt: skip
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class AuthFiles:
    password_file: Path
    acl_file: Path


def _replace(path: Path, text: str) -> bool:
    """Write `text` to `path` atomically; False when it already held exactly that."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    with temporary.open("w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    return True


async def sync_auth_files(conn: Connection, files: AuthFiles) -> tuple[int, bool]:
    """Render both files from the accounts; return the revision they reflect and whether they changed."""
    revision, accounts = await accounts_snapshot(conn)
    changed = _replace(files.password_file, render_passwords(accounts))
    changed = _replace(files.acl_file, render_acl(accounts)) or changed
    return revision, changed


def reload_broker(pid_file: Path) -> bool:
    """SIGHUP the broker whose pid is in `pid_file`; False when there is none running."""
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError):
        return False
    return True


async def run_broker_auth(
    database_url: str,
    files: AuthFiles,
    pid_file: Path,
    *,
    interval_s: float = 2.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Poll the accounts' revision; when it moves, re-render the files and reload the broker."""
    seen: int | None = None
    while not should_stop():
        try:
            async with connect(database_url, application_name="ondol-broker-auth") as conn:
                while not should_stop():
                    if await accounts_revision(conn) != seen:
                        seen, changed = await sync_auth_files(conn, files)
                        if changed:
                            reloaded = reload_broker(pid_file)
                            log.info(
                                "broker accounts changed (revision %s); broker reloaded: %s", seen, reloaded
                            )
                    await asyncio.sleep(interval_s)
        except STORE_TRANSIENT as exc:
            log.warning("broker accounts unavailable (%s); retrying", exc)
            await asyncio.sleep(interval_s)
