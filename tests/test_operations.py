"""What an operator watches: the API process's `/metrics` (its requests, and the work queues as the
database holds them at the scrape), the API's request log under its own process, and a diagnostics log
that says what the jobs did rather than that they ran."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import create_metrics_app
from ondol.local_servers import free_port
from testbed.support import ApiClient, insert_ticket, register, running_worker, seed_points


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def _known_backlog(db: asyncpg.Connection) -> None:
    """Two webhook deliveries pending (10 and 2 minutes old), one failed, one delivered; alerts: one
    due 5 minutes ago, one due in an hour, two failed, one sent; one open ticket 30 minutes past its
    contact clock, one not yet due, one past it but contacted; five events 1 minute in the inbox; two
    diagnostic failures."""
    await seed_points(db)
    await register(db, "dev-1", "dev-2", "dev-3")
    await db.execute(
        "INSERT INTO webhook_subscriptions (url, secret, event_types) VALUES ('https://cc.example/h', 'whsec_x', '{ticket.opened}')"
    )
    await db.executemany(
        "INSERT INTO outbox_events (event_type, subject, payload) VALUES ('ticket.opened', $1, '{}')",
        [(f"ticket/{i}",) for i in range(4)],
    )
    ids = [r["delivery_id"] for r in await db.fetch("SELECT delivery_id FROM webhook_deliveries ORDER BY 1")]
    assert len(ids) == 4
    await db.execute(
        "UPDATE webhook_deliveries SET created_at = now() - interval '10 minutes' WHERE delivery_id = $1",
        ids[0],
    )
    await db.execute(
        "UPDATE webhook_deliveries SET created_at = now() - interval '2 minutes' WHERE delivery_id = $1",
        ids[1],
    )
    await db.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE delivery_id = $1", ids[2])
    await db.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now() WHERE delivery_id = $1",
        ids[3],
    )
    await db.executemany(
        "INSERT INTO customer_alerts (device_id, phone, channel, kind, code, message_ko, message_en, status, not_before)"
        " VALUES ('dev-1', '01011112222', 'sms', 'guidance', 'E003', 'm', 'm', $1, now() + $2::interval)",
        [("pending", -timedelta(minutes=5)), ("pending", timedelta(hours=1)), ("failed", -timedelta(days=1)),
         ("failed", -timedelta(days=2)), ("sent", -timedelta(hours=1))],
    )  # fmt: skip
    late = await insert_ticket(db, "dev-1", "SP-001")
    await insert_ticket(db, "dev-2", "SP-001")  # due in an hour
    contacted = await insert_ticket(db, "dev-3", "SP-001")
    await db.execute(
        "UPDATE tickets SET contact_due_at = now() - interval '30 minutes' WHERE ticket_id = $1", late
    )
    await db.execute(
        "UPDATE tickets SET status = 'contacted', contact_due_at = now() - interval '3 hours' WHERE ticket_id = $1",
        contacted,
    )
    await db.executemany(
        "INSERT INTO event_inbox (device_id, ts, seq, code, state, received_at)"
        " VALUES ('dev-1', now(), $1, 'E003', 'raised', now() - interval '1 minute')",
        [(i,) for i in range(5)],
    )
    await db.executemany(
        "INSERT INTO diagnostic_failures (device_id, ts, seq, code, state, error) VALUES ('dev-1', now(), $1, 'E003', 'raised', 'boom')",
        [(1,), (2,)],
    )


async def test_metrics_report_the_backlogs_the_database_holds_and_the_apis_requests(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await _known_backlog(db)
    client = ApiClient(db_dsn, role=None)
    async with client as api:
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/v1/devices")).status_code == 401
        assert (await api.get("/v1/devices/dev-1")).status_code == 401
        assert (await api.request("BREW", "/v1/devices")).status_code == 405
        metrics = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_metrics_app(client.app)),
                                    base_url="http://metrics.test")  # fmt: skip
        async with metrics:
            answer = await metrics.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    got = _samples(answer.text)
    assert _value(got, "ondol_store_up") == 1
    assert _value(got, "ondol_webhook_deliveries_pending") == 2
    assert _value(got, "ondol_webhook_oldest_pending_age_seconds") == pytest.approx(600, abs=30)
    assert _value(got, "ondol_webhook_deliveries_failed") == 1
    assert _value(got, "ondol_customer_alerts_pending") == 2
    assert _value(got, "ondol_customer_alerts_due") == 1
    assert _value(got, "ondol_customer_alert_oldest_due_age_seconds") == pytest.approx(300, abs=30)
    assert _value(got, "ondol_customer_alerts_failed") == 2
    assert _value(got, "ondol_tickets_past_contact_due") == 1
    assert _value(got, "ondol_ticket_oldest_past_contact_due_seconds") == pytest.approx(1800, abs=30)
    assert _value(got, "ondol_event_inbox_backlog") == 5
    assert _value(got, "ondol_event_inbox_oldest_age_seconds") == pytest.approx(60, abs=30)
    assert _value(got, "ondol_diagnostic_failures") == 2
    requests = "ondol_api_requests_total"
    assert _value(got, requests, method="GET", route="/healthz", status="200") == 1
    assert _value(got, requests, method="GET", route="/v1/devices/{device_id}", status="401") == 1, (
        "routes by their template: a path may hold a phone number"
    )
    assert _value(got, "ondol_api_request_seconds_count", method="GET", route="/v1/devices") == 1
    assert _value(got, requests, method="OTHER", route="/v1/devices", status="405") == 1, (
        "a method the client makes up is not a series of its own"
    )


async def test_metrics_answer_while_the_database_is_down() -> None:
    client = ApiClient(f"postgresql://ondol:x@127.0.0.1:{free_port()}/ondol", role=None)
    async with (
        client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_metrics_app(client.app)), base_url="http://metrics.test"
        ) as metrics,
    ):
        answer = await metrics.get("/metrics")
    assert answer.status_code == 200
    got = _samples(answer.text)
    assert _value(got, "ondol_store_up") == 0
    assert ("ondol_webhook_deliveries_pending", frozenset()) not in got, "no figure rather than a wrong one"


def test_the_api_process_logs_its_requests_and_serves_metrics_on_its_own_port(
    db_dsn: str, tmp_path: Path
) -> None:
    api_port, metrics_port = free_port(), free_port()
    env = dict(os.environ, ONDOL_API_PORT=str(api_port), ONDOL_API_METRICS_PORT=str(metrics_port),
               ONDOL_STATE_DIR=str(tmp_path))  # fmt: skip
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "ondol", "api", "--database-url", db_dsn], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(f"{base}/v1/customers/01012345678/export", timeout=5).status_code == 401
        assert httpx.get(f"{base}/nowhere", timeout=5).status_code == 404
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404, "not on the API's port"
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert scraped.status_code == 200
        got = _samples(scraped.text)
        assert _value(got, "ondol_store_up") == 1
        assert _value(got, "ondol_api_requests_total", method="GET", route="/healthz", status="200") >= 1
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    text = log.read_text()
    assert code == 0, text[-2000:]
    assert "GET /healthz 200" in text
    assert "GET /v1/customers/{phone}/export 401" in text
    assert "01012345678" not in text, "no phone number in a log line"
    assert "GET (no route) 404" in text
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in text


async def test_the_diagnostics_log_says_what_jobs_did_not_that_they_ran(
    db_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_worker(db_dsn):
        await asyncio.sleep(2.0)  # several runs of the 0.3 s sweep, and one of every other job
    noise = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("apscheduler") and r.levelno < logging.WARNING
    ]
    assert noise == [], noise[:3]
    idle = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith(("retention:", "hourly rollup:"))
    ]
    assert idle == [], "an empty store: the maintenance did nothing, so it says nothing"
