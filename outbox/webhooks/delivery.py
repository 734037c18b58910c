"""The webhook delivery worker: sends each pending delivery as a signed CloudEvent, at least once,
in order per ticket, retrying with capped exponential backoff and jitter.

Deliveries are rows (migration 0005) created in the same transaction as their outbox event. A
pass claims the due ones (the oldest pending of each subject only, moved a lease ahead and
counted as an attempt), sends them concurrently, and records each answer in its own transaction.
Killed at any moment, the worker loses nothing: a claimed delivery whose answer was not recorded
is due again when its lease runs out, under the same `webhook-id`, which receivers de-duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from outbox.outbound_guard import BlockedDestinationError, OutboundPolicy, resolve
from outbox.outbound_http import Answer, OutboundClient
from outbox.webhooks import store as webhook_store
from outbox.webhooks.signing import signature_header
from outbox.webhooks.store import DueDelivery
from protocol.backoff import Backoff
from telemetry.database import Pool, create_pool_when_ready, poll_until_stopped

__all__ = ["DeliveryConfig", "WebhookDeliverer", "cloud_event", "run_deliverer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    source: str = "urn:ondol"
    """The CloudEvents `source` of every event."""
    batch: int = 100
    lease_s: float = 30.0
    """How long a claimed delivery is a worker's; beyond it, another worker may send it again."""
    timeout_s: float = 5.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 3600.0
    safety_backoff_cap_s: float = 5.0
    """Safety-critical events (urgent and emergency tickets) are retried at least this often."""
    give_up_after_s: float = 3 * 24 * 3600.0
    idle_poll_s: float = 0.25

    def __post_init__(self) -> None:
        if self.lease_s <= self.timeout_s + 1:
            raise ValueError(
                f"the delivery lease ({self.lease_s} s) must outlast a request ({self.timeout_s} s) by over a second, "
                "or a slow delivery is sent twice"
            )

    def retry(self, *, safety: bool) -> Backoff:
        """How a failed delivery is retried: doubling from the base with equal jitter, so that a
        receiver coming back is not hit by every delivery at once; safety events up to their own cap."""
        return Backoff(self.backoff_base_s, self.safety_backoff_cap_s if safety else self.backoff_cap_s)


def cloud_event(row: DueDelivery, source: str) -> tuple[str, bytes]:
    """(webhook-id, body): the outbox event as a CloudEvents 1.0 structured JSON body. The id is
    the outbox event's, so it is the same on every retry and replay."""
    msg_id = f"evt_{row.event_id}"
    event = {
        "specversion": "1.0",
        "id": msg_id,
        "source": source,
        "type": row.event_type,
        "subject": row.subject,
        "time": row.event_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": json.loads(row.payload_json),
    }
    return msg_id, json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookDeliverer:
    def __init__(self, pool: Pool, config: DeliveryConfig) -> None:
        self._pool = pool
        self._config = config
        self._client = OutboundClient(config.timeout_s)
        self.delivered = 0
        self.failed_attempts = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a database outage is waited out."""
        try:
            await poll_until_stopped(
                self.deliver_due, stop, self._config.idle_poll_s, what="webhook delivery"
            )
        finally:
            await self._client.aclose()

    async def deliver_due(self) -> int:
        """One pass: claim what is due, send it, record the answers. How many were attempted."""
        async with self._pool.acquire() as conn:
            rows = await webhook_store.claim_due(conn, batch=self._config.batch, lease_s=self._config.lease_s)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: DueDelivery) -> None:
        msg_id, body = cloud_event(row, self._config.source)
        attempted_at = datetime.now(UTC)
        try:
            target = await resolve(row.url, self._config.policy)
        except BlockedDestinationError as exc:
            answer = Answer(None, "", f"blocked: {exc}", 0.0)
        else:
            stamp = int(time.time())
            headers = {
                "content-type": "application/cloudevents+json",
                "user-agent": "ondol-webhooks/1",
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": signature_header(row.secret, msg_id, stamp, body),
            }
            answer = await self._client.post(target, body, headers)
        await self._record(row, attempted_at, answer)

    async def _record(self, row: DueDelivery, attempted_at: datetime, answer: Answer) -> None:
        ok = answer.status_code is not None and 200 <= answer.status_code < 300
        async with self._pool.acquire() as conn, conn.transaction():
            await webhook_store.record_outcome(
                conn, row, attempted_at=attempted_at, duration_ms=answer.duration_ms,
                status_code=answer.status_code, error=answer.error, excerpt=answer.excerpt or None,
                next_attempt=None if ok else self._next_attempt(row),
            )  # fmt: skip
        if ok:
            self.delivered += 1
            return
        self.failed_attempts += 1
        log.info("webhook %s to subscription %s failed (attempt %d): %s", row.delivery_id,
                 row.subscription_id, row.attempts, answer.error or f"HTTP {answer.status_code}")  # fmt: skip

    def _next_attempt(self, row: DueDelivery) -> datetime | None:
        """When to try again; None once the delivery is older than the give-up age."""
        now = datetime.now(UTC)
        if now - row.created_at > timedelta(seconds=self._config.give_up_after_s):
            return None
        delay = self._config.retry(safety=row.safety).delay(row.attempts)
        return now + timedelta(seconds=delay)


async def run_deliverer(database_url: str, config: DeliveryConfig, stop: asyncio.Event) -> None:
    """The delivery worker process: waits for the database, then delivers until `stop`."""
    pool = await create_pool_when_ready(database_url, application_name="ondol-webhooks", stop=stop)
    if pool is None:
        return
    try:
        log.info("webhook delivery worker started")
        await WebhookDeliverer(pool, config).run(stop)
    finally:
        await pool.close()
