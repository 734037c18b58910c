"""Who may open which console page, and how: signing in with an API key, sessions that end, the CSRF
token on every change, a technician's scope, and the message catalog behind both languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import asyncpg
import httpx
import pytest

from api.access import Role, route_roles
from api.app import ApiConfig, create_app
from api.console import console_routes
from api.console.device_page import chart_columns
from api.console.i18n import LANGUAGES, Translator, messages
from api.console.sign_in import safe_next
from api.schemas.commands import COMMAND_STATES
from diagnostics.catalog import Category
from diagnostics.commands.policy import Rule
from diagnostics.messages.texts import ALERT_TYPES
from diagnostics.service_points import load_seed
from diagnostics.tickets.lifecycle import Status
from diagnostics.tickets.store import QUEUE_CLASSES
from protocol.commands import CommandKind, DeviceMode
from telemetry.series import BucketRow, FieldStats
from testbed.support import insert_ticket, issue_api_key, register_full, seed_points

PUBLIC = {"/console/sign-in", "/console/language"}
ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "api" / "console" / "templates"


@pytest.fixture
async def console(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    await seed_points(db)
    await register_full(
        db, "dev-1", latitude=37.5665, longitude=126.978, region="seoul", installed_on=date(2024, 1, 1)
    )
    await register_full(
        db, "dev-2", latitude=35.16, longitude=129.16, region="busan", installed_on=date(2024, 1, 1)
    )
    app = create_app(ApiConfig(database_url=db_dsn, pool_max_size=2))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as http,
    ):
        yield http


async def _signed_in(http: httpx.AsyncClient, key: str) -> str:
    """Sign in; the page's CSRF token."""
    answer = await http.post("/console/sign-in", data={"api_key": key, "next": "/console/queue"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/queue"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie
    assert key not in answer.headers["set-cookie"]  # the browser holds a session, never the key
    page = await http.get("/console/queue")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token[1]


def test_every_console_page_declares_its_roles_and_none_admits_customers() -> None:
    routes = console_routes()
    assert len(routes) >= 12
    undeclared = [r.path for r in routes if route_roles(r) is None and r.path not in PUBLIC]
    assert undeclared == []
    for route in routes:
        roles = route_roles(route) or frozenset()
        assert not roles & {Role.CUSTOMER, Role.DEVICE_PROVISIONER}, route.path


async def test_pages_send_a_signed_out_browser_to_sign_in_and_back(console: httpx.AsyncClient) -> None:
    answer = await console.get("/console/devices/dev-1?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/devices/dev-1%3Fx%3D1"
    fragment = await console.get("/console/devices/dev-1/live", headers={"HX-Request": "true",
                                 "HX-Current-URL": "http://console.test/console/devices/dev-1"})  # fmt: skip
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/console/sign-in?next=/console/devices/dev-1"
    console.cookies.set("ondol_console", "x" * 43, path="/console")
    forged = await console.get("/console/queue")
    assert forged.status_code == 303


@pytest.mark.parametrize("role", ["customer", "device-provisioner"])
async def test_keys_of_roles_without_a_console_are_refused_at_sign_in(
    console: httpx.AsyncClient, db_dsn: str, role: str
) -> None:
    scope = {"customer_phone": "01070000001"} if role == "customer" else {}
    key = await issue_api_key(db_dsn, role, **scope)
    answer = await console.post("/console/sign-in", data={"api_key": key})
    assert answer.status_code == 401
    assert "admins, agents and technicians only" in answer.text or "관리자, 상담원, 기사만" in answer.text
    assert "set-cookie" not in answer.headers
    wrong = await console.post("/console/sign-in", data={"api_key": key[:-2] + "xx"})
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers


async def test_changes_need_the_sessions_csrf_token(
    console: httpx.AsyncClient, db: asyncpg.Connection, db_dsn: str
) -> None:
    ticket_id = await insert_ticket(db, "dev-1", "SP-001")
    csrf = await _signed_in(console, await issue_api_key(db_dsn, "agent"))
    path = f"/console/tickets/{ticket_id}/transition"
    refused = await console.post(path, data={"to": "contacted"})
    assert refused.status_code == 403
    refused = await console.post(path, data={"to": "contacted"}, headers={"X-Console-CSRF": "wrong" * 8})
    assert refused.status_code == 403
    assert await db.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", ticket_id) == "open"
    moved = await console.post(path, data={"to": "contacted", "csrf_token": csrf})
    assert moved.status_code == 303  # a plain form goes back to the ticket page
    moved = await console.post(
        path, data={"to": "scheduled"}, headers={"X-Console-CSRF": csrf, "HX-Request": "true"}
    )
    assert moved.status_code == 200
    assert 'id="ticket-status"' in moved.text
    assert await db.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", ticket_id) == "scheduled"
    # A move the status does not allow answers 409 with the reason, and changes nothing.
    bad = await console.post(
        path, data={"to": "closed"}, headers={"X-Console-CSRF": csrf, "HX-Request": "true"}
    )
    assert bad.status_code == 409
    # The reason, in the page's words.
    assert "‘방문 예약’ 상태의 접수는 ‘종결’(으)로 옮길 수 없습니다" in bad.text
    assert await db.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", ticket_id) == "scheduled"
    empty = await console.post(f"/console/tickets/{ticket_id}/notes", data={"body": "  "},
                               headers={"X-Console-CSRF": csrf, "HX-Request": "true"})  # fmt: skip
    assert empty.status_code == 422
    written = "SELECT count(*) FROM ticket_notes WHERE ticket_id = $1 AND author LIKE 'agent:%'"
    assert await db.fetchval(written, ticket_id) == 0


async def test_revoking_the_key_or_signing_out_ends_the_session(
    console: httpx.AsyncClient, db: asyncpg.Connection, db_dsn: str
) -> None:
    key = await issue_api_key(db_dsn, "agent")
    csrf = await _signed_in(console, key)
    await db.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = $1", key.split("_")[1])
    assert (await console.get("/console/queue")).status_code == 303
    csrf = await _signed_in(console, await issue_api_key(db_dsn, "agent"))
    out = await console.post("/console/sign-out", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (await console.get("/console/queue")).status_code == 303
    assert (
        await db.fetchval("SELECT count(*) FROM console_sessions WHERE key_id = $1", key.split("_")[1]) == 1
    )


async def test_a_technician_sees_only_their_service_points_work(
    console: httpx.AsyncClient, db: asyncpg.Connection, db_dsn: str
) -> None:
    own, other = await insert_ticket(db, "dev-1", "SP-001"), await insert_ticket(db, "dev-2", "SP-002")
    await _signed_in(console, await issue_api_key(db_dsn, "technician", service_point_id="SP-001"))
    queue = await console.get("/console/queue", params={"service_point": "SP-002"})
    assert f'id="ticket-{own}"' in queue.text
    assert f'id="ticket-{other}"' not in queue.text
    assert (await console.get(f"/console/tickets/{other}")).status_code == 404
    assert (await console.get(f"/console/tickets/{own}")).status_code == 200
    assert (await console.get("/console/find", params={"q": "dev"})).status_code == 403
    assert (await console.get("/console/fleet")).status_code == 403


async def test_find_reads_one_box_as_a_phone_name_address_or_id(
    console: httpx.AsyncClient, db: asyncpg.Connection, db_dsn: str
) -> None:
    await db.execute(
        "UPDATE devices SET customer_name = '김영희', address = '서울 종로구 세종대로 1' WHERE device_id = 'dev-1'"
    )
    phone = await db.fetchval(
        "SELECT phone FROM device_contacts WHERE device_id = 'dev-1' AND role = 'owner'"
    )
    await _signed_in(console, await issue_api_key(db_dsn, "agent"))

    async def found(q: str) -> list[str]:
        page = await console.get("/console/find/results", params={"q": q})
        assert page.status_code == 200
        return re.findall(r'href="/console/devices/([^"]+)"', page.text)

    national = "0" + phone.removeprefix("+82")  # stored as +8210…, said as 010-…
    dashed = f"{national[:3]}-{national[3:7]}-{national[7:]}"
    assert await found(dashed) == ["dev-1"]
    assert await found("영희") == ["dev-1"]
    assert await found("종로구") == ["dev-1"]
    assert await found("dev-") == ["dev-1", "dev-2"]
    assert await found("x") == []
    assert "두 글자" in (await console.get("/console/find/results", params={"q": "x"})).text
    assert await found("%") == []  # a LIKE wildcard is matched literally
    assert await db.fetchval("SELECT count(*) FROM record_access_log WHERE subject = 'search'") >= 4


async def test_the_fleet_page_shows_one_seoul_however_installers_wrote_it(
    console: httpx.AsyncClient, db_dsn: str
) -> None:
    admin = {"Authorization": f"Bearer {await issue_api_key(db_dsn, 'admin')}"}
    for i, written in enumerate(("서울", "Seoul")):
        body = {"device_id": f"dev-s{i}", "model": "NCB-300", "serial": f"S{i}", "region": written}
        assert (await console.post("/v1/devices", json=body, headers=admin)).status_code == 201
    await _signed_in(console, await issue_api_key(db_dsn, "agent"))
    page = (await console.get("/console/fleet")).text
    rows = re.findall(r'<th scope="row">([^<]*)</th>\s*<td>([^<]*)</td>', page)
    by_region = [row for row in rows if row[0] in ("서울", "seoul", "Seoul")]
    assert by_region == [("서울", "3")], "dev-1 and the two registered in Korean and in English"
    english = (await console.get("/console/fleet", headers={"Accept-Language": "en"})).text
    assert ("Seoul", "3") in re.findall(r'<th scope="row">([^<]*)</th>\s*<td>([^<]*)</td>', english)


async def test_the_queue_filters_by_region_code_or_name_and_lists_every_region(
    console: httpx.AsyncClient, db: asyncpg.Connection, db_dsn: str
) -> None:
    seoul = await insert_ticket(db, "dev-1", "SP-001", region="seoul")
    busan = await insert_ticket(db, "dev-2", "SP-002", region="busan")
    await _signed_in(console, await issue_api_key(db_dsn, "agent"))
    for written in ("seoul", "서울", "Seoul"):
        queue = await console.get("/console/queue", params={"region": written})
        assert queue.status_code == 200
        assert f'id="ticket-{seoul}"' in queue.text
        assert f'id="ticket-{busan}"' not in queue.text
    select = re.search(r'<select id="f-region" name="region">(.*?)</select>', queue.text, re.S)
    assert select is not None
    regions = dict(re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', select[1]))
    assert len(regions) == 17, "every region, not only those with service points"
    assert regions["seoul"] == "서울"
    assert '<option value="seoul" selected>' in select[1]
    unknown = await console.get("/console/queue", params={"region": "atlantis"})
    assert unknown.status_code == 422
    assert "seoul" in unknown.text


async def test_unknown_things_are_pages_with_the_reason(console: httpx.AsyncClient, db_dsn: str) -> None:
    await _signed_in(console, await issue_api_key(db_dsn, "agent"))
    missing = await console.get("/console/devices/no-such-device")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no-such-device" in missing.text
    bad = await console.get("/console/devices/dev-1/series", params={"window": "1y"})
    assert bad.status_code == 422
    api = await console.get("/v1/devices/no-such-device")  # the API keeps answering problem documents
    assert api.headers["content-type"].startswith("application/problem+json")


def test_next_paths_stay_on_the_console() -> None:
    assert safe_next("/console/devices/a?x=1") == "/console/devices/a?x=1"
    for hostile in (
        "https://evil.example/",
        "//evil.example/console",
        "/v1/api-keys",
        "/console\\@evil",
        None,
        "",
    ):
        assert safe_next(hostile) == "/console/find"


def test_charts_break_their_lines_over_gaps() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def row(minute: int, value: float) -> BucketRow:
        stats = FieldStats(value, value, value, 1)
        return BucketRow(start + timedelta(minutes=minute), 1, dict.fromkeys(
            ("ch_flow_c", "ch_return_c", "room_c", "room_setpoint_c", "outdoor_c", "ch_pressure_bar",
             "modulation_pct", "flue_c"), stats))  # fmt: skip

    columns = chart_columns([row(0, 1.0), row(1, 2.0), row(5, 3.0)], timedelta(minutes=1))
    base = int(start.timestamp())
    assert columns["t"] == [base, base + 60, base + 120, base + 300]
    assert columns["fields"]["flue_c"] == [1.0, 2.0, None, 3.0]  # type: ignore[index]


CUSTOMER_ANSWERS: Final = ("works_again", "still_broken", "consent", "reset", "booked", "moved", "survey")


def _customer_problems() -> tuple[str, ...]:
    """Every reason the customer pages can word: the service's NotNowError names and the page's own."""
    sources = [*(ROOT / "diagnostics" / "customer_link").glob("*.py"), ROOT / "api" / "customer_pages.py"]
    found: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        found |= set(re.findall(r'NotNowError\("([a-z_]+)"\)', text)) | set(
            re.findall(r'problem="([a-z_]+)"', text)
        )
    assert {"slot_taken", "bad_slot"} <= found, "the patterns still find the reasons"
    return tuple(sorted(found))


def test_every_message_the_templates_use_exists_in_both_languages() -> None:
    catalog = messages()
    assert all(set(texts) == set(LANGUAGES) and all(texts.values()) for texts in catalog.values())
    used: set[str] = set()
    prefixes: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([a-z0-9_.\-]+)'[,)]", text))
        prefixes |= set(re.findall(r"\bt\('([a-z_]+(?:\.[a-z_]+)*\.)' ~", text))
    missing = sorted(k for k in used if k not in catalog)
    assert missing == []
    domains = {
        "status.": ("online", "offline", "fault"), "tstatus.": tuple(s.value for s in Status),
        "move.": tuple(s.value for s in Status if s is not Status.OPEN), "priority.": ("1", "2", "3", "4"),
        "role.": tuple(r.value for r in Role), "contact.": ("owner", "family"), "channel.": ("sms", "kakao"),
        "event.": ("raised", "cleared"), "weekday.": tuple(str(i) for i in range(7)),
        "inspection.": ("proposed", "accepted", "rescheduled", "declined", "completed", "withdrawn", "lapsed"),
        "region.": tuple({p.region for p in load_seed()}),
        "field.": ("ch_flow_c", "ch_return_c", "room_c", "room_setpoint_c", "outdoor_c", "ch_pressure_bar",
                   "modulation_pct", "flue_c"),
        "chart.": ("water", "room", "pressure", "modulation", "flue"),
        "qclass.": (*QUEUE_CLASSES, "escalated"), "tkind.": ("emergency", "urgent", "repair", "planned"),
        "akind.": ALERT_TYPES, "family.": tuple(c.value for c in Category),
        "astatus.": ("pending", "sent", "failed", "skipped"), "actor.": ("engine",),
        "command.": tuple(k.value for k in CommandKind), "cstate.": COMMAND_STATES,
        "rule.": tuple(r.value for r in Rule), "mode.": tuple(m.value for m in DeviceMode),
        "state.": ("room_c", "flow_c", "dhw_c", "mode"),
        "report.kind.": ("fault", "ticket", "call"), "report.weekday.": tuple(str(i) for i in range(1, 8)),
        "report.breach.": ("contact_late", "not_contacted", "safety_unacknowledged"),
        "customer.book.": ("am", "pm"), "customer.answer.": CUSTOMER_ANSWERS,
        "customer.done_msg.": (*(a for a in CUSTOMER_ANSWERS if a != "moved"), "survey_flagged"), "customer.problem.": _customer_problems(),
    }  # fmt: skip
    assert prefixes <= set(domains), prefixes - set(domains)
    absent = [p + v for p, values in domains.items() for v in values if p + v not in catalog]
    assert absent == []
    assert Translator("en")("find.none", q="x") == "No device matches “x”."
