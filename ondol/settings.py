"""Every setting of Ondol, read once from `ONDOL_*` environment variables by the composition root.

Packages never read the environment: the command line builds their config objects from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from diagnostics.campaigns.plan import CampaignConfig
from diagnostics.cold_wave.forecasts import AdvisoryConfig
from ondol.input_errors import describe_validation_error
from protocol.broker import BrokerAddress

__all__ = [
    "LINK_SECRET_FILE",
    "SIM_FLEET_SECRET_FILE",
    "InvalidSettingsError",
    "Settings",
    "load_settings",
    "parse_mqtt_url",
]

SIM_FLEET_SECRET_FILE = "sim-fleet-secret"  # noqa: S105 - a file name, not a secret
LINK_SECRET_FILE = "link-secret"  # noqa: S105 - a file name, not a secret
_MQTT_SCHEMES = ("mqtt", "mqtts", "tcp", "ssl")


class Settings(BaseSettings):
    """Embedded defaults run the whole system on loopback with private servers under `state_dir`."""

    model_config = SettingsConfigDict(env_prefix="ONDOL_", extra="ignore")

    state_dir: Path = Field(Path(".ondol"), description="private servers' data, logs and secrets")
    database_url: str | None = Field(None, description="an existing TimescaleDB; unset: the private cluster")
    mqtt_url: str | None = Field(None, description="an existing broker (mqtt:// or mqtts://); unset: private")

    database_read_url: str | None = Field(
        None,
        description="where the API's read routes read (target_session_attrs=prefer-standby for replicas); "
        "unset: the database URL",
    )
    read_max_lag_s: float = Field(
        5.0, gt=0, description="a replica further behind than this is not read from"
    )
    database_sync_standbys: str = Field(
        "",
        description="the synchronous_standby_names the worker keeps in force ('FIRST 1 (node0, node1)'); "
        "empty: not replicated",
    )
    sync_degrade_after_s: float = Field(
        10.0,
        ge=0,
        description="how long commits wait for a lost synchronous standby before the primary goes on "
        "alone (0: wait forever)",
    )
    pg_host: str = "127.0.0.1"
    pg_port: int = Field(55432, ge=1, le=65535)
    pg_replicas: int = Field(
        0,
        ge=0,
        le=3,
        description="synchronous standbys of the private cluster, on the ports after pg_port "
        "(0: one cluster)",
    )
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    mqtt_tls_port: int = Field(8883, ge=0, le=65535, description="the private broker's TLS listener; 0: none")
    mqtt_ca_file: Path | None = Field(
        None, description="CA certificate for mqtts:// (unset: the system's CAs)"
    )
    mqtt_require_client_cert: bool = Field(
        False, description="mutual TLS on the private broker's TLS listener (device certificates)"
    )
    device_mqtt_url: str | None = Field(
        None,
        description="where devices connect (mqtt:// or mqtts://, with mqtt_ca_file the CA they trust), told "
        "to installers with each device's credentials; unset: where simulated devices connect",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    gateway_metrics_port: int = Field(9108, ge=0, le=65535, description="0 turns the endpoint off")
    api_metrics_port: int = Field(
        9109, ge=0, le=65535,
        description="the API process's /metrics on metrics_host: requests, work queues (docs/operations.md); 0: off",
    )  # fmt: skip

    gateway_client_id: str = "ondol-gateway-1"
    gateway_share_group: str = Field(
        "",
        description="shared-subscription group for N gateways (e.g. ondol-gateway); empty: one gateway, a plain "
        "subscription, which alone survives a Mosquitto restart without loss (docs/reliability.md)",
    )
    gateway_session_expiry_s: int = Field(7 * 24 * 3600, ge=60, description="MQTT 5 only")
    gateway_mqtt5: bool = Field(
        False, description="MQTT 5 for the gateway (3.1.1 costs less CPU per message)"
    )
    batch_max_rows: int = Field(
        20_000,
        ge=1,
        le=100_000,
        description="the most messages one transaction stores (a backlog drains in large batches)",
    )
    batch_max_delay_ms: int = Field(50, ge=1, le=10_000)
    max_payload_bytes: int = Field(16 * 1024, ge=256, le=1024 * 1024)
    max_clock_skew_s: int = Field(300, ge=0)
    max_backfill_days: int = Field(30, ge=1)

    report_interval_s: int = Field(60, ge=1, le=86400, description="default device report interval")
    raw_retention_days: int = Field(90, ge=1)
    event_retention_days: int = Field(730, ge=1)
    rollup_retention_days: int = Field(5 * 365, ge=1)
    quarantine_retention_days: int = Field(30, ge=1)
    maintenance_interval_s: int = Field(300, ge=5)

    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="non-public networks webhooks may still be sent to, e.g. 127.0.0.1/32 for a local receiver",
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    commands_client_id: str = Field("ondol-commands-1", description="the command dispatcher's MQTT client id")
    commands_resend_after_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="a sent command the boiler has not acknowledged is published again after this",
    )
    commands_default_ttl_s: int = Field(
        600, ge=10, le=86400, description="a command's validity when none is asked"
    )
    commands_safety_quiet_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 30,
        description="no remote lockout reset within this many hours of a safety-critical code",
    )
    commands_rate_limit: int = Field(10, ge=1, le=1000, description="commands per boiler per 10 minutes")
    alert_providers: Literal["sink", "http"] = Field(
        "sink",
        description="sink: record alerts in the database (shown by /v1/alert-sink); http: the providers below",
    )
    sms_gateway_url: str = ""
    sms_gateway_key: str = ""
    sms_sender: str = Field("15880000", description="the registered caller number SMS are sent from")
    alimtalk_url: str = ""
    alimtalk_key: str = ""
    api_max_request_bytes: int = Field(1024 * 1024, ge=1024, description="larger request bodies get 413")
    api_rate_per_key_s: float = Field(
        100.0, gt=0, description="average requests/s per API key and API process"
    )
    api_rate_burst_per_key: int = Field(500, ge=1, description="burst of requests per API key")
    device_offline_events: bool = Field(
        True, description="send device.offline to the call center when a device stops reporting"
    )
    alert_ack_within_min: float = Field(
        10, gt=0, le=24 * 60, description="a safety alert unacknowledged this long goes to the next contacts"
    )
    webhook_lease_s: float = Field(
        30.0, gt=0, le=3600, description="a claimed delivery is resent after this if its worker died"
    )
    webhook_safety_retry_s: float = Field(
        5.0, gt=0, le=300, description="the longest wait between attempts of a safety-critical event"
    )

    guidance_wait_s: float = Field(
        1800,
        gt=0,
        description="how long a guided customer has to clear a fault, from when the guidance reaches them",
    )
    guidance_hold_limit_h: float = Field(
        12,
        gt=0,
        le=48,
        description="guidance not delivered this long after the raise opens the ticket anyway",
    )
    recurrence_window_h: float = Field(24, gt=0, description="a fault back within this opens a ticket")
    contact_within_s: float = Field(
        3600, gt=0, description="contact the customer within this of a ticket opening"
    )
    stay_clear_h: float = Field(24, gt=0, description="a fault clear this long proposes remote resolution")
    default_warranty_years: int = Field(3, ge=0, le=30)
    sweep_interval_s: float = Field(5, gt=0)
    campaign_window: str = Field(
        "09-01..10-31",
        pattern=r"^\d{2}-\d{2}\.\.\d{2}-\d{2}$",
        description="the pre-season inspection window, MM-DD..MM-DD, Korean dates",
    )
    campaign_plan_lead_days: int = Field(21, ge=0, le=180, description="the plan is made this long before")
    campaign_remind_ahead_days: int = Field(21, ge=1, le=120, description="reminders go out this long before")
    campaign_follow_up_days: float = Field(
        4, gt=0, description="no answer this long after the reminder: follow up"
    )

    def campaign_config(self) -> CampaignConfig:
        first, last = self.campaign_window.split("..")
        return CampaignConfig(
            first=(int(first[:2]), int(first[3:])), last=(int(last[:2]), int(last[3:])),
            plan_lead_days=self.campaign_plan_lead_days, remind_ahead_days=self.campaign_remind_ahead_days,
            follow_up_after=timedelta(days=self.campaign_follow_up_days),
            default_warranty_years=self.default_warranty_years,
        )  # fmt: skip

    public_url: str | None = Field(
        None,
        description="the address customers open the links in their alerts at (https://…); unset: the API's",
    )
    link_secret_file: Path | None = Field(
        None,
        description="the secret customer-link tokens are derived from (32 bytes or more); unset: "
        "state_dir/link-secret, made by `ondol up`",
    )
    link_valid_days: int = Field(
        30, ge=1, le=365, description="a customer link's life after its last message"
    )
    cold_wave_min_c: float = Field(
        -12.0, ge=-40, le=5, description="a forecast minimum below this is a cold-wave day"
    )
    cold_wave_drop_c: float = Field(
        10.0, gt=0, le=30, description="a minimum this much lower than the day before too"
    )

    sim_devices: int = Field(200, ge=0, le=100_000)
    sim_seed: int = 1
    sim_report_interval_s: float = Field(10.0, gt=0)
    sim_prefix: str = Field("sim", pattern=r"^[A-Za-z0-9_-]{1,20}$")
    sim_mqtt_url: str | None = Field(None, description="where simulated devices connect; unset: mqtt_url")
    sim_fleet_secret_file: Path | None = Field(
        None,
        description="the simulated fleet's secret (each device's MQTT password is derived from it); "
        "unset: state_dir/sim-fleet-secret when `ondol up` made one",
    )

    @field_validator("campaign_window")
    @classmethod
    def _window(cls, value: str) -> str:
        first, last = (date(2024, int(part[:2]), int(part[3:])) for part in value.split(".."))
        if last < first:
            raise ValueError("the campaign window ends before it starts (it may not span the new year)")
        return value

    @field_validator("mqtt_url", "sim_mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        """Checked here, so a bad URL stops every command at start-up with the variable named (the
        message leaves the URL out: it may hold a password)."""
        if value:
            parts = urlsplit(value)
            if parts.scheme not in _MQTT_SCHEMES:
                raise ValueError("must start with mqtt:// or mqtts://")
            if not parts.hostname:
                raise ValueError("has no host (mqtt://host:port)")
        return value

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    def broker(self) -> BrokerAddress:
        """Where the platform (the gateway) connects."""
        if self.mqtt_url:
            return parse_mqtt_url(self.mqtt_url, ca_file=self.mqtt_ca_file)
        return BrokerAddress(host=self.mqtt_host, port=self.mqtt_port)

    def sim_broker(self) -> BrokerAddress:
        """Where simulated devices connect (the local stack sends them to the TLS listener)."""
        if self.sim_mqtt_url:
            return parse_mqtt_url(self.sim_mqtt_url, ca_file=self.mqtt_ca_file)
        return self.broker()

    def device_broker(self) -> BrokerAddress:
        """Where devices connect: told to installers with their MQTT credentials (no user or password)."""
        if self.device_mqtt_url:
            address = parse_mqtt_url(self.device_mqtt_url, ca_file=self.mqtt_ca_file)
        else:
            address = self.sim_broker()
        return BrokerAddress(host=address.host, port=address.port, tls=address.tls, ca_file=address.ca_file)

    def cold_wave_config(self) -> AdvisoryConfig:
        return AdvisoryConfig(min_below_c=self.cold_wave_min_c, drop_c=self.cold_wave_drop_c)

    def link_secret_path(self) -> Path:
        return self.link_secret_file or self.state_dir / LINK_SECRET_FILE

    def link_secret(self) -> bytes | None:
        """The secret customer-link tokens are derived from; None when there is none yet (alerts then go
        without a link, and the alert worker says so)."""
        path = self.link_secret_path()
        if self.link_secret_file is None and not path.exists():
            return None
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the customer-link secret: {exc}") from exc

    def customer_base_url(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    def sim_fleet_secret_path(self) -> Path:
        return self.sim_fleet_secret_file or self.state_dir / SIM_FLEET_SECRET_FILE

    def sim_fleet_secret(self) -> bytes | None:
        """The secret simulated devices derive their passwords from; None: they connect without one."""
        path = self.sim_fleet_secret_path()
        if self.sim_fleet_secret_file is None and not path.exists():
            return None
        try:
            return path.read_bytes().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the simulated fleet's secret: {exc}") from exc


def parse_mqtt_url(url: str, *, ca_file: Path | None = None) -> BrokerAddress:
    """`mqtt://[user[:password]@]host[:port]` or `mqtts://…` (TLS, default port 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in _MQTT_SCHEMES:
        raise ValueError(f"MQTT URL {url!r} must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {url!r} has no host")
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        ca_file=str(ca_file) if tls and ca_file else None,
    )


class InvalidSettingsError(ValueError):
    """Settings that cannot be used; `problems` has one line per bad variable or option."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_settings(overrides: Mapping[str, Any], options: Mapping[str, str]) -> Settings:
    """The settings from `ONDOL_*` variables, with `overrides` (command-line options: field → value;
    `options` names each field's option) on top. A bad value raises InvalidSettingsError naming the
    variable (`ONDOL_API_PORT`) or the option (`--devices`) the user set, never the field's name in
    the code; values of URLs, keys and secrets are not repeated, as they may hold credentials."""

    def name(loc: Sequence[int | str]) -> str:
        field = str(loc[0]) if loc else ""
        where = options[field] if field in overrides and field in options else _variable(field)
        return where + "".join(f"[{part}]" for part in loc[1:])

    def show_input(loc: Sequence[int | str]) -> bool:
        return bool(loc) and not _may_hold_credentials(str(loc[0]))

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InvalidSettingsError(describe_validation_error(exc, name=name, show_input=show_input)) from None
    except SettingsError as exc:  # a list or mapping variable that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        variable = _variable(found[1]) if found else "an ONDOL_* variable"
        raise InvalidSettingsError(
            [f'{variable}: must be written as JSON, e.g. ["127.0.0.1/32", "10.0.0.0/8"] for a list']
        ) from None


def _variable(field: str) -> str:
    return f"ONDOL_{field.upper()}"


def _may_hold_credentials(field: str) -> bool:
    return field.endswith(("_url", "_key")) or "secret" in field or "password" in field
