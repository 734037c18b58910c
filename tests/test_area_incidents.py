"""Area incidents on the real database and the real fault engine: a surge of one fault family in one
region becomes one incident (one call-center event, one message per household, no tickets), later
boilers join it, a safety code inside it keeps its own ticket and alert, another region is untouched,
and resolving it gives a ticket only to the boilers still failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from diagnostics.cold_wave import incidents
from diagnostics.cold_wave.incidents import IncidentConfig
from diagnostics.faults.engine import EngineConfig
from testbed.customer_scene import Scene, scene_on
from testbed.support import ApiClient

SURGE = 5
CONFIG = EngineConfig(incidents=IncidentConfig(min_devices=SURGE, window=timedelta(minutes=10)))


@pytest.fixture
async def scene(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[Scene]:
    async with scene_on(db, db_dsn, "https://ondol.example", CONFIG) as made:
        yield made


async def _count(db: asyncpg.Connection, sql: str, *args: object) -> int:
    return int(await db.fetchval(sql, *args))


async def test_a_gas_supply_cut_becomes_one_incident_and_ends_with_tickets_only_where_the_fault_stayed(
    scene: Scene,
) -> None:
    db = scene.db
    for i in range(9):
        await scene.device(f"gas-{i}", son=False)
    await scene.device("gas-busan", son=False, region="busan")
    start = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(SURGE - 1):  # below the threshold: each handled alone (guidance first)
        await scene.event(f"gas-{i}", "E009", "raised", start + timedelta(seconds=30 * i))
    assert await _count(db, "SELECT count(*) FROM area_incidents") == 0
    assert (
        await _count(
            db, "SELECT count(*) FROM customer_alerts WHERE kind = 'guidance' AND status = 'pending'"
        )
        == 4
    )

    await scene.event(
        f"gas-{SURGE - 1}", "E009", "raised", start + timedelta(minutes=3)
    )  # the fifth: an incident
    incident = (await incidents.list_incidents(db, status="open", limit=5))[0]
    assert (incident.region, incident.family, incident.devices) == ("seoul", "gas_supply", SURGE)
    assert incident.first_fault_at == start
    opened = await db.fetch("SELECT payload FROM outbox_events WHERE event_type = 'incident.opened'")
    assert len(opened) == 1
    assert '"devices": 5' in opened[0]["payload"]
    assert (
        await _count(
            db, "SELECT count(*) FROM customer_alerts WHERE kind = 'guidance' AND status = 'pending'"
        )
        == 0
    )
    assert await _count(db, "SELECT count(*) FROM customer_alerts WHERE kind = 'incident'") == SURGE
    assert await _count(db, "SELECT count(*) FROM fault_cases WHERE status = 'incident'") == SURGE

    # Later boilers of the region join it; a gas leak inside it is still its own emergency; Busan is apart.
    for i in range(SURGE, 8):
        await scene.event(f"gas-{i}", "E009", "raised", start + timedelta(minutes=4))
    await scene.event("gas-8", "E014", "raised", start + timedelta(minutes=4))
    await scene.event("gas-busan", "E009", "raised", start + timedelta(minutes=4))
    assert (await incidents.get_incident(db, incident.incident_id)).devices == 8
    emergency = await db.fetchrow("SELECT kind, status FROM tickets WHERE device_id = 'gas-8'")
    assert (emergency["kind"], emergency["status"]) == ("emergency", "open"), (
        "a safety code is never swallowed"
    )
    assert (
        await _count(
            db, "SELECT count(*) FROM customer_alerts WHERE device_id = 'gas-8' AND kind = 'emergency'"
        )
        == 1
    )
    assert (
        await _count(
            db, "SELECT count(*) FROM customer_alerts WHERE device_id = 'gas-busan' AND kind = 'guidance'"
        )
        == 1
    )
    assert (
        await _count(db, "SELECT count(*) FROM tickets WHERE device_id LIKE 'gas-%' AND kind <> 'emergency'")
        == 0
    )

    # Supply is back: six boilers clear, two stay failing.
    for i in range(6):
        await scene.event(f"gas-{i}", "E009", "cleared", start + timedelta(minutes=40))
    assert (await incidents.get_incident(db, incident.incident_id)).cleared == 6
    async with ApiClient(scene.dsn, role="agent") as agent:
        taken = await agent.put(
            f"/v1/incidents/{incident.incident_id}/owner", json={"owner": "상황실 김팀장"}
        )
        assert taken.status_code == 200, taken.text
        ended = await agent.post(
            f"/v1/incidents/{incident.incident_id}/resolve", json={"note": "도시가스 공급 재개"}
        )
        assert ended.status_code == 200, ended.text
        body = ended.json()
        assert (body["status"], body["ticketed"], body["owner"]) == ("resolved", 2, "상황실 김팀장")
        assert [e["action"] for e in body["timeline"]] == ["opened", "owner", "resolved"]
        again = await agent.post(f"/v1/incidents/{incident.incident_id}/resolve", json={})
        assert again.json()["ticketed"] == 2, "resolving twice changes nothing"
        assert (await agent.get("/v1/incidents/999999")).status_code == 404
    tickets = await db.fetch(
        "SELECT device_id, rule FROM tickets WHERE rule = 'incident.fault_persists' ORDER BY device_id"
    )
    assert [t["device_id"] for t in tickets] == ["gas-6", "gas-7"]
    visits = await db.fetch("SELECT device_id FROM customer_alerts WHERE kind = 'visit' ORDER BY device_id")
    assert [v["device_id"] for v in visits] == ["gas-6", "gas-7"], (
        "the owners still failing are asked to book"
    )
    assert await _count(db, "SELECT count(*) FROM fault_cases WHERE status = 'incident'") == 0
    assert await _count(db, "SELECT count(*) FROM customer_alerts WHERE kind = 'incident_resolved'") == 8
    resolved = await db.fetch("SELECT payload FROM outbox_events WHERE event_type = 'incident.resolved'")
    assert len(resolved) == 1
    assert '"ticketed": 2' in resolved[0]["payload"]


async def test_the_sweep_resolves_an_incident_gone_quiet_with_most_boilers_back(scene: Scene) -> None:
    db = scene.db
    start = datetime.now(UTC) - timedelta(minutes=50)
    for i in range(SURGE):
        await scene.device(f"sw-{i}", son=False)
        await scene.event(f"sw-{i}", "E009", "raised", start)
    for i in range(SURGE):
        await scene.event(f"sw-{i}", "E009", "cleared", start + timedelta(minutes=5))
    quiet = IncidentConfig(min_devices=SURGE, quiet=timedelta(hours=1))
    assert await incidents.resolve_quiet_incidents(db, scene.engine, quiet, datetime.now(UTC)) == 0, (
        "not quiet yet"
    )
    await db.execute(
        "UPDATE incident_devices SET joined_at = joined_at - interval '2 hours', cleared_at = cleared_at - interval '2 hours'"
    )
    assert await incidents.resolve_quiet_incidents(db, scene.engine, quiet, datetime.now(UTC)) == 1
    assert await _count(db, "SELECT count(*) FROM tickets") == 0, "everyone came back: no ticket"


async def test_a_surge_spread_over_more_than_the_window_opens_no_incident(scene: Scene) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    for i in range(SURGE + 2):
        await scene.device(f"slow-{i}", son=False)
        await scene.event(f"slow-{i}", "E009", "raised", start + timedelta(minutes=15 * i))
    assert await _count(scene.db, "SELECT count(*) FROM area_incidents") == 0
    assert await _count(scene.db, "SELECT count(*) FROM customer_alerts WHERE kind = 'guidance'") == SURGE + 2
