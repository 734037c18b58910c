"""Before `ondol inject` speaks for devices: may it? A device must be registered (the platform drops
events of devices it does not know) and, on a broker that checks passwords, have an active account
whose password the simulated fleet's secret gives, since the injector logs in as the device itself.

Asking the database first turns a broker's bare "not authorized", which the broker cannot explain,
into what is missing and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

from firmware_sim.credentials import device_password
from gateway.broker_accounts import device_account, verify_mosquitto_hash
from telemetry.database import Connection
from telemetry.device_registry import device_exists

__all__ = ["injection_problems"]


async def injection_problems(
    conn: Connection, device_ids: Sequence[str], fleet_secret: bytes | None
) -> list[str]:
    """One line per device the injector cannot speak for, saying why and what to do; [] when all
    can. `fleet_secret` None: the broker takes devices without passwords, so only registration counts."""
    problems = []
    simulated = "`ondol up` and `ondol sim --devices N` register simulated boilers with their credentials"
    for device_id in dict.fromkeys(device_ids):
        if not await device_exists(conn, device_id=device_id):
            problems.append(
                f"{device_id} is not registered: register it (`ondol devices register FILE.json`, "
                f"docs/devices.md); {simulated}"
            )
            continue
        if fleet_secret is None:
            continue
        account = await device_account(conn, device_id)
        issue = f"`POST /v1/devices/{device_id}/mqtt-credentials`, docs/devices.md"
        if account is None:
            problems.append(
                f"{device_id} has no broker credentials, so the broker would refuse it: issue them ({issue}); "
                f"{simulated}"
            )
        elif account.revoked_at is not None:
            problems.append(
                f"{device_id}'s broker credentials were revoked: issue new ones ({issue}); {simulated}"
            )
        elif not verify_mosquitto_hash(device_password(fleet_secret, device_id), account.password_hash):
            problems.append(
                f"{device_id} has a broker password of its own: inject logs in as the device, and knows "
                "only simulated boilers' passwords (derived from the simulated fleet's secret)"
            )
    return problems
