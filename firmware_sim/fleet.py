"""Who is in a simulated fleet: deterministic device identities, places and households by seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

__all__ = ["REGIONS", "SimDevice", "plan_fleet"]


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_ko: str
    latitude: float
    longitude: float
    winter_mean_c: float
    """January mean outdoor temperature, for the weather model."""


REGIONS: Final = (
    Region("seoul", "서울", 37.5665, 126.9780, -2.4),
    Region("gyeonggi", "경기", 37.2752, 127.0095, -3.5),
    Region("incheon", "인천", 37.4563, 126.7052, -1.9),
    Region("gangwon", "강원", 37.8813, 127.7298, -5.0),
    Region("daejeon", "대전", 36.3504, 127.3845, -1.0),
    Region("daegu", "대구", 35.8714, 128.6014, 0.6),
    Region("gwangju", "광주", 35.1595, 126.8526, 0.6),
    Region("busan", "부산", 35.1796, 129.0756, 3.2),
    Region("jeju", "제주", 33.4996, 126.5312, 6.1),
)

_MODELS: Final = ("NCB-300", "NCB-500", "KRB-24C", "KRB-30C", "RCB-22", "LCB-25")
_FAMILY: Final = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임")
_GIVEN: Final = ("민준", "서연", "지훈", "영숙", "순자", "정호", "미영", "동현", "하은", "상철")


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One simulated boiler with its thermostat, and the household it heats."""

    device_id: str
    index: int
    model: str
    serial: str
    region: Region
    latitude: float
    longitude: float
    installed_on: date
    customer_name: str
    phone: str
    address: str
    open_tank: bool
    """Korean open expansion tank with a level switch (no pressure sensor) instead of a sealed loop."""
    seed: int


def plan_fleet(count: int, seed: int = 1, prefix: str = "sim") -> list[SimDevice]:
    """`count` devices, the same for the same seed and prefix."""
    if count < 0:
        raise ValueError("a fleet cannot have a negative number of devices")
    rng = random.Random(seed)
    devices = []
    for i in range(count):
        region = REGIONS[rng.randrange(len(REGIONS))]
        model = _MODELS[rng.randrange(len(_MODELS))]
        name = _FAMILY[rng.randrange(len(_FAMILY))] + _GIVEN[rng.randrange(len(_GIVEN))]
        devices.append(
            SimDevice(
                device_id=f"{prefix}-{i + 1:05d}",
                index=i,
                model=model,
                serial=f"{model[:3]}{seed % 100:02d}{i + 1:07d}",
                region=region,
                latitude=round(region.latitude + rng.uniform(-0.15, 0.15), 5),
                longitude=round(region.longitude + rng.uniform(-0.15, 0.15), 5),
                installed_on=date(2026, 1, 1) - timedelta(days=rng.randrange(30, 12 * 365)),
                customer_name=name,
                phone=f"010{rng.randrange(10**8):08d}",
                address=f"{region.name_ko} {rng.randrange(1, 300)}번길 {rng.randrange(1, 40)}",
                open_tank=rng.random() < 0.4,
                seed=rng.randrange(2**31),
            )
        )
    return devices
