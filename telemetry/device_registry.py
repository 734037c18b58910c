"""The device registry: registering boilers and reading them back together with their live state.

Whether a device is online, and its status, are computed by the view `device_status` (migration 0004) only, so
the list, the detail view and every later reader agree. The caller owns the transaction; nothing here
commits, and no asyncpg record leaves this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Final, Literal, cast

import asyncpg

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.phone_numbers import e164_phone
from telemetry.regions import region_code

__all__ = [
    "DEVICE_STATUSES",
    "ContactRecord",
    "DeviceConflictError",
    "DeviceRecord",
    "DeviceSearch",
    "DeviceStatus",
    "DeviceView",
    "InstallerStatus",
    "active_faults",
    "device_exists",
    "get_device",
    "installer_status",
    "list_devices",
    "normalised",
    "recent_events",
    "register_devices",
    "repeated_phone",
    "search_devices",
]

DeviceStatus = Literal["online", "offline", "fault"]
DEVICE_STATUSES: Final[tuple[DeviceStatus, ...]] = ("online", "offline", "fault")

_Q: Final = named_queries.load("devices").require(
    "upsert_devices",
    "delete_contacts",
    "insert_contacts",
    "active_faults",
    "device_exists",
    "device_with_state",
    "devices_with_state",
    "search_devices",
    "custom_plans",
    "recent_events",
    "installer_status",
)


class DeviceConflictError(ValueError):
    """A registration clashes with the store: another device has its model and serial (or, should a
    writer bypass `normalised`, a contact row its number)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(f"registration conflicts with stored devices (constraint {constraint})")
        self.constraint = constraint


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """Someone to call about a device."""

    name: str
    phone: str
    role: Literal["owner", "family"]
    preferred_channel: Literal["sms", "kakao"] = "sms"
    language: Literal["ko", "en"] = "ko"
    consent_alerts: bool = True
    """Alerts about their boiler (faults, safety)."""
    consent_marketing: bool = False
    """Advertising-like messages (inspection offers)."""
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    """Korean time; non-safety alerts wait until quiet_end."""
    escalation_rank: int = 0
    """0: alerted at once; 1, 2, …: next in line when a safety alert goes unacknowledged."""


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """The registry fields of one device, as an installer registers them."""

    device_id: str
    model: str
    serial: str
    installed_on: date | None
    address: str | None
    region: str | None
    latitude: float | None
    longitude: float | None
    customer_name: str | None
    report_interval_s: int = 60
    contacts: tuple[ContactRecord, ...] = ()
    """Replace the stored contacts when not empty; an empty tuple leaves them as they are."""
    vulnerable: bool = False
    """A vulnerable household (an elderly person living alone): its boiler is inspected first."""


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A registered device with its latest known state."""

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
    contacts: tuple[dict[str, Any], ...]
    """Each contact's fields (ContactRecord's, plus contact_id; quiet hours as HH:MM)."""
    registered_at: datetime
    updated_at: datetime
    last_seen: datetime | None
    last_reading_at: datetime | None
    latest: dict[str, Any] | None
    """The newest report as the device sent it, or None before the first reading."""
    connected: bool | None
    """From the device's birth and last-will messages; None when it never sent one."""
    firmware: str | None
    reported_model: str | None
    active_codes: list[str]
    online: bool
    status: DeviceStatus


def repeated_phone(phones: Sequence[str]) -> int | None:
    """The index of the first number in `phones` (E.164) that an earlier one already is, or None:
    each contact of a device has its own number, or its person would get every alert twice."""
    seen: set[str] = set()
    for index, phone in enumerate(phones):
        if phone in seen:
            return index
        seen.add(phone)
    return None


def normalised(device: DeviceRecord) -> DeviceRecord:
    """`device` as the registry stores it: its region as a code of the list, its contacts' numbers in
    E.164. Raises ValueError (UnknownRegionError, InvalidPhoneError) saying what is wrong, and when two
    contacts have one number however it is written."""
    contacts = tuple(replace(c, phone=e164_phone(c.phone)) for c in device.contacts)
    repeat = repeated_phone([c.phone for c in contacts])
    if repeat is not None:
        raise ValueError(f"device {device.device_id}: {contacts[repeat].phone} is the phone number of two of its "
                         "contacts; each contact needs their own")  # fmt: skip
    region = region_code(device.region) if device.region is not None else None
    return replace(device, region=region, contacts=contacts)


async def register_devices(
    conn: Connection, *, devices: Sequence[DeviceRecord], registered_by: str | None = None
) -> int:
    """Insert or update `devices` by device_id (normalised first, see `normalised`); return how many
    were written. `registered_by` (an API key's id) is kept for devices this call creates.

    Raises ValueError for a record that cannot be normalised (nothing is written), and
    DeviceConflictError when a device's model and serial belong to another device_id; the caller's
    transaction is then aborted.
    """
    if not devices:
        return 0
    records = [normalised(d) for d in devices]
    try:
        return await _register(conn, records, registered_by)
    except asyncpg.UniqueViolationError as exc:
        raise DeviceConflictError(exc.constraint_name) from exc


async def _register(conn: Connection, devices: Sequence[DeviceRecord], registered_by: str | None) -> int:
    written = int(
        await conn.fetchval(
            _Q["upsert_devices"],
            [d.device_id for d in devices],
            [d.model for d in devices],
            [d.serial for d in devices],
            [d.installed_on for d in devices],
            [d.address for d in devices],
            [d.region for d in devices],
            [d.latitude for d in devices],
            [d.longitude for d in devices],
            [d.customer_name for d in devices],
            [d.report_interval_s for d in devices],
            [d.vulnerable for d in devices],
            registered_by,
        )
    )
    await _replace_contacts(conn, [d for d in devices if d.contacts])
    return written


async def _replace_contacts(conn: Connection, devices: Sequence[DeviceRecord]) -> None:
    if not devices:
        return
    await conn.execute(_Q["delete_contacts"], [d.device_id for d in devices])
    pairs = [(d.device_id, c) for d in devices for c in d.contacts]
    await conn.execute(
        _Q["insert_contacts"],
        [device_id for device_id, _ in pairs],
        [c.name for _, c in pairs],
        [c.phone for _, c in pairs],
        [c.role for _, c in pairs],
        [c.preferred_channel for _, c in pairs],
        [c.language for _, c in pairs],
        [c.consent_alerts for _, c in pairs],
        [c.consent_marketing for _, c in pairs],
        [c.quiet_start for _, c in pairs],
        [c.quiet_end for _, c in pairs],
        [c.escalation_rank for _, c in pairs],
    )


@dataclass(frozen=True, slots=True)
class InstallerStatus:
    """Whether a device came online, and nothing about its household: what an installer may see."""

    device_id: str
    status: DeviceStatus
    online: bool
    connected: bool | None
    last_seen: datetime | None
    last_reading_at: datetime | None
    firmware: str | None
    reported_model: str | None
    active_codes: list[str]


async def installer_status(
    conn: Connection, *, device_id: str, registered_by: str | None
) -> InstallerStatus | None:
    """The device's status; None when it is not registered or, given `registered_by` (an API key's
    id), when that key did not register it."""
    row = await conn.fetchrow(_Q["installer_status"], device_id, registered_by)
    if row is None:
        return None
    return InstallerStatus(**{**dict(row), "active_codes": list(row["active_codes"])})


async def active_faults(conn: Connection, *, device_id: str) -> list[dict[str, Any]]:
    """The device's active error codes with when each was raised, oldest first."""
    return [dict(r) for r in await conn.fetch(_Q["active_faults"], device_id)]


async def recent_events(
    conn: Connection, *, device_id: str, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """The device's error events (raised and cleared) since `since`, newest first, at most `limit`."""
    return [dict(r) for r in await conn.fetch(_Q["recent_events"], device_id, since, limit)]


async def device_exists(conn: Connection, *, device_id: str) -> bool:
    """Whether `device_id` is registered."""
    return bool(await conn.fetchval(_Q["device_exists"], device_id))


async def get_device(conn: Connection, *, device_id: str) -> DeviceView | None:
    """One device with its state, or None when it is not registered."""
    row = await conn.fetchrow(_Q["device_with_state"], device_id)
    return _view(row) if row is not None else None


async def list_devices(
    conn: Connection,
    *,
    status: DeviceStatus | None = None,
    region: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[DeviceView]:
    """Devices ordered by device_id, those after `after` (keyset pagination), filtered by status and region."""
    if status is not None and status not in DEVICE_STATUSES:
        raise ValueError(f"unknown device status {status!r}")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = await conn.fetch(_Q["devices_with_state"], status, region, after, limit)
    return [_view(r) for r in rows]


@dataclass(frozen=True)
class DeviceSearch:
    """What a caller may tell an agent; every given field must match. Names and addresses match
    anywhere in the text, case-insensitively; the phone matches any contact's, however written."""

    phone: str | None = None
    name: str | None = None
    address: str | None = None
    device_id_prefix: str | None = None
    model: str | None = None
    region: str | None = None
    status: DeviceStatus | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.phone, self.name, self.address, self.device_id_prefix,
                                        self.model, self.region, self.status))  # fmt: skip


def _literal(text: str | None) -> str | None:
    """`text` for LIKE, matched literally: its %, _ and backslash are not wildcards."""
    if text is None:
        return None
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_devices(conn: Connection, search: DeviceSearch, *, limit: int) -> list[DeviceView]:
    """Devices matching `search`, by device_id (without their newest values). Each search is planned
    for its own criteria: a cached generic plan would scan every device whatever was given."""
    if search.is_empty():
        raise ValueError("give at least one search criterion")
    if search.status is not None and search.status not in DEVICE_STATUSES:
        raise ValueError(f"unknown device status {search.status!r}")
    async with conn.transaction():
        await conn.execute(_Q["custom_plans"])
        rows = await conn.fetch(
            _Q["search_devices"], search.phone, _literal(search.name), _literal(search.address),
            _literal(search.device_id_prefix), search.model, search.region, search.status, limit,
        )  # fmt: skip
    return [_view(r) for r in rows]


def _view(row: Any) -> DeviceView:
    latest_json = row["latest_json"]
    return DeviceView(
        device_id=row["device_id"],
        model=row["model"],
        serial=row["serial"],
        installed_on=row["installed_on"],
        address=row["address"],
        region=row["region"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        customer_name=row["customer_name"],
        report_interval_s=row["report_interval_s"],
        contacts=tuple(json.loads(row["contacts"])),
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
        last_seen=row["last_seen"],
        last_reading_at=row["last_reading_at"],
        latest=json.loads(latest_json) if latest_json is not None else None,
        connected=row["connected"],
        firmware=row["firmware"],
        reported_model=row["reported_model"],
        active_codes=list(row["active_codes"]),
        online=row["online"],
        status=cast(DeviceStatus, row["status"]),
    )
