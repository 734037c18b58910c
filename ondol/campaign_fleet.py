"""A synthetic fleet for the inspection campaign (tests and `bench/campaign.py`): boilers spread
around the service points, with installation dates, counters since their last inspection, some
open predictions, vulnerable households and customers who did or did not consent to marketing.
Deterministic by seed; written straight into the store in a few bulk statements."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from diagnostics.service_points import ServicePoint
from telemetry.database import Connection
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.korean_time import KST

__all__ = ["CampaignFleet", "build_campaign_fleet", "store_campaign_fleet"]


@dataclass(frozen=True, slots=True)
class CampaignFleet:
    devices: list[DeviceRecord]
    counters: list[tuple[str, float, int]]
    """(device, burner hours total, starts total) as of the day before planning."""
    predicted: list[str]
    """Devices with an open prediction."""


def build_campaign_fleet(count: int, points: Sequence[ServicePoint], *, seed: int, on: date) -> CampaignFleet:
    """`count` boilers, each within the coverage of a random point of `points`."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    devices, counters, predicted = [], [], []
    for i in range(count):
        point = points[rng.randrange(len(points))]
        distance = point.coverage_km * 0.8 * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        latitude = point.latitude + distance * math.cos(bearing) / 111.2
        longitude = point.longitude + distance * math.sin(bearing) / (
            111.2 * math.cos(math.radians(point.latitude))
        )
        age_days = rng.randint(30, 15 * 365)
        device_id = f"bs-{i:06d}"
        contact = ContactRecord(
            name=f"고객{i}", phone=f"010{i:08d}", role="owner", preferred_channel=rng.choice(("sms", "kakao")),
            language="en" if rng.random() < 0.05 else "ko", consent_marketing=rng.random() < 0.5,
            quiet_start=time(21, 0), quiet_end=time(8, 0),
        )  # fmt: skip
        devices.append(DeviceRecord(
            device_id, "NCB-300", f"SN-{device_id}", on - timedelta(days=age_days), f"{point.city} {i}", point.region,
            round(latitude, 6), round(longitude, 6), f"고객{i}", 600, (contact,), vulnerable=rng.random() < 0.05,
        ))  # fmt: skip
        seasons = min(age_days / 365, 3.0)  # counted since installation or an inspection up to 3 years ago
        counters.append(
            (device_id, round(seasons * rng.uniform(300, 1500), 1), int(seasons * rng.uniform(1500, 9000)))
        )
        if rng.random() < 0.03:
            predicted.append(device_id)
    return CampaignFleet(devices, counters, predicted)


async def store_campaign_fleet(
    conn: Connection, fleet: CampaignFleet, *, on: date, progress: Callable[[int], None] | None = None
) -> None:
    """Register the fleet, its counters (a daily feature row the day before `on`) and its predictions."""
    step = 5000
    for start in range(0, len(fleet.devices), step):
        async with conn.transaction():
            await register_devices(conn, devices=fleet.devices[start : start + step])
        if progress:
            progress(min(start + step, len(fleet.devices)))
    day = on - timedelta(days=1)
    async with conn.transaction():
        await conn.copy_records_to_table(
            "device_health_daily", columns=["device_id", "day", "samples", "firing", "burner_hours_total", "starts_total"],
            records=[(d, day, 24, 8, hours, starts) for d, hours, starts in fleet.counters],
        )  # fmt: skip
        at = datetime.combine(day, time(12), tzinfo=KST)
        await conn.copy_records_to_table(
            "predictions", columns=["device_id", "code", "family", "detector", "predicted_at", "evidence"],
            records=[(d, "A11", "air_exhaust", "synthetic", at, "{}") for d in fleet.predicted],
        )  # fmt: skip
