"""Reads devices to register from JSON, validated by the same model the API's POST /v1/devices uses."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from api.schemas import DeviceIn
from telemetry.device_registry import DeviceRecord

__all__ = ["load_device_records"]

_DEVICES = TypeAdapter(list[DeviceIn])


def load_device_records(document: Any) -> list[DeviceRecord]:
    """A JSON list of devices (or one device) as registry records; raises ValidationError on bad input."""
    items = document if isinstance(document, list) else [document]
    return [device.to_record() for device in _DEVICES.validate_python(items)]
