"""The gateway process: connects the MQTT edge, the ingest loop and the store, and stops cleanly.

Start-up waits for the database (a gateway may start before it), says which TimescaleDB edition it
runs on, then serves metrics and ingests until stopped. Stopping finishes the batch in hand; what
is not yet committed stays unacknowledged with the broker and comes back on the next start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from gateway.decoder import DecodeLimits
from gateway.ingest import BatchPolicy, Ingestor
from gateway.metrics import GatewayMetrics
from gateway.mqtt_edge import EdgeConfig, MqttEdge
from telemetry.database import create_pool_when_ready
from telemetry.edition import detect

__all__ = ["GatewayConfig", "run_gateway"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    database_url: str
    edge: EdgeConfig
    batch: BatchPolicy
    limits: DecodeLimits
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0


async def run_gateway(
    config: GatewayConfig, stop: asyncio.Event, metrics: GatewayMetrics | None = None
) -> None:
    """Ingest until `stop` is set."""
    pool = await create_pool_when_ready(
        config.database_url, application_name=f"ondol-{config.edge.client_id}", stop=stop
    )
    if pool is None:
        return
    try:
        async with pool.acquire() as conn:
            features = await detect(conn)
        log.info("store: %s", features.describe())
        metrics = metrics or GatewayMetrics()
        if config.metrics_port:
            metrics.serve(config.metrics_host, config.metrics_port)
        wakeup = asyncio.Event()
        gauge = metrics.subscribed
        edge = MqttEdge(
            config.edge,
            wakeup.set,
            lambda on: gauge.set(int(on)),
            metrics.packet_id_reuses.inc,
        )
        ingestor = Ingestor(
            pool, edge, policy=config.batch, limits=config.limits, metrics=metrics, wakeup=wakeup
        )
        edge.start()
        try:
            await ingestor.run(stop)
        finally:
            await edge.stop()
    finally:
        await pool.close()
