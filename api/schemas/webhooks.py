"""Request and response bodies of /v1/webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttemptOut", "DeliveryOut", "DeliveryPage", "EventType", "ReplayOut", "SubscriptionCreated",
    "SubscriptionIn", "SubscriptionOut", "SubscriptionPage",
]  # fmt: skip

EventType = Literal[
    "ticket.opened", "ticket.updated", "ticket.escalated", "ticket.resolved",
    "inspection.planned", "inspection.updated", "device.offline",
    "command.requested", "command.succeeded", "command.failed", "command.expired", "command.rejected",
    "command.cancelled", "ticket.scheduled", "survey.flagged",
    "incident.opened", "incident.resolved",
]  # fmt: skip
DeliveryStatus = Literal["pending", "delivered", "failed"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, description="http(s) URL the events are POSTed to.")
    event_types: list[EventType] = Field(min_length=1, max_length=20, description="The events wanted.")
    description: str = Field("", max_length=500)


class SubscriptionOut(BaseModel):
    subscription_id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime
    disabled_at: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret (whsec_…). Shown only here: store it now.")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    delivery_id: int
    event_id: int = Field(description="The event; its webhook-id is evt_{event_id}.")
    subject: str
    event_type: str
    safety: bool = Field(description="Safety-critical: retried every few seconds.")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    attempted_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    response_excerpt: str | None = Field(description="At most the first 512 characters of the answer.")


class ReplayOut(BaseModel):
    replayed: int
