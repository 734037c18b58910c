"""What started a fault decision: a device event from the inbox, guidance that ran out while its
fault was still raised, or a detector's prediction. The ticket's evidence records it (`trigger`),
and it says whether the decision counts a raise of the fault."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from telemetry.event_inbox import InboxEvent
from telemetry.json_values import JsonObject, JsonValue

__all__ = ["Trigger", "TriggerKind"]


class TriggerKind(StrEnum):
    EVENT = "event"
    OVERDUE_GUIDANCE = "overdue_guidance"
    PREDICTION = "prediction"
    CUSTOMER = "customer"
    INCIDENT_END = "incident_end"


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: TriggerKind
    device_id: str
    code: str
    at: datetime
    """When it happened: the event's device time, the guidance deadline, the detector's run."""
    state: str
    """As the evidence records it: the event's state (raised, cleared), 'overdue' for guidance that
    ran out, 'raised' for a prediction (the detector raised its advisory code), the customer's answer
    for a customer's (still_broken, survey_flagged)."""
    seq: int = 0
    """The event's sequence number; 0 for the others."""
    prediction: JsonObject | None = None
    """What the detector saw, kept in the ticket's evidence."""

    @classmethod
    def of_event(cls, event: InboxEvent) -> Trigger:
        return cls(TriggerKind.EVENT, event.device_id, event.code, event.ts, event.state, event.seq)

    @classmethod
    def overdue_guidance(cls, *, device_id: str, code: str, deadline: datetime) -> Trigger:
        return cls(TriggerKind.OVERDUE_GUIDANCE, device_id, code, deadline, "overdue")

    @classmethod
    def of_prediction(
        cls, *, device_id: str, code: str, at: datetime, detector: str, evidence: Mapping[str, JsonValue]
    ) -> Trigger:
        return cls(TriggerKind.PREDICTION, device_id, code, at, "raised",
                   prediction={"detector": detector, **evidence})  # fmt: skip

    @classmethod
    def of_customer(cls, *, device_id: str, code: str, at: datetime, answer: str) -> Trigger:
        """The customer answered through the case's link ("still not working", a flagged survey)."""
        return cls(TriggerKind.CUSTOMER, device_id, code, at, answer)

    @classmethod
    def incident_ended(cls, *, device_id: str, code: str, at: datetime) -> Trigger:
        """An area incident ended while the device's fault was still active."""
        return cls(TriggerKind.INCIDENT_END, device_id, code, at, "still_failing")

    @property
    def raised(self) -> bool:
        """It raises the fault (again): counted on the case it lands on."""
        return self.state == "raised"

    def evidence(self) -> JsonObject:
        return {"code": self.code, "state": self.state, "ts": self.at.isoformat(), "seq": self.seq}
