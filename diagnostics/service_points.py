"""Service points: where technicians start from, what they cover, and which one takes a ticket.

A ticket goes to the nearest point whose coverage radius reaches the device; a device with no
coordinates goes to the largest point of its region. Distances are great-circle kilometres. Regions
are codes of the one list (telemetry.regions).
"""

from __future__ import annotations

import bisect
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection
from telemetry.regions import region_code

__all__ = [
    "Assignment",
    "ServicePoint",
    "ServicePointDirectory",
    "haversine_km",
    "load_seed",
    "seed_if_empty",
    "seed_service_points",
]

_Q: Final = named_queries.load("service_points", package="diagnostics").require(
    "upsert_point", "all_points", "any_point", "fill_english_names"
)
_EARTH_RADIUS_KM: Final = 6371.0088
_KM_PER_DEGREE_LATITUDE: Final = math.pi * _EARTH_RADIUS_KM / 180


@dataclass(frozen=True, slots=True)
class ServicePoint:
    point_id: str
    name: str
    city: str
    region: str | None
    """A region code; None for a point whose stored free text named no region (migration 0017)."""
    latitude: float
    longitude: float
    coverage_km: float
    daily_capacity: int
    name_en: str | None = None
    """The name English pages and messages use; None until given (they then show point_id)."""

    def name_in(self, language: str) -> str | None:
        """The name in `language` ('ko' or 'en'); None for English when the point has no English name."""
        return self.name_en if language == "en" else self.name


@dataclass(frozen=True, slots=True)
class Assignment:
    point: ServicePoint
    distance_km: float | None
    """None when the device has no coordinates and was routed by region."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class ServicePointDirectory:
    """The registry in memory (about 150 points): routing is a scan, which is faster than a query."""

    def __init__(self, points: Sequence[ServicePoint]) -> None:
        self._points = tuple(points)
        self._by_latitude = sorted(enumerate(self._points), key=lambda ip: (ip[1].latitude, ip[0]))
        self._latitudes = [p.latitude for _, p in self._by_latitude]
        self._reach_deg = max((p.coverage_km for p in self._points), default=0.0) / _KM_PER_DEGREE_LATITUDE

    def __len__(self) -> int:
        return len(self._points)

    @property
    def points(self) -> tuple[ServicePoint, ...]:
        return self._points

    def assign(
        self, latitude: float | None, longitude: float | None, region: str | None
    ) -> Assignment | None:
        """The nearest covering point; by region when there are no coordinates; None when nothing fits."""
        if latitude is not None and longitude is not None:
            best: tuple[float, int, ServicePoint] | None = None
            # A point farther north or south than the widest coverage cannot cover the device (the
            # great-circle distance is at least the north-south one): only the band is measured.
            lo = bisect.bisect_left(self._latitudes, latitude - self._reach_deg)
            hi = bisect.bisect_right(self._latitudes, latitude + self._reach_deg)
            for index, point in self._by_latitude[lo:hi]:
                distance = haversine_km(latitude, longitude, point.latitude, point.longitude)
                if distance <= point.coverage_km and (best is None or (distance, index) < best[:2]):
                    best = (distance, index, point)  # equal distances: the first in the registry
            if best is not None:
                return Assignment(best[2], round(best[0], 2))
        in_region = [p for p in self._points if region is not None and p.region == region]
        if in_region:
            return Assignment(max(in_region, key=lambda p: (p.daily_capacity, p.point_id)), None)
        return None

    @classmethod
    async def load(cls, conn: Connection) -> ServicePointDirectory:
        rows = await conn.fetch(_Q["all_points"])
        return cls([ServicePoint(**dict(r)) for r in rows])


def load_seed() -> list[ServicePoint]:
    """The synthetic network shipped for the local stack and tests (`service_points.toml`)."""
    text = (resources.files("diagnostics") / "service_points.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    return [_with_region_code(ServicePoint(**point)) for point in document["point"]]


def _with_region_code(point: ServicePoint) -> ServicePoint:
    """The point with its region as a code of the list (a name is taken for its code); raises
    UnknownRegionError for a region not on the list."""
    return replace(point, region=region_code(point.region)) if point.region is not None else point


async def seed_service_points(conn: Connection, points: Sequence[ServicePoint] | None = None) -> int:
    """Insert or update service points (the seed set by default); returns how many. A region must be on
    the list (UnknownRegionError otherwise; nothing is written)."""
    points = load_seed() if points is None else [_with_region_code(p) for p in points]
    await conn.executemany(
        _Q["upsert_point"],
        [
            (
                p.point_id,
                p.name,
                p.city,
                p.region,
                p.latitude,
                p.longitude,
                p.coverage_km,
                p.daily_capacity,
                p.name_en,
            )
            for p in points
        ],
    )
    return len(points)


async def seed_if_empty(conn: Connection) -> int:
    """Load the seed network into an empty registry (the local stack); 0 when points exist already.
    A registry seeded before points had English names gets the seed's English names for the points
    that still carry the seed's Korean name (migration 0018 added the column empty)."""
    if await conn.fetchval(_Q["any_point"]):
        seed = [p for p in load_seed() if p.name_en]
        await conn.execute(_Q["fill_english_names"], [p.point_id for p in seed], [p.name for p in seed],
                           [p.name_en for p in seed])  # fmt: skip
        return 0
    return await seed_service_points(conn)
