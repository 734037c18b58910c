"""Everything about one device an agent needs while the customer is on the phone: status, active
faults in words the agent can read out (with the self-fix steps), the last 24 hours in figures,
tickets, warranty, contacts, the alerts the household was sent and the next inspection.

Built once here for both readers: the JSON endpoint and the console's device page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from pydantic import BaseModel, Field

from api.access import Principal, Role, ensure_device_visible
from api.problems import ProblemError
from api.record_audit import record
from api.routes.alerts import AlertOut
from api.schemas.devices import DeviceDetail, FieldStatsOut
from api.schemas.tickets import BilingualOut, StepsOut, TicketOut
from diagnostics.campaigns import store as campaign_store
from diagnostics.catalog import load_catalog
from diagnostics.messages import store as alert_store
from diagnostics.tickets import store as ticket_store
from diagnostics.warranty import device_warranty
from telemetry import device_registry, series
from telemetry.database import Connection
from telemetry.korean_time import KST

__all__ = ["ActiveFaultOut", "DeviceOverview", "NextInspectionOut", "device_not_found", "load_overview"]

SUMMARY_WINDOW: Final = timedelta(hours=24)
SUMMARY_FIELDS: Final = ("ch_pressure_bar", "ch_flow_c", "ch_return_c", "room_c", "room_setpoint_c", "outdoor_c",
                         "flue_c", "modulation_pct", "flame_current_ua")  # fmt: skip
HISTORY: Final = 20
_FINAL: Final = frozenset({"resolved", "closed", "resolved_remotely", "cancelled"})


class ActiveFaultOut(BaseModel):
    code: str
    raised_at: datetime | None
    known: bool = Field(description="False when the code is not in the catalog: ask the maker's line.")
    display: str | None = Field(description="What the room thermostat shows.")
    name: BilingualOut | None
    customer_text: BilingualOut | None = Field(description="What it means, in words for the customer.")
    self_fix_steps: StepsOut | None = Field(description="Steps the agent can read out, in order.")
    safety_critical: bool
    remote_reset: bool


class TelemetrySummaryOut(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    readings: int
    fields: dict[str, FieldStatsOut] = Field(description="Average, minimum and maximum of each field.")


class WarrantyOut(BaseModel):
    in_warranty: bool | None = Field(description="None when the installation date is unknown: ask.")
    ends_on: date | None
    years: int


class NextInspectionOut(BaseModel):
    inspection_id: int
    season: int
    day: date
    status: str = Field(description="proposed, accepted or rescheduled.")
    service_point_id: str
    service_point_name: str
    service_point_name_en: str | None = Field(description="The point's English name; null when it has none.")


class DeviceOverview(BaseModel):
    device: DeviceDetail
    active_faults: list[ActiveFaultOut]
    telemetry_24h: TelemetrySummaryOut
    tickets: list[TicketOut] = Field(description=f"The latest {HISTORY} tickets, any status, newest first.")
    warranty: WarrantyOut
    next_inspection: NextInspectionOut | None = Field(
        description="The next pre-season inspection still to happen; null when none is planned."
    )
    alerts: list[AlertOut] = Field(description=f"The latest {HISTORY} alerts sent to the contacts.")


def device_not_found(device_id: str) -> ProblemError:
    return ProblemError(
        404,
        "device-not-found",
        f"No device {device_id!r} is registered.",
        title="Unknown device",
        subject=device_id,
    )


def _fault(row: dict[str, object]) -> ActiveFaultOut:
    code = str(row["code"])
    entry = load_catalog().get(code)
    raised = row["raised_at"] if isinstance(row["raised_at"], datetime) else None
    if entry is None:
        return ActiveFaultOut(code=code, raised_at=raised, known=False, display=None, name=None, customer_text=None,
                              self_fix_steps=None, safety_critical=False, remote_reset=False)  # fmt: skip
    return ActiveFaultOut(
        code=code, raised_at=raised, known=True, display=entry.display,
        name=BilingualOut.model_validate(entry.name.model_dump()),
        customer_text=BilingualOut.model_validate(entry.customer_text.model_dump()),
        self_fix_steps=StepsOut.model_validate(entry.steps.model_dump()),
        safety_critical=entry.safety_critical, remote_reset=entry.remote_reset,
    )  # fmt: skip


async def load_overview(
    conn: Connection, caller: Principal, device_id: str, *, default_warranty_years: int, audit: bool = True
) -> DeviceOverview:
    """The device as `caller` may see it; 404 problem outside their scope. Recorded in the audit trail
    unless `audit` is False (the console's live refresh of a page whose opening was recorded)."""
    await ensure_device_visible(conn, caller, device_id, device_not_found(device_id))
    if audit:
        await record(conn, caller, "view", "device-overview", [device_id])
    view = await device_registry.get_device(conn, device_id=device_id)
    if view is None:
        raise device_not_found(device_id)
    now = datetime.now(UTC)
    today = now.astimezone(KST).date()
    readings, stats = await series.summary(conn, device_id=device_id, start=now - SUMMARY_WINDOW, end=now,
                                           fields=SUMMARY_FIELDS)  # fmt: skip
    tickets = await ticket_store.list_tickets(
        conn, where=ticket_store.TicketFilter(device_id=device_id), before_id=None, limit=HISTORY
    )
    warranty = await device_warranty(conn, model=view.model, installed_on=view.installed_on,
                                     default_years=default_warranty_years,
                                     on=today)  # fmt: skip
    alerts = await alert_store.device_alerts(conn, device_id, phone_national=None, limit=HISTORY)
    upcoming = await campaign_store.next_inspection_of_device(conn, device_id, on=today)
    next_inspection = (
        None if upcoming is None else NextInspectionOut.model_validate(upcoming, from_attributes=True)
    )
    if caller.role is Role.TECHNICIAN:  # other service points' tickets are theirs
        tickets = [t for t in tickets if t.service_point_id == caller.service_point_id]
    detail = DeviceDetail.model_validate(view)
    detail.open_tickets = [TicketOut.model_validate(t) for t in tickets if t.status not in _FINAL]
    return DeviceOverview(
        device=detail,
        active_faults=[_fault(r) for r in await device_registry.active_faults(conn, device_id=device_id)],
        telemetry_24h=TelemetrySummaryOut.model_validate(
            {
                "from": now - SUMMARY_WINDOW,
                "to": now,
                "readings": readings,
                "fields": {
                    n: FieldStatsOut(avg=s.avg, min=s.min, max=s.max) for n, s in stats.items() if s.count
                },
            }
        ),
        tickets=[TicketOut.model_validate(t) for t in tickets],
        warranty=WarrantyOut(
            in_warranty=warranty.in_warranty, ends_on=warranty.ends_on, years=warranty.years
        ),
        alerts=[AlertOut.model_validate(a, from_attributes=True) for a in alerts],
        next_inspection=next_inspection,
    )
