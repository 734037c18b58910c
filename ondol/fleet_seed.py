"""Registers a simulated fleet in the device registry: the seed path between simulator and store.

The simulator knows only the wire contract, so the composition root translates its devices into
registry records.
"""

from __future__ import annotations

import math

from firmware_sim.credentials import device_password
from firmware_sim.fleet import SimDevice, plan_fleet
from gateway.broker_accounts import mosquitto_hash, set_accounts
from ondol.settings import Settings
from telemetry.database import Connection
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices

__all__ = ["register_sim_fleet", "sim_device_record"]


def sim_device_record(device: SimDevice, report_interval_s: float) -> DeviceRecord:
    return DeviceRecord(
        device_id=device.device_id,
        model=device.model,
        serial=device.serial,
        installed_on=device.installed_on,
        address=device.address,
        region=device.region.code,
        latitude=device.latitude,
        longitude=device.longitude,
        customer_name=device.customer_name,
        report_interval_s=max(1, math.ceil(report_interval_s)),
        contacts=(
            ContactRecord(
                name=device.customer_name, phone=device.phone, role="owner", preferred_channel="sms"
            ),
        ),
    )


async def register_sim_fleet(
    conn: Connection, settings: Settings, report_interval_s: float | None = None
) -> int:
    """Register (or update) the devices `ondol sim` will run with these settings, and, when the fleet
    has a secret, each device's broker account with the password the simulator derives from it."""
    interval = report_interval_s or settings.sim_report_interval_s
    devices = plan_fleet(settings.sim_devices, seed=settings.sim_seed, prefix=settings.sim_prefix)
    if not devices:
        return 0
    secret = settings.sim_fleet_secret()
    async with conn.transaction():
        count = await register_devices(conn, devices=[sim_device_record(d, interval) for d in devices])
        if secret is not None:
            accounts = [(d.device_id, mosquitto_hash(device_password(secret, d.device_id))) for d in devices]
            await set_accounts(conn, accounts, role="device", issued_by="simulated fleet")
        return count
