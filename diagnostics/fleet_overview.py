"""The fleet at a glance for supervisors: devices online, offline and faulted by region and by model,
and which regions are worst off (in a cold wave: where to send technicians and extra agents first).

Device status is the device_status view's rule, so the fleet page and the device page never disagree about a boiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from telemetry import named_queries
from telemetry.database import Connection

__all__ = ["FleetOverview", "StatusCount", "fleet_overview"]

_Q: Final = named_queries.load("fleet", package="diagnostics").require(
    "status_by_region", "status_by_model", "open_tickets_by_region", "outdoor_by_region"
)
OUTDOOR_WINDOW: Final = timedelta(hours=3)
WORST: Final = 5


@dataclass(frozen=True, slots=True)
class StatusCount:
    key: str
    """The region or model ('' for devices without a region)."""
    devices: int
    online: int
    offline: int
    faulted: int
    open_tickets: int = 0
    urgent_tickets: int = 0
    outdoor_c: float | None = None
    """Mean outdoor temperature the region's boilers reported in the last hours (None: no reports)."""

    @property
    def trouble_share(self) -> float:
        """Share of the devices that are offline or faulted: how badly the region is hit."""
        return (self.offline + self.faulted) / self.devices if self.devices else 0.0


@dataclass(frozen=True, slots=True)
class FleetOverview:
    regions: list[StatusCount]
    models: list[StatusCount]

    @property
    def total(self) -> StatusCount:
        return StatusCount(
            key="", devices=sum(r.devices for r in self.regions), online=sum(r.online for r in self.regions),
            offline=sum(r.offline for r in self.regions), faulted=sum(r.faulted for r in self.regions),
            open_tickets=sum(r.open_tickets for r in self.regions),
            urgent_tickets=sum(r.urgent_tickets for r in self.regions),
        )  # fmt: skip

    def worst_regions(self, n: int = WORST) -> list[StatusCount]:
        """Regions with any trouble, the largest share offline or faulted first, then most urgent tickets."""
        hit = [r for r in self.regions if r.offline + r.faulted + r.open_tickets > 0]
        return sorted(hit, key=lambda r: (-r.trouble_share, -r.urgent_tickets, -r.open_tickets, r.key))[:n]


async def fleet_overview(conn: Connection, *, now: datetime) -> FleetOverview:
    outdoor = {
        r["region"]: r["outdoor_c"] for r in await conn.fetch(_Q["outdoor_by_region"], now - OUTDOOR_WINDOW)
    }
    tickets = {r["region"]: (r["open"], r["urgent"]) for r in await conn.fetch(_Q["open_tickets_by_region"])}
    regions = [
        StatusCount(
            key=r["key"],
            devices=r["devices"],
            online=r["online"],
            offline=r["offline"],
            faulted=r["faulted"],
            open_tickets=tickets.get(r["key"], (0, 0))[0],
            urgent_tickets=tickets.get(r["key"], (0, 0))[1],
            outdoor_c=outdoor.get(r["key"]),
        )
        for r in await conn.fetch(_Q["status_by_region"])
    ]
    models = [
        StatusCount(
            key=r["key"], devices=r["devices"], online=r["online"], offline=r["offline"], faulted=r["faulted"]
        )
        for r in await conn.fetch(_Q["status_by_model"])
    ]
    return FleetOverview(regions, models)
