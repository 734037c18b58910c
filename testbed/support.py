"""Helpers the tests share: a raw MQTT publisher, an in-process gateway, polling until a condition holds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, Final, TypeVar

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gateway.decoder import DecodeLimits
from gateway.ingest import BatchPolicy
from gateway.metrics import GatewayMetrics
from gateway.mqtt_edge import EdgeConfig
from gateway.service import GatewayConfig, run_gateway
from protocol.broker import BrokerAddress
from telemetry.readings import MEASUREMENT_COLUMNS, IngestBatch, ReadingRow, write_batch

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout_s: float = 20.0, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail with the last value after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout_s}s; last value: {last!r}")


@dataclass
class Publisher:
    """A plain MQTT client that publishes whatever bytes a test wants, at QoS 1, and waits for acks."""

    broker: BrokerAddress
    client_id: str = "test-publisher"
    client: paho.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        self.client.max_inflight_messages_set(1000)
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def now_iso(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


def gateway_config(
    db_dsn: str, broker: BrokerAddress, client_id: str = "test-gateway", **batch: Any
) -> GatewayConfig:
    return GatewayConfig(
        database_url=db_dsn,
        edge=EdgeConfig(
            broker=broker, client_id=client_id, share_group="ondol-gateway", session_expiry_s=600
        ),
        batch=BatchPolicy(**({"max_rows": 500, "max_delay_s": 0.02} | batch)),
        limits=DecodeLimits(max_payload_bytes=4096),
    )


@contextlib.asynccontextmanager
async def running_gateway(config: GatewayConfig) -> AsyncIterator[GatewayMetrics]:
    """The gateway in this event loop, subscribed before the block starts, stopped after it."""
    stop = asyncio.Event()
    metrics = GatewayMetrics()
    task = asyncio.create_task(run_gateway(config, stop, metrics))
    await eventually(_subscribed(metrics, task), what="gateway subscribed", timeout_s=30)
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def _subscribed(metrics: GatewayMetrics, task: asyncio.Task[None]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        if task.done():
            task.result()  # surface the gateway's exception
        return metrics.registry.get_sample_value("ondol_gateway_subscribed") == 1

    return check


async def register(db: Any, *device_ids: str, report_interval_s: int = 60) -> None:
    """Register bare devices straight in the registry table."""
    await db.executemany(
        "INSERT INTO devices (device_id, model, serial, region, report_interval_s) VALUES ($1, 'NCB-300', $1, 'seoul', $2)",
        [(d, report_interval_s) for d in device_ids],
    )


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


@contextlib.asynccontextmanager
async def running_worker(db_dsn: str, **engine: Any) -> AsyncIterator[None]:
    """The diagnostics worker in this event loop (short sweep interval; engine settings overridable)."""
    from diagnostics.faults.engine import EngineConfig
    from diagnostics.worker import WorkerConfig, run_worker

    config = WorkerConfig(
        database_url=db_dsn, sweep_interval_s=0.3, idle_poll_s=0.2, engine=EngineConfig(**engine)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(config, stop))
    await asyncio.sleep(0.2)
    try:
        yield
        if task.done():
            task.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def running_alert_sink(db_dsn: str) -> AsyncIterator[None]:
    """The customer-alert worker in this event loop, sending through the sink provider (which records
    each message in alert_sink_messages), at the real clock's hour."""
    from outbox.alerts.delivery import AlertConfig, AlertDeliverer, ProviderSettings, provider_chains
    from outbox.outbound_http import OutboundClient
    from telemetry.database import create_pool

    pool = await create_pool(db_dsn, application_name="test-alert-sink", min_size=1, max_size=4)
    client = OutboundClient(3.0)
    deliverer = AlertDeliverer(pool, provider_chains(pool, ProviderSettings(kind="sink"), client),
                               AlertConfig(idle_poll_s=0.05))  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run(stop))
    try:
        yield
        if task.done():
            task.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await client.aclose()
        await pool.close()


async def seed_points(db: Any) -> None:
    from diagnostics.service_points import seed_service_points

    async with db.transaction():
        await seed_service_points(db)


NO_QUIET_HOURS: Final = (dtime(0, 0), dtime(0, 0))
"""Quiet hours (start, end) that let guidance go out at any hour (equal bounds: no quiet window)."""


async def register_full(db: Any, device_id: str, *, latitude: float, longitude: float, region: str,
                        installed_on: Any, model: str = "NCB-300", contacts: int = 2,
                        quiet: tuple[dtime, dtime] = (dtime(21, 0), dtime(8, 0))) -> None:  # fmt: skip
    """A device with a location, an installation date and an owner plus family contacts (with the
    default quiet hours, 21:00 to 08:00 KST, unless `quiet` says otherwise)."""
    from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices

    people = tuple(
        ContactRecord(name=f"contact {i}", phone=f"0101{abs(hash(device_id)) % 10**6:06d}{i}",
                      role="owner" if i == 0 else "family", preferred_channel="sms" if i == 0 else "kakao",
                      quiet_start=quiet[0], quiet_end=quiet[1])
        for i in range(contacts)
    )  # fmt: skip
    record = DeviceRecord(device_id, model, f"SN-{device_id}", installed_on, "addr", region, latitude, longitude,
                          "고객", 60, people)  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])


async def insert_ticket(
    db: Any, device_id: str, point: str, *, region: str | None = None, code: str = "E003",
    family: str = "ignition", kind: str = "repair", priority: int = 3, due_in: timedelta = timedelta(hours=1),
    escalations: int = 0,
) -> int:  # fmt: skip
    """An open ticket (and its fault case) of `device_id` at service point `point`: by default an E003
    repair due for contact in an hour, with an internal note; its id. `escalations` > 0 marks it
    escalated as the engine does (the priority given is the one after escalation)."""
    now = datetime.now(UTC)
    case_id = await db.fetchval(
        "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
        " VALUES ($1, $2, $3, 'ticketed', $4, $4, 'test') RETURNING case_id", device_id, family, code, now,
    )  # fmt: skip
    ticket_id: int = await db.fetchval(
        "INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,"
        " last_raised_at, contact_due_at, service_point_id, region, rule, evidence, escalations, escalated_at)"
        " VALUES ($1, $2, $3, $4, ARRAY[$4], $5, 'open', $6, $7, $7, $8, $9, $10, 'test',"
        " '{\"why\": \"internal\"}', $11, CASE WHEN $11 > 0 THEN $7::timestamptz END) RETURNING ticket_id",
        case_id, device_id, family, code, kind, priority, now, now + due_in, point, region, escalations,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO ticket_notes (ticket_id, author, kind, body) VALUES ($1, 'agent-1', 'note', 'internal')",
        ticket_id,
    )
    return ticket_id


def floor_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def reading(device_id: str, ts: datetime, seq: int, **values: float) -> ReadingRow:
    """A stored-reading row as the decoder would make it (received when stamped)."""
    return ReadingRow(
        device_id=device_id,
        ts=ts,
        seq=seq,
        received_at=ts,
        values=tuple(values.get(c) for c in MEASUREMENT_COLUMNS),
        extra_json=None,
    )


async def store(db: Any, *rows: ReadingRow) -> None:
    async with db.transaction():
        await write_batch(db, IngestBatch(readings=list(rows)))


async def issue_api_key(dsn: str, role: str = "admin", **scope: str) -> str:
    """A new API key of `role` (scope: service_point_id or customer_phone), issued in the store."""
    import asyncpg

    from api.access_keys import issue_key

    conn = await asyncpg.connect(dsn)
    try:
        return (await issue_key(conn, name=f"test-{role}", role=role, created_by="tests", **scope)).token
    finally:
        await conn.close()


class ApiClient:
    """An HTTP client for an app on `dsn`, with the app's lifespan (its database pool) running.

    It presents a fresh API key of `role` (None: no key at all)."""

    def __init__(
        self, dsn: str, role: str | None = "admin", scope: dict[str, str] | None = None, **config: Any
    ) -> None:
        from api.app import ApiConfig, create_app

        self.dsn, self.role, self.scope = dsn, role, scope or {}
        self.app = create_app(ApiConfig(database_url=dsn, pool_max_size=2, **config))
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://api.test")

    async def __aenter__(self) -> httpx.AsyncClient:
        if self.role is not None:
            token = await issue_api_key(self.dsn, self.role, **self.scope)
            self.http.headers["Authorization"] = f"Bearer {token}"
        await self.lifespan.__aenter__()
        return await self.http.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.http.__aexit__(None, None, None)
        await self.lifespan.__aexit__(None, None, None)


@contextlib.asynccontextmanager
async def console_client(dsn: str, **config: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the console (and the API) of an app on `dsn`, with the app's lifespan running;
    signed out until `console_sign_in`."""
    from api.app import ApiConfig, create_app

    app = create_app(ApiConfig(database_url=dsn, pool_max_size=2, **config))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as http,
    ):
        yield http


async def console_sign_in(http: httpx.AsyncClient, key: str) -> str:
    """Sign in to the console with `key`; the CSRF token its pages carry."""
    import re

    answer = await http.post("/console/sign-in", data={"api_key": key, "next": "/console/queue"})
    assert answer.status_code == 303, answer.text
    page = await http.get("/console/queue")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text
    return token[1]


def visible_text(html: str) -> str:
    """The text a reader sees in `html`: no tags, attributes, scripts or styles; one space between parts."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.hidden = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.hidden += tag in ("script", "style", "template")

        def handle_endtag(self, tag: str) -> None:
            self.hidden -= tag in ("script", "style", "template") and self.hidden > 0

        def handle_data(self, data: str) -> None:
            if not self.hidden and data.strip():
                self.parts.append(data.strip())

    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)
