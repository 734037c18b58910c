"""The gateway's Prometheus counters (the metric types come from telemetry.prometheus)."""

from __future__ import annotations

from telemetry.prometheus import CollectorRegistry, Counter, Gauge, Histogram, serve_http

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    """Counters for received, written, quarantined, redelivered messages and batch latency."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("ondol_gateway_received", "Messages taken from the broker", registry=r)
        self.written = Counter("ondol_gateway_written", "Rows newly committed", ["kind"], registry=r)
        self.quarantined = Counter(
            "ondol_gateway_quarantined", "Messages quarantined", ["reason"], registry=r
        )
        self.redelivered = Counter(
            "ondol_gateway_redelivered", "Messages that were already stored (broker redelivery)", registry=r
        )
        self.dropped = Counter(
            "ondol_gateway_dropped",
            "Messages the store refused even to quarantine (logged; should stay 0)",
            registry=r,
        )
        self.acked = Counter("ondol_gateway_acked", "Acknowledgements sent after commit", registry=r)
        self.packet_id_reuses = Counter(
            "ondol_gateway_packet_id_reuses",
            "Deliveries whose packet id was still unacknowledged (the broker numbers messages as it queues them)",
            registry=r,
        )
        self.storage_retries = Counter(
            "ondol_gateway_storage_retries", "Batch writes retried after a database failure", registry=r
        )
        self.batch_seconds = Histogram(
            "ondol_gateway_batch_seconds", "Decode, write and commit time of one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "ondol_gateway_batch_rows", "Messages per batch",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000), registry=r,
        )  # fmt: skip
        self.subscribed = Gauge("ondol_gateway_subscribed", "1 while subscribed to the broker", registry=r)
        self.backlog = Gauge("ondol_gateway_backlog", "Messages received and not yet taken", registry=r)

    def serve(self, host: str, port: int) -> None:
        """Expose `/metrics` over HTTP on a background thread."""
        serve_http(self.registry, host, port)
