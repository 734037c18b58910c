"""Request and response bodies of the HTTP API: the public contract, kept apart from the store's records.

Output models read the telemetry layer's dataclasses by attribute, so a field added to the store does
not appear in the API until it is added here on purpose.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Final, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from api.schemas.tickets import TicketOut
from api.user_text import UserText
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.device_registry import ContactRecord, DeviceRecord, DeviceStatus, repeated_phone
from telemetry.phone_numbers import e164_phone
from telemetry.regions import REGION_CODES, UnknownRegionError, region_code

__all__ = [
    "ContactIn",
    "ContactOut",
    "DeviceDetail",
    "DeviceIn",
    "DevicePage",
    "DeviceSearchResult",
    "DeviceSummary",
    "FieldStatsOut",
    "HealthOut",
    "InstallerStatusOut",
    "Phone",
    "PhoneQuery",
    "QuarantineItem",
    "QuarantinePage",
    "Region",
    "RegionQuery",
    "TelemetryBucket",
    "TelemetryOut",
]

PHONE_WRITING: Final = r"^\+?[0-9 ()./-]+$"

Phone = Annotated[
    str,
    Field(min_length=1, max_length=32, pattern=PHONE_WRITING, examples=["010-1234-5678", "+821012345678"]),
    AfterValidator(e164_phone),
]
"""A phone number written any way a person writes it; stored and shown in E.164 (+821012345678)."""


def _e164_or_none(text: str | None) -> str | None:
    return e164_phone(text) if text is not None else None


def region_or_error(text: str) -> str:
    """The region's code; an unknown region is a validation error of its own type (`unknown_region`)
    carrying the list, so the API's problem and the console's page both say which regions exist."""
    try:
        return region_code(text)
    except UnknownRegionError as exc:
        raise PydanticCustomError(
            "unknown_region", "{message}", {"message": str(exc), "allowed": ", ".join(REGION_CODES)}
        ) from exc


def _region_or_none(text: str | None) -> str | None:
    return region_or_error(text) if text is not None else None


PhoneQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=32, pattern=PHONE_WRITING,
          description="A contact's phone, written any way: +82 10-1234-5678, 010-1234-5678, 01012345678."),
    AfterValidator(_e164_or_none),
]  # fmt: skip
"""A phone number as a query parameter: E.164 for the route, 422 naming it when it is not a number."""

Region = Annotated[
    str,
    Field(max_length=100, description=f"A region's code ({', '.join(REGION_CODES)}), or its Korean or English "
          "name (서울, Seoul); stored as the code.", examples=["seoul"]),
    AfterValidator(region_or_error),
]  # fmt: skip

RegionQuery = Annotated[
    str | None,
    Query(max_length=100, description=f"Only this region: its code ({', '.join(REGION_CODES)}) or its Korean or "
          "English name."),
    AfterValidator(_region_or_none),
]  # fmt: skip
"""A region filter: the region's code for the route, 422 with the list when it names no region."""


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserText = Field(min_length=1, max_length=100)
    phone: Phone
    role: Literal["owner", "family"]
    preferred_channel: Literal["sms", "kakao"] = Field(
        "sms", description="kakao: KakaoTalk Alimtalk, with SMS when it cannot be delivered."
    )
    language: Literal["ko", "en"] = "ko"
    consent_alerts: bool = Field(True, description="Alerts about the boiler (faults, safety).")
    consent_marketing: bool = Field(False, description="Advertising-like messages (inspection offers).")
    quiet_start: time = Field(time(21, 0), description="Korean time; non-safety alerts wait until quiet_end.")
    quiet_end: time = time(8, 0)
    escalation_rank: int = Field(
        0, ge=0, le=9,
        description="0: alerted at once; 1, 2, …: next in line when a safety alert goes unacknowledged.",
    )  # fmt: skip


class DeviceIn(BaseModel):
    """A device as an installer registers it. Registering an existing device_id updates it."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(pattern=DEVICE_ID_PATTERN)
    model: str = Field(min_length=1, max_length=64)
    serial: str = Field(min_length=1, max_length=64)
    installed_on: date | None = None
    address: UserText | None = Field(default=None, max_length=500)
    region: Region | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    customer_name: UserText | None = Field(default=None, max_length=200)
    report_interval_s: int = Field(default=60, ge=1, le=86400)
    vulnerable: bool = Field(
        default=False, description="An elderly person living alone: the boiler ranks higher for inspection."
    )
    contacts: list[ContactIn] = Field(
        default_factory=list,
        max_length=20,
        description="Replaces the stored contacts when not empty; an empty list keeps them.",
    )

    @field_validator("contacts")
    @classmethod
    def _phones_unique(cls, contacts: list[ContactIn]) -> list[ContactIn]:
        """Two contacts with one number (however written) would get every alert twice: the error names
        the second one's phone."""
        repeat = repeated_phone([c.phone for c in contacts])
        if repeat is None:
            return contacts
        phone = contacts[repeat].phone
        error = PydanticCustomError(
            "value_error", "{phone} is already the number of an earlier contact: each contact of a device "
            "needs their own phone number", {"phone": phone},
        )  # fmt: skip
        raise ValidationError.from_exception_data(
            "contacts", [InitErrorDetails(type=error, loc=(repeat, "phone"), input=phone)]
        )

    def to_record(self) -> DeviceRecord:
        return DeviceRecord(
            device_id=self.device_id,
            model=self.model,
            serial=self.serial,
            installed_on=self.installed_on,
            address=self.address,
            region=self.region,
            latitude=self.latitude,
            longitude=self.longitude,
            customer_name=self.customer_name,
            report_interval_s=self.report_interval_s,
            vulnerable=self.vulnerable,
            contacts=tuple(ContactRecord(**c.model_dump()) for c in self.contacts),
        )


class InstallerStatusOut(_Out):
    """Whether a device came online, for the installer who registered it: nothing about its household."""

    device_id: str
    status: DeviceStatus
    online: bool
    connected: bool | None = Field(description="From the device's birth and last-will messages.")
    last_seen: datetime | None
    last_reading_at: datetime | None
    firmware: str | None
    reported_model: str | None
    active_codes: list[str]


class ContactOut(_Out):
    contact_id: int
    name: str
    phone: str
    role: Literal["owner", "family"]
    preferred_channel: Literal["sms", "kakao"]
    language: Literal["ko", "en"]
    consent_alerts: bool
    consent_marketing: bool
    quiet_start: str = Field(description="HH:MM, Korean time")
    quiet_end: str
    escalation_rank: int


class DeviceSummary(_Out):
    """One row of the device list."""

    device_id: str
    model: str
    serial: str
    region: str | None
    customer_name: str | None
    status: DeviceStatus
    online: bool
    last_seen: datetime | None
    last_reading_at: datetime | None = Field(description="device time of the newest report")
    active_codes: list[str]


class DeviceSearchResult(BaseModel):
    items: list[DeviceSummary]
    truncated: bool = Field(description="More devices matched than were returned.")


class DeviceDetail(_Out):
    """One device: registry fields, contacts and its latest known state."""

    device_id: str
    model: str
    serial: str
    installed_on: date | None
    address: str | None
    region: str | None
    latitude: float | None
    longitude: float | None
    customer_name: str | None
    report_interval_s: int
    contacts: list[ContactOut]
    registered_at: datetime
    updated_at: datetime
    status: DeviceStatus
    online: bool
    connected: bool | None
    last_seen: datetime | None
    last_reading_at: datetime | None
    latest: dict[str, object] | None = Field(description="The newest report as the device sent it.")
    active_codes: list[str]
    firmware: str | None
    reported_model: str | None
    open_tickets: list[TicketOut] = Field(default_factory=list, description="A/S tickets not yet finished")


class DevicePage(BaseModel):
    items: list[DeviceSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class FieldStatsOut(BaseModel):
    avg: float
    min: float
    max: float


class TelemetryBucket(BaseModel):
    start: datetime
    n: int = Field(description="Readings in the bucket.")
    fields: dict[str, FieldStatsOut] = Field(description="Fields with at least one value in the bucket.")


class TelemetryOut(BaseModel):
    device_id: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket_seconds: int
    source: Literal["raw", "rollup+raw"]
    buckets: list[TelemetryBucket]


class QuarantineItem(_Out):
    quarantine_id: int
    topic: str
    device_id: str | None
    reason: str = Field(description="Why, as a stable word operators filter on (docs/protocol.md).")
    detail: str = Field(description="What exactly: the field and its fault, or the byte that is not UTF-8.")
    payload_preview: str = Field(description="The first 512 bytes as UTF-8, undecodable bytes replaced.")
    payload_size: int
    first_seen: datetime
    last_seen: datetime
    occurrences: int


class QuarantinePage(BaseModel):
    items: list[QuarantineItem]
    next_cursor: str | None


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
