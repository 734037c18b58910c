"""Time-driven rules: guidance that ran out, customers not contacted in time, faults that stayed clear,
safety alerts nobody acknowledged; and devices gone offline.

Each sweep takes its rows with FOR UPDATE SKIP LOCKED, so several workers can sweep at once and each
row is handled by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from diagnostics.call_center_events import publish_device_offline
from diagnostics.faults import store
from diagnostics.faults.engine import FaultEngine
from diagnostics.faults.escalation import escalate_unacknowledged
from telemetry import named_queries, offline_devices
from telemetry.database import Pool

__all__ = ["SweepResult", "run_offline_sweep", "run_sweeps"]

_Q: Final = named_queries.load("engine", package="diagnostics.faults").require(
    "escalate_overdue_contacts", "propose_remote_resolution"
)
_BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    ticketed_after_guidance: int
    escalated: int
    proposed_remote_resolution: int
    unacknowledged_alerts: int

    @property
    def did_something(self) -> bool:
        return any((self.ticketed_after_guidance, self.escalated, self.proposed_remote_resolution,
                    self.unacknowledged_alerts))  # fmt: skip


async def run_sweeps(pool: Pool, engine: FaultEngine) -> SweepResult:
    stay_clear = engine.config.stay_clear_for_remote_resolution
    async with pool.acquire() as conn:
        async with conn.transaction():
            overdue = await store.overdue_guidance(conn, batch=_BATCH)
            for case in overdue:
                await engine.ticket_overdue_guidance(conn, case)
        async with conn.transaction():
            escalated = await conn.fetch(_Q["escalate_overdue_contacts"], _BATCH)
        async with conn.transaction():
            proposed = await conn.fetch(_Q["propose_remote_resolution"], stay_clear, _BATCH)
        async with conn.transaction():
            unacknowledged = await escalate_unacknowledged(
                conn, engine.catalog, after=engine.config.alert_ack_within, batch=_BATCH
            )
    return SweepResult(len(overdue), len(escalated), len(proposed), unacknowledged)


async def run_offline_sweep(pool: Pool) -> int:
    """device.offline events for devices gone since the last sweep; how many. A full pass over
    device_state, so it runs less often than the other sweeps (see WorkerConfig.offline_interval_s)."""
    notified = 0
    async with pool.acquire() as conn:
        async with conn.transaction():
            await offline_devices.clear_returned(conn)
        while True:
            async with conn.transaction():
                gone = await offline_devices.mark_gone_offline(conn, _BATCH)
                batch = await publish_device_offline(conn, gone)
            notified += batch
            if batch < _BATCH:
                return notified
