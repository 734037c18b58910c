"""Fault drills: a fleet publishes numbered reports while a fault strikes, then every report is
counted by (device, sequence number): lost, stored twice, and how long the system took to recover.

The suite runs each drill at a small size (tests/test_faults.py); `bench/faults/run.py` runs the same
drills longer and bigger. Each drill owns its servers, because restarting them is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from firmware_sim.fleet import SimDevice, plan_fleet
from firmware_sim.runner import FleetRun, FleetStats, run_fleet
from ondol.local_replication import ReplicatedPostgres
from ondol.local_servers import AUTOSAVE_INTERVAL_S, PostgresServer, free_port
from testbed.servers import PrivateServers, private_servers

ROOT = Path(__file__).resolve().parent.parent


DrillServers = PrivateServers
"""A durable PostgreSQL (restarts must recover, as in production) and a persistent Mosquitto."""


@contextlib.contextmanager
def drill_servers(parent: Path | None = None) -> Iterator[DrillServers]:
    """Fresh servers for one drill; a long drill leaves hundreds of MB of rows and WAL, removed after
    it, while the logs stay for a look afterwards."""
    with private_servers("ondol-drill-", parent=parent, keep_logs=True,
                         pg_settings={"timescaledb.max_background_workers": "0"}) as srv:  # fmt: skip
        yield srv


class Gateway:
    """One `ondol gateway` process, restartable, with its metrics endpoint."""

    def __init__(
        self, srv: DrillServers, log: Path, client_id: str = "drill-gateway", share_group: str = ""
    ) -> None:
        self.srv, self.log, self.client_id, self.share_group = srv, log, client_id, share_group
        self.metrics_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, ONDOL_DATABASE_URL=self.srv.dsn,
                   ONDOL_MQTT_URL=f"mqtt://{self.srv.mq.host}:{self.srv.mq.port}",
                   ONDOL_GATEWAY_METRICS_PORT=str(self.metrics_port), ONDOL_GATEWAY_CLIENT_ID=self.client_id,
                   ONDOL_GATEWAY_SESSION_EXPIRY_S="3600", ONDOL_BATCH_MAX_ROWS="1000",
                   ONDOL_GATEWAY_SHARE_GROUP=self.share_group)  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "ondol", "gateway"], env=env, cwd=ROOT,
                                            stdout=out, stderr=subprocess.STDOUT)  # fmt: skip

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def metric(self, name: str) -> float | None:
        """A counter or gauge of the running process (None while it does not answer)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE)
        return float(match[1]) if match else None

    def subscribed(self) -> bool:
        return self.metric("ondol_gateway_subscribed") == 1.0

    async def wait_subscribed(self, timeout_s: float = 60) -> None:
        """Until the process has subscribed; on timeout the error carries the end of its log."""
        try:
            await wait_until(lambda: asyncio.to_thread(self.subscribed), "gateway subscribed", timeout_s)
        except TimeoutError as exc:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"
            raise TimeoutError(f"{exc}; the end of its log:\n{tail}") from None


@dataclass
class Tally:
    expected: int
    rows: int
    distinct: int

    @property
    def lost(self) -> int:
        return self.expected - self.distinct

    @property
    def stored_twice(self) -> int:
        return self.rows - self.distinct


@dataclass
class DrillResult:
    name: str
    tally: Tally
    published: int
    acknowledged_by_broker: int
    recovery_s: list[float] = field(default_factory=list)
    """Per fault: from the fault's end (server back) to the first new row committed."""
    notes: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        recovery = ", ".join(f"{r:.1f}" for r in self.recovery_s) or "-"
        extra = "".join(f", {k} {v:g}" for k, v in self.notes.items())
        return (f"{self.name}: {self.tally.expected} reports, lost {self.tally.lost}, stored twice "
                f"{self.tally.stored_twice}, recovery {recovery} s{extra}")  # fmt: skip


async def _count(dsn: str, prefix: str) -> tuple[int, int] | None:
    """(rows, distinct reports) of the drill's devices, or None while the database is down."""
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS rows, count(DISTINCT (device_id, seq)) AS distinct_reports FROM readings "
            "WHERE device_id LIKE $1", prefix + "-%",
        )  # fmt: skip
        assert row is not None
        return int(row["rows"]), int(row["distinct_reports"])
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


async def _register(dsn: str, fleet: list[SimDevice]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO devices (device_id, model, serial, report_interval_s) VALUES ($1, $2, $3, 60) "
            "ON CONFLICT DO NOTHING",
            [(d.device_id, d.model, d.serial) for d in fleet],
        )
    finally:
        await conn.close()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float) -> float:
    """Seconds until `check()` holds; TimeoutError naming `what` if it does not within `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{what} did not happen within {timeout_s:.0f}s")


Fault = Callable[["Drill"], Awaitable[None]]


@dataclass
class Drill:
    """A fleet of `devices`, each publishing `reports` numbered reports, `per_device_s` apart (0: as
    fast as the broker takes them), through one gateway; faults strike at fractions of the stored total."""

    srv: DrillServers
    name: str
    devices: int
    reports: int
    per_device_s: float = 0.0
    prefix: str = "drill"
    share_group: str = ""
    """Subscribe through a shared subscription, as N gateways do (empty: a plain one)."""
    may_lose: bool = False
    """Count what arrived once nothing more comes, instead of waiting for every report."""
    gateway: Gateway = field(init=False)

    def __post_init__(self) -> None:
        log = self.srv.base / f"{self.name}-gateway.log"
        self.gateway = Gateway(self.srv, log, f"gw-{self.name}", self.share_group)
        self.fleet = plan_fleet(self.devices, seed=11, prefix=self.prefix)
        self.total = self.devices * self.reports
        self.recovery: list[float] = []

    async def stored(self) -> int:
        counted = await _count(self.srv.dsn, self.prefix)
        return counted[1] if counted else -1

    async def run(self, faults: list[tuple[float, Fault]], settle_timeout_s: float = 300) -> DrillResult:
        await _register(self.srv.dsn, self.fleet)
        self.gateway.start()
        stats = FleetStats()
        try:
            await self.gateway.wait_subscribed()
            stop = threading.Event()
            run = FleetRun(report_interval_s=60, reports_per_device=self.reports, inflight_window=50,
                           acceleration=0 if self.per_device_s == 0 else 60 / self.per_device_s)  # fmt: skip
            publishing = asyncio.get_running_loop().run_in_executor(
                None, lambda: run_fleet(self.fleet, self.srv.broker, run, should_stop=stop.is_set)
            )
            try:
                for fraction, fault in faults:
                    threshold = int(self.total * fraction)
                    await wait_until(
                        self._at_least(threshold), f"{threshold} reports stored", settle_timeout_s
                    )
                    await fault(self)
                stats = await publishing
            finally:
                stop.set()
                with contextlib.suppress(Exception):
                    await publishing
            if self.may_lose:
                await self._settle(settle_timeout_s)
            else:
                await wait_until(
                    self._at_least(self.total), f"all {self.total} reports stored", settle_timeout_s
                )
            await asyncio.sleep(1.0)  # anything redelivered late must still not add rows
            counted = await _count(self.srv.dsn, self.prefix)
            assert counted is not None
            notes = self._gateway_notes()
        finally:
            self.gateway.stop()
        return DrillResult(self.name, Tally(self.total, *counted), stats.published, stats.acknowledged,
                           self.recovery, notes)  # fmt: skip

    def _gateway_notes(self) -> dict[str, float]:
        received = self.gateway.metric("ondol_gateway_received_total")
        acked = self.gateway.metric("ondol_gateway_acked_total")
        reuses = self.gateway.metric("ondol_gateway_packet_id_reuses_total")
        if received is None or acked is None or reuses is None:
            return {}
        return {
            "received by the last gateway": received,
            "acknowledged by it": acked,
            "packet ids reused": reuses,
        }

    async def _settle(self, timeout_s: float, quiet_s: float = 20.0) -> None:
        """Wait for every report, or until nothing more arrives for `quiet_s` (a drill that may lose)."""
        deadline = time.monotonic() + timeout_s
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            stored = await self.stored()
            if stored >= self.total:
                return
            if stored != last:
                last, since = stored, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                return
            await asyncio.sleep(0.5)

    def _at_least(self, threshold: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await self.stored() >= threshold

        return check

    async def time_to_next_row(self, timeout_s: float = 120) -> None:
        """Record how long until a row beyond the current count is committed."""
        before = await self.stored()
        self.recovery.append(await wait_until(self._at_least(before + 1), "ingest resumed", timeout_s))


async def kill_gateway(drill: Drill) -> None:
    drill.gateway.kill()
    drill.gateway.start()
    await drill.time_to_next_row()


async def restart_database_immediately(drill: Drill) -> None:
    """`pg_ctl stop -m immediate`: the server dies without a checkpoint and recovers from its WAL."""
    await asyncio.to_thread(drill.srv.pg.stop, "immediate")
    await asyncio.to_thread(drill.srv.pg.start)
    await drill.time_to_next_row()


def database_outage(seconds: float) -> Fault:
    async def outage(drill: Drill) -> None:
        await asyncio.to_thread(drill.srv.pg.stop, "fast")
        await asyncio.sleep(seconds)
        await asyncio.to_thread(drill.srv.pg.start)
        await drill.time_to_next_row()

    return outage


def broker_restart(*, kill: bool) -> Fault:
    """A clean stop saves every session and queued message; SIGKILL loses what arrived since the last
    autosave (AUTOSAVE_INTERVAL_S) and is not yet with the gateway."""

    async def restart(drill: Drill) -> None:
        await asyncio.to_thread(drill.srv.mq.stop, kill)
        await asyncio.to_thread(drill.srv.mq.start)
        await drill.time_to_next_row()

    return restart


async def reconnect_storm(srv: DrillServers, devices: int, interval_s: float = 10.0) -> dict[str, float]:
    """`devices` connected devices lose the broker at once (it restarts) and come back with jittered
    backoff. Returns the seconds until every device has reported again and the failures seen."""
    fleet = plan_fleet(devices, seed=13, prefix="storm")
    await _register(srv.dsn, fleet)
    gateway = Gateway(srv, srv.base / "storm-gateway.log", "gw-storm")
    gateway.start()
    stop = threading.Event()
    run = FleetRun(report_interval_s=interval_s, acceleration=1.0, inflight_window=20)
    try:
        await gateway.wait_subscribed()
    except TimeoutError:
        gateway.stop()
        raise
    publishing = asyncio.get_running_loop().run_in_executor(
        None, lambda: run_fleet(fleet, srv.broker, run, should_stop=stop.is_set)
    )
    try:
        await wait_until(_all_reported(srv.dsn, devices, time.time()), "every device reporting", 120)
        await asyncio.to_thread(srv.mq.stop, False)
        await asyncio.to_thread(srv.mq.start)
        back = time.time()
        recovery = await wait_until(_all_reported(srv.dsn, devices, back), "every device back", 120)
        errors = _error_lines(gateway.log)
    finally:
        stop.set()
        stats: FleetStats = await publishing
        gateway.stop()
    return {"devices": devices, "recovery_s": round(recovery, 1),
            "reconnect attempts refused or failed": stats.connect_failures,
            "gateway errors": errors}  # fmt: skip


def _error_lines(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if " ERROR " in line)


def _all_reported(dsn: str, devices: int, since: float) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        try:
            count = await conn.fetchval(
                "SELECT count(DISTINCT device_id) FROM readings WHERE device_id LIKE 'storm-%' "
                "AND ts > to_timestamp($1)", since,
            )  # fmt: skip
        finally:
            await conn.close()
        return bool(count >= devices)

    return check


__all__ = [
    "AUTOSAVE_INTERVAL_S",
    "Drill",
    "DrillResult",
    "broker_restart",
    "database_outage",
    "drill_servers",
    "kill_gateway",
    "reconnect_storm",
    "restart_database_immediately",
]


def kill_node(node: PostgresServer) -> None:
    """SIGKILL a database node's postmaster, as if its machine were gone, and reap it."""
    assert node.process is not None, "the node is not running under this process"
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait()
    node.process = None


def fail_over(replicated: ReplicatedPostgres, to: int, decide_s: float = 2.0) -> Fault:
    """The primary's machine is lost (SIGKILL); after `decide_s` (someone, or something, decides) the
    standby `to` is promoted. Recovery is counted from the promotion."""

    async def fault(drill: Drill) -> None:
        await asyncio.to_thread(kill_node, replicated.nodes[replicated.primary])
        await asyncio.sleep(decide_s)
        await asyncio.to_thread(replicated.promote, to)
        await drill.time_to_next_row()

    return fault


def rejoin(replicated: ReplicatedPostgres, index: int) -> Fault:
    """A lost node comes back as a synchronous standby of the current primary (pg_rewind)."""

    async def fault(drill: Drill) -> None:
        await asyncio.to_thread(replicated.rejoin, index)
        await asyncio.to_thread(replicated.restore_synchronous)
        await drill.time_to_next_row()

    return fault
