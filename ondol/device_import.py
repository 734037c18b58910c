"""Reads devices to register from JSON, validated by the same model the API's POST /v1/devices uses,
and says what is wrong with a bad file field by field (docs/devices.md describes the format)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from api.schemas.devices import PHONE_WRITING, DeviceIn
from ondol.input_errors import describe_validation_error, field_path
from protocol.contract import DEVICE_ID_PATTERN
from telemetry.device_registry import DeviceRecord

__all__ = ["DeviceFileError", "load_device_records"]

_DEVICES = TypeAdapter(list[DeviceIn])

PATTERNS: Final = {
    DEVICE_ID_PATTERN: "1 to 64 letters, digits, '-' or '_'",
    PHONE_WRITING: "a phone number: digits, optionally after a '+', with spaces, dashes or brackets "
    "(e.g. 010-1234-5678)",
}
"""The patterns of DeviceIn's fields, in words."""

PERSONAL: Final = frozenset({"phone", "name", "customer_name", "address"})
"""Fields holding personal data: an error names them but never repeats their value (docs/data-protection.md)."""


class DeviceFileError(ValueError):
    """A device file that cannot be registered; `problems` has one line per bad field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_device_records(document: Any) -> list[DeviceRecord]:
    """A JSON list of devices (or one device) as registry records; raises DeviceFileError on bad input,
    naming each field as `devices[3].contacts[0].phone` (or `contacts[0].phone` for a single device)."""
    single = not isinstance(document, list)
    items = [document] if single else document
    try:
        devices = _DEVICES.validate_python(items)
    except ValidationError as exc:

        def name(loc: Sequence[int | str]) -> str:
            return field_path(loc[1:]) if single else field_path(loc, root="devices")

        def show_input(loc: Sequence[int | str]) -> bool:
            return not PERSONAL.intersection(str(part) for part in loc)

        problems = describe_validation_error(exc, name=name, patterns=PATTERNS, show_input=show_input)
        raise DeviceFileError(problems) from None
    return [device.to_record() for device in devices]
