"""Tickets through the whole path: repeats and redeliveries, the customer's own fix, recurrence,
the contact clock, remote resolution, and the lifecycle through the API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from firmware_sim.faults import Injection, inject
from protocol.broker import BrokerAddress
from testbed.support import (
    ApiClient,
    Publisher,
    eventually,
    gateway_config,
    now_iso,
    reading,
    register_full,
    running_gateway,
    running_worker,
    seed_points,
    store,
)


async def setup_device(db: asyncpg.Connection, device_id: str = "boiler-1") -> None:
    await seed_points(db)
    await register_full(db, device_id, latitude=37.5665, longitude=126.9780, region="seoul",
                        installed_on=date.today() - timedelta(days=400))  # fmt: skip


async def safety_ticket(db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress) -> int:
    """A false-flame fault (E004, safety-critical) on boiler-1, through the gateway and the worker: its ticket's id."""
    await setup_device(db)
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E004", "raised")])
        ticket_id: int = await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
    return ticket_id


async def clear_fault(db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, code: str = "E004") -> None:
    """The boiler reports `code` cleared, through the gateway and the worker."""
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", code, "cleared")])
        await eventually(lambda: db.fetchval("SELECT NOT active FROM device_faults WHERE code = $1", code),
                         what=f"{code} cleared")  # fmt: skip
        await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"), what="inbox drained")


@pytest.fixture
async def api(db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    async with ApiClient(db_dsn, role="agent") as client:
        yield client


@pytest.mark.parametrize("code", ["E205", "E003"])
async def test_fifty_raises_give_one_ticket_counting_fifty(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, code: str
) -> None:
    await setup_device(db)
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", code, "raised", repeat=50)])
        await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"), what="inbox drained")
        await eventually(lambda: db.fetchval("SELECT count(*) = 50 FROM events"), what="50 events stored")
        await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"), what="inbox drained")
    tickets = await db.fetch("SELECT occurrences, code FROM tickets")
    assert [(t["occurrences"], t["code"]) for t in tickets] == [(50, code)]
    assert await db.fetchval("SELECT raises FROM fault_cases") == 50


async def test_a_redelivered_event_counts_once(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await setup_device(db)
    pub = Publisher(broker)
    event = json.dumps({"seq": 7, "ts": now_iso(), "code": "E205", "state": "raised"})
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        for _ in range(3):
            pub.publish("ondol/v1/boiler-1/events", event)
        await eventually(lambda: db.fetchval("SELECT count(*) = 1 FROM tickets"), what="ticket")
        await asyncio.sleep(0.5)
    pub.close()
    assert await db.fetchval("SELECT occurrences FROM tickets") == 1


async def test_customer_fix_closes_the_case_and_a_recurrence_within_24h_opens_a_ticket(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await setup_device(db)
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E003", "raised")])
        await eventually(lambda: db.fetchval("SELECT status = 'guidance' FROM fault_cases"), what="guided")
        guidance = await db.fetch("SELECT kind, message_ko FROM customer_alerts")
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E003", "cleared")])
        await eventually(
            lambda: db.fetchval("SELECT status = 'resolved_by_customer' FROM fault_cases"), what="fixed"
        )
        assert await db.fetchval("SELECT count(*) FROM tickets") == 0
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E003", "raised")])
        rule = await eventually(lambda: db.fetchval("SELECT rule FROM tickets"), what="ticket")
    assert rule == "if_recurs.recurred_within_24h"
    assert [g["kind"] for g in guidance] == ["guidance", "guidance"], "owner and family (high severity)"
    assert "가스 밸브" in guidance[0]["message_ko"], "the self-fix steps are in the message"
    assert await db.fetchval("SELECT raises FROM fault_cases WHERE status = 'ticketed'") == 2


async def test_uncontacted_ticket_escalates_and_a_fault_that_stays_clear_is_proposed_for_remote_resolution(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await setup_device(db)
    engine = {
        "contact_within": timedelta(seconds=1),
        "stay_clear_for_remote_resolution": timedelta(seconds=1),
    }
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn, **engine):
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E205", "raised")])
        await eventually(
            lambda: db.fetchval("SELECT escalations = 1 FROM tickets"), what="escalated", timeout_s=15
        )
        await asyncio.to_thread(inject, broker, [Injection("boiler-1", "E205", "cleared")])
        await eventually(
            lambda: db.fetchval("SELECT remote_resolution_proposed_at IS NOT NULL FROM tickets"),
            what="remote resolution proposed", timeout_s=15,
        )  # fmt: skip
    ticket = await db.fetchrow("SELECT priority, fault_cleared_at FROM tickets")
    assert ticket["priority"] == 2, "one step up from normal (3)"
    assert ticket["fault_cleared_at"] is not None
    kinds = [
        r["event_type"] for r in await db.fetch("SELECT event_type FROM outbox_events ORDER BY event_id")
    ]
    assert kinds[:2] == ["ticket.opened", "ticket.escalated"]
    assert "ticket.updated" in kinds
    notes = [r["note"] for r in await db.fetch("SELECT note FROM ticket_transitions ORDER BY transition_id")]
    assert any("priority raised" in n for n in notes)
    assert any("remote resolution" in n for n in notes)


async def test_the_lifecycle_through_the_api_with_audit_trail_and_refusals(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, api: httpx.AsyncClient
) -> None:
    ticket_id = await safety_ticket(db, db_dsn, broker)

    device = (await api.get("/v1/devices/boiler-1")).json()
    assert [t["ticket_id"] for t in device["open_tickets"]] == [ticket_id]
    listed = (await api.get("/v1/tickets", params={"priority": 2, "code": "E004", "region": "seoul"})).json()
    assert [t["ticket_id"] for t in listed["items"]] == [ticket_id]
    assert (await api.get("/v1/tickets", params={"status": "closed"})).json()["items"] == []

    bad = await api.post(
        f"/v1/tickets/{ticket_id}/transitions", json={"to": "dispatched", "actor": "agent-7"}
    )
    assert bad.status_code == 409
    assert bad.headers["content-type"].startswith("application/problem+json")
    for to in ("contacted", "scheduled", "dispatched"):
        response = await api.post(
            f"/v1/tickets/{ticket_id}/transitions", json={"to": to, "actor": "agent-7", "note": f"→ {to}"}
        )
        assert response.status_code == 200, response.text
    still_active = await api.post(f"/v1/tickets/{ticket_id}/transitions", json={"to": "resolved"})
    assert still_active.status_code == 409, "E004 is still active on the boiler"
    assert still_active.json()["type"].endswith("safety-code-active")
    await clear_fault(db, db_dsn, broker)
    for to in ("resolved", "closed"):
        response = await api.post(
            f"/v1/tickets/{ticket_id}/transitions", json={"to": to, "actor": "agent-7", "note": f"→ {to}"}
        )
        assert response.status_code == 200, response.text
    detail = (await api.get(f"/v1/tickets/{ticket_id}")).json()
    assert [t["to_status"] for t in detail["transitions"]] == [
        "open",
        "contacted",
        "scheduled",
        "dispatched",
        "resolved",
        "closed",
    ]
    assert all(t["actor"].startswith("agent-7 (via ") for t in detail["transitions"][1:]), (
        "and the key that said so"
    )
    assert detail["ticket"]["contacted_at"] is not None
    assert detail["ticket"]["closed_at"] is not None
    assert detail["evidence"]["rule"] == "safety_critical"
    assert detail["events"][0]["code"] == "E004"
    assert {a["kind"] for a in detail["alerts"]} == {"safety", "result"}, (
        "the alert, then the repair's result"
    )
    assert (await api.get("/v1/devices/boiler-1")).json()["open_tickets"] == []
    assert (await api.get("/v1/tickets/999999")).status_code == 404
    codes = (await api.get("/v1/catalog/codes")).json()
    assert len(codes) == 45
    assert codes[0]["name"]["ko"]
    assert (await api.get("/v1/catalog/codes/E003")).json()["display"] == "03"


async def test_an_event_the_engine_cannot_handle_is_recorded_and_the_rest_go_on(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await setup_device(db)
    # Queued as the gateway queues events; "ghost" was never registered (or was removed since).
    await db.execute(
        "INSERT INTO event_inbox (device_id, ts, seq, code, state, received_at) VALUES "
        "('boiler-1', now(), 1, 'E205', 'raised', now()), ('ghost', now(), 1, 'E205', 'raised', now()), "
        "('boiler-1', now(), 2, 'E218', 'raised', now())"
    )
    async with running_worker(db_dsn):
        await eventually(lambda: db.fetchval("SELECT count(*) = 0 FROM event_inbox"), what="inbox drained")
    failures = await db.fetch("SELECT device_id, error FROM diagnostic_failures")
    assert [f["device_id"] for f in failures] == ["ghost"]
    assert "missing" in failures[0]["error"]
    assert await db.fetchval("SELECT occurrences FROM tickets WHERE device_id = 'boiler-1'") == 2


async def test_agents_write_notes_and_assign_the_visit(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, api: httpx.AsyncClient
) -> None:
    ticket_id = await safety_ticket(db, db_dsn, broker)
    routed = await db.fetchval("SELECT service_point_id FROM tickets")
    other = await db.fetchval(
        "SELECT point_id FROM service_points WHERE point_id <> $1 ORDER BY point_id LIMIT 1", routed
    )

    note = await api.post(
        f"/v1/tickets/{ticket_id}/notes", json={"author": "agent-7", "body": "고객: 난방이 안 됨"}
    )
    assert note.status_code == 201, note.text
    assert note.json()["kind"] == "note"
    assigned = await api.post(
        f"/v1/tickets/{ticket_id}/assignment",
        json={"service_point_id": other, "technician": "tech-31", "actor": "agent-7"},
    )
    assert assigned.status_code == 200, assigned.text
    detail = assigned.json()
    assert detail["ticket"]["service_point_id"] == other
    assert detail["ticket"]["technician"] == "tech-31"
    assert detail["ticket"]["assigned_by"].startswith("agent-7 (via ")
    assert [(n["kind"], n["body"]) for n in detail["notes"]] == [
        ("note", "고객: 난방이 안 됨"),
        ("assignment", f"assigned to service point {other}, technician tech-31"),
    ]
    told = json.loads(await db.fetchval(
        "SELECT payload FROM outbox_events WHERE event_type = 'ticket.updated' ORDER BY event_id DESC LIMIT 1"
    ))  # fmt: skip
    assert (told["service_point_id"], told["technician"]) == (other, "tech-31"), "the call center hears of it"

    unknown = await api.post(
        f"/v1/tickets/{ticket_id}/assignment", json={"service_point_id": "SP-NOPE", "actor": "a"}
    )
    assert unknown.status_code == 422
    assert (await api.post("/v1/tickets/999999/notes", json={"author": "a", "body": "x"})).status_code == 404
    assert (
        await api.post(f"/v1/tickets/{ticket_id}/notes", json={"author": "a", "body": ""})
    ).status_code == 422
    await clear_fault(db, db_dsn, broker)
    cancelled = await api.post(
        f"/v1/tickets/{ticket_id}/transitions", json={"to": "cancelled", "actor": "agent-7"}
    )
    assert cancelled.status_code == 200, cancelled.text
    closed = await api.post(
        f"/v1/tickets/{ticket_id}/assignment", json={"technician": "tech-9", "actor": "a"}
    )
    assert closed.status_code == 409
    assert (
        await api.post(f"/v1/tickets/{ticket_id}/notes", json={"author": "a", "body": "called back"})
    ).status_code == 201


async def test_the_agent_overview_reads_out_the_fault_the_last_day_warranty_tickets_and_alerts(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress, api: httpx.AsyncClient
) -> None:
    ticket_id = await safety_ticket(db, db_dsn, broker)
    now = datetime.now(UTC)
    await store(db, *(reading("boiler-1", now - timedelta(minutes=10 * i), 1000 + i, ch_pressure_bar=1.0 + i / 10)
                      for i in range(1, 6)))  # fmt: skip
    await store(db, reading("boiler-1", now - timedelta(hours=30), 999, ch_pressure_bar=9.0))  # outside 24 h
    body = (await api.get("/v1/devices/boiler-1/overview")).json()
    fault = body["active_faults"][0]
    assert fault["code"] == "E004"
    assert fault["safety_critical"] is True
    assert "불꽃" in fault["customer_text"]["ko"]
    assert fault["raised_at"] is not None
    summary = body["telemetry_24h"]
    assert summary["readings"] == 5
    assert summary["fields"]["ch_pressure_bar"] == pytest.approx({"avg": 1.3, "min": 1.1, "max": 1.5})
    assert [t["ticket_id"] for t in body["tickets"]] == [ticket_id]
    assert body["warranty"]["in_warranty"] is True
    assert body["warranty"]["years"] == 3
    assert {a["kind"] for a in body["alerts"]} == {"safety"}
    assert len(body["alerts"]) == 2, "owner and family"
    assert body["device"]["device_id"] == "boiler-1"
    assert body["next_inspection"] is None
    assert (await api.get("/v1/devices/nope/overview")).status_code == 404
