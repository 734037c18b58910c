"""Revoking customer links (docs/customer-link.md): a customer lost their phone, or a number changed
hands, and the links already sent must stop opening the case's page at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.access import Principal, Role, allow, ensure_device_visible
from api.dependencies import DbConnection
from api.problems import ProblemError, invalid_parameter, problem_responses
from api.record_audit import record
from diagnostics.customer_link import store as link_store
from protocol.contract import DEVICE_ID_PATTERN
from telemetry import device_registry
from telemetry.phone_numbers import InvalidPhoneError, e164_phone

__all__ = ["RevokedOut", "router"]

router = APIRouter(prefix="/v1/devices", tags=["customers"])
Revoker = Annotated[Principal, allow(Role.ADMIN, Role.AGENT)]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]


class RevokedOut(BaseModel):
    revoked: int


@router.delete(
    "/{device_id}/customer-links", response_model=RevokedOut, responses=problem_responses(404, 422)
)
async def revoke_customer_links(
    conn: DbConnection, caller: Revoker, device_id: DeviceId,
    phone: Annotated[str | None, Query(max_length=40, description="Only the links sent to this number")] = None,
) -> RevokedOut:  # fmt: skip
    """Revoke the device's customer links (of every case), or only those sent to one number; how many.
    A revoked link answers like one that never existed, and is not sent again for its case."""
    number = None
    if phone is not None:
        try:
            number = e164_phone(phone)
        except InvalidPhoneError as exc:
            raise invalid_parameter("query", "phone", str(exc)) from exc
    missing = ProblemError(404, "device-not-found", f"No device {device_id!r}.", subject=device_id)
    if not await device_registry.device_exists(conn, device_id=device_id):
        raise missing
    await ensure_device_visible(conn, caller, device_id, missing)
    async with conn.transaction():
        revoked = await link_store.revoke_links(conn, device_id=device_id, phone=number, by=caller.label)
        await record(conn, caller, "change", "customer-links", [device_id])
    return RevokedOut(revoked=revoked)
