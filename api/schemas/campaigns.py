"""Bodies of the inspection-campaign endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.user_text import UserText

__all__ = [
    "CampaignOut",
    "CampaignPage",
    "CompletionIn",
    "HistoryOut",
    "InspectionDetailOut",
    "InspectionOut",
    "InspectionPage",
    "InspectionStatus",
    "ResponseIn",
]

InspectionStatus = Literal[
    "proposed", "accepted", "rescheduled", "declined", "completed", "withdrawn", "lapsed"
]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CampaignOut(_Out):
    campaign_id: int
    season: int
    first_day: date
    last_day: date
    weekdays: list[int] = Field(description="Working days, Monday = 0")
    planned_at: datetime = Field(description="The last plan run")
    changed_at: datetime = Field(description="The last plan run that changed an inspection")
    plan_runs: int
    considered: int = Field(description="Boilers ranked in the last run")
    over_capacity: int = Field(description="Selected boilers that found no free slot in the window")
    without_point: int = Field(description="Selected boilers no service point covers")
    counts: dict[str, int] = Field(description="Inspections by status")


class CampaignPage(BaseModel):
    items: list[CampaignOut]


class InspectionOut(_Out):
    inspection_id: int
    campaign_id: int
    device_id: str
    service_point_id: str
    service_point_name: str
    region: str | None
    vulnerable: bool
    day: date
    status: InspectionStatus
    score: float = Field(description="Risk score when last planned")
    risk_rank: int = Field(description="1 = the highest risk of the campaign")
    reasons: dict[str, float] = Field(description="Points each risk part contributed")
    reminders: int = Field(description="Reminders sent: 1 after the reminder, 2 after the follow-up")
    reminded_at: datetime | None
    answered_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime


class HistoryOut(_Out):
    action: str
    day: date | None
    actor: str
    note: str
    at: datetime


class InspectionDetailOut(InspectionOut):
    history: list[HistoryOut]


class InspectionPage(BaseModel):
    items: list[InspectionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class ResponseIn(BaseModel):
    """The customer's answer, given by the customer or passed on by an agent."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["accept", "reschedule", "decline"]
    day: date | None = Field(default=None, description="The new day; required to reschedule, and only then")
    note: UserText = Field(default="", max_length=2000)
    actor: UserText | None = Field(
        default=None, max_length=100, description="The agent passing the answer on"
    )

    @model_validator(mode="after")
    def _day_with_reschedule(self) -> ResponseIn:
        if self.answer == "reschedule" and self.day is None:
            raise ValueError("a reschedule needs the new day")
        if self.answer != "reschedule" and self.day is not None:
            raise ValueError("only a reschedule takes a day")
        return self


class CompletionIn(BaseModel):
    """A technician's record of the visit. The counters read off the boiler reset the ranking's
    "since the last inspection"; without them the newest stored totals are used."""

    model_config = ConfigDict(extra="forbid")

    completed_on: date | None = Field(default=None, description="Korean date of the visit; today by default")
    burner_hours: float | None = Field(default=None, ge=0, le=1_000_000)
    burner_starts: int | None = Field(default=None, ge=0, le=1_000_000_000)
    note: UserText = Field(default="", max_length=2000)
