"""Text people type and others read (names, addresses, notes): bidirectional control characters are
refused wherever it enters, through the API or the console, and the console isolates such text in
<bdi> so that what was stored before cannot reorder the page around it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from api.user_text import BIDI_CONTROLS
from testbed.support import (
    ApiClient,
    console_client,
    console_sign_in,
    insert_ticket,
    issue_api_key,
    register_full,
    seed_points,
)

RLO = "\u202e"


def _device(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_id": "dev-bidi", "model": "NCB-300", "serial": "SN-1", "customer_name": "김영희",
        "address": "서울 종로구 세종대로 1", "region": "seoul",
        "contacts": [{"name": "김영희", "phone": "+821012345678", "role": "owner"}],
    }  # fmt: skip
    return body | changes


def _refused(answer: httpx.Response, char: str) -> None:
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert [e["type"] for e in problem["errors"]] == ["bidi_control"]
    assert f"U+{ord(char):04X}" in problem["errors"][0]["msg"]


@pytest.mark.parametrize("char", sorted(BIDI_CONTROLS))
async def test_the_api_refuses_bidi_controls_in_a_customers_name(db_dsn: str, char: str) -> None:
    async with ApiClient(db_dsn) as api:
        _refused(await api.post("/v1/devices", json=_device(customer_name=f"Kim{char}gnaY")), char)
        assert (await api.get("/v1/devices/dev-bidi")).status_code == 404


async def test_the_api_refuses_bidi_controls_wherever_names_addresses_and_notes_enter(
    db: asyncpg.Connection, db_dsn: str
) -> None:
    await seed_points(db)
    async with ApiClient(db_dsn) as api:
        _refused(await api.post("/v1/devices", json=_device(address=f"서울 {RLO}1 로대종세")), RLO)
        contact = {"name": f"{RLO}희영김", "phone": "+821012345678", "role": "owner"}
        _refused(await api.post("/v1/devices", json=_device(contacts=[contact])), RLO)
        assert (await api.post("/v1/devices", json=_device())).status_code == 201
        ticket_id = await insert_ticket(db, "dev-bidi", "SP-001")
        path = f"/v1/tickets/{ticket_id}"
        _refused(await api.post(f"{path}/notes", json={"body": "called \u2067back\u2069"}), "\u2067")
        _refused(
            await api.post(f"{path}/transitions", json={"to": "contacted", "note": "ok\u200f"}), "\u200f"
        )
        _refused(await api.post(f"{path}/assignment", json={"technician": f"{RLO}nhoJ"}), RLO)
        assert await db.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", ticket_id) == "open"
        assert await db.fetchval("SELECT count(*) FROM ticket_notes WHERE ticket_id = $1", ticket_id) == 1
        # Korean, English and other scripts are what names are written in: they pass.
        assert (await api.post(f"{path}/notes", json={"body": "고객 통화함, Ali علي, 李"})).status_code == 201


@pytest.fixture
async def console(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    await seed_points(db)
    await register_full(
        db, "dev-1", latitude=37.5665, longitude=126.978, region="seoul", installed_on=date(2024, 1, 1)
    )
    async with console_client(db_dsn) as http:
        yield http, await console_sign_in(http, await issue_api_key(db_dsn, "agent"))


async def test_the_consoles_forms_refuse_bidi_controls_in_words(
    console: tuple[httpx.AsyncClient, str], db: asyncpg.Connection
) -> None:
    http, csrf = console
    ticket_id = await insert_ticket(db, "dev-1", "SP-001")
    htmx = {"X-Console-CSRF": csrf, "HX-Request": "true"}
    note = await http.post(f"/console/tickets/{ticket_id}/notes", data={"body": f"{RLO}evil"}, headers=htmx)
    assert note.status_code == 422
    assert "글자 방향을 바꾸는" in note.text
    assert "U+202E" in note.text
    moved = await http.post(f"/console/tickets/{ticket_id}/transition", data={"to": "contacted", "note": f"a{RLO}b"},
                            headers=htmx)  # fmt: skip
    assert moved.status_code == 422
    assert "글자 방향을 바꾸는" in moved.text
    assert await db.fetchval("SELECT status FROM tickets WHERE ticket_id = $1", ticket_id) == "open"
    assert await db.fetchval("SELECT count(*) FROM ticket_notes WHERE ticket_id = $1", ticket_id) == 1


def _isolated(html: str, text: str) -> bool:
    """Every occurrence of `text` in `html` is the whole content of a <bdi> element."""
    spots = [m.start() for m in re.finditer(re.escape(text), html)]
    return bool(spots) and all(
        html[:at].endswith("<bdi>") and html[at + len(text) :].startswith("</bdi>") for at in spots
    )


async def test_the_console_isolates_typed_text_stored_before_it_was_refused(
    console: tuple[httpx.AsyncClient, str], db: asyncpg.Connection
) -> None:
    http, _ = console
    name, address, contact, note = f"{RLO}gnaY", f"{RLO}1 ro-jondaes", f"{RLO}rehtaF", f"{RLO}enod"
    await db.execute(
        "UPDATE devices SET customer_name = $1, address = $2 WHERE device_id = 'dev-1'", name, address
    )
    await db.execute("UPDATE device_contacts SET name = $1 WHERE device_id = 'dev-1'", contact)
    ticket_id = await insert_ticket(db, "dev-1", "SP-001")
    await db.execute("INSERT INTO ticket_notes (ticket_id, author, kind, body) VALUES ($1, 'agent-2', 'note', $2)",
                     ticket_id, note)  # fmt: skip
    await db.execute("UPDATE tickets SET technician = $1 WHERE ticket_id = $2", contact, ticket_id)
    device = (await http.get("/console/devices/dev-1")).text
    assert f"<h1><bdi>{name}</bdi>" in device  # the header a reversed name used to turn around
    for text in (name, address, contact):
        assert _isolated(device, text), text
    found = (await http.get("/console/find/results", params={"q": "dev-"})).text
    assert _isolated(found, name)
    assert _isolated(found, address)
    queue = (await http.get("/console/queue")).text
    assert _isolated(queue, name)
    assert _isolated(queue, address)
    ticket = (await http.get(f"/console/tickets/{ticket_id}")).text
    assert _isolated(ticket, note)
    assert _isolated(ticket, contact)
