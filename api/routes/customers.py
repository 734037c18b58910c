"""A customer's data on request: export everything held about a person, erase the person, and
read who viewed or changed customer records.

A customer is named by their phone number, as the call center knows them. Erasure removes the
person (contacts, alert texts and numbers, owner name and address, their API keys); the boiler's
telemetry, events and tickets stay, no longer tied to anyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api import customer_records
from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.pagination import decode_id_cursor, encode_id_cursor, split_page
from api.problems import ProblemError, invalid_parameter, problem_responses
from api.record_audit import record
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.phone_numbers import InvalidPhoneError, e164_phone, national_phone

__all__ = ["router"]

router = APIRouter(tags=["data protection"])

Phone = Annotated[str, Path(min_length=9, max_length=24, pattern=r"^\+?[0-9 ()-]+$",
                            description="The customer's phone number, written any way.")]  # fmt: skip


class CustomerExport(BaseModel):
    phone: str = Field(description="National form.")
    devices: list[dict[str, Any]] = Field(description="Each device with this person's contact entry.")
    tickets: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = Field(description="Every alert sent to this number.")
    answers: list[dict[str, Any]] = Field(
        description="Everything this person answered through the links in their alerts, surveys included."
    )


class ErasureOut(BaseModel):
    devices: list[str] = Field(description="The devices the person was a contact of.")
    contacts: int
    alerts: int
    sink_messages: int
    customer_links: int = Field(description="Their links to case pages, revoked and without the number.")
    keys: int
    owner_fields: int = Field(description="Devices whose owner name and address were removed.")


class AccessOut(BaseModel):
    access_id: int
    at: datetime
    key_id: str
    actor: str
    action: str
    subject: str
    device_id: str | None
    customer_ref: str | None = Field(description="SHA-256 of the customer's national phone number.")


class AccessPage(BaseModel):
    items: list[AccessOut]
    next_cursor: str | None


def _national(phone: str, location: str) -> str:
    """The customer's number in national form (how keys and the access log name customers); 422
    naming the parameter when it is not a Korean phone number."""
    try:
        number = e164_phone(phone)
    except InvalidPhoneError as exc:
        raise invalid_parameter(location, "phone", str(exc)) from exc
    if not number.startswith("+82"):
        raise invalid_parameter(location, "phone", f"{phone!r} is not a Korean phone number")
    return national_phone(number)


@router.get(
    "/v1/customers/{phone}/export", response_model=CustomerExport, responses=problem_responses(404, 422, 503)
)
async def export_customer(
    conn: DbConnection, caller: Annotated[Principal, allow(Role.ADMIN, Role.CUSTOMER)], phone: Phone
) -> CustomerExport:
    """Everything held about the person with this number (a customer may export their own)."""
    number = _national(phone, "path")
    if caller.role is Role.CUSTOMER and number != caller.customer_phone:
        raise ProblemError(404, "customer-not-found", "No customer with this number.")
    data = await customer_records.export_customer(conn, number)
    if not data["devices"] and not data["alerts"]:
        raise ProblemError(404, "customer-not-found", "No customer with this number.")
    await record(
        conn, caller, "export", "customer", [d["device_id"] for d in data["devices"]] or [None], number
    )
    return CustomerExport.model_validate(data)


@router.delete("/v1/customers/{phone}", response_model=ErasureOut, responses=problem_responses(404, 422, 503))
async def erase_customer(
    conn: DbConnection, caller: Annotated[Principal, allow(Role.ADMIN)], phone: Phone
) -> ErasureOut:
    """Erase the person with this number, on their request (their boilers' telemetry stays)."""
    number = _national(phone, "path")
    async with conn.transaction():
        erased = await customer_records.erase_customer(conn, number)
        if not erased["contacts"] and not erased["alerts"]:
            raise ProblemError(404, "customer-not-found", "No customer with this number.")
        await record(conn, caller, "erase", "customer", erased["devices"] or [None], number)
    return ErasureOut.model_validate(erased)


@router.get("/v1/access-log", response_model=AccessPage, responses=problem_responses(400, 422, 503))
async def access_log(
    conn: DbConnection,
    _: Annotated[Principal, allow(Role.ADMIN)],
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    phone: Annotated[str | None, Query(min_length=9, max_length=24, pattern=r"^\+?[0-9 ()-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> AccessPage:
    """Who viewed or changed customer records, newest first, by device or by customer."""
    before = decode_id_cursor(cursor) if cursor is not None else None
    customer = _national(phone, "query") if phone is not None else None
    rows = await customer_records.list_access(conn, device_id=device_id, customer=customer, before=before,
                                              limit=limit + 1)  # fmt: skip
    page, last = split_page(rows, limit)
    return AccessPage(items=[AccessOut(**r) for r in page],
                      next_cursor=encode_id_cursor(last["access_id"]) if last else None)  # fmt: skip
