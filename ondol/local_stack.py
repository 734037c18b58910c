"""`ondol up`: the whole system on one machine, on loopback, with embedded defaults.

Starts (or reuses, when URLs are given) PostgreSQL with TimescaleDB and Mosquitto, applies the
migrations, registers the simulated fleet, then supervises the gateway, the diagnostics worker, the
webhook delivery worker, the API and the simulator as child processes: a child that dies is
restarted, and Ctrl-C stops them all, newest first, then the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final
from urllib.parse import quote

import httpx

from diagnostics.service_points import seed_if_empty
from gateway.broker_accounts import mosquitto_hash, set_account
from ondol.admin_token import TOKEN_FILE, ensure_admin_token
from ondol.broker_auth import AuthFiles, sync_auth_files
from ondol.broker_tls import CertificateAuthority
from ondol.fleet_seed import register_sim_fleet
from ondol.local_replication import ReplicatedPostgres
from ondol.local_servers import BrokerSecurity, MosquittoServer, PostgresServer, ServerError
from ondol.schema import migrate_schema
from ondol.settings import Settings
from telemetry.database import Connection, connect
from telemetry.edition import detect

__all__ = ["LocalStack", "up"]

_CHILDREN = ("broker-auth", "diagnostics", "gateway", "commands", "webhooks", "alerts", "api", "sim")


def write_secret(path: Path, make: Callable[[], str]) -> None:
    """Create a secret file readable by its owner only (never readable by others, not even for a
    moment), or tighten an existing one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return
    with os.fdopen(fd, "w") as out:
        out.write(make() + "\n")


REPLICATED_DIR: Final = "postgres-ha"


def local_replicated(settings: Settings) -> ReplicatedPostgres:
    """The replicated set `ondol up --replicas N` runs under the state directory (ports from pg_port on)."""
    n = settings.pg_replicas
    ports = [settings.pg_port + i for i in range(1 + n)]
    return ReplicatedPostgres(settings.state_dir / REPLICATED_DIR, n, host=settings.pg_host, ports=ports)


def say(message: str) -> None:
    print(f"[ondol] {message}", flush=True)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    log: IO[bytes] | None = None


@dataclass
class LocalStack:
    settings: Settings
    postgres: PostgresServer | None = None
    replicated: ReplicatedPostgres | None = None
    mosquitto: MosquittoServer | None = None
    children: list[Child] = field(default_factory=list)
    database_url: str = ""
    mqtt_url: str = ""
    admin_token: str = ""
    gateway_password: str = field(default="", repr=False)
    dispatcher_password: str = field(default="", repr=False)
    ca_file: Path | None = None

    def start_database(self) -> None:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(s.state_dir, 0o755)  # noqa: S103 - the postgres and mosquitto users must traverse it
        self._stop_stale_servers()
        self._check_ports()
        if s.database_url:
            self.database_url = s.database_url
            say("using the database at --database-url")
            return
        if s.pg_replicas:
            self._start_replicated()
            return
        self.postgres = PostgresServer(s.state_dir / "postgres", s.pg_port, host=s.pg_host)
        if self.postgres.initialise():
            say(f"created a private PostgreSQL cluster in {self.postgres.data_dir}")
        self.postgres.start()
        self.database_url = self.postgres.dsn
        say(f"PostgreSQL 15 + TimescaleDB on {s.pg_host}:{s.pg_port}")

    def _start_replicated(self) -> None:
        """A primary and `pg_replicas` synchronous standbys (docs/reliability.md): every process gets
        all of them in one URL, and the API reads from the standbys."""
        self.replicated = local_replicated(self.settings)
        if self.replicated.initialise():
            say(f"created a primary and {self.settings.pg_replicas} synchronous standby(s) under "
                f"{self.settings.state_dir / REPLICATED_DIR}")  # fmt: skip
        self.replicated.start()
        self.database_url = self.replicated.dsn()
        ports = ", ".join(str(p) for p in self.replicated.ports)
        say(
            f"PostgreSQL 15 + TimescaleDB, primary and synchronous standbys on {self.settings.pg_host}: {ports}"
        )

    def start_broker(self) -> None:
        """The private broker, secured: accounts from the database, TLS with a local CA (after
        `prepare_database`, which provisions the accounts)."""
        s = self.settings
        if s.mqtt_url:
            self.mqtt_url = s.mqtt_url
            say("using the broker at --mqtt-url")
            return
        base = s.state_dir / "mosquitto"
        tls = None
        if s.mqtt_tls_port:
            authority = CertificateAuthority(s.state_dir / "tls").ensure()
            tls = authority.server_certificate("broker")
            self.ca_file = authority.cert_file
        security = BrokerSecurity(
            password_file=self.auth_files.password_file, acl_file=self.auth_files.acl_file,
            tls_port=s.mqtt_tls_port or None,
            cert_file=tls.cert_file if tls else None, key_file=tls.key_file if tls else None,
            ca_file=tls.ca_file if tls else None,
            require_client_certificate=s.mqtt_require_client_cert,
        )  # fmt: skip
        self.mosquitto = MosquittoServer(base, s.mqtt_port, host=s.mqtt_host, security=security)
        self.mosquitto.start()
        self.mqtt_url = f"mqtt://{s.mqtt_host}:{s.mqtt_port}"
        where = f"{s.mqtt_host}:{s.mqtt_port}"
        if s.mqtt_tls_port:
            where += f" and TLS on {s.mqtt_tls_port}"
        say(f"Mosquitto on {where}: no anonymous clients, a password per device, topic ACL")

    @property
    def auth_files(self) -> AuthFiles:
        base = self.settings.state_dir / "mosquitto"
        return AuthFiles(password_file=base / "passwords", acl_file=base / "acl")

    def _stop_stale_servers(self) -> None:
        """Servers of an earlier `ondol up` that was killed (not stopped) would hold the ports."""
        s = self.settings
        if (
            not s.database_url
            and PostgresServer(s.state_dir / "postgres", s.pg_port, host=s.pg_host).stop_stale()
        ):
            say("stopped a PostgreSQL left running by an earlier `ondol up`")
        if not s.database_url and s.pg_replicas and (s.state_dir / REPLICATED_DIR).is_dir():
            for node in local_replicated(s).nodes:
                if node.stop_stale():
                    say(f"stopped a PostgreSQL node left running on port {node.port}")
        if (
            not s.mqtt_url
            and MosquittoServer(s.state_dir / "mosquitto", s.mqtt_port, host=s.mqtt_host).stop_stale()
        ):
            say("stopped a Mosquitto left running by an earlier `ondol up`")

    def _check_ports(self) -> None:
        s = self.settings
        wanted = [("API", s.api_host, s.api_port)]
        if s.gateway_metrics_port:
            wanted.append(("gateway metrics", s.metrics_host, s.gateway_metrics_port))
        if s.api_metrics_port:
            wanted.append(("API metrics", s.metrics_host, s.api_metrics_port))
        if not s.database_url:
            wanted += [("PostgreSQL", s.pg_host, s.pg_port + i) for i in range(1 + s.pg_replicas)]
        if not s.mqtt_url:
            wanted.append(("MQTT", s.mqtt_host, s.mqtt_port))
            if s.mqtt_tls_port:
                wanted.append(("MQTT over TLS", s.mqtt_host, s.mqtt_tls_port))
        busy = [f"{what} port {host}:{port}" for what, host, port in wanted if not _port_free(host, port)]
        if busy:
            raise ServerError(
                "already in use: " + ", ".join(busy) + " (another `ondol up`? choose ports with ONDOL_*_PORT)"
            )

    async def prepare_database(self) -> None:
        async with connect(self.database_url, application_name="ondol-up") as conn:
            features = await detect(conn)
            say(f"store: {features.describe()}")
            applied = await migrate_schema(
                conn, on_apply=lambda m: say(f"migration {m.version:04d} {m.name}")
            )
            say(f"schema up to date ({len(applied)} migration(s) applied now)")
            async with conn.transaction():
                points = await seed_if_empty(conn)
            if points:
                say(f"seeded {points} service points")
            if not self.settings.mqtt_url:
                await self._provision_broker_accounts(conn)
            count = await register_sim_fleet(conn, self.settings)
            if count:
                say(f"registered {count} simulated boilers ({self.settings.sim_prefix}-00001…)")
            if not self.settings.mqtt_url:
                await sync_auth_files(conn, self.auth_files)
            self.admin_token, created = await ensure_admin_token(conn, self.settings.state_dir)
            where = self.settings.state_dir / TOKEN_FILE
            say(f"admin API key {'created' if created else 'reused'}: {self.admin_token}  (also in {where})")

    async def _provision_broker_accounts(self, conn: Connection) -> None:
        """The simulated fleet's secret (each device's password derives from it) and a fresh password
        for the gateway, which logs in under its client id."""
        s = self.settings
        write_secret(s.sim_fleet_secret_path(), lambda: secrets.token_urlsafe(32))
        write_secret(s.link_secret_path(), lambda: secrets.token_urlsafe(48))
        self.gateway_password = secrets.token_urlsafe(24)
        await set_account(conn, self.gateway_username, "gateway", mosquitto_hash(self.gateway_password),
                          issued_by="ondol up")  # fmt: skip
        # The command dispatcher has a gateway-role account of its own: the broker binds client ids to
        # usernames, so on the gateway's account it would take over the gateway's session.
        self.dispatcher_password = secrets.token_urlsafe(24)
        await set_account(conn, self.dispatcher_username, "gateway", mosquitto_hash(self.dispatcher_password),
                          issued_by="ondol up")  # fmt: skip

    @property
    def gateway_username(self) -> str:
        """Gateway accounts are named `gw.…`, a name no device id can have."""
        return f"gw.{self.settings.gateway_client_id}"

    @property
    def dispatcher_username(self) -> str:
        return f"gw.{self.settings.commands_client_id}"

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["ONDOL_DATABASE_URL"] = self.database_url
        if self.replicated is not None:
            env["ONDOL_DATABASE_READ_URL"] = self.replicated.dsn("prefer-standby")
            env["ONDOL_DATABASE_SYNC_STANDBYS"] = self.replicated.synchronous_names
        env["ONDOL_MQTT_URL"] = self.mqtt_url
        if self.mosquitto is not None:
            s = self.settings
            if s.mqtt_tls_port and not s.mqtt_require_client_cert and self.ca_file is not None:
                # Devices come over TLS, as they would from the internet; the gateway stays on loopback.
                env["ONDOL_SIM_MQTT_URL"] = f"mqtts://{s.mqtt_host}:{s.mqtt_tls_port}"
                env["ONDOL_MQTT_CA_FILE"] = str(self.ca_file)
        env["ONDOL_STATE_DIR"] = str(self.settings.state_dir)
        env["PYTHONUNBUFFERED"] = "1"
        # Everything runs on loopback here, so webhooks may go to a receiver on this machine.
        env.setdefault("ONDOL_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.1/32", "::1/128"]')
        return env

    def gateway_env(self) -> dict[str, str]:
        """The gateway alone gets the gateway account's password."""
        return self._broker_login(self.gateway_username, self.gateway_password)

    def dispatcher_env(self) -> dict[str, str]:
        """The command dispatcher alone gets its account's password (it publishes on devices' command
        topics, which only gateway-role accounts may)."""
        return self._broker_login(self.dispatcher_username, self.dispatcher_password)

    def _broker_login(self, username: str, password: str) -> dict[str, str]:
        env = self.child_env()
        if self.mosquitto is not None:
            s = self.settings
            env["ONDOL_MQTT_URL"] = (
                f"mqtt://{quote(username, safe='')}:{quote(password, safe='')}@{s.mqtt_host}:{s.mqtt_port}"
            )
        return env

    def start_children(self) -> None:
        logs = self.settings.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        for name in _CHILDREN:
            if name == "sim" and self.settings.sim_devices == 0:
                continue
            if name == "broker-auth" and self.mosquitto is None:
                continue
            argv = [sys.executable, "-m", "ondol", name]
            if name == "sim":
                argv += ["--no-register", "--interval", str(self.settings.sim_report_interval_s)]
            if name == "broker-auth" and self.mosquitto is not None:
                argv += ["--password-file", str(self.auth_files.password_file),
                         "--acl-file", str(self.auth_files.acl_file),
                         "--broker-pid-file", str(self.mosquitto.pid_file)]  # fmt: skip
            child = Child(name, argv, logs / f"{name}.log")
            self._spawn(child)
            self.children.append(child)

    def _spawn(self, child: Child) -> None:
        if child.log is None:
            child.log = child.log_path.open("ab")
        env = {"gateway": self.gateway_env, "commands": self.dispatcher_env}.get(child.name, self.child_env)()
        child.process = subprocess.Popen(
            child.argv, env=env, stdout=child.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def supervise_once(self) -> None:
        """Restart children that died, at most 5 times a minute each."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            code = child.process.returncode
            child.restarts = [t for t in child.restarts if now - t < 60] + [now]
            if len(child.restarts) > 5:
                raise ServerError(f"{child.name} keeps failing (exit {code}); see {child.log_path}")
            say(f"{child.name} exited with code {code}; restarting (log: {child.log_path})")
            self._spawn(child)
        self._notice_lost_nodes()

    def _notice_lost_nodes(self) -> None:
        """A database node of a replicated set that died is reaped and reported, not restarted: which
        node is the primary now is an operator's decision (`ondol db promote`, then `ondol db rejoin`)."""
        if self.replicated is None:
            return
        for i, node in enumerate(self.replicated.nodes):
            if node.process is not None and node.process.poll() is not None:
                say(f"PostgreSQL {self.replicated.name(i)} (port {node.port}) exited with code "
                    f"{node.process.returncode}; see `ondol db status`")  # fmt: skip
                node.process = None

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                child.process.wait(20)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
            if child.log is not None:
                child.log.close()
            say(f"stopped {child.name}")
        if self.mosquitto is not None:
            self.mosquitto.stop()
            say("stopped Mosquitto")
        if self.postgres is not None:
            self.postgres.stop()
            say("stopped PostgreSQL")
        if self.replicated is not None:
            self.replicated.stop()
            for node in self.replicated.nodes:
                node.stop_stale()  # a node `ondol db rejoin` started is not this process's child
            say("stopped the PostgreSQL primary and standbys")


def _online_count(api: str, token: str) -> int | None:
    count, cursor = 0, None
    with httpx.Client(timeout=5, headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            params: dict[str, str | int] = {"status": "online", "limit": 500}
            if cursor:
                params["cursor"] = cursor
            response = client.get(f"{api}/v1/devices", params=params)
            if response.status_code != 200:
                return None
            body = response.json()
            count += len(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return count


def _wait_healthy(api: str, stack: LocalStack, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api}/healthz", timeout=2).status_code == 200:
                return
        stack.supervise_once()
        time.sleep(0.3)
    raise ServerError(f"the API did not answer at {api}/healthz within {timeout_s}s")


def up(settings: Settings) -> None:
    """Run the whole system until Ctrl-C (SIGINT) or SIGTERM."""
    stop = False

    def request_stop(*_: object) -> None:
        nonlocal stop
        stop = True

    def interrupt_start(*_: object) -> None:
        raise KeyboardInterrupt

    # While starting, Ctrl-C or SIGTERM abandons the start (and the finally below cleans up).
    signal.signal(signal.SIGINT, interrupt_start)
    signal.signal(signal.SIGTERM, interrupt_start)
    stack = LocalStack(settings)
    try:
        stack.start_database()
        asyncio.run(stack.prepare_database())
        stack.start_broker()
        stack.start_children()
        api = f"http://{settings.api_host}:{settings.api_port}"
        _wait_healthy(api, stack)
        _where_to_look(stack, api)
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        last_report = time.monotonic()
        while not stop:
            time.sleep(0.5)
            stack.supervise_once()
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):
                    say(
                        f"{_online_count(api, stack.admin_token)} of {settings.sim_devices} simulated boilers online"
                    )
    except KeyboardInterrupt:
        say("start interrupted")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean stop short
        say("stopping…")
        stack.stop()


def _where_to_look(stack: LocalStack, api: str) -> None:
    s = stack.settings
    lines = [
        "Ondol is running. Where to look:",
        f"  API            {api}   (OpenAPI: {api}/docs)",
        f"  agent console  {api}/console   (sign in with the admin API key below, or an agent's or technician's)",
        f"  online boilers {api}/v1/devices?status=online",
        f"  quarantine     {api}/v1/quarantine",
        f"  webhooks       {api}/v1/webhooks   (subscribe a receiver; loopback allowed here)",
        f"  admin API key  {s.state_dir / TOKEN_FILE}   (send it as Authorization: Bearer <key>)",
        f"  MQTT broker    {stack.mqtt_url}   (accounts: broker_accounts; devices' CA: {stack.ca_file})",
    ]
    if s.gateway_metrics_port:
        lines.append(
            f"  metrics        http://{s.metrics_host}:{s.gateway_metrics_port}/metrics   (the gateway)"
        )
    if s.api_metrics_port:
        lines.append(
            f"  metrics        http://{s.metrics_host}:{s.api_metrics_port}/metrics   (API requests; webhook, alert, "
            "ticket and inbox queues: docs/operations.md)"
        )
    if stack.postgres is not None:
        lines.append(f"  database       psql '{stack.database_url}'")
    if stack.replicated is not None:
        lines.append(f"  database       {stack.database_url}   (failover: `ondol db status|promote|rejoin`)")
    lines += [f"  logs           {s.state_dir / 'logs'}", "Press Ctrl-C to stop everything."]
    for line in lines:
        say(line)
