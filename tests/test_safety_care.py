"""Safety first: what a new user found putting customers at risk or telling them the wrong thing.

Each test drives the real path (broker, gateway, diagnostics worker, alert worker through the sink
provider, API) and failed before its fix:
- an overdue contact clock is told to the call center whatever escalated the ticket before, with a
  reason, and the audit note says who was alerted next, or that nobody was;
- a safety-critical code has no self-fix steps anywhere;
- guidance still waiting when its fault clears (or its ticket ends) is withdrawn, not sent;
- the customer's self-fix window starts when the guidance reaches them, not while it is held;
- no alert asks for a reply nothing can receive;
- a safety ticket does not end while its code is active, without an audited override.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, time, timedelta

import asyncpg
import pytest

from diagnostics.catalog import load_catalog
from diagnostics.messages.texts import ALERT_TYPES, TemplateError, parse_templates, render
from diagnostics.messages.texts import _templates as loaded_templates
from firmware_sim.faults import Injection, inject
from protocol.broker import BrokerAddress
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.korean_time import KST
from testbed.support import (
    ApiClient,
    console_client,
    console_sign_in,
    eventually,
    gateway_config,
    issue_api_key,
    running_alert_sink,
    running_gateway,
    running_worker,
    seed_points,
    visible_text,
)

OWNER, CHILD = "01060000001", "01060000002"
ANY_HOUR = {"quiet_start": time(0, 0), "quiet_end": time(0, 0)}


async def _device(db: asyncpg.Connection, *contacts: ContactRecord, device_id: str = "boiler-1") -> None:
    await seed_points(db)
    record = DeviceRecord(device_id, "NCB-300", f"SN-{device_id}", date.today() - timedelta(days=400), "addr",
                          "seoul", 37.5665, 126.9780, "어머니", 60, contacts)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])


def _owner_and_child(**quiet: time) -> tuple[ContactRecord, ContactRecord]:
    hours = quiet or ANY_HOUR
    return (ContactRecord("어머니", OWNER, "owner", "sms", "ko", **hours),
            ContactRecord("Son", CHILD, "family", "sms", "en", **hours))  # fmt: skip


def _quiet_for(seconds: float) -> dict[str, time]:
    """Quiet hours (Korean time) that began an hour ago and end `seconds` from now."""
    now = datetime.now(KST)
    return {"quiet_start": (now - timedelta(hours=1)).time().replace(microsecond=0),
            "quiet_end": (now + timedelta(seconds=seconds)).time().replace(microsecond=0)}  # fmt: skip


async def _raise(broker: BrokerAddress, code: str, state: str = "raised") -> None:
    await asyncio.to_thread(inject, broker, [Injection("boiler-1", code, state)])


# ---------------------------------------------------------------- 1 and 6: escalation


async def test_an_emergency_escalated_for_its_unacknowledged_alert_is_escalated_again_when_its_contact_clock_runs_out(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    """E014 (gas leak), nobody acknowledges and nobody calls: the call center hears of both, each with
    its reason. Before, the first escalation silenced the contact clock's."""
    await _device(db, *_owner_and_child())  # no contact of a next rank
    engine = {"alert_ack_within": timedelta(seconds=1), "contact_within": timedelta(seconds=4)}
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn, **engine), \
            running_alert_sink(db_dsn):  # fmt: skip
        await _raise(broker, "E014")
        await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM ticket_escalations"),
                         what="two escalations", timeout_s=30)  # fmt: skip
        await asyncio.sleep(1.0)  # sweeps keep running: neither reason escalates twice
    payloads = [json.loads(r["payload"]) for r in await db.fetch(
        "SELECT payload FROM outbox_events WHERE event_type = 'ticket.escalated' ORDER BY event_id")]  # fmt: skip
    assert [p["reason"] for p in payloads] == ["safety_alert_unacknowledged", "contact_overdue"]
    assert payloads[0]["next_contacts_alerted"] == 0
    ticket = await db.fetchrow("SELECT kind, priority, escalations FROM tickets")
    assert (ticket["kind"], ticket["priority"], ticket["escalations"]) == ("emergency", 1, 2)
    audit = await db.fetch("SELECT reason, note, details FROM ticket_transitions WHERE reason <> 'opened'"
                           " ORDER BY transition_id")  # fmt: skip
    assert [a["reason"] for a in audit] == ["safety_alert_unacknowledged", "contact_overdue"]
    note = audit[0]["note"]
    assert "no contact at the next rank: handed to the call center" in note
    assert "next contacts alerted" not in note, "nobody at the next rank was alerted"
    assert json.loads(audit[0]["details"])["next_contacts_alerted"] == 0


async def test_the_escalation_note_counts_the_next_contacts_it_alerted(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    neighbour = ContactRecord("이웃", "01060000003", "family", "sms", "ko", escalation_rank=1, **ANY_HOUR)
    await _device(db, *_owner_and_child(), neighbour)
    async with running_gateway(gateway_config(db_dsn, broker)), \
            running_worker(db_dsn, alert_ack_within=timedelta(seconds=1)):  # fmt: skip
        await _raise(broker, "E004")
        note = await eventually(
            lambda: db.fetchval("SELECT note FROM ticket_transitions WHERE reason = 'safety_alert_unacknowledged'"),
            what="escalated", timeout_s=30,
        )  # fmt: skip
    assert "1 contact(s) of the next rank alerted" in note
    assert await db.fetchval("SELECT count(*) FROM customer_alerts WHERE kind = 'escalation'") == 1


# ---------------------------------------------------------------- 2: no steps for safety codes


async def test_a_safety_critical_fault_shows_no_self_fix_steps_to_the_agent(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    """E110 (flue blocked, possible CO): the overview the console reads has no steps, and the customer's
    message tells them not to restart it."""
    await _device(db, *_owner_and_child())
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await _raise(broker, "E110")
        await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM customer_alerts"), what="alerts")
    async with ApiClient(db_dsn, role="agent") as api:
        overview = (await api.get("/v1/devices/boiler-1/overview")).json()
        catalog_entry = (await api.get("/v1/catalog/codes/E110")).json()
    fault = overview["active_faults"][0]
    assert (fault["code"], fault["safety_critical"]) == ("E110", True)
    assert fault["self_fix_steps"] == {"ko": [], "en": []}
    assert catalog_entry["self_fix"] == "no"
    assert catalog_entry["steps"] == {"ko": [], "en": []}
    alerts = await db.fetch("SELECT kind, message_ko, message_en FROM customer_alerts")
    assert {a["kind"] for a in alerts} == {"safety"}
    for alert in alerts:
        assert "리셋하지 마세요" in alert["message_ko"]
        assert "플러그를 뽑" not in alert["message_ko"], "no unplug-and-replug (a reset by hand)"
    ticket = await db.fetchrow("SELECT kind, rule FROM tickets")
    assert (ticket["kind"], ticket["rule"]) == ("urgent", "safety_critical")


# ---------------------------------------------------------------- 3: withdrawn, not sent


async def test_guidance_held_for_quiet_hours_is_withdrawn_when_the_fault_clears(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    """E002 raised at night and cleared a minute later: its guidance must not go out in the morning."""
    await _device(db, *_owner_and_child(**_quiet_for(3600)))
    async with (
        running_gateway(gateway_config(db_dsn, broker)),
        running_worker(db_dsn),
        running_alert_sink(db_dsn),
    ):
        await _raise(broker, "E002")
        await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM customer_alerts WHERE last_error = 'quiet hours'"),
                         what="guidance held for quiet hours")  # fmt: skip
        await _raise(broker, "E002", "cleared")
        await eventually(lambda: db.fetchval("SELECT status = 'resolved_by_customer' FROM fault_cases"),
                         what="resolved by the customer")  # fmt: skip
        # Morning comes: quiet hours end and the held alerts fall due.
        await db.execute("UPDATE device_contacts SET quiet_start = '00:00', quiet_end = '00:00'")
        await db.execute("UPDATE customer_alerts SET not_before = clock_timestamp()")
        await asyncio.sleep(1.0)
    rows = await db.fetch("SELECT status, last_error FROM customer_alerts ORDER BY alert_id")
    assert [r["status"] for r in rows] == ["withdrawn", "withdrawn"]
    assert all("cleared" in r["last_error"] for r in rows), "recorded with the reason"
    assert await db.fetchval("SELECT count(*) FROM alert_sink_messages") == 0, "nothing reached a phone"


async def test_an_alert_whose_ticket_ended_while_it_waited_is_withdrawn_by_the_alert_worker(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    """The engine withdraws what it can see; the worker's last check catches any other path (here a
    ticket cancelled while its alert waited for a provider retry)."""
    await _device(db, *_owner_and_child())
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await _raise(broker, "E205")  # a repair ticket at once
        ticket_id = await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
    case_id = await db.fetchval("SELECT case_id FROM tickets")
    await db.execute(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, ticket_id,"
        " message_ko, message_en) SELECT 'boiler-1', contact_id, phone, 'sms', 'guidance', 'E205', $1, $2, 'x', 'x'"
        " FROM device_contacts WHERE role = 'owner'", case_id, ticket_id,
    )  # fmt: skip
    await db.execute(
        "UPDATE tickets SET status = 'cancelled' WHERE ticket_id = $1", ticket_id
    )  # not via lifecycle
    async with running_alert_sink(db_dsn):
        await eventually(
            lambda: db.fetchval("SELECT status = 'withdrawn' FROM customer_alerts"), what="withdrawn"
        )
    assert await db.fetchval("SELECT last_error FROM customer_alerts") == "the ticket is cancelled"
    assert await db.fetchval("SELECT count(*) FROM alert_sink_messages") == 0


async def test_ending_a_ticket_withdraws_its_waiting_alerts(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await _device(db, *_owner_and_child(**_quiet_for(3600)))
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await _raise(broker, "E003")
        await _raise(broker, "E003")  # back before clearing: a ticket while its guidance waits
        ticket_id = await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
    pending = await db.fetch("SELECT kind FROM customer_alerts WHERE status = 'pending' ORDER BY alert_id")
    assert [r["kind"] for r in pending] == ["guidance", "guidance", "visit"], "the visit to book: the owner's"
    async with ApiClient(db_dsn, role="agent") as api:
        ended = await api.post(f"/v1/tickets/{ticket_id}/transitions", json={"to": "resolved_remotely"})
        assert ended.status_code == 200, ended.text
    statuses = await db.fetch("SELECT status, last_error FROM customer_alerts WHERE kind <> 'result'")
    assert {(r["status"], r["last_error"]) for r in statuses} == {
        ("withdrawn", "the ticket is resolved_remotely")
    }
    # The news that it was solved is new, and goes to both (docs/customer-link.md).
    results = await db.fetch("SELECT status FROM customer_alerts WHERE kind = 'result'")
    assert [r["status"] for r in results] == ["pending", "pending"]


# ---------------------------------------------------------------- 4: the window starts on delivery


async def test_the_self_fix_window_starts_when_the_guidance_reaches_the_customer(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    """E003 while the contacts' quiet hours last a few more seconds: no ticket while the guidance is
    held, then the full window after it goes out."""
    wait = timedelta(seconds=2)
    await _device(db, *_owner_and_child(**_quiet_for(6)))
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn, guidance_wait=wait), \
            running_alert_sink(db_dsn):  # fmt: skip
        await _raise(broker, "E003")
        await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM customer_alerts WHERE last_error = 'quiet hours'"),
                         what="guidance held")  # fmt: skip
        await asyncio.sleep(wait.total_seconds() + 1.5)  # the old deadline (raise + wait) passes
        assert await db.fetchval("SELECT count(*) FROM tickets") == 0, "no ticket on a customer never told"
        ticket = await eventually(lambda: db.fetchrow("SELECT opened_at, rule, evidence FROM tickets"),
                                  what="ticket after the window", timeout_s=30)  # fmt: skip
    first_sent = await db.fetchval("SELECT min(sent_at) FROM customer_alerts WHERE status = 'sent'")
    assert first_sent is not None, "the guidance went out when quiet hours ended"
    assert ticket["opened_at"] >= first_sent + wait
    assert ticket["rule"] == "if_recurs.not_cleared_in_time"
    assert "reaching the customer" in json.loads(ticket["evidence"])["why"]


async def test_guidance_that_can_reach_nobody_opens_the_ticket_saying_so(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    nobody = (ContactRecord("어머니", OWNER, "owner", "sms", consent_alerts=False, **ANY_HOUR),)
    await _device(db, *nobody)
    async with running_gateway(gateway_config(db_dsn, broker)), \
            running_worker(db_dsn, guidance_wait=timedelta(seconds=1)), running_alert_sink(db_dsn):  # fmt: skip
        await _raise(broker, "E003")
        rule = await eventually(lambda: db.fetchval("SELECT rule FROM tickets"), what="ticket", timeout_s=20)
    assert rule == "if_recurs.customer_not_reached"
    assert await db.fetchval("SELECT status FROM customer_alerts") == "skipped"


async def test_guidance_held_past_the_hold_limit_opens_the_ticket(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await _device(db, *_owner_and_child(**_quiet_for(3600)))
    engine = {"guidance_wait": timedelta(seconds=1), "guidance_hold_limit": timedelta(seconds=3)}
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn, **engine), \
            running_alert_sink(db_dsn):  # fmt: skip
        await _raise(broker, "E003")
        rule = await eventually(lambda: db.fetchval("SELECT rule FROM tickets"), what="ticket", timeout_s=20)
    assert rule == "if_recurs.customer_not_reached"
    why = json.loads(await db.fetchval("SELECT evidence FROM tickets"))["why"]
    assert "could not reach anyone within" in why


# ---------------------------------------------------------------- 7: no reply requested


def test_no_alert_text_asks_for_a_reply_that_nothing_receives() -> None:
    entry = load_catalog()["E004"]
    for kind in ALERT_TYPES:
        for language in ("ko", "en"):
            text = render(kind, language, {"code": entry.display, "code_name": entry.name.ko})
            for asking in ("답장", "회신", "reply", "confirm you have read"):
                assert asking not in text.lower(), f"{kind}.{language} asks for a reply: {text}"
    raw = {k: {"alimtalk_code": t.alimtalk_code, "ko": t.text["ko"].template, "en": t.text["en"].template}
           for k, t in loaded_templates().items()}  # fmt: skip
    raw["safety"]["en"] += " Please reply YES when you have read this."
    with pytest.raises(TemplateError, match="asks for a reply"):
        parse_templates(raw)


# ---------------------------------------------------------------- 8: no closing over an active safety code


async def test_a_safety_ticket_does_not_end_while_its_code_is_active_without_an_audited_override(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await _device(db, *_owner_and_child())
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await _raise(broker, "E030")  # flue gas too hot: safety-critical
        ticket_id = await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
    path = f"/v1/tickets/{ticket_id}/transitions"
    async with ApiClient(db_dsn, role="agent") as agent, ApiClient(db_dsn, role="admin") as admin:
        for to in ("resolved_remotely", "cancelled"):
            refused = await agent.post(path, json={"to": to})
            assert refused.status_code == 409, refused.text
            assert refused.json()["type"].endswith("safety-code-active")
            assert "E030" in refused.json()["detail"]
        by_agent = await agent.post(path, json={"to": "cancelled", "override_active_safety_code": True,
                                                "note": "customer says it is fine now"})  # fmt: skip
        assert by_agent.status_code == 403, "an agent on the phone cannot override"
        no_reason = await admin.post(path, json={"to": "cancelled", "override_active_safety_code": True})
        assert no_reason.status_code == 422, "an override says why"
        assert await db.fetchval("SELECT status FROM tickets") == "open"
        async with console_client(db_dsn) as console:
            csrf = await console_sign_in(console, await issue_api_key(db_dsn, "agent"))
            page = await console.post(f"/console/tickets/{ticket_id}/transition", data={"to": "cancelled"},
                                      headers={"X-Console-CSRF": csrf, "HX-Request": "true"})  # fmt: skip
            assert page.status_code == 409
            assert "안전 코드(E030)가 아직 기기에 켜져 있어" in visible_text(page.text), (
                "the agent is told why"
            )
        done = await admin.post(path, json={"to": "cancelled", "override_active_safety_code": True,
                                            "note": "technician on site: sensor fault, boiler isolated"})  # fmt: skip
        assert done.status_code == 200, done.text
        last = done.json()["transitions"][-1]
    assert (last["to_status"], last["reason"]) == ("cancelled", "safety_override")
    assert last["details"] == {
        "active_codes": ["E030"],
        "why": "technician on site: sensor fault, boiler isolated",
    }
    assert "test-admin" in last["actor"], "who overrode is on the record"


async def test_a_safety_ticket_ends_normally_once_its_code_cleared(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    await _device(db, *_owner_and_child())
    async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn):
        await _raise(broker, "E030")
        ticket_id = await eventually(lambda: db.fetchval("SELECT ticket_id FROM tickets"), what="ticket")
        await _raise(broker, "E030", "cleared")
        await eventually(
            lambda: db.fetchval("SELECT fault_cleared_at IS NOT NULL FROM tickets"), what="cleared"
        )
    async with ApiClient(db_dsn, role="agent") as agent:
        ended = await agent.post(f"/v1/tickets/{ticket_id}/transitions", json={"to": "resolved_remotely"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["transitions"][-1]["reason"] is None
