"""Prometheus metrics for every process that has them: the one module that imports prometheus_client.

The gateway counts what it ingests; the API process counts its requests and reports the work queues
the database holds (docs/operations.md). Both build their metrics from the types here and expose them
in the Prometheus text format, so the library stays behind one module whichever layer measures.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import start_http_server as _start_http_server

__all__ = ["CONTENT_TYPE", "CollectorRegistry", "Counter", "Gauge", "Histogram", "exposition", "serve_http"]

CONTENT_TYPE: Final[str] = CONTENT_TYPE_LATEST
"""The text format's media type, as the library writes it (and as the gateway's endpoint sends it)."""


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format."""
    return generate_latest(registry)


def serve_http(registry: CollectorRegistry, host: str, port: int) -> None:
    """Expose the registry at `http://host:port/metrics` from a background thread (for processes that
    run no web server of their own)."""
    _start_http_server(port, addr=host, registry=registry)
