"""Losing a database machine (docs/reliability.md): a primary with a synchronous standby, on loopback,
for real. The primary is killed with SIGKILL during ingest at 1,000 reports/s and the standby promoted:
nothing the gateway acknowledged is lost, nothing is stored twice, and ingest resumes within 10 s of
the promotion. The standby is killed: commits wait, then the primary goes on alone with an alarm,
and synchronous replication comes back with the standby. The API keeps answering reads from the
standby while the primary is down."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from api.operations import operations_snapshot
from firmware_sim.faults import Injection, inject
from ondol.local_servers import PostgresServer
from outbox.alerts.delivery import AlertConfig, AlertDeliverer, ProviderSettings, provider_chains
from outbox.outbound_http import OutboundClient
from outbox.webhooks.delivery import DeliveryConfig
from outbox.webhooks.signing import new_secret
from outbox.webhooks.store import create_subscription
from telemetry.database import create_pool
from telemetry.replication import SyncPolicy, SyncWatch
from testbed.fault_drill import Drill, wait_until
from testbed.provider_sink import ProviderSink
from testbed.servers import ReplicatedServers, replicated_servers
from testbed.support import (
    NO_QUIET_HOURS,
    ApiClient,
    eventually,
    gateway_config,
    register_full,
    running_gateway,
    seed_points,
)
from testbed.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[ReplicatedServers]:
    with replicated_servers("ondol-failover-", replicas=1, keep_logs=True) as srv:
        yield srv


def _readings_committed(drill: Drill) -> float:
    """Readings the gateway committed, and so acknowledged (it acknowledges only after the commit)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{drill.gateway.metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    found = re.search(r'^ondol_gateway_written_total\{kind="readings"\} ([0-9.e+]+)$', text, re.MULTILINE)
    assert found, "the gateway reports the readings it committed"
    return float(found[1])


def _kill(node: PostgresServer) -> None:
    """SIGKILL the postmaster: the machine is gone (its children die with it, unflushed)."""
    assert node.process is not None
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait()
    node.process = None


async def test_the_primary_killed_during_ingest_loses_nothing_acknowledged(
    cluster: ReplicatedServers,
) -> None:
    assert cluster.replicated is not None
    replicated = cluster.replicated
    drill = Drill(cluster, "failover", devices=100, reports=100, per_device_s=0.1)  # 1,000 reports/s
    seen: dict[str, float] = {}

    async def kill_primary_and_promote(d: Drill) -> None:
        seen["acked before the kill"] = await asyncio.to_thread(_readings_committed, d)
        _kill(replicated.nodes[0])
        await asyncio.sleep(2.0)  # an operator's (or an orchestrator's) decision takes a moment
        alone = await asyncio.to_thread(replicated.promote, 1)
        assert alone, "the only standby went on alone: nobody is left to copy its commits"
        promoted = time.monotonic()
        on_new_primary = await d.stored()
        seen["on the new primary at promotion"] = on_new_primary
        await d.time_to_next_row(timeout_s=60)
        seen["resumed after promotion (s)"] = time.monotonic() - promoted

    result = await drill.run([(0.3, kill_primary_and_promote)])
    assert result.tally.lost == 0, result.line()
    assert result.tally.stored_twice == 0, result.line()
    assert seen["on the new primary at promotion"] >= seen["acked before the kill"], (
        "every reading acknowledged before the kill was on the standby when it took over",
        seen,
    )
    assert seen["resumed after promotion (s)"] < 10.0, f"ingest resumed {seen} after the promotion"
    check = await asyncpg.connect(cluster.dsn)
    try:
        assert await check.fetchval("SELECT inet_server_port()") == replicated.ports[1]
        latest = await check.fetchval("SELECT event FROM replication_events ORDER BY event_id DESC LIMIT 1")
        assert latest == "degraded"
    finally:
        await check.close()

    # The lost machine comes back as a standby of the new primary, and commits wait for it again.
    await asyncio.to_thread(replicated.rejoin, 0)
    await asyncio.to_thread(replicated.restore_synchronous)
    conn = await asyncpg.connect(cluster.dsn)
    try:

        async def streaming_in_sync() -> bool:
            rows = await conn.fetch("SELECT application_name, sync_state FROM pg_stat_replication")
            return [(r["application_name"], r["sync_state"]) for r in rows] == [("node0", "sync")]

        await wait_until(streaming_in_sync, "node0 streaming as a synchronous standby", 60)
        stored = await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE 'drill-%'")
    finally:
        await conn.close()
    old = await asyncpg.connect(replicated.nodes[0].dsn)
    try:
        assert await old.fetchval("SELECT pg_is_in_recovery()")
        await wait_until(lambda: _count_equals(old, stored), "the rejoined node has every reading", 60)
    finally:
        await old.close()


async def _count_equals(conn: asyncpg.Connection, expected: int) -> bool:
    return (
        int(await conn.fetchval("SELECT count(*) FROM readings WHERE device_id LIKE 'drill-%'")) == expected
    )


async def test_a_lost_standby_holds_commits_then_the_primary_goes_on_alone_loudly(
    cluster: ReplicatedServers,
) -> None:
    assert cluster.replicated is not None
    replicated = cluster.replicated
    watch = SyncWatch(SyncPolicy(replicated.synchronous_names, degrade_after_s=10.0))
    conn = await asyncpg.connect(cluster.dsn)
    writer = await asyncpg.connect(cluster.dsn)
    try:
        await conn.execute("CREATE TABLE drill_commits (n int)")
        assert await watch.check(conn, now=0.0) is None
        snapshot = await operations_snapshot(conn, datetime.now(UTC))
        assert (snapshot.sync_standbys, snapshot.sync_degraded) == (1, 0)

        _kill(replicated.nodes[1])
        pending = asyncio.ensure_future(writer.execute("INSERT INTO drill_commits VALUES (1)"))
        await asyncio.sleep(2.0)
        assert not pending.done(), "a commit no standby copied is not acknowledged"
        assert await watch.check(conn, now=1.0) == "waiting"
        assert await watch.check(conn, now=6.0) == "waiting"
        assert not pending.done()
        assert await watch.check(conn, now=11.5) == "degraded"
        await asyncio.wait_for(pending, 10)
        assert await conn.fetchval("SELECT count(*) FROM drill_commits") == 1
        snapshot = await operations_snapshot(conn, datetime.now(UTC))
        assert (snapshot.sync_standbys, snapshot.sync_degraded) == (0, 1), "the alarm is up"

        await asyncio.to_thread(replicated.nodes[1].start)

        async def restored() -> bool:
            return await watch.check(conn, now=20.0) == "restored"

        await wait_until(restored, "synchronous replication restored", 60)
        await writer.execute("INSERT INTO drill_commits VALUES (2)")
        snapshot = await operations_snapshot(conn, datetime.now(UTC))
        assert (snapshot.sync_standbys, snapshot.sync_degraded) == (1, 0)
    finally:
        await conn.close()
        await writer.close()


async def test_reads_are_answered_from_the_standby_while_the_primary_is_down(
    cluster: ReplicatedServers,
) -> None:
    assert cluster.replicated is not None
    replicated = cluster.replicated
    conn = await asyncpg.connect(cluster.dsn)
    try:
        await register_full(
            conn, "ha-1", latitude=37.5, longitude=127.0, region="seoul", installed_on=date(2020, 1, 1)
        )
    finally:
        await conn.close()
    async with ApiClient(cluster.dsn, role="admin", read_database_url=cluster.read_dsn) as admin:
        assert (await admin.get("/v1/devices/ha-1/status")).status_code == 200
        assert (await admin.get("/v1/devices/ha-1")).status_code == 200
        _kill(replicated.nodes[0])
        answer = await admin.get("/v1/devices/ha-1/status")
        assert answer.status_code == 200, answer.text
        assert answer.json()["device_id"] == "ha-1"
        assert (await admin.get("/v1/devices/ha-1/telemetry")).status_code == 200
        personal = await admin.get("/v1/devices/ha-1")
        assert personal.status_code == 503, "personal data is not shown without its access log entry"
        await asyncio.to_thread(replicated.promote, 1)
        assert (await admin.get("/v1/devices/ha-1")).status_code == 200


async def test_the_workers_ride_a_failover_without_losing_or_redoing_work(
    cluster: ReplicatedServers, tmp_path: Path
) -> None:
    """A burst of device events is drained by the diagnostics worker, its call-center events sent by the
    webhook worker and its customer alerts by the alert worker, while the primary is killed and the
    standby promoted: every event handled once (tickets, occurrences, alerts add up), every webhook and
    every alert delivered. One the receiver took just before the kill, whose record died with the
    primary, goes again with the same webhook id or idempotency key: the receiver's de-duplication is
    what makes that once (docs/webhooks.md, docs/alerts.md); at most one claimed batch can be."""
    assert cluster.replicated is not None
    replicated = cluster.replicated
    db = await asyncpg.connect(cluster.dsn)
    receiver = WebhookReceiver()
    devices = [f"wf-{i:03d}" for i in range(40)]
    try:
        await seed_points(db)
        for i, device_id in enumerate(devices):
            await register_full(db, device_id, latitude=37.5 + i * 0.001, longitude=127.0, region="seoul",
                                installed_on=date.today() - timedelta(days=100), contacts=1,
                                quiet=NO_QUIET_HOURS)  # fmt: skip
        receiver.secret = new_secret()
        await create_subscription(db, url=receiver.url, secret=receiver.secret,
                                  event_types=["ticket.opened", "ticket.updated"], description="call center")  # fmt: skip
        async with running_gateway(gateway_config(cluster.dsn, cluster.broker)):
            await asyncio.to_thread(
                inject, cluster.broker, [Injection(d, "E205", "raised", repeat=20) for d in devices], 120
            )
            await eventually(
                lambda: db.fetchval("SELECT count(*) = 800 FROM events"), what="events stored", timeout_s=60
            )
        await db.close()
        env = dict(os.environ, ONDOL_DATABASE_URL=cluster.dsn, ONDOL_SWEEP_INTERVAL_S="1",
                   ONDOL_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.1/32"]', ONDOL_WEBHOOK_TIMEOUT_S="1",
                   ONDOL_WEBHOOK_LEASE_S="3")  # fmt: skip
        log = tmp_path / "workers.log"
        sink = ProviderSink()
        pool = await create_pool(cluster.dsn, application_name="test-alerts", min_size=1, max_size=4)
        client = OutboundClient(3.0)
        providers = ProviderSettings(
            kind="http", sms_url=f"{sink.base}/sms", alimtalk_url=f"{sink.base}/alimtalk"
        )
        alerts_config = AlertConfig(batch=10, lease_s=3.0, idle_poll_s=0.1)
        stop_alerts = asyncio.Event()
        alert_worker = asyncio.create_task(
            AlertDeliverer(pool, provider_chains(pool, providers, client), alerts_config).run(stop_alerts)
        )
        with log.open("ab") as out:
            workers = [subprocess.Popen([sys.executable, "-m", "ondol", name], env=env, stdout=out, stderr=subprocess.STDOUT)
                       for name in ("diagnostics", "webhooks")]  # fmt: skip
        try:

            async def some_sent() -> bool:
                return len(receiver.accepted()) >= 100

            await wait_until(some_sent, "a part of the webhooks sent", 60)
            _kill(replicated.nodes[0])
            await asyncio.sleep(2.0)
            await asyncio.to_thread(replicated.promote, 1)
            db = await asyncpg.connect(cluster.dsn)
            await eventually(
                lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"),
                what="inbox drained",
                timeout_s=120,
            )
            expected = int(await db.fetchval(
                "SELECT count(*) FROM outbox_events WHERE event_type IN ('ticket.opened', 'ticket.updated')"))  # fmt: skip

            async def all_delivered() -> bool:
                return len(receiver.unique_accepted()) == expected and bool(await db.fetchval(
                    "SELECT count(*) = 0 FROM webhook_deliveries WHERE status <> 'delivered'"))  # fmt: skip

            await wait_until(all_delivered, "every webhook delivered", 120)
            await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM customer_alerts WHERE status <> 'sent'"),
                             what="every alert sent", timeout_s=60)  # fmt: skip
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(30)
            stop_alerts.set()
            await alert_worker
            await client.aclose()
            await pool.close()
            sink.close()
        keys = [r["idempotency_key"] for r in sink.received]
        assert len(set(keys)) == 40, "every alert reached the provider"
        assert len(keys) - 40 <= alerts_config.batch, "repeats only for what was in flight at the kill"
        summary = await db.fetchrow(
            "SELECT count(*) AS tickets, min(occurrences) AS least, max(occurrences) AS most FROM tickets"
        )
        assert summary is not None
        assert dict(summary) == {"tickets": 40, "least": 20, "most": 20}, "every raise counted once"
        assert await db.fetchval("SELECT sum(raises) FROM fault_cases") == 800
        opened = await db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.opened'")
        assert opened == 40
        visits = await db.fetchval("SELECT count(*) FROM customer_alerts WHERE kind = 'visit'")
        assert visits == 40, "each owner told once that a visit is needed"
        assert expected == 40 * 20, "one call-center event per raise"
        assert receiver.bad_signatures == 0
        resent = len(receiver.accepted()) - len(receiver.unique_accepted())
        print(f"webhooks delivered {expected}, sent again with the same id {resent}; alerts sent 40, "
              f"sent again with the same key {len(keys) - 40}")  # fmt: skip
        # At most what the worker had claimed and in flight (one batch) when the primary died.
        assert resent <= DeliveryConfig().batch, f"{resent} webhooks sent again after the failover (same ids)"
    finally:
        receiver.close()
        if not db.is_closed():
            await db.close()
