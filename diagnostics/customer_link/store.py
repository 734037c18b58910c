"""The customer link's typed store (migration 0024): links, answers, bookings and their slots,
technicians, repair reports and surveys, and the case as every contact's page shows it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.json_values import JsonObject

__all__ = [
    "Answer",
    "Booking",
    "CaseView",
    "IssuedLink",
    "Link",
    "RepairItem",
    "RepairReport",
    "Slot",
    "Survey",
    "VisitReminder",
    "booking_of_ticket",
    "case_answers",
    "case_view",
    "due_visit_reminders",
    "end_booking",
    "erase_recipient",
    "free_slots",
    "has_open_ticket",
    "insert_answer",
    "insert_booking",
    "insert_survey",
    "issue_link",
    "link_by_hash",
    "lock_case",
    "lock_point",
    "mark_opened",
    "mark_reminded",
    "pick_technician",
    "recipient_answers",
    "repair_report",
    "revoke_links",
    "set_follow_up",
    "set_token_hash",
    "survey_of",
    "ticket_payload",
    "upsert_repair_report",
    "upsert_technician",
]  # fmt: skip

_Q: Final = named_queries.load("customer_link", package="diagnostics.customer_link").require(
    "booking_of_ticket", "case_answers", "case_view", "due_visit_reminders", "end_booking", "erase_recipient", "free_slots",
    "has_open_ticket", "recipient_answers", "insert_answer", "insert_booking", "insert_survey", "issue_link", "link_by_hash", "lock_case", "lock_point",
    "mark_opened", "mark_reminded", "pick_technician", "repair_report", "revoke_links",
    "set_follow_up", "set_token_hash", "survey_of", "ticket_payload",
    "upsert_repair_report", "upsert_technician",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link_id: int
    salt: bytes
    fresh: bool
    """Just created: its token's hash is still to be stored."""
    revoked: bool


async def issue_link(
    conn: Connection, *, case_id: int, device_id: str, phone: str, language: str, salt: bytes, expires_at: datetime
) -> IssuedLink:  # fmt: skip
    sql, args = _Q.bind("issue_link", {"case_id": case_id, "device_id": device_id, "phone": phone,
                                       "language": language, "salt": salt, "expires_at": expires_at})  # fmt: skip
    row = await conn.fetchrow(sql, *args)
    assert row is not None
    return IssuedLink(int(row["link_id"]), bytes(row["salt"]), bool(row["fresh"]), bool(row["revoked"]))


async def set_token_hash(conn: Connection, link_id: int, digest: bytes) -> None:
    await conn.execute(_Q["set_token_hash"], link_id, digest)


@dataclass(frozen=True, slots=True)
class Link:
    link_id: int
    case_id: int
    device_id: str
    phone: str
    language: str
    expires_at: datetime
    revoked_at: datetime | None


async def link_by_hash(conn: Connection, digest: bytes) -> Link | None:
    row = await conn.fetchrow(_Q["link_by_hash"], digest)
    return None if row is None else Link(**dict(row))


async def mark_opened(conn: Connection, link_id: int) -> None:
    await conn.execute(_Q["mark_opened"], link_id)


async def revoke_links(
    conn: Connection,
    *,
    by: str,
    case_id: int | None = None,
    device_id: str | None = None,
    phone: str | None = None,
) -> int:
    """Revoke the links of a case, or of every case of a device; only those sent to `phone` if given.
    How many were revoked."""
    if (case_id is None) == (device_id is None):
        raise ValueError("revoke the links of a case or of a device")
    sql, args = _Q.bind(
        "revoke_links", {"case_id": case_id, "device_id": device_id, "phone": phone, "by": by}
    )
    return len(await conn.fetch(sql, *args))


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: int
    device_id: str
    family: str
    code: str
    case_status: str
    first_raised_at: datetime
    last_cleared_at: datetime | None
    customer_said_fixed_at: datetime | None
    case_closed_at: datetime | None
    model: str
    customer_name: str | None
    ticket_id: int | None
    ticket_status: str | None
    ticket_kind: str | None
    ticket_opened_at: datetime | None
    ticket_closed_at: datetime | None
    service_point_id: str | None
    point_name: str | None
    point_name_en: str | None
    code_active: bool
    active_codes: list[str] | None


async def case_view(conn: Connection, case_id: int) -> CaseView | None:
    row = await conn.fetchrow(_Q["case_view"], case_id)
    return None if row is None else CaseView(**dict(row))


@dataclass(frozen=True, slots=True)
class Answer:
    answer_id: int
    kind: str
    details: JsonObject
    at: datetime
    link_id: int


async def case_answers(conn: Connection, case_id: int) -> list[Answer]:
    return [
        Answer(int(r["answer_id"]), r["kind"], json.loads(r["details"]), r["at"], int(r["link_id"]))
        for r in await conn.fetch(_Q["case_answers"], case_id)
    ]


async def insert_answer(
    conn: Connection, *, link_id: int, case_id: int, ticket_id: int | None, kind: str, details: JsonObject
) -> int:
    row = await conn.fetchrow(_Q["insert_answer"], link_id, case_id, ticket_id, kind,
                              json.dumps(details, ensure_ascii=False))  # fmt: skip
    assert row is not None
    return int(row["answer_id"])


@dataclass(frozen=True, slots=True)
class LockedCase:
    status: str
    code: str
    ticket_id: int | None


async def lock_case(conn: Connection, case_id: int) -> LockedCase | None:
    row = await conn.fetchrow(_Q["lock_case"], case_id)
    return None if row is None else LockedCase(row["status"], row["code"], row["ticket_id"])


async def lock_point(conn: Connection, point_id: str) -> bool:
    """Serialises bookings at one service point (the slot count and the insert are one decision)."""
    return await conn.fetchval(_Q["lock_point"], point_id) is not None


@dataclass(frozen=True, slots=True)
class Slot:
    day: date
    slot: str
    """'am' (09-13) or 'pm' (13-18)."""
    capacity: int
    free: int


async def free_slots(conn: Connection, *, point_id: str, first_day: date, days: int) -> list[Slot]:
    sql, args = _Q.bind("free_slots", {"point_id": point_id, "first_day": first_day, "days": days})
    return [
        Slot(r["day"], r["slot"], int(r["capacity"]), int(r["free"])) for r in await conn.fetch(sql, *args)
    ]


async def pick_technician(conn: Connection, point_id: str, day: date) -> str | None:
    value = await conn.fetchval(_Q["pick_technician"], point_id, day)
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class EndedBooking:
    booking_id: int
    day: date
    slot: str


async def end_booking(conn: Connection, ticket_id: int, status: str) -> EndedBooking | None:
    row = await conn.fetchrow(_Q["end_booking"], ticket_id, status)
    return None if row is None else EndedBooking(int(row["booking_id"]), row["day"], row["slot"])


async def insert_booking(
    conn: Connection,
    *,
    ticket_id: int,
    point_id: str,
    day: date,
    slot: str,
    technician_id: str | None,
    by: str,
) -> int:
    return int(await conn.fetchval(_Q["insert_booking"], ticket_id, point_id, day, slot, technician_id, by))


@dataclass(frozen=True, slots=True)
class Booking:
    booking_id: int
    ticket_id: int
    point_id: str
    day: date
    slot: str
    status: str
    booked_at: datetime
    point_name: str | None
    point_name_en: str | None
    technician_id: str | None
    technician_name: str | None
    technician_name_en: str | None
    photo_url: str | None


async def booking_of_ticket(conn: Connection, ticket_id: int) -> Booking | None:
    row = await conn.fetchrow(_Q["booking_of_ticket"], ticket_id)
    return None if row is None else Booking(**dict(row))


async def upsert_technician(
    conn: Connection,
    *,
    technician_id: str,
    point_id: str,
    name: str,
    name_en: str | None,
    photo_url: str | None,
) -> bool:
    """Create or replace the profile; False (nothing written) when the service point does not exist."""
    if not await lock_point(conn, point_id):
        return False
    await conn.execute(_Q["upsert_technician"], technician_id, point_id, name, name_en, photo_url)
    return True


@dataclass(frozen=True, slots=True)
class RepairItem:
    name: str
    amount_won: int


@dataclass(frozen=True, slots=True)
class RepairReport:
    ticket_id: int
    summary: str
    items: list[RepairItem]
    labour_won: int
    warranty_covered: bool
    total_won: int
    entered_by: str
    entered_at: datetime


async def upsert_repair_report(
    conn: Connection, *, ticket_id: int, summary: str, items: Sequence[RepairItem], labour_won: int,
    warranty_covered: bool, total_won: int, entered_by: str,
) -> None:  # fmt: skip
    parts = json.dumps([{"name": i.name, "amount_won": i.amount_won} for i in items], ensure_ascii=False)
    await conn.execute(_Q["upsert_repair_report"], ticket_id, summary, parts, labour_won, warranty_covered,
                       total_won, entered_by)  # fmt: skip


async def repair_report(conn: Connection, ticket_id: int) -> RepairReport | None:
    row = await conn.fetchrow(_Q["repair_report"], ticket_id)
    if row is None:
        return None
    items = [RepairItem(str(i["name"]), int(i["amount_won"])) for i in json.loads(row["items"])]
    return RepairReport(int(row["ticket_id"]), row["summary"], items, int(row["labour_won"]),
                        bool(row["warranty_covered"]), int(row["total_won"]), row["entered_by"],
                        row["entered_at"])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Survey:
    score: int
    solved: bool
    comment: str
    flagged: bool
    answered_at: datetime


async def survey_of(conn: Connection, ticket_id: int, link_id: int) -> Survey | None:
    row = await conn.fetchrow(_Q["survey_of"], ticket_id, link_id)
    return None if row is None else Survey(**dict(row))


async def insert_survey(
    conn: Connection, *, ticket_id: int, link_id: int, score: int, solved: bool, comment: str, flagged: bool
) -> int | None:
    """The survey's id; None when this contact already answered for the ticket."""
    value = await conn.fetchval(_Q["insert_survey"], ticket_id, link_id, score, solved, comment, flagged)
    return None if value is None else int(value)


async def set_follow_up(conn: Connection, survey_id: int, ticket_id: int) -> None:
    await conn.execute(_Q["set_follow_up"], survey_id, ticket_id)


async def ticket_payload(conn: Connection, ticket_id: int) -> JsonObject:
    """The call center's view of the ticket (ticket_event_payload), as every ticket event carries it."""
    payload: JsonObject = json.loads(await conn.fetchval(_Q["ticket_payload"], ticket_id))
    return payload


@dataclass(frozen=True, slots=True)
class VisitReminder:
    booking_id: int
    ticket_id: int
    day: date
    slot: str
    case_id: int
    device_id: str
    code: str
    which: str
    """'day_before' or 'hour_before'."""


async def due_visit_reminders(conn: Connection, kst_now: datetime, *, batch: int) -> list[VisitReminder]:
    """`kst_now`: Korean wall-clock time, without a zone (bookings are days and half-days in Korea)."""
    return [VisitReminder(**dict(r)) for r in await conn.fetch(_Q["due_visit_reminders"], kst_now, batch)]


async def mark_reminded(conn: Connection, booking_id: int, which: str) -> None:
    await conn.execute(_Q["mark_reminded"], booking_id, which)


async def has_open_ticket(conn: Connection, device_id: str, family: str) -> bool:
    return bool(await conn.fetchval(_Q["has_open_ticket"], device_id, family))


async def erase_recipient(conn: Connection, phone_national: str) -> int:
    """Data protection: revoke the person's links and drop their number and survey comments; how many links."""
    return int(await conn.fetchval(_Q["erase_recipient"], phone_national))


async def recipient_answers(conn: Connection, phone_national: str) -> list[dict[str, object]]:
    """Data protection: every answer the person gave through their links, with their surveys."""
    rows = await conn.fetch(_Q["recipient_answers"], phone_national)
    return [dict(r) | {"details": json.loads(r["details"])} for r in rows]
