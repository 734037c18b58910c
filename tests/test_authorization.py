"""Who may call what: every endpoint against every role (function level), and the scoped roles
against objects and properties that are not theirs (object and property level)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import httpx
import pytest
from fastapi.routing import APIRoute

from api.access import Role, route_roles
from api.app import ApiConfig, api_routes, create_app
from testbed.support import insert_ticket, issue_api_key, register_full, seed_points

PUBLIC = {"/healthz"}
OWN_PHONE = "+821070000001"
OTHER_PHONE = "+821070000002"


@dataclass
class World:
    http: httpx.AsyncClient
    keys: dict[Role, str]
    own_ticket: int  # dev-own, at SP-001, the customer's device
    other_ticket: int  # dev-other, at SP-002
    dsn: str


@pytest.fixture
async def world(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[World]:
    await seed_points(db)
    for device_id in ("dev-own", "dev-other"):
        await register_full(db, device_id, latitude=37.5, longitude=127.0, region="seoul",
                            installed_on=date(2024, 1, 1))  # fmt: skip
    await db.execute(
        "UPDATE device_contacts SET phone = $1 WHERE device_id = 'dev-own' AND role = 'owner'", OWN_PHONE
    )
    await db.execute(
        "UPDATE device_contacts SET phone = $1 WHERE device_id = 'dev-other' AND role = 'owner'", OTHER_PHONE
    )
    own, other = await insert_ticket(db, "dev-own", "SP-001"), await insert_ticket(db, "dev-other", "SP-002")
    keys = {
        Role.ADMIN: await issue_api_key(db_dsn, "admin"),
        Role.AGENT: await issue_api_key(db_dsn, "agent"),
        Role.TECHNICIAN: await issue_api_key(db_dsn, "technician", service_point_id="SP-001"),
        Role.CUSTOMER: await issue_api_key(db_dsn, "customer", customer_phone="010-7000-0001"),
        Role.DEVICE_PROVISIONER: await issue_api_key(db_dsn, "device-provisioner"),
        Role.ANSWER_EDITOR: await issue_api_key(db_dsn, "answer-editor"),
    }
    app = create_app(ApiConfig(database_url=db_dsn, pool_max_size=2))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http,
    ):
        yield World(http, keys, own, other, db_dsn)


def _routes() -> list[APIRoute]:
    routes = api_routes()
    assert len(routes) >= 25, "the walk finds the API's endpoints"
    return routes


def _path(route: APIRoute, world: World) -> str:
    values = {"device_id": "dev-own", "ticket_id": str(world.own_ticket), "code": "E003",
              "subscription_id": "1", "delivery_id": "1", "alert_id": "1", "key_id": "0123456789abcdef", "phone": "01099990000",
              "campaign_id": "1", "inspection_id": "1", "command_id": "00000000-0000-4000-8000-000000000000",
              "technician_id": "tech-1", "incident_id": "1", "point_id": "SP-001", "entry_id": "code-e003"}  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], route.path)


def _as(world: World, role: Role | None, token: str | None = None) -> dict[str, str]:
    key = token if token is not None else (world.keys[role] if role else None)
    return {"Authorization": f"Bearer {key}"} if key else {}


def test_every_endpoint_but_health_declares_its_roles() -> None:
    undeclared = [r.path for r in _routes() if route_roles(r) is None and r.path not in PUBLIC]
    assert undeclared == []
    spec = create_app(ApiConfig(database_url="postgresql://unused")).openapi()
    documented = {op.get("x-roles") is not None for path, ops in spec["paths"].items() if path not in PUBLIC
                  for op in ops.values()}  # fmt: skip
    assert documented == {True}


async def test_each_role_reaches_exactly_the_endpoints_it_is_allowed(world: World) -> None:
    """Function level: every endpoint, every role; no key and a forged key are refused everywhere."""
    checked = 0
    for route in _routes():
        allowed = route_roles(route)
        if allowed is None:
            continue
        method = sorted(route.methods - {"HEAD"})[0]
        path = _path(route, world)
        for token in (None, "ondol_0123456789abcdef_forged", world.keys[Role.ADMIN][:-2] + "xx"):
            answer = await world.http.request(method, path, headers=_as(world, None, token), json={})
            assert answer.status_code == 401, (method, path, token, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
        for role in Role:
            answer = await world.http.request(method, path, headers=_as(world, role), json={})
            if role in allowed:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.text)
                assert answer.json()["type"].endswith(":forbidden")
            checked += 1
    assert checked >= 5 * 20


async def test_a_technician_sees_and_works_only_their_service_points_tickets(world: World) -> None:
    tech = _as(world, Role.TECHNICIAN)
    listed = (await world.http.get("/v1/tickets", headers=tech)).json()["items"]
    assert [t["ticket_id"] for t in listed] == [world.own_ticket]
    assert (await world.http.get("/v1/tickets?service_point=SP-002", headers=tech)).status_code == 403
    other = world.other_ticket
    for method, path, body in (
        ("GET", f"/v1/tickets/{other}", None),
        ("POST", f"/v1/tickets/{other}/notes", {"body": "x"}),
        ("POST", f"/v1/tickets/{other}/transitions", {"to": "contacted"}),
        ("POST", f"/v1/tickets/{other}/assignment", {"technician": "me"}),
        ("GET", "/v1/devices/dev-other", None),
        ("GET", "/v1/devices/dev-other/telemetry", None),
    ):
        answer = await world.http.request(method, path, headers=tech, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await world.http.get("/v1/devices/dev-own", headers=tech)).status_code == 200
    # Property level: the technician may name the technician, not move the ticket elsewhere.
    moved = await world.http.post(f"/v1/tickets/{world.own_ticket}/assignment", headers=tech,
                                  json={"service_point_id": "SP-002"})  # fmt: skip
    assert moved.status_code == 403
    named = await world.http.post(f"/v1/tickets/{world.own_ticket}/assignment", headers=tech,
                                  json={"technician": "kim", "actor": "admin"})  # fmt: skip
    assert named.status_code == 200
    assert named.json()["ticket"]["technician"] == "kim"
    note = await world.http.post(f"/v1/tickets/{world.own_ticket}/notes", headers=tech,
                                 json={"author": "someone-else", "body": "valve replaced"})  # fmt: skip
    assert note.json()["author"] == "technician:test-technician", "a scoped key cannot sign as another"
    # Access follows the work: once the ticket is finished, the device is out of the technician's reach.
    for to in ("cancelled",):
        await world.http.post(f"/v1/tickets/{world.own_ticket}/transitions", headers=tech, json={"to": to})
    assert (await world.http.get("/v1/devices/dev-own", headers=tech)).status_code == 404


async def test_a_customer_sees_only_their_own_devices_and_tickets_without_internal_fields(
    world: World,
) -> None:
    me = _as(world, Role.CUSTOMER)
    listed = (await world.http.get("/v1/tickets", headers=me)).json()["items"]
    assert [t["ticket_id"] for t in listed] == [world.own_ticket]
    for path in (
        f"/v1/tickets/{world.other_ticket}",
        "/v1/devices/dev-other",
        "/v1/devices/dev-other/telemetry",
    ):
        assert (await world.http.get(path, headers=me)).status_code == 404, path
    await world.http.post(f"/v1/tickets/{world.own_ticket}/transitions", headers=_as(world, Role.AGENT),
                          json={"to": "contacted", "actor": "agent-1", "note": "internal remark"})  # fmt: skip
    ticket = (await world.http.get(f"/v1/tickets/{world.own_ticket}", headers=me)).json()
    assert ticket["notes"] == []
    assert ticket["evidence"] == {}
    assert [t["to_status"] for t in ticket["transitions"]] == ["contacted"], "the customer sees progress"
    assert {(t["actor"], t["note"]) for t in ticket["transitions"]} == {("ondol", None)}, "not who or why"
    staff_view = (
        await world.http.get(f"/v1/tickets/{world.own_ticket}", headers=_as(world, Role.AGENT))
    ).json()
    assert staff_view["notes"]
    assert staff_view["evidence"] == {"why": "internal"}
    device = (await world.http.get("/v1/devices/dev-own", headers=me)).json()
    assert [c["phone"] for c in device["contacts"]] == [OWN_PHONE], "the family's numbers are not shown"
    staff_device = (await world.http.get("/v1/devices/dev-own", headers=_as(world, Role.AGENT))).json()
    assert len(staff_device["contacts"]) == 2


async def test_keys_are_hashed_at_rest_shown_once_and_revocable(world: World, db: asyncpg.Connection) -> None:
    admin = _as(world, Role.ADMIN)
    created = await world.http.post("/v1/api-keys", headers=admin, json={"name": "cc", "role": "agent"})
    assert created.status_code == 201
    token, key_id = created.json()["key"], created.json()["key_id"]
    stored = await db.fetchrow("SELECT * FROM api_keys WHERE key_id = $1", key_id)
    assert token.split("_", 2)[2].encode() not in b"".join(
        v if isinstance(v, bytes) else str(v).encode() for v in stored.values()
    )
    listed = (await world.http.get("/v1/api-keys", headers=admin)).json()["items"]
    assert all("key" not in k for k in listed)
    assert key_id in {k["key_id"] for k in listed}
    headers = {"Authorization": f"Bearer {token}"}
    assert (await world.http.get("/v1/devices", headers=headers)).status_code == 200
    assert (await world.http.delete(f"/v1/api-keys/{key_id}", headers=admin)).status_code == 204
    assert (await world.http.get("/v1/devices", headers=headers)).status_code == 401
    bad = await world.http.post("/v1/api-keys", headers=admin, json={"name": "t", "role": "technician"})
    assert bad.status_code == 422, "a technician key needs its service point"


async def test_a_provisioner_registers_new_devices_but_cannot_rewrite_existing_ones(world: World) -> None:
    installer = _as(world, Role.DEVICE_PROVISIONER)
    new = {"device_id": "dev-new", "model": "NCB-300", "serial": "SN-NEW",
           "contacts": [{"name": "Lee", "phone": "01099998888", "role": "owner"}]}  # fmt: skip
    assert (await world.http.post("/v1/devices", headers=installer, json=new)).status_code == 201
    hijack = {**new, "device_id": "dev-own", "serial": "SN-dev-own",
              "contacts": [{"name": "x", "phone": "01011112222", "role": "owner"}]}  # fmt: skip
    answer = await world.http.post("/v1/devices", headers=installer, json=hijack)
    assert answer.status_code == 409, "who is alerted about a boiler is not an installer's to change"
    contacts = (await world.http.get("/v1/devices/dev-own", headers=_as(world, Role.AGENT))).json()[
        "contacts"
    ]
    assert "+821011112222" not in {c["phone"] for c in contacts}
    assert len(contacts) == 2, "the stored contacts are as they were"


PROVISIONER_ENDPOINTS = {
    ("POST", "/v1/devices"),
    ("POST", "/v1/devices/{device_id}/mqtt-credentials"),
    ("GET", "/v1/devices/{device_id}/status"),
    ("GET", "/v1/catalog/codes"),
    ("GET", "/v1/catalog/codes/{code}"),
}


def test_a_provisioner_reaches_registration_credentials_status_and_the_catalog_only() -> None:
    """Installers register boilers, give them their broker password and check that they came
    online; nothing else (no customer data, no tickets), whatever routes are added later."""
    reached = {(sorted(r.methods - {"HEAD"})[0], r.path) for r in _routes()
               if Role.DEVICE_PROVISIONER in (route_roles(r) or frozenset())}  # fmt: skip
    assert reached == PROVISIONER_ENDPOINTS


async def test_a_provisioner_sees_the_status_of_the_devices_it_registered_only(world: World) -> None:
    installer = _as(world, Role.DEVICE_PROVISIONER)
    new = {"device_id": "dev-installed", "model": "NCB-300", "serial": "SN-INSTALLED"}
    assert (await world.http.post("/v1/devices", headers=installer, json=new)).status_code == 201
    status = await world.http.get("/v1/devices/dev-installed/status", headers=installer)
    assert status.status_code == 200, status.text
    assert (status.json()["device_id"], status.json()["status"]) == ("dev-installed", "offline")
    for device_id in ("dev-own", "no-such-device"):
        other = await world.http.get(f"/v1/devices/{device_id}/status", headers=installer)
        assert other.status_code == 404, "a device another key registered is as unknown as a missing one"
    another_installer = {"Authorization": f"Bearer {await issue_api_key(world.dsn, 'device-provisioner')}"}
    assert (
        await world.http.get("/v1/devices/dev-installed/status", headers=another_installer)
    ).status_code == 404
    assert (
        await world.http.get("/v1/devices/dev-own/status", headers=_as(world, Role.AGENT))
    ).status_code == 200
