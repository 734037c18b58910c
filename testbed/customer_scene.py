"""A case as a customer lives it, for the customer-link tests and benchmarks: devices with a mother
(Korean, owner) and her son (English, family), device events handled by the real fault engine, and
the real alert worker sending through a real HTTP provider on loopback with links in the messages.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Final, Literal

from diagnostics.catalog import load_catalog
from diagnostics.customer_link.tokens import LinkSecret
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.service_points import ServicePointDirectory, seed_service_points
from outbox.alerts.delivery import (
    AlertConfig,
    AlertDeliverer,
    LinkSettings,
    ProviderSettings,
    provider_chains,
)
from outbox.outbound_http import OutboundClient
from telemetry.database import create_pool
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.event_inbox import InboxEvent
from testbed.provider_sink import ProviderSink

__all__ = ["LINK", "MOTHER", "SECRET", "SON", "Scene", "scene_on"]

MOTHER: Final = "+821050001001"
SON: Final = "+821050001002"
SECRET: Final = LinkSecret(b"k" * 40)
LINK: Final = re.compile(r"(\S*/c/([A-Za-z0-9_-]{22}))")
_ALWAYS: Final = time(0, 0)  # equal quiet-hour bounds: no quiet hours
_PLACES: Final = {"seoul": (37.5665, 126.9780), "busan": (35.1796, 129.0756)}


@dataclass
class Scene:
    db: Any
    """An asyncpg connection."""
    dsn: str
    sink: ProviderSink
    engine: FaultEngine
    base_url: str
    seq: int = 0
    devices: list[str] = field(default_factory=list)

    async def device(
        self, device_id: str, *, son: bool = True, mother_language: Literal["ko", "en"] = "ko",
        region: str = "seoul", model: str = "NCB-300",
    ) -> None:  # fmt: skip
        contacts = [ContactRecord("어머니", MOTHER, "owner", "sms", mother_language, quiet_start=_ALWAYS,
                                  quiet_end=_ALWAYS)]  # fmt: skip
        if son:
            contacts.append(
                ContactRecord("Son", SON, "family", "sms", "en", quiet_start=_ALWAYS, quiet_end=_ALWAYS)
            )
        latitude, longitude = _PLACES[region]
        record = DeviceRecord(device_id, model, f"SN-{device_id}", date(2024, 1, 1), "addr", region, latitude,
                              longitude, "어머니", 60, tuple(contacts))  # fmt: skip
        async with self.db.transaction():
            await register_devices(self.db, devices=[record])

    async def event(self, device_id: str, code: str, state: str, at: datetime | None = None) -> None:
        """A device event as the gateway stores it (device_faults) and the engine handles it."""
        at = at or datetime.now(UTC)
        self.seq += 1
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq) VALUES ($1, $2, $3, $4, $4, $5)"
                " ON CONFLICT (device_id, code) DO UPDATE SET active = $3, raised_at = $4, changed_at = $4, seq = $5",
                device_id, code, state == "raised", at, self.seq,
            )  # fmt: skip
            await self.engine.handle(self.db, InboxEvent(self.seq, device_id, at, self.seq, code, state, at))

    async def deliver(self) -> None:
        """The alert worker sends everything due, with links."""
        pool = await create_pool(self.dsn, application_name="test-link-alerts", min_size=1, max_size=2)
        client = OutboundClient(3.0)
        try:
            providers = ProviderSettings(kind="http", sms_url=f"{self.sink.base}/sms",
                                         alimtalk_url=f"{self.sink.base}/alimtalk")  # fmt: skip
            deliverer = AlertDeliverer(pool, provider_chains(pool, providers, client), AlertConfig(),
                                       links=LinkSettings(SECRET, self.base_url))  # fmt: skip
            while await deliverer.deliver_due():
                pass
        finally:
            await client.aclose()
            await pool.close()

    def links_to(self, phone: str) -> list[str]:
        """The links in the messages sent to `phone`, oldest first."""
        return [m[1] for r in self.sink.to(phone) if (m := LINK.search(r["text"]))]

    def tokens_to(self, phone: str) -> list[str]:
        return [m[2] for r in self.sink.to(phone) if (m := LINK.search(r["text"]))]

    async def case_of(self, device_id: str) -> int:
        return int(
            await self.db.fetchval("SELECT max(case_id) FROM fault_cases WHERE device_id = $1", device_id)
        )


@contextlib.asynccontextmanager
async def scene_on(
    db: Any, dsn: str, base_url: str, engine_config: EngineConfig | None = None
) -> AsyncIterator[Scene]:
    """A scene on a migrated database (service points seeded), its links pointing at `base_url`."""
    async with db.transaction():
        await seed_service_points(db)
        engine = FaultEngine(
            load_catalog(), await ServicePointDirectory.load(db), engine_config or EngineConfig()
        )
    sink = ProviderSink()
    try:
        yield Scene(db, dsn, sink, engine, base_url)
    finally:
        sink.close()
