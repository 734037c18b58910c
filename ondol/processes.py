"""Entry points of Ondol's long-running processes, each built from settings: gateway, worker, API, simulator.

Each stops cleanly on SIGTERM or SIGINT. This module is the only one that imports uvicorn. Imports
are made inside each entry point so that a process loads only what it runs (the gateway starts
without the web framework).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ondol.settings import Settings

if TYPE_CHECKING:
    from api.routes.broker_accounts import DeviceBroker
    from firmware_sim.runner import FleetRun, FleetStats
    from gateway.service import GatewayConfig
    from ondol.broker_auth import AuthFiles

__all__ = [
    "device_broker",
    "gateway_config",
    "run_api",
    "run_broker_auth_process",
    "run_commands",
    "run_diagnostics",
    "run_gateway_process",
    "run_simulator",
    "run_webhooks",
]

log = logging.getLogger(__name__)


def require_database(settings: Settings) -> str:
    if not settings.database_url:
        raise SystemExit("ONDOL_DATABASE_URL (or --database-url) is required; `ondol up` sets it for you")
    return settings.database_url


def gateway_config(settings: Settings) -> GatewayConfig:
    from gateway.decoder import DecodeLimits
    from gateway.ingest import BatchPolicy
    from gateway.mqtt_edge import EdgeConfig
    from gateway.service import GatewayConfig

    return GatewayConfig(
        database_url=require_database(settings),
        edge=EdgeConfig(
            broker=settings.broker(),
            client_id=settings.gateway_client_id,
            share_group=settings.gateway_share_group or None,
            session_expiry_s=settings.gateway_session_expiry_s,
            mqtt5=settings.gateway_mqtt5,
        ),
        batch=BatchPolicy(max_rows=settings.batch_max_rows, max_delay_s=settings.batch_max_delay_ms / 1000),
        limits=DecodeLimits(
            max_payload_bytes=settings.max_payload_bytes,
            max_future_skew=timedelta(seconds=settings.max_clock_skew_s),
            max_age=timedelta(days=settings.max_backfill_days),
        ),
        metrics_host=settings.metrics_host,
        metrics_port=settings.gateway_metrics_port,
    )


def _run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


GATEWAY_GC_THRESHOLDS: Final = (50_000, 20, 100)
"""The gateway's garbage-collector thresholds (Python's default is 700, 10, 10)."""


def run_gateway_process(settings: Settings) -> None:
    from gateway.service import run_gateway

    config = gateway_config(settings)
    _tune_collector_for_ingest()
    _run_until_signalled(lambda stop: run_gateway(config, stop))


def _tune_collector_for_ingest() -> None:
    """The gateway makes a few short-lived tuples per message and may hold a backlog of a hundred
    thousand messages. With the default thresholds the cyclic collector runs every 700 allocations and
    keeps walking that backlog; its time showed up in the profile as the cost of making each message
    (bench/profile_gateway.py). Freezing what start-up built and collecting the young generation every
    50,000 allocations cut the gateway's CPU per message by 3-5 µs (about 15 %) in bench/ingest.py. Our
    objects rarely form cycles (reference counting frees them), so memory does not grow for it."""
    gc.freeze()
    gc.set_threshold(*GATEWAY_GC_THRESHOLDS)


def run_diagnostics(settings: Settings) -> None:
    from diagnostics.faults.engine import EngineConfig
    from diagnostics.worker import RetentionDays, WorkerConfig, run_worker
    from telemetry.replication import SyncPolicy

    config = WorkerConfig(
        database_url=require_database(settings),
        maintenance_interval_s=settings.maintenance_interval_s,
        sweep_interval_s=settings.sweep_interval_s,
        engine=EngineConfig(
            guidance_wait=timedelta(seconds=settings.guidance_wait_s),
            guidance_hold_limit=timedelta(hours=settings.guidance_hold_limit_h),
            recurrence_window=timedelta(hours=settings.recurrence_window_h),
            contact_within=timedelta(seconds=settings.contact_within_s),
            stay_clear_for_remote_resolution=timedelta(hours=settings.stay_clear_h),
            default_warranty_years=settings.default_warranty_years,
            alert_ack_within=timedelta(minutes=settings.alert_ack_within_min),
            device_offline_events=settings.device_offline_events,
        ),
        retention=RetentionDays(
            raw=settings.raw_retention_days,
            events=settings.event_retention_days,
            rollup=settings.rollup_retention_days,
            quarantine=settings.quarantine_retention_days,
        ),
        campaign=settings.campaign_config(),
        sync_policy=SyncPolicy(settings.database_sync_standbys, settings.sync_degrade_after_s),
    )
    _run_until_signalled(lambda stop: run_worker(config, stop))


def device_broker(settings: Settings) -> DeviceBroker:
    """Where devices connect and the PEM of the CA they trust, for the credentials the API issues;
    ValueError when the CA file cannot be read (the API would otherwise hand out a useless answer)."""
    from api.routes.broker_accounts import DeviceBroker

    address = settings.device_broker()
    pem = None
    if address.tls and address.ca_file:
        try:
            pem = Path(address.ca_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the devices' CA certificate {address.ca_file}: {exc}") from exc
    return DeviceBroker(host=address.host, port=address.port, tls=address.tls, ca_certificate=pem)


def run_api(settings: Settings) -> None:
    """The API on api_host:api_port and, unless its port is 0, its metrics on metrics_host:api_metrics_port,
    in one event loop. Requests are logged by the app itself (api.metrics), by route template; uvicorn
    keeps the process's logging as `_logging` set it and adds no access log of its own."""
    import uvicorn

    from api.app import ApiConfig, create_app
    from api.metrics import create_metrics_app
    from diagnostics.commands.policy import PolicySettings

    config = ApiConfig(
        database_url=require_database(settings),
        read_database_url=settings.database_read_url,
        read_max_lag_s=settings.read_max_lag_s,
        webhook_allowed_networks=tuple(settings.webhook_allowed_networks),
        default_warranty_years=settings.default_warranty_years,
        max_request_bytes=settings.api_max_request_bytes,
        rate_per_key_s=settings.api_rate_per_key_s,
        rate_burst_per_key=settings.api_rate_burst_per_key,
        device_broker=device_broker(settings),
        command_policy=PolicySettings(
            safety_quiet_hours=settings.commands_safety_quiet_hours, rate_limit=settings.commands_rate_limit
        ),
        command_default_ttl_s=settings.commands_default_ttl_s,
    )
    app = create_app(config)

    class Server(uvicorn.Server):
        """Signals are handled once for both listeners (`_run_until_signalled`), not by each server."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    servers = [Server(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_config=None,
                                     access_log=False))]  # fmt: skip
    if settings.api_metrics_port:
        metrics = uvicorn.Config(create_metrics_app(app), host=settings.metrics_host,
                                 port=settings.api_metrics_port, log_config=None, access_log=False, lifespan="off")  # fmt: skip
        servers.append(Server(metrics))
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.api_metrics_port)

    async def serve(stop: asyncio.Event) -> None:
        running = [asyncio.create_task(server.serve()) for server in servers]
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([*running, stopped], return_when=asyncio.FIRST_COMPLETED)
        for server in servers:  # a signal, or one listener ended: the process ends
            server.should_exit = True
        stopped.cancel()
        await asyncio.gather(*running)

    _run_until_signalled(serve)


def run_commands(settings: Settings) -> None:
    from outbox.commands.dispatch import DispatchConfig, run_dispatcher

    config = DispatchConfig(
        broker=settings.broker(), client_id=settings.commands_client_id,
        resend_after_s=settings.commands_resend_after_s,
    )  # fmt: skip
    database_url = require_database(settings)
    _run_until_signalled(lambda stop: run_dispatcher(database_url, config, stop))


def run_webhooks(settings: Settings) -> None:
    from outbox.outbound_guard import OutboundPolicy
    from outbox.webhooks.delivery import DeliveryConfig, run_deliverer

    config = DeliveryConfig(
        policy=OutboundPolicy.allowing(settings.webhook_allowed_networks),
        timeout_s=settings.webhook_timeout_s,
        lease_s=settings.webhook_lease_s,
        safety_backoff_cap_s=settings.webhook_safety_retry_s,
    )
    database_url = require_database(settings)
    _run_until_signalled(lambda stop: run_deliverer(database_url, config, stop))


def run_alerts(settings: Settings) -> None:
    from diagnostics.customer_link.tokens import LinkSecret
    from outbox.alerts.delivery import AlertConfig, LinkSettings, ProviderSettings, run_alert_worker

    providers = ProviderSettings(
        kind=settings.alert_providers, sms_url=settings.sms_gateway_url, sms_api_key=settings.sms_gateway_key,
        sms_sender=settings.sms_sender, alimtalk_url=settings.alimtalk_url, alimtalk_key=settings.alimtalk_key,
    )  # fmt: skip
    database_url = require_database(settings)
    secret = settings.link_secret()
    links = None
    if secret is not None:
        links = LinkSettings(LinkSecret(secret), settings.customer_base_url(),
                             timedelta(days=settings.link_valid_days))  # fmt: skip
    else:
        log.warning("no customer-link secret (%s): alerts go without their link", settings.link_secret_path())
    _run_until_signalled(lambda stop: run_alert_worker(database_url, providers, AlertConfig(), stop, links))


def run_broker_auth_process(settings: Settings, files: AuthFiles, broker_pid_file: Path) -> None:
    """Keep a Mosquitto's password and ACL files equal to the broker accounts until signalled."""
    from ondol.broker_auth import run_broker_auth

    database_url = require_database(settings)
    _run_until_signalled(
        lambda stop: run_broker_auth(database_url, files, broker_pid_file, should_stop=stop.is_set)
    )


def run_simulator(
    settings: Settings, run: FleetRun, progress: Callable[[FleetStats], None] | None = None
) -> FleetStats:
    """Run the simulated fleet until done or signalled."""
    from firmware_sim.fleet import plan_fleet
    from firmware_sim.runner import run_fleet

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from firmware_sim.credentials import password_source

    devices = plan_fleet(settings.sim_devices, seed=settings.sim_seed, prefix=settings.sim_prefix)
    secret = settings.sim_fleet_secret()
    return run_fleet(
        devices, settings.sim_broker(), run, should_stop=stop.is_set, progress=progress,
        device_password=password_source(secret) if secret else None,
    )  # fmt: skip
