"""The customer's link: tokens scoped to one case and contact and stored hashed, the self-fix answer
and its watch, still-not-working, booking (and a slot taken meanwhile), consent and a remote reset from
the page, the repair's result to every contact, the happy call reopening work, and the visit reminders.

Everything runs on the real database, the real fault engine and the real alert worker sending through
a real HTTP provider on loopback (testbed/provider_sink.py), whose requests carry the links.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from diagnostics.catalog import load_catalog
from diagnostics.customer_link import store as link_store
from diagnostics.customer_link.reminders import send_visit_reminders
from diagnostics.customer_link.store import RepairItem
from diagnostics.customer_link.tokens import LinkSecret, token_hash
from diagnostics.messages.texts import (
    ALERT_TYPES,
    LINK_PLACEHOLDER,
    LMS_BYTES,
    PointName,
    compose,
    compose_freeze_prep,
    compose_incident,
    compose_visit,
    message_bytes,
    sms_class,
    visit_day,
    with_link,
)
from diagnostics.tickets.lifecycle import Status, transition
from telemetry.korean_time import KST, kst_day
from testbed.customer_scene import MOTHER, SECRET, SON, Scene, scene_on
from testbed.support import ApiClient

BASE = "https://ondol.example/care"


@pytest.fixture
async def scene(db: asyncpg.Connection, db_dsn: str) -> AsyncIterator[Scene]:
    async with scene_on(db, db_dsn, BASE) as made:
        yield made


@contextlib.asynccontextmanager
async def _customer(dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """A phone's browser: no API key, no cookies kept between the pages it opens."""
    async with ApiClient(dsn, role=None) as http:
        yield http


async def _guided(scene: Scene, device_id: str, code: str = "E003") -> str:
    """The device raised `code`, the guidance went out; the mother's token."""
    await scene.device(device_id)
    await scene.event(device_id, code, "raised")
    await scene.deliver()
    tokens = scene.tokens_to(MOTHER)
    assert tokens, scene.sink.received
    return tokens[-1]


# --- tokens -----------------------------------------------------------------------------------


def test_a_token_is_derived_from_the_link_and_the_secret_and_only_its_hash_is_kept() -> None:
    salt = b"s" * 16
    token = SECRET.token(7, salt)
    assert token == SECRET.token(7, salt), "a resend carries the same token"
    assert token != SECRET.token(8, salt) != LinkSecret(b"x" * 40).token(7, salt)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert token_hash(token) != token.encode()
    assert len(token_hash(token)) == 32
    with pytest.raises(ValueError, match="32 bytes"):
        LinkSecret(b"short")


async def test_a_link_opens_its_own_case_only_and_every_refusal_looks_the_same(scene: Scene) -> None:
    token = await _guided(scene, "cl-scope-a")
    other = await _guided(scene, "cl-scope-b", code="E016")
    case_a = await scene.case_of("cl-scope-a")
    # Stored hashed: no table holds the token itself.
    dump = await scene.db.fetchval(
        "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM customer_links) AS t"
    ) + await scene.db.fetchval("SELECT string_agg(message_ko || message_en, ' ') FROM customer_alerts")
    assert token not in dump
    assert other not in dump
    assert LINK_PLACEHOLDER in dump, "the stored alert keeps the placeholder, not the link"
    row = await scene.db.fetchrow(
        "SELECT case_id, phone FROM customer_links WHERE token_hash = $1", token_hash(token)
    )
    assert (row["case_id"], row["phone"]) == (case_a, MOTHER)

    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
        assert page.status_code == 200
        assert "03" in page.text
        assert load_catalog()["E003"].name.ko in page.text
        assert MOTHER not in page.text, "no contact's number on the page"
        assert SON not in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        assert load_catalog()["E016"].name.ko not in page.text, "the other case is not on this page"

        guessed = secrets.token_urlsafe(16)[:22]
        await scene.db.execute("UPDATE customer_links SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
                               token_hash(other))  # fmt: skip
        refusals = {}
        for name, candidate in (("guessed", guessed), ("malformed", "abc"), ("expired", other)):
            answer = await phone.get(f"/c/{candidate}")
            refusals[name] = (answer.status_code, answer.text)
            posted = await phone.post(f"/c/{candidate}/still-broken")
            assert posted.status_code == 404
        await link_store.revoke_links(scene.db, case_id=case_a, phone=MOTHER, by="test")
        answer = await phone.get(f"/c/{token}")
        refusals["revoked"] = (answer.status_code, answer.text)
    assert len(set(refusals.values())) == 1, "nothing tells a guesser why"
    assert next(iter(refusals.values()))[0] == 404
    assert await scene.db.fetchval("SELECT count(*) FROM customer_answers") == 0, (
        "a refused link changes nothing"
    )


async def test_a_resent_alert_carries_the_same_link_and_each_contact_has_their_own(scene: Scene) -> None:
    await _guided(scene, "cl-resend", code="E016")  # E016: overheat, high severity: every contact hears it
    case_id = await scene.case_of("cl-resend")
    await scene.db.execute(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, message_ko, message_en)"
        " SELECT device_id, contact_id, phone, channel, kind, code, case_id, message_ko, message_en FROM customer_alerts"
        " WHERE case_id = $1", case_id,
    )  # fmt: skip
    await scene.deliver()
    mother, son = scene.tokens_to(MOTHER), scene.tokens_to(SON)
    assert len(mother) == 2
    assert len(set(mother)) == 1
    assert len(son) == 2
    assert len(set(son)) == 1
    assert son[0] != mother[0]
    assert await scene.db.fetchval("SELECT count(*) FROM customer_links WHERE case_id = $1", case_id) == 2


# --- self-fix ---------------------------------------------------------------------------------


async def test_the_customer_says_it_works_then_the_code_recurs_and_the_case_reopens_with_a_visit(
    scene: Scene,
) -> None:
    token = await _guided(scene, "cl-recur")
    case_id = await scene.case_of("cl-recur")
    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
        assert "직접 해 보기" in page.text
        assert "1단계" in page.text
        step2 = await phone.get(f"/c/{token}?step=2")
        assert load_catalog()["E003"].steps.ko[1] in step2.text
        answer = await phone.post(f"/c/{token}/works-again", data={"lang": "ko"})
        assert answer.status_code == 303
        assert await scene.db.fetchval(
            "SELECT customer_said_fixed_at IS NOT NULL FROM fault_cases WHERE case_id = $1", case_id
        )
        await scene.event("cl-recur", "E003", "cleared")
        watching = await phone.get(f"/c/{token}")
        assert "다시 작동 중" in watching.text
        assert (
            await scene.db.fetchval("SELECT status FROM fault_cases WHERE case_id = $1", case_id)
            == "resolved_by_customer"
        )

        await scene.event("cl-recur", "E003", "raised")  # within the 24 h watch
        ticket = await scene.db.fetchrow(
            "SELECT ticket_id, rule, status, case_id FROM tickets WHERE device_id = 'cl-recur'"
        )
        assert ticket["rule"] == "if_recurs.recurred_after_customer_said_fixed"
        assert ticket["case_id"] == case_id
        assert ticket["status"] == "open"
        booking = await phone.get(f"/c/{token}")
        assert "기사 방문 예약" in booking.text
        assert 'name="choice"' in booking.text
    kinds = [
        r["kind"]
        for r in await scene.db.fetch("SELECT kind FROM customer_answers WHERE case_id = $1", case_id)
    ]
    assert kinds == ["works_again"]


async def test_still_not_working_opens_the_ticket_at_once_and_goes_on_it(scene: Scene) -> None:
    token = await _guided(scene, "cl-broken")
    async with _customer(scene.dsn) as phone:
        answer = await phone.post(f"/c/{token}/still-broken")
        assert answer.status_code == 303
        assert "done=still_broken" in answer.headers["location"]
        again = await phone.post(f"/c/{token}/still-broken")  # a second press opens nothing more
        assert again.status_code == 303
    tickets = await scene.db.fetch(
        "SELECT ticket_id, rule, status FROM tickets WHERE device_id = 'cl-broken'"
    )
    assert [(t["rule"], t["status"]) for t in tickets] == [("customer.still_not_working", "open")]
    notes = await scene.db.fetch(
        "SELECT author, body FROM ticket_notes WHERE ticket_id = $1", tickets[0]["ticket_id"]
    )
    assert any("still does not work" in n["body"] for n in notes)
    assert (
        await scene.db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.opened'") == 1
    )


# --- booking ----------------------------------------------------------------------------------


async def _booked_elsewhere(
    db: asyncpg.Connection, point: str, day: date, slot: str, family: str = "x"
) -> None:
    """Another household's visit takes the window (its ticket in fault family `family` of cl-other)."""
    other = await db.fetchval(
        "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
        " VALUES ('cl-other', $1, 'E003', 'ticketed', now(), now(), 'test') RETURNING case_id", family,
    )  # fmt: skip
    ticket = await db.fetchval(
        "INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,"
        " last_raised_at, contact_due_at, service_point_id, rule, evidence) VALUES ($1, 'cl-other', $3, 'E003',"
        " '{E003}', 'repair', 'scheduled', 3, now(), now(), now(), $2, 'test', '{}') RETURNING ticket_id", other, point,
        family,
    )  # fmt: skip
    await link_store.insert_booking(db, ticket_id=ticket, point_id=point, day=day, slot=slot, technician_id=None,
                                    by="agent")  # fmt: skip


async def test_booking_a_window_taken_meanwhile_says_so_and_offers_the_others(scene: Scene) -> None:
    token = await _guided(scene, "cl-book")
    await scene.device("cl-other", son=False)
    async with _customer(scene.dsn) as phone:
        await phone.post(f"/c/{token}/still-broken")
        ticket = await scene.db.fetchrow(
            "SELECT ticket_id, service_point_id FROM tickets WHERE device_id = 'cl-book'"
        )
        point = ticket["service_point_id"]
        await scene.db.execute("UPDATE service_points SET daily_capacity = 2 WHERE point_id = $1", point)
        page = await phone.get(f"/c/{token}")
        tomorrow = kst_day(datetime.now(UTC)) + timedelta(days=1)
        if tomorrow.isoweekday() == 7:
            tomorrow += timedelta(days=1)
        choice = f"{tomorrow.isoformat()}/am"
        assert f'value="{choice}"' in page.text
        await _booked_elsewhere(scene.db, point, tomorrow, "am")  # the last morning place goes meanwhile

        taken = await phone.post(f"/c/{token}/book", data={"choice": choice})
        assert taken.status_code == 409
        assert "방금 다른 분이 그 시간을 예약했습니다" in taken.text
        assert f'value="{choice}"' not in taken.text
        assert f'value="{tomorrow.isoformat()}/pm"' in taken.text
        assert (
            await scene.db.fetchval(
                "SELECT count(*) FROM visit_bookings WHERE ticket_id = $1", ticket["ticket_id"]
            )
            == 0
        )

        booked = await phone.post(f"/c/{token}/book", data={"choice": f"{tomorrow.isoformat()}/pm"})
        assert booked.status_code == 303
        status = await scene.db.fetchval(
            "SELECT status FROM tickets WHERE ticket_id = $1", ticket["ticket_id"]
        )
        assert status == "scheduled"
        event = await scene.db.fetchrow(
            "SELECT payload FROM outbox_events WHERE event_type = 'ticket.scheduled' ORDER BY event_id DESC LIMIT 1"
        )
        assert '"slot": "pm"' in event["payload"]
        assert tomorrow.isoformat() in event["payload"]
        shown = await phone.get(f"/c/{token}")
        assert "방문 예약이 되었습니다" in shown.text
        assert "그때 집에 없어요" in shown.text

        # "I won't be home": the visit moves; the old booking is kept as moved.
        later = tomorrow + timedelta(days=2 if tomorrow.isoweekday() != 5 else 3)
        moved = await phone.post(f"/c/{token}/book", data={"choice": f"{later.isoformat()}/am"})
        assert moved.status_code == 303
    rows = await scene.db.fetch("SELECT day, slot, status FROM visit_bookings WHERE ticket_id = $1 ORDER BY booking_id",
                                ticket["ticket_id"])  # fmt: skip
    assert [(r["day"], r["slot"], r["status"]) for r in rows] == [
        (tomorrow, "pm", "moved"),
        (later, "am", "booked"),
    ]
    assert (
        await scene.db.fetchval("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.scheduled'")
        == 2
    )


async def test_two_customers_racing_for_the_last_place_get_one_booking_each_at_most(scene: Scene) -> None:
    tokens = [await _guided(scene, f"cl-race-{i}") for i in range(2)]
    async with _customer(scene.dsn) as phone:
        for token in tokens:
            await phone.post(f"/c/{token}/still-broken")
        point = await scene.db.fetchval("SELECT service_point_id FROM tickets WHERE device_id = 'cl-race-0'")
        assert point == await scene.db.fetchval(
            "SELECT service_point_id FROM tickets WHERE device_id = 'cl-race-1'"
        )
        await scene.db.execute("UPDATE service_points SET daily_capacity = 1 WHERE point_id = $1", point)
        day = kst_day(datetime.now(UTC)) + timedelta(days=1)
        if day.isoweekday() == 7:
            day += timedelta(days=1)
        answers = await asyncio.gather(*(phone.post(f"/c/{t}/book", data={"choice": f"{day.isoformat()}/am"})
                                         for t in tokens))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [303, 409]
    assert await scene.db.fetchval("SELECT count(*) FROM visit_bookings WHERE status = 'booked'") == 1


async def test_a_safety_fault_page_says_what_to_do_now_and_offers_no_booking(scene: Scene) -> None:
    token = await _guided(scene, "cl-gas", code="E014")
    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
        assert "가스 밸브를 잠그고" in page.text
        assert "119" in page.text
        assert 'name="choice"' not in page.text
        assert "다시 작동해요" not in page.text
        english = await phone.get(f"/c/{token}?lang=en")
        assert "Close the gas valve" in english.text
        day = kst_day(datetime.now(UTC)) + timedelta(days=1)
        refused = await phone.post(f"/c/{token}/book", data={"choice": f"{day.isoformat()}/am"})
        assert refused.status_code == 409
        assert "고객센터가 방문 시간을 직접" in refused.text
    assert await scene.db.fetchval("SELECT count(*) FROM visit_bookings") == 0


# --- consent and a remote reset ---------------------------------------------------------------


async def test_the_customer_consents_and_asks_for_a_remote_reset_under_every_rule(scene: Scene) -> None:
    token = await _guided(scene, "cl-reset")
    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
        assert "원격 리셋 허용" in page.text
        unticked = await phone.post(f"/c/{token}/consent", data={"hours": "24"})
        assert unticked.status_code == 409
        assert await scene.db.fetchval("SELECT count(*) FROM remote_consents") == 0
        consent = await phone.post(f"/c/{token}/consent", data={"hours": "24", "agree": "true"})
        assert consent.status_code == 303
        granted = await scene.db.fetchrow(
            "SELECT scope, granted_by, granted_via, expires_at FROM remote_consents"
        )
        assert granted["scope"] == ["lockout_reset"]
        assert granted["granted_via"] == "customer"
        assert granted["granted_by"].startswith("customer-link:")
        assert timedelta(hours=23) < granted["expires_at"] - datetime.now(UTC) <= timedelta(hours=24)
        page = await phone.get(f"/c/{token}")
        assert "원격 리셋 요청" in page.text
        no_answer = await phone.post(f"/c/{token}/reset")
        assert no_answer.status_code == 409
        assert "119" in no_answer.text
        assert await scene.db.fetchval("SELECT count(*) FROM commands") == 0
        sent = await phone.post(f"/c/{token}/reset", data={"no_gas_smell": "true"})
        assert sent.status_code == 303
        command = await scene.db.fetchrow("SELECT kind, role, state, case_id FROM commands")
        assert (command["kind"], command["role"], command["state"]) == (
            "lockout_reset",
            "customer_link",
            "queued",
        )
        assert command["case_id"] == await scene.case_of("cl-reset")
        second = await phone.post(f"/c/{token}/reset", data={"no_gas_smell": "true"})
        assert second.status_code == 409, "one remote reset per case, whoever asks"
        assert "원격 리셋을 요청했습니다" in (await phone.get(f"/c/{token}")).text


# --- result, family and the happy call --------------------------------------------------------


async def _repair_done(scene: Scene, token: str, device_id: str) -> int:
    async with _customer(scene.dsn) as phone:
        await phone.post(f"/c/{token}/still-broken")
    ticket_id = int(await scene.db.fetchval("SELECT ticket_id FROM tickets WHERE device_id = $1", device_id))
    async with scene.db.transaction():
        for status in (Status.CONTACTED, Status.SCHEDULED, Status.DISPATCHED):
            await transition(scene.db, ticket_id=ticket_id, to=status, actor="tech-1", note=None)
        await link_store.upsert_repair_report(
            scene.db, ticket_id=ticket_id, summary="점화 전극 교체", items=[RepairItem("점화 전극", 18000)],
            labour_won=25000, warranty_covered=False, total_won=43000, entered_by="tech-1",
        )  # fmt: skip
        await scene.event(device_id, "E003", "cleared")
        await transition(scene.db, ticket_id=ticket_id, to=Status.RESOLVED, actor="tech-1", note="fixed")
    return ticket_id


async def test_the_result_reaches_every_contact_and_a_low_score_reopens_work(scene: Scene) -> None:
    token = await _guided(scene, "cl-survey")
    ticket_id = await _repair_done(scene, token, "cl-survey")
    results = await scene.db.fetch(
        "SELECT phone FROM customer_alerts WHERE kind = 'result' AND ticket_id = $1", ticket_id
    )
    assert sorted(r["phone"] for r in results) == [MOTHER, SON], (
        "the son who registered is told the result too"
    )
    await scene.deliver()
    son_token = scene.tokens_to(SON)[-1]
    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
        assert "점화 전극 교체" in page.text
        assert "43,000원" in page.text
        assert "유상 수리" in page.text
        son_page = await phone.get(f"/c/{son_token}")
        assert son_page.headers["content-type"].startswith("text/html")
        assert "The repair is done" in son_page.text, "the son reads English"
        assert "₩43,000" in son_page.text

        incomplete = await phone.post(f"/c/{token}/survey", data={"score": "2"})
        assert incomplete.status_code == 409
        low = await phone.post(
            f"/c/{token}/survey", data={"score": "2", "solved": "no", "comment": "또 꺼져요"}
        )
        assert low.status_code == 303
        assert "survey_flagged" in low.headers["location"]
        twice = await phone.post(f"/c/{token}/survey", data={"score": "5", "solved": "yes"})
        assert twice.status_code == 409
        happy = await phone.post(f"/c/{son_token}/survey", data={"score": "5", "solved": "yes"})
        assert happy.status_code == 303
        assert "survey_flagged" not in happy.headers["location"]
    flagged = await scene.db.fetch("SELECT payload FROM outbox_events WHERE event_type = 'survey.flagged'")
    assert len(flagged) == 1
    assert '"score": 2' in flagged[0]["payload"]
    assert "또 꺼져요" in flagged[0]["payload"]
    follow = await scene.db.fetchrow(
        "SELECT ticket_id, rule, status, evidence FROM tickets WHERE rule = 'survey.flagged'"
    )
    assert follow is not None
    assert follow["status"] == "open"
    assert "또 꺼져요" in follow["evidence"]
    surveys = await scene.db.fetch(
        "SELECT score, flagged, follow_up_ticket_id FROM customer_surveys ORDER BY score"
    )
    assert [(s["score"], s["flagged"], s["follow_up_ticket_id"]) for s in surveys] == [
        (2, True, follow["ticket_id"]),
        (5, False, None),
    ]


async def test_visit_reminders_go_the_day_before_and_the_hour_before_once_each(scene: Scene) -> None:
    token = await _guided(scene, "cl-touch")
    async with _customer(scene.dsn) as phone:
        await phone.post(f"/c/{token}/still-broken")
    ticket = await scene.db.fetchrow(
        "SELECT ticket_id, service_point_id FROM tickets WHERE device_id = 'cl-touch'"
    )
    await link_store.upsert_technician(scene.db, technician_id="tech-kim", point_id=ticket["service_point_id"],
                                       name="김기사", name_en="Kim", photo_url="/photos/kim.jpg")  # fmt: skip
    day = kst_day(datetime.now(UTC)) + timedelta(days=1)
    if day.isoweekday() == 7:
        day += timedelta(days=1)
    async with _customer(scene.dsn) as phone:
        assert (
            await phone.post(f"/c/{token}/book", data={"choice": f"{day.isoformat()}/am"})
        ).status_code == 303
        page = await phone.get(f"/c/{token}")
        assert "김기사" in page.text
        assert 'src="/photos/kim.jpg"' in page.text
        assert 'alt="김기사 기사 사진"' in page.text

    def at(d: date, hour: int, minute: int = 0) -> datetime:
        return datetime(d.year, d.month, d.day, hour, minute, tzinfo=KST)

    before = day - timedelta(days=1)
    assert (await send_visit_reminders(scene.db, at(before, 17, 59))).visits == 0
    assert (await send_visit_reminders(scene.db, at(before, 19))).visits == 1
    assert (await send_visit_reminders(scene.db, at(before, 20))).visits == 0
    assert (await send_visit_reminders(scene.db, at(day, 8, 10))).visits == 1
    assert (await send_visit_reminders(scene.db, at(day, 8, 40))).visits == 0
    texts = await scene.db.fetch(
        "SELECT phone, message_ko, message_en FROM customer_alerts WHERE kind = 'visit_reminder' ORDER BY alert_id"
    )
    assert sorted(t["phone"] for t in texts) == [MOTHER, MOTHER, SON, SON], "the first contacts, twice each"
    assert "김기사" in texts[0]["message_ko"]
    assert "Kim" in texts[0]["message_en"]
    assert LINK_PLACEHOLDER in texts[0]["message_ko"]


# --- message length ---------------------------------------------------------------------------


def test_every_case_message_carries_the_link_and_the_longest_fits_one_lms() -> None:
    catalog = load_catalog()
    url = "https://care.ondol-boiler.example.co.kr/c/" + "A" * 22
    point = PointName("서울특별시 강남구 대치동 서비스센터", "Seoul Gangnam Daechi-dong Service Centre")
    longest: dict[str, tuple[int, str]] = {}
    for entry in catalog.entries():
        for kind in ("guidance", "safety", "emergency", "escalation", "visit"):
            message = compose(entry, kind, service_point=point, owner_name="홍길동")
            for text in (message.ko, message.en):
                assert text.count(LINK_PLACEHOLDER) == 1, (kind, entry.code)
                sent = with_link(text, url)
                longest[kind] = max(longest.get(kind, (0, "")), (message_bytes(sent), sent))
        for kind in ("visit_reminder", "result"):
            message = compose_visit(kind, entry, entry.code, day=date(2026, 12, 24), slot="pm",
                                    service_point=point, technician=PointName("김기사", "Kim"))  # fmt: skip
            for text in (message.ko, message.en):
                sent = with_link(text, url)
                assert url in sent
                assert "${" not in sent
                longest[kind] = max(longest.get(kind, (0, "")), (message_bytes(sent), sent))
        for kind in ("incident", "incident_resolved"):
            message = compose_incident(kind, entry, entry.code, family="electrical_pcb", region_ko="경상남도",
                                       region_en="Gyeongsangnam-do")  # fmt: skip
            for text in (message.ko, message.en):
                sent = with_link(text, url)
                assert url in sent
                longest[kind] = max(longest.get(kind, (0, "")), (message_bytes(sent), sent))
    prep = compose_freeze_prep(
        day=date(2026, 12, 24), region_ko="경상남도", region_en="Gyeongsangnam-do", low_c=-18
    )
    assert LINK_PLACEHOLDER not in prep.ko, "freeze guidance is about no case: no link"
    longest["freeze_prep"] = max((message_bytes(t), t) for t in (prep.ko, prep.en))
    assert set(longest) == set(ALERT_TYPES) - {"inspection", "inspection_offer"}
    for kind, (size, text) in longest.items():
        assert size <= LMS_BYTES, (kind, size)
        assert sms_class(text) in ("SMS", "LMS")
    assert max(size for size, _ in longest.values()) > 90, "the guidance with its steps is an LMS, not an SMS"
    assert sms_class("[온돌] 보일러 점검 " + url[:30]) == "SMS"
    assert message_bytes("가나") == 4
    assert message_bytes("ab") == 2
    with pytest.raises(ValueError, match="LMS"):
        sms_class("가" * 1001)


async def test_the_sms_gateway_is_told_lms_and_alimtalk_gets_the_link_as_a_button(scene: Scene) -> None:
    await scene.device("cl-kakao", son=False)
    await scene.db.execute(
        "UPDATE device_contacts SET preferred_channel = 'kakao' WHERE device_id = 'cl-kakao'"
    )
    await scene.event("cl-kakao", "E003", "raised")
    await scene.device("cl-sms", son=False)
    await scene.event("cl-sms", "E003", "raised")
    await scene.deliver()
    bodies = {r["path"]: r for r in scene.sink.received}
    kakao, sms = bodies["/alimtalk"], bodies["/sms"]
    assert kakao["buttons"][0]["url_mobile"].startswith(BASE + "/c/")
    assert kakao["buttons"][0]["url_mobile"] in kakao["text"]
    assert sms["type"] == "LMS"
    assert BASE + "/c/" in sms["text"]


async def test_the_technician_enters_the_repair_and_their_profile_through_the_api(scene: Scene) -> None:
    token = await _guided(scene, "cl-report")
    async with _customer(scene.dsn) as phone:
        await phone.post(f"/c/{token}/still-broken")
    ticket = await scene.db.fetchrow(
        "SELECT ticket_id, service_point_id FROM tickets WHERE device_id = 'cl-report'"
    )
    ticket_id, point = ticket["ticket_id"], ticket["service_point_id"]
    other_point = await scene.db.fetchval(
        "SELECT point_id FROM service_points WHERE point_id <> $1 LIMIT 1", point
    )
    report = {"summary": "점화 전극 교체", "items": [{"name": "점화 전극", "amount_won": 18000}], "labour_won": 25000,
              "warranty_covered": False}  # fmt: skip
    async with ApiClient(scene.dsn, role="technician", scope={"service_point_id": point}) as tech:
        own = await tech.put("/v1/technicians/tech-lee", json={"point_id": point, "name": "이기사", "name_en": "Lee",
                                                                "photo_url": "https://photos.example/lee.jpg"})  # fmt: skip
        assert own.status_code == 200, own.text
        elsewhere = await tech.put(
            "/v1/technicians/tech-park", json={"point_id": other_point, "name": "박기사"}
        )
        assert elsewhere.status_code == 403
        too_early = await tech.put(f"/v1/tickets/{ticket_id}/repair-report", json=report)
        assert too_early.status_code == 409, "an open ticket had no visit"
        for status in ("contacted", "scheduled", "dispatched"):
            moved = await tech.post(f"/v1/tickets/{ticket_id}/transitions", json={"to": status})
            assert moved.status_code == 200, moved.text
        entered = await tech.put(f"/v1/tickets/{ticket_id}/repair-report", json=report)
        assert entered.status_code == 200, entered.text
        assert entered.json()["total_won"] == 43000
        covered = await tech.put(
            f"/v1/tickets/{ticket_id}/repair-report", json=report | {"warranty_covered": True}
        )
        assert covered.json()["total_won"] == 0, "under warranty the customer pays nothing"
    async with ApiClient(scene.dsn, role="admin") as admin:
        unknown = await admin.put("/v1/technicians/tech-x", json={"point_id": "nowhere", "name": "X"})
        assert unknown.status_code == 404
    assert (
        await scene.db.fetchval("SELECT name_en FROM technicians WHERE technician_id = 'tech-lee'") == "Lee"
    )
    await scene.event("cl-report", "E003", "cleared")
    async with scene.db.transaction():
        await transition(scene.db, ticket_id=ticket_id, to=Status.RESOLVED, actor="tech", note=None)
    async with _customer(scene.dsn) as phone:
        page = await phone.get(f"/c/{token}")
    assert "무상 보증 수리입니다" in page.text
    assert "0원" in page.text


async def test_an_agent_revokes_a_lost_phones_links_and_they_open_nothing(scene: Scene) -> None:
    token = await _guided(scene, "cl-lost", code="E016")  # every contact is told: mother and son
    son_token = scene.tokens_to(SON)[-1]
    async with ApiClient(scene.dsn, role="agent") as agent:
        bad = await agent.delete("/v1/devices/cl-lost/customer-links", params={"phone": "not a number"})
        assert bad.status_code == 422
        unknown = await agent.delete("/v1/devices/nobody/customer-links")
        assert unknown.status_code == 404
        answer = await agent.delete("/v1/devices/cl-lost/customer-links", params={"phone": "010-5000-1001"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"revoked": 1}
    async with _customer(scene.dsn) as phone:
        assert (await phone.get(f"/c/{token}")).status_code == 404, "the mother's lost phone opens nothing"
        assert (await phone.get(f"/c/{son_token}")).status_code == 200, "the son's link still works"
    await scene.db.execute(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, case_id, message_ko, message_en)"
        " SELECT device_id, contact_id, phone, channel, kind, code, case_id, message_ko, message_en FROM customer_alerts"
        " WHERE device_id = 'cl-lost' AND phone = $1",
        MOTHER,
    )
    await scene.deliver()
    last = scene.sink.to(MOTHER)[-1]["text"]
    assert "/c/" not in last, "a revoked link is not sent again"
    assert "${link}" not in last


async def test_erasing_the_customer_revokes_their_links_and_drops_their_comments(scene: Scene) -> None:
    token = await _guided(scene, "cl-erase")
    ticket_id = await _repair_done(scene, token, "cl-erase")
    async with _customer(scene.dsn) as phone:
        rated = await phone.post(
            f"/c/{token}/survey", data={"score": "4", "solved": "yes", "comment": "김 기사님 친절"}
        )
        assert rated.status_code == 303
    async with ApiClient(scene.dsn, role="admin") as admin:
        exported = (await admin.get(f"/v1/customers/{MOTHER}/export")).json()
        assert [a["kind"] for a in exported["answers"]] == ["still_broken", "survey"]
        assert exported["answers"][-1]["comment"] == "김 기사님 친절"
        erased = await admin.delete(f"/v1/customers/{MOTHER}")
        assert erased.status_code == 200, erased.text
        assert erased.json()["customer_links"] == 1
    async with _customer(scene.dsn) as phone:
        assert (await phone.get(f"/c/{token}")).status_code == 404
    assert await scene.db.fetchval("SELECT count(*) FROM customer_links WHERE phone = $1", MOTHER) == 0
    survey = await scene.db.fetchrow(
        "SELECT score, comment FROM customer_surveys WHERE ticket_id = $1", ticket_id
    )
    assert (survey["score"], survey["comment"]) == (4, ""), "the score stays for the figures, the words go"


async def test_a_full_centre_says_honestly_when_a_technician_can_come(scene: Scene) -> None:
    token = await _guided(scene, "cl-full")
    await scene.device("cl-other", son=False)
    async with _customer(scene.dsn) as phone:
        await phone.post(f"/c/{token}/still-broken")
        point = await scene.db.fetchval("SELECT service_point_id FROM tickets WHERE device_id = 'cl-full'")
        await scene.db.execute("UPDATE service_points SET daily_capacity = 1 WHERE point_id = $1", point)
        first = kst_day(datetime.now(UTC)) + timedelta(days=1)
        for i in range(7):
            await _booked_elsewhere(scene.db, point, first + timedelta(days=i), "am", family=f"f{i}")
        page = await phone.get(f"/c/{token}")
    assert 'name="choice"' not in page.text, "no window of its own to offer"
    assert "지금 예상으로는" in page.text, "the earliest a neighbouring centre can come, said as an estimate"
    earliest = first + timedelta(days=1) if first.isoweekday() == 7 else first  # no visits on Sundays
    assert visit_day(earliest, "ko") in page.text
