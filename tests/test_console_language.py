"""One language at a time: the Korean console says nothing in English that it could say in Korean,
the English console shows no Korean service-point names, times say KST, and each contact's message
names the service point in the contact's language.

The data comes the real way: a boiler raises a safety fault over MQTT, the gateway stores it and the
diagnostics worker opens the ticket and writes the alerts; the campaign is planned and reminded.
Engine transition notes (free text in the ticket's history) are not judged here.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg
import httpx
import pytest

from diagnostics.campaigns.plan import CampaignConfig, plan_campaign
from diagnostics.campaigns.planner import RiskWeights
from diagnostics.campaigns.reminders import send_reminders
from protocol.broker import BrokerAddress
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.korean_time import KST
from testbed.support import (
    Publisher,
    console_client,
    console_sign_in,
    eventually,
    gateway_config,
    issue_api_key,
    now_iso,
    running_gateway,
    running_worker,
    seed_points,
    visible_text,
)

DEVICE = "boiler-lang-1"
NAME, ADDRESS, FAMILY, NOTE = "김영희", "서울특별시 종로구 세종대로 175", "박민수", "고객이 오전 방문을 원함"
HANGUL = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ]")
CAMPAIGN = CampaignConfig(weights=RiskWeights(min_score=0.0))


@dataclass
class Walk:
    db: asyncpg.Connection
    http: httpx.AsyncClient
    csrf: str
    ticket_id: int
    point_id: str


@pytest.fixture
async def walk(db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress) -> AsyncIterator[Walk]:
    await seed_points(db)
    contacts = (ContactRecord(name=NAME, phone="+821023456789", role="owner", language="ko"),
                ContactRecord(name=FAMILY, phone="+821023450000", role="family", language="en"))  # fmt: skip
    record = DeviceRecord(DEVICE, "NCB-300", "SN-1", date(2012, 1, 10), ADDRESS, "seoul", 37.5665, 126.978,
                          NAME, 60, contacts)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])
    publisher = Publisher(broker, client_id="lang-test")
    try:
        # Nobody acknowledges and nobody calls: the engine escalates twice, and its audit entries must
        # read in the page's language too.
        escalating = {"alert_ack_within": timedelta(seconds=1), "contact_within": timedelta(seconds=2)}
        async with running_gateway(gateway_config(db_dsn, broker)), running_worker(db_dsn, **escalating):
            # E030 (flue gas too hot) is safety-critical: a ticket at once and a safety alert to everyone.
            event = {"seq": 1, "ts": now_iso(), "code": "E030", "state": "raised"}
            publisher.publish(f"ondol/v1/{DEVICE}/events", json.dumps(event))
            await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM customer_alerts WHERE kind = 'safety'"),
                             what="safety alerts")  # fmt: skip
            await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM ticket_escalations"),
                             what="escalated for both reasons", timeout_s=30)  # fmt: skip
    finally:
        publisher.close()
    ticket_id, point_id = await db.fetchrow("SELECT ticket_id, service_point_id FROM tickets WHERE device_id = $1",
                                            DEVICE)  # fmt: skip
    async with db.transaction():
        await plan_campaign(db, 2027, today=date(2027, 8, 11), config=CAMPAIGN)
    await send_reminders(db, 2027, now=datetime(2027, 8, 20, 10, tzinfo=KST), wave=0, config=CAMPAIGN)
    async with console_client(db_dsn) as http:
        yield Walk(
            db, http, await console_sign_in(http, await issue_api_key(db_dsn, "agent")), ticket_id, point_id
        )


async def test_each_contact_reads_the_service_point_in_their_language(walk: Walk) -> None:
    name, name_en = await walk.db.fetchrow("SELECT name, name_en FROM service_points WHERE point_id = $1",
                                           walk.point_id)  # fmt: skip
    assert HANGUL.search(name)
    assert name_en
    assert not HANGUL.search(name_en)
    rows = await walk.db.fetch("SELECT kind, message_ko, message_en FROM customer_alerts WHERE device_id = $1",
                               DEVICE)  # fmt: skip
    assert {r["kind"] for r in rows} >= {"safety"}
    assert any(r["kind"].startswith("inspection") for r in rows)  # the campaign's reminder
    for row in rows:
        assert name in row["message_ko"], row["kind"]
        assert name_en in row["message_en"], row["kind"]
        english = row["message_en"].replace(NAME, "").replace(FAMILY, "")  # the owner's name as written
        assert not HANGUL.search(english), row["message_en"]


DATA_WORDS = re.compile(
    r"\b(?:boiler-lang-1|no-such-boiler|NCB-300|SN-1|SP-\d{3}|[EA]\d{2,3}|agent:test-agent|test-agent|\+?\d[\d-]*)\b"
)
"""Identifiers the pages show as they are: device, model, serial, point, codes, the key's name, phones."""
UNITS = {"KST", "km", "bar", "ID", "English"}
"""Words that are the same in Korean: the time zone, units, "기기 ID", the language switch's own name."""
INPUT_WORDS = {"breached", "true", "false"}
"""A 422 page names the parameter to correct and the values it takes, as they are typed."""


async def _pages(walk: Walk, move_to: str) -> list[tuple[str, str]]:
    """Every console page and fragment an agent sees for this boiler, ticket and campaign, moving the
    ticket on to `move_to` and then refusing a move its status does not allow: (name, HTML)."""
    http, htmx = walk.http, {"X-Console-CSRF": walk.csrf, "HX-Request": "true"}
    gets = {
        "find": "/console/find?q=" + NAME, "device": f"/console/devices/{DEVICE}",
        "live": f"/console/devices/{DEVICE}/live", "queue": "/console/queue",
        "ticket": f"/console/tickets/{walk.ticket_id}", "fleet": "/console/fleet",
        "campaign": f"/console/campaign?service_point={walk.point_id}",
        "404 device": "/console/devices/no-such-boiler", "404 ticket": "/console/tickets/999999",
        "404 page": "/console/nowhere", "422 queue": "/console/queue?breached=maybe",
    }  # fmt: skip
    pages = [(name, (await http.get(path)).text) for name, path in gets.items()]
    move = f"/console/tickets/{walk.ticket_id}/transition"
    contacted = await http.post(move, data={"to": move_to, "note": NOTE}, headers=htmx)
    assert contacted.status_code == 200
    refused = await http.post(move, data={"to": "closed"}, headers=htmx)
    assert refused.status_code == 409
    return [*pages, ("moved", contacted.text), ("409 move", refused.text)]


def _judged(html: str) -> str:
    """The page's text without what is not the console's to translate: what people wrote (notes) and
    who they are (actors). The engine's own entries are judged: they are worded from their reason."""
    html = re.sub(r'<span class="tr-note">.*?</span>', "", html, flags=re.S)
    return visible_text(re.sub(r'<bdi class="actor">.*?</bdi>', "", html, flags=re.S))


async def test_the_engines_audit_entries_read_in_the_pages_language(walk: Walk) -> None:
    ticket = f"/console/tickets/{walk.ticket_id}"
    korean = visible_text((await walk.http.get(ticket)).text)
    assert "E030 고장으로 자동 접수되었습니다" in korean
    assert "다음 순위 연락처가 없어 콜센터로 넘겼습니다" in korean
    assert "연락 기한 안에 고객에게 연락하지 않아" in korean
    for english in ("customer not contacted", "not acknowledged within", "handed to the call center"):
        assert english not in korean, "the engine's English note is not shown beside its Korean words"
    walk.http.cookies.set("ondol_console_lang", "en", path="/console")
    text = visible_text((await walk.http.get(ticket)).text)
    assert "Nobody acknowledged the safety alert (E030)" in text
    assert "there is no contact of the next rank: handed to the call center" in text
    assert "The customer was not contacted in time" in text


async def test_korean_pages_say_nothing_in_english_and_english_pages_no_korean_names(walk: Walk) -> None:
    for name, html in await _pages(walk, "contacted"):
        text = DATA_WORDS.sub(" ", _judged(html))
        leftovers = set(re.findall(r"[A-Za-z]{2,}", text)) - UNITS - INPUT_WORDS
        assert leftovers == set(), f"{name}: {sorted(leftovers)} in {text}"
        times = re.findall(r"\d{2}:\d{2}(?::\d{2})?(?! KST)\b", text)
        assert times == [], f"{name}: times without KST {times}"

    walk.http.cookies.set("ondol_console_lang", "en", path="/console")
    customer = {NAME, ADDRESS, FAMILY, NOTE, "한국어", "서울특별시 종로구 세종대로 175"}
    for name, html in await _pages(walk, "scheduled"):
        text = _judged(html)
        for words in customer:  # what people typed stays as typed
            text = text.replace(words, " ")
        assert not HANGUL.search(text), f"{name}: {HANGUL.findall(text)} in {text}"
        if name == "device":
            assert "(shows E030) Flue gas too hot" in text
