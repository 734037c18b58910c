"""Every catalog code, raised on a device through the real broker and gateway, gets the outcome its
policy requires: guidance only, a ticket, or an urgent ticket and alerts to every contact, with the
nearest covering service point and the right warranty flag."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import asyncpg
import pytest

from diagnostics.catalog import CatalogEntry, Dispatch, SelfFix, load_catalog
from diagnostics.service_points import haversine_km, load_seed
from firmware_sim.faults import Injection, inject
from protocol.broker import BrokerAddress
from testbed.support import (
    NO_QUIET_HOURS,
    eventually,
    gateway_config,
    register_full,
    running_alert_sink,
    running_gateway,
    running_worker,
    seed_points,
)

pytestmark = pytest.mark.slow  # every catalog code end to end through broker and gateway

GUIDANCE_WAIT_S = 3.0
# A spread of real places: each device sits near one, and a few far from any point's coverage do not exist in Korea.
PLACES = [
    ("seoul", 37.5172, 127.0473), ("busan", 35.1631, 129.1635), ("gyeonggi", 37.2636, 127.0286),
    ("jeju", 33.4890, 126.4983), ("gangwon", 37.7519, 128.8761), ("daegu", 35.8562, 128.6218),
    ("gwangju", 35.1468, 126.9223), ("chungbuk", 36.6424, 127.4890),
]  # fmt: skip


def expected_point(latitude: float, longitude: float) -> tuple[str, float]:
    covering = [
        (haversine_km(latitude, longitude, p.latitude, p.longitude), p.point_id)
        for p in load_seed()
        if haversine_km(latitude, longitude, p.latitude, p.longitude) <= p.coverage_km
    ]
    distance, point_id = min(covering)
    return point_id, distance


def expected_outcome(entry: CatalogEntry) -> str:
    if entry.dispatch is Dispatch.EMERGENCY_FIRST:
        return "emergency"
    if entry.safety_critical:
        return "urgent"
    if entry.dispatch is Dispatch.ALWAYS:
        return "repair"
    if entry.dispatch is Dispatch.SCHEDULED:
        return "planned"
    if entry.dispatch is Dispatch.IF_RECURS:
        return "guidance_then_ticket"
    return "inform"


async def test_every_catalog_code_gets_the_outcome_its_policy_requires(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    catalog = load_catalog()
    await seed_points(db)
    today = date.today()
    devices: dict[str, tuple[CatalogEntry, str, bool, tuple[float, float]]] = {}
    for i, entry in enumerate(catalog.entries()):
        region, lat, lon = PLACES[i % len(PLACES)]
        lat, lon = lat + 0.01 * (i % 5), lon - 0.01 * (i % 3)
        in_warranty = i % 2 == 0
        installed = today - timedelta(days=365 if in_warranty else 5 * 365)
        device_id = f"dev-{entry.code}"
        await register_full(db, device_id, latitude=lat, longitude=lon, region=region, installed_on=installed,
                            quiet=NO_QUIET_HOURS)  # fmt: skip
        devices[device_id] = (entry, region, in_warranty, (lat, lon))

    async with (
        running_gateway(gateway_config(db_dsn, broker)),
        running_worker(db_dsn, guidance_wait=timedelta(seconds=GUIDANCE_WAIT_S)),
        running_alert_sink(db_dsn),  # the customer's window starts when the guidance reaches them
    ):
        await asyncio.to_thread(
            inject, broker, [Injection(d, e.code, "raised") for d, (e, *_) in devices.items()]
        )
        await eventually(
            lambda: db.fetchval("SELECT count(*) = $1 FROM fault_cases", len(devices)), what="a case per code"
        )
        early = {r["device_id"]: r for r in await db.fetch("SELECT * FROM tickets")}
        guided = {
            r["device_id"]: r for r in await db.fetch("SELECT * FROM fault_cases WHERE status = 'guidance'")
        }
        # After the guidance wait, codes the customer did not clear become tickets.
        waiting = sum(1 for e, *_ in devices.values() if expected_outcome(e) == "guidance_then_ticket")
        await eventually(
            lambda: db.fetchval("SELECT count(*) = 0 FROM fault_cases WHERE status = 'guidance'"),
            what="guidance cases ticketed after the wait", timeout_s=GUIDANCE_WAIT_S + 20,
        )  # fmt: skip
        tickets = {r["device_id"]: r for r in await db.fetch("SELECT * FROM tickets")}
        alerts = await db.fetch("SELECT device_id, kind, phone FROM customer_alerts")
        outbox = await db.fetch(
            "SELECT event_type, subject FROM outbox_events WHERE event_type = 'ticket.opened'"
        )
    assert len(guided) == waiting

    problems: list[str] = []
    for device_id, (entry, _region, in_warranty, (lat, lon)) in devices.items():
        outcome = expected_outcome(entry)
        kinds = sorted(a["kind"] for a in alerts if a["device_id"] == device_id)
        ticket = tickets.get(device_id)
        label = f"{entry.code} ({outcome})"
        if outcome == "inform":
            if ticket is not None:
                problems.append(f"{label}: no ticket expected, got {ticket['kind']}")
            want = (
                ["guidance"] * (2 if entry.severity in ("high", "critical") else 1)
                if entry.self_fix is not SelfFix.NO
                else []
            )
            if kinds != want:
                problems.append(f"{label}: alerts {kinds}, expected {want}")
            continue
        if ticket is None:
            problems.append(f"{label}: no ticket")
            continue
        if outcome == "guidance_then_ticket":
            if device_id in early:
                problems.append(f"{label}: ticket opened before the guidance wait")
            if ticket["rule"] != "if_recurs.not_cleared_in_time":
                problems.append(f"{label}: rule {ticket['rule']}")
            visits = 0 if entry.advisory else 1  # a predicted fault's visit is the call center's to explain
            if set(kinds) - {"visit"} != {"guidance"} or kinds.count("visit") != visits:
                problems.append(f"{label}: guidance, then the owner's visit to book, expected; got {kinds}")
        else:
            if device_id not in early:
                problems.append(f"{label}: ticket expected at once")
            want_kind = outcome
            if ticket["kind"] != want_kind:
                problems.append(f"{label}: kind {ticket['kind']}, expected {want_kind}")
            want_alerts = {"emergency": ["emergency", "emergency"], "urgent": ["safety", "safety"],
                           "repair": ["visit"]}.get(outcome, [])  # fmt: skip
            if kinds != want_alerts:
                problems.append(f"{label}: alerts {kinds}, expected {want_alerts} (safety: every contact; "
                                "a repair: the owner, to book the visit)")  # fmt: skip
        want_priority = {"emergency": 1, "urgent": 2, "repair": 3, "planned": 4, "guidance_then_ticket": 3}[
            outcome
        ]
        if entry.safety_critical and outcome == "guidance_then_ticket":
            want_priority = 2
        if ticket["priority"] != want_priority:
            problems.append(f"{label}: priority {ticket['priority']}, expected {want_priority}")
        point, distance = expected_point(lat, lon)
        if ticket["service_point_id"] != point or abs(ticket["service_point_distance_km"] - distance) > 0.01:
            problems.append(
                f"{label}: service point {ticket['service_point_id']} at {ticket['service_point_distance_km']} km, expected {point} at {distance:.2f}"
            )
        if ticket["in_warranty"] is not in_warranty:
            problems.append(f"{label}: in_warranty {ticket['in_warranty']}, expected {in_warranty}")
        evidence = json.loads(ticket["evidence"])
        if evidence["rule"] != ticket["rule"] or evidence["service_point"]["point_id"] != point:
            problems.append(f"{label}: evidence does not explain the decision: {evidence}")
    assert not problems, "\n".join(problems)
    assert len(outbox) == len(tickets), "every opened ticket is announced to the call center"
