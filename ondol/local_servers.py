"""Private PostgreSQL (with TimescaleDB) and Mosquitto servers on loopback, for the local stack and tests.

Each server lives in a directory of its own, listens on 127.0.0.1 only, and is a child process:
stopping the parent's supervisor stops it. PostgreSQL refuses to run as root, so when we are root
the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["BrokerSecurity", "MosquittoServer", "PostgresServer", "ServerError", "free_port", "wait_for_port"]

PG_BIN: Final = Path("/usr/lib/postgresql/15/bin")

QUEUED_MESSAGES_PER_SESSION: Final = 2_000_000
"""What the broker holds for one gateway session that is away or not acknowledging (a database
outage): at the 12,000 msg/s one gateway sustains here that is 2.8 minutes; at a fleet of 100,000
boilers reporting once a minute (1,667 msg/s) it is 20 minutes. Beyond it the broker drops new
messages for that session. See docs/reliability.md."""

QUEUED_BYTES_PER_SESSION: Final = 4 * 1024**3
"""A memory bound on the same queue (payload bytes); 2,000,000 telemetry reports are about 1.2 GB."""

AUTOSAVE_INTERVAL_S: Final = 30


class ServerError(RuntimeError):
    """A local server could not be set up or did not start."""


_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago, outside the range the kernel hands to outgoing connections.

    Port 0 would give a port from that very range: a simulated fleet opening thousands of connections
    between our check and the server's bind can take it (the server then fails with "address in
    use"). A port outside the range is never taken that way."""
    for _ in range(100):
        port = secrets.choice(_listening_ports())
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything tried was taken: let the kernel choose
        s.bind((host, 0))
        return int(s.getsockname()[1])


@functools.cache
def _listening_ports() -> list[int]:
    try:
        low, high = (int(v) for v in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return [p for p in range(10_000, 65_536) if not low <= p <= high]


def wait_for_port(
    host: str, port: int, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until something accepts connections on host:port, or fail with a clear error."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerError(
                f"server process exited with code {process.returncode} before listening on {port}"
            )
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise ServerError(f"nothing listens on {host}:{port} after {timeout_s}s")


def _service_user(name: str) -> pwd.struct_passwd | None:
    """The system user a server should run as when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError as exc:
        raise ServerError(
            f"running as root needs the system user {name!r} (installed with the server)"
        ) from exc


def _chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(Path(root) / name, user.pw_uid, user.pw_gid)
    os.chown(path, user.pw_uid, user.pw_gid)


def _reachable_by(path: Path, user: pwd.struct_passwd | None) -> bool:
    """Whether `user` may traverse every parent of `path` (a root-owned 0700 home may not)."""
    if user is None:
        return True
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001 and parent.stat().st_uid != user.pw_uid:
            return False
    return True


@dataclass
class PostgresServer:
    """A private PostgreSQL 15 cluster with TimescaleDB preloaded."""

    base_dir: Path
    port: int
    host: str = "127.0.0.1"
    durable: bool = True
    """False turns off fsync: for throwaway test clusters only."""
    database: str = "ondol"
    user: str = "ondol"
    extra_settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._owner = _service_user("postgres")
        data_parent = self.base_dir
        if not _reachable_by(self.base_dir, self._owner):
            # The postgres user cannot reach a directory below a private home: keep the cluster in a
            # directory it can reach, named after ours so that it stays the same across runs.
            digest = hashlib.sha256(str(self.base_dir.resolve()).encode()).hexdigest()[:12]
            data_parent = Path("/var/lib/ondol") / f"postgres-{digest}"
        self.data_dir = data_parent / "pgdata"
        self.socket_dir = data_parent / "run"
        self.password_file = self.base_dir / "postgres-password"
        self.log_file = self.base_dir / "postgres.log"

    @property
    def dsn(self) -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://{self.user}:{password}@{self.host}:{self.port}/{self.database}"

    def initialise(self) -> bool:
        """Create the cluster and database if missing; True when it was created now."""
        if self.initialised:
            return False
        self._prepare_data_dir()
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            os.chmod(self.password_file, 0o600)
        pwfile = self.data_dir.parent / ".initdb-pw"
        pwfile.write_text(self.password_file.read_text())
        _chown_tree(pwfile, self._owner)
        try:
            self._run(
                [str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", self.user, "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale", "--no-instructions"]
            )  # fmt: skip
        finally:
            pwfile.unlink()
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(self._settings())
        self.start()
        try:
            self._run(
                [str(PG_BIN / "createdb"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user,
                 self.database]
            )  # fmt: skip
        finally:
            self.stop()
        return True

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _prepare_data_dir(self) -> None:
        """An empty data directory (and socket directory) the postgres user owns."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not (PG_BIN / "initdb").exists():
            raise ServerError(f"PostgreSQL 15 is not installed ({PG_BIN}); run the system set-up first")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir.parent, 0o755)  # noqa: S103 - the postgres user must traverse it
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(mode=0o700)
        self.socket_dir.mkdir(exist_ok=True)
        for path in (self.data_dir, self.socket_dir):
            _chown_tree(path, self._owner)

    def clone_from(self, primary: PostgresServer, name: str) -> None:
        """Make this cluster a streaming standby of `primary` (running): a base backup, then
        standby.signal and the connection to the primary under `name` (what synchronous_standby_names
        lists). The roles and password are the primary's."""
        self._prepare_data_dir()
        shutil.copyfile(primary.password_file, self.password_file)
        os.chmod(self.password_file, 0o600)
        self._run([str(PG_BIN / "pg_basebackup"), "-h", primary.host, "-p", str(primary.port), "-U", self.user,
                   "-D", str(self.data_dir), "-X", "stream", "-c", "fast"])  # fmt: skip
        self.follow(primary, name)

    def follow(self, primary: PostgresServer, name: str) -> None:
        """Start as a standby of `primary` (the cluster must be stopped): standby.signal, and the
        connection to the primary in postgresql.auto.conf, replacing any earlier one."""
        password = self.password_file.read_text().strip()
        self.set_setting("primary_conninfo", f"host={primary.host} port={primary.port} user={self.user} "
                                              f"password={password} application_name={name}")  # fmt: skip
        (self.data_dir / "standby.signal").write_text("")
        _chown_tree(self.data_dir, self._owner)

    def rewind_from(self, primary: PostgresServer) -> None:
        """Bring a stopped former primary back in line with the new `primary` (pg_rewind: only the
        blocks that diverged are copied; needs wal_log_hints, which replicated clusters have)."""
        password = self.password_file.read_text().strip()
        self._run([str(PG_BIN / "pg_rewind"), "-D", str(self.data_dir),
                   f"--source-server=host={primary.host} port={primary.port} user={self.user} "
                   f"password={password} dbname={self.database}"])  # fmt: skip

    def set_setting(self, name: str, value: str) -> None:
        """Write a setting into postgresql.auto.conf (replacing an earlier value), for the next start or
        reload; the value is quoted as PostgreSQL reads it."""
        conf = self.data_dir / "postgresql.auto.conf"
        kept = [line for line in conf.read_text().splitlines() if not line.startswith(f"{name} ")]
        quoted = value.replace("'", "''")
        kept.append(f"{name} = '{quoted}'")
        conf.write_text("\n".join(kept) + "\n")
        _chown_tree(conf, self._owner)

    def sql(self, statement: str) -> str:
        """Run one statement with psql as the cluster's owner; its output (unaligned, no headers)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSFILE": "/dev/null",
               "PGPASSWORD": self.password_file.read_text().strip(), "LC_ALL": "C"}  # fmt: skip
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.database,
             "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement],
            env=env, capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServerError(f"psql failed: {result.stderr.decode(errors='replace')[-1000:]}")
        return result.stdout.decode().strip()

    def promote(self) -> None:
        """End recovery: this standby becomes a primary (pg_ctl promote, waiting until it is)."""
        self._run([str(PG_BIN / "pg_ctl"), "promote", "-w", "-t", "60", "-D", str(self.data_dir)])

    def _settings(self) -> str:
        lines = [
            "listen_addresses = '127.0.0.1'",
            "shared_preload_libraries = 'timescaledb'",
            "timescaledb.telemetry_level = 'off'",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "work_mem = '16MB'",
            "max_wal_size = '2GB'",
            "log_min_messages = 'warning'",
        ]
        if not self.durable:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        lines += [f"{name} = '{value}'" for name, value in self.extra_settings.items()]
        return "\n".join(lines) + "\n"

    def _run(self, argv: list[str]) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSFILE": "/dev/null",
               "PGPASSWORD": self.password_file.read_text().strip(), "LC_ALL": "C"}  # fmt: skip
        result = subprocess.run(
            argv, env=env, capture_output=True, check=False,
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServerError(
                f"{Path(argv[0]).name} failed: {result.stderr.decode(errors='replace')[-2000:]}"
            )

    def stop_stale(self) -> bool:
        """Stop a server a killed supervisor left running on this cluster; True if there was one."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            return False  # a stale file of a dead server: PostgreSQL itself deals with it
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server (port and addresses from the command line) and wait until it accepts."""
        log = self.log_file.open("ab")
        if self._owner:
            os.chown(self.log_file, self._owner.pw_uid, self._owner.pw_gid)
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", self.host,
             "-k", str(self.socket_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
            env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )  # fmt: skip
        log.close()
        try:
            wait_for_port(self.host, self.port, timeout_s, self.process)
            self._wait_accepting(timeout_s)
        except ServerError as exc:
            raise ServerError(f"{exc}; see {self.log_file}: {self._log_tail()}") from exc

    def _wait_accepting(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"], check=False
            )
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise ServerError("PostgreSQL did not become ready")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-1500:]
        return ""

    def stop(self, mode: str = "fast", timeout_s: float = 60.0) -> None:
        """Stop: 'smart' (SIGTERM), 'fast' (SIGINT) or 'immediate' (SIGQUIT, crash-like)."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    """Who may connect and where they may publish: no anonymous clients, a password per device, a
    topic ACL, the client id bound to the username, and a TLS listener (optionally mutual TLS)."""

    password_file: Path
    acl_file: Path
    tls_port: int | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = None
    require_client_certificate: bool = False
    """Mutual TLS on the TLS listener: a client must show a certificate signed by `ca_file`, and its
    common name becomes its username (and so its client id and topic subtree)."""

    def global_lines(self) -> list[str]:
        return [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {self.password_file}",
            f"acl_file {self.acl_file}",
        ]

    def listener_lines(self) -> list[str]:
        """Options each listener needs: the client id is replaced by the username, so a device cannot
        take over another's session by reusing its client id, whatever it sends."""
        return ["use_username_as_clientid true"]

    def tls_listener_lines(self, host: str) -> list[str]:
        if self.tls_port is None:
            return []
        if not (self.cert_file and self.key_file and self.ca_file):
            raise ServerError("a TLS listener needs a certificate, its key and the CA file")
        lines = [
            f"listener {self.tls_port} {host}",
            *self.listener_lines(),
            f"certfile {self.cert_file}",
            f"keyfile {self.key_file}",
            f"cafile {self.ca_file}",
            "tls_version tlsv1.2",  # the minimum: TLS 1.2 and 1.3 are accepted, older refused
        ]
        if self.require_client_certificate:
            lines += ["require_certificate true", "use_identity_as_username true"]
        return lines


@dataclass
class MosquittoServer:
    """A private Mosquitto broker with persistence, sized for a gateway that acknowledges after commit."""

    base_dir: Path
    port: int
    host: str = "127.0.0.1"
    max_queued_messages: int = QUEUED_MESSAGES_PER_SESSION
    """Per persistent session: what the broker holds for a gateway that is away or behind."""
    max_packet_size: int = 64 * 1024
    """Larger packets are refused by the broker; up to it, the gateway quarantines what exceeds its
    own payload limit (16 KiB) with a reason."""
    security: BrokerSecurity | None = None
    """None: anonymous clients on loopback (tests and benchmarks of the data path)."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.config_file = self.base_dir / "mosquitto.conf"
        self.log_file = self.base_dir / "mosquitto.log"
        self.persistence_dir = self.base_dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "mosquitto.pid"

    def stop_stale(self) -> bool:
        """Stop a broker a killed supervisor left running on this directory; True if there was one."""
        try:
            pid = int(self.pid_file.read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if str(self.config_file).encode() not in cmdline.read():
                    return False  # the pid now belongs to another process
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return False
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def write_config(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.persistence_dir.mkdir(exist_ok=True)
        user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        security = self.security
        # With security on, per-listener settings are off: the password file and ACL apply to both
        # listeners; listener options follow the `listener` line they belong to.
        self.config_file.write_text(
            "\n".join(
                [
                    *(security.global_lines() if security else ["allow_anonymous true"]),
                    f"listener {self.port} {self.host}",
                    *(security.listener_lines() if security else []),
                    *(security.tls_listener_lines(self.host) if security else []),
                    f"user {user}",
                    "persistence true",
                    f"persistence_location {self.persistence_dir}/",
                    # Accepted messages reach the disk at the latest this often: the window a broker
                    # killed with SIGKILL can lose (a clean stop saves everything).
                    f"autosave_interval {AUTOSAVE_INTERVAL_S}",
                    "persistent_client_expiration 14d",
                    # Unacknowledged messages in flight per client: the gateway acknowledges after
                    # commit, so it needs thousands in flight to fill a batch while the last commits.
                    # (MQTT 5 clients may lower it with their Receive Maximum.)
                    "max_inflight_messages 65535",
                    f"max_queued_messages {self.max_queued_messages}",
                    f"max_queued_bytes {QUEUED_BYTES_PER_SESSION}",
                    f"max_packet_size {self.max_packet_size}",
                    "set_tcp_nodelay true",
                    f"log_dest file {self.log_file}",
                    f"pid_file {self.pid_file}",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "connection_messages false",
                    "",
                ]
            )
        )

    def reload(self) -> None:
        """Re-read the password and ACL files (SIGHUP)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)

    def start(self, timeout_s: float = 30.0) -> None:
        if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
            raise ServerError("mosquitto is not installed; run the system set-up first")
        self.write_config()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for_port(self.host, self.port, timeout_s, self.process)

    def stop(self, kill: bool = False, timeout_s: float = 30.0) -> None:
        """Stop cleanly (SIGTERM: the broker saves its sessions) or kill (SIGKILL: it cannot)."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
