"""Customer alerts: what a device's contacts were sent, acknowledging a safety alert, and what the
sink provider recorded (the local stack's stand-in for SMS and KakaoTalk)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.access import Principal, Role, allow, ensure_device_visible
from api.dependencies import DbConnection
from api.pagination import decode_id_cursor, encode_id_cursor, split_page
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from diagnostics.messages import store as alert_store
from outbox.alerts import sink_store
from protocol.contract import DEVICE_ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**62, description="The alert's id.")]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="The device's id.")]


class AlertOut(BaseModel):
    alert_id: int
    device_id: str
    phone: str
    channel: str = Field(description="The contact's preferred channel: sms or kakao.")
    kind: str = Field(description="guidance, safety, emergency, escalation or visit.")
    code: str
    wave: int = Field(description="0: first alert; 1: escalation to the next contacts.")
    status: str = Field(
        description="pending, sent, failed, skipped (no consent or contact) or withdrawn (its fault case was resolved or its ticket ended before it went out)."
    )
    attempts: int
    provider: str | None
    channel_used: str | None = Field(description="sms when a KakaoTalk alert fell back to SMS.")
    sent_at: datetime | None
    last_error: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None
    created_at: datetime
    message_ko: str
    message_en: str


class AcknowledgementOut(BaseModel):
    acknowledged: list[int] = Field(description="The alerts of the same fault case, now acknowledged.")


class SinkMessageOut(BaseModel):
    message_id: int
    alert_id: int | None
    channel: str
    recipient: str
    template_code: str | None
    body: str
    received_at: datetime


class SinkPage(BaseModel):
    items: list[SinkMessageOut]
    next_cursor: str | None


def _device_not_found(device_id: str) -> ProblemError:
    return ProblemError(
        404, "device-not-found", f"No device {device_id!r} is registered.", title="Unknown device"
    )


def _alert_not_found(alert_id: int) -> ProblemError:
    return ProblemError(404, "alert-not-found", f"No alert {alert_id}.", title="Unknown alert")


@router.get(
    "/v1/devices/{device_id}/alerts",
    response_model=list[AlertOut],
    responses=problem_responses(404, 422, 503),
)
async def device_alerts(
    conn: DbConnection,
    caller: Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CUSTOMER)],
    device_id: DeviceId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AlertOut]:
    """The alerts sent (or due) to the device's contacts, newest first; a customer sees their own."""
    await ensure_device_visible(conn, caller, device_id, _device_not_found(device_id))
    await record(conn, caller, "view", "alerts", [device_id])
    phone = caller.customer_phone if caller.role is Role.CUSTOMER else None
    alerts = await alert_store.device_alerts(conn, device_id, phone_national=phone, limit=limit)
    return [AlertOut.model_validate(a, from_attributes=True) for a in alerts]


@router.post(
    "/v1/alerts/{alert_id}/acknowledgement",
    response_model=AcknowledgementOut,
    responses=problem_responses(404, 422, 503),
)
async def acknowledge_alert(
    conn: DbConnection,
    caller: Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.CUSTOMER)],
    alert_id: AlertId,
) -> AcknowledgementOut:
    """Someone has seen the alert: stops the escalation of its fault case (idempotent).

    A customer acknowledges the alerts sent to their own number; an agent, after reaching the
    household by phone."""
    owner = await alert_store.alert_owner(conn, alert_id)
    if owner is None or (caller.role is Role.CUSTOMER and owner.phone_national != caller.customer_phone):
        raise _alert_not_found(alert_id)
    async with conn.transaction():
        touched = await alert_store.acknowledge(conn, alert_id, by=caller.label)
    return AcknowledgementOut(acknowledged=sorted(touched))


@router.get("/v1/alert-sink", response_model=SinkPage, responses=problem_responses(400, 422, 503))
async def sink_messages(
    conn: DbConnection,
    _: Annotated[Principal, allow(Role.ADMIN)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> SinkPage:
    """What the sink provider recorded instead of sending, newest first: what customers would have got."""
    before = decode_id_cursor(cursor) if cursor is not None else None
    rows = await sink_store.list_sink_messages(conn, before=before, limit=limit + 1)
    page, last = split_page(rows, limit)
    return SinkPage(
        items=[SinkMessageOut.model_validate(m, from_attributes=True) for m in page],
        next_cursor=encode_id_cursor(last.message_id) if last else None,
    )
