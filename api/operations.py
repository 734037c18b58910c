"""The work queues as the database holds them, for the metrics an operator watches: webhook deliveries
and customer alerts waiting or failed, tickets past their contact clock, the diagnostics inbox and its
failures. The workers are measured by what they leave undone, so one query serves every worker
process, however many run and wherever (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["OperationsSnapshot", "operations_snapshot"]

_Q: Final = named_queries.load("operations", package="api").require("operations_snapshot")


@dataclass(frozen=True, slots=True)
class OperationsSnapshot:
    """Counts, and ages in seconds (0 when the queue is empty)."""

    webhook_pending: int
    webhook_oldest_pending_s: float
    webhook_failed: int
    alerts_pending: int
    alerts_due: int
    alerts_oldest_due_s: float
    alerts_failed: int
    tickets_past_contact_due: int
    tickets_oldest_past_due_s: float
    inbox_backlog: int
    inbox_oldest_s: float
    diagnostic_failures: int
    sync_standbys: int
    """Standbys the database server waits for at commit (0: it commits alone, or is not replicated)."""
    sync_degraded: int
    """1 while the primary goes on alone after losing its synchronous standby (telemetry.replication)."""


async def operations_snapshot(conn: Connection, now: datetime) -> OperationsSnapshot:
    """The queues as of `now`, read in one statement (one snapshot)."""
    row = await conn.fetchrow(_Q["operations_snapshot"], now)
    assert row is not None  # aggregates without GROUP BY always give their one row

    def age(name: str) -> float:
        return float(row[name] or 0.0)

    return OperationsSnapshot(
        webhook_pending=row["webhook_pending"], webhook_oldest_pending_s=age("webhook_oldest_pending_s"),
        webhook_failed=row["webhook_failed"], alerts_pending=row["alerts_pending"], alerts_due=row["alerts_due"],
        alerts_oldest_due_s=age("alerts_oldest_due_s"), alerts_failed=row["alerts_failed"],
        tickets_past_contact_due=row["tickets_past_contact_due"],
        tickets_oldest_past_due_s=age("tickets_oldest_past_due_s"), inbox_backlog=row["inbox_backlog"],
        inbox_oldest_s=age("inbox_oldest_s"), diagnostic_failures=row["diagnostic_failures"],
        sync_standbys=row["sync_standbys"], sync_degraded=int(row["sync_degraded"]),
    )  # fmt: skip
