"""Broker security as the local stack configures Mosquitto: accounts from the database, no anonymous
clients, a device confined to its own topics, client ids bound to usernames, TLS 1.2 at least, and
mutual TLS as an option. Real broker, real gateway, real database; impersonation stores nothing."""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from api.routes.broker_accounts import DeviceBroker
from firmware_sim.credentials import device_password, password_source
from firmware_sim.fleet import plan_fleet
from firmware_sim.runner import FleetRun, run_fleet
from gateway.broker_accounts import mosquitto_hash, set_account, verify_mosquitto_hash
from ondol.broker_auth import AuthFiles, run_broker_auth, sync_auth_files
from ondol.broker_tls import CertificateAuthority
from ondol.local_servers import BrokerSecurity, MosquittoServer, free_port
from ondol.processes import device_broker
from ondol.settings import Settings
from protocol.broker import BrokerAddress
from testbed.support import ApiClient, eventually, gateway_config, register, running_gateway

FLEET_SECRET = b"fleet-secret-for-tests"
GATEWAY_PASSWORD = "gateway-password"


@dataclass
class SecureBroker:
    server: MosquittoServer
    files: AuthFiles
    ca: CertificateAuthority

    @property
    def plain(self) -> tuple[str, int]:
        return self.server.host, self.server.port

    @property
    def tls_port(self) -> int:
        assert self.server.security is not None
        assert self.server.security.tls_port is not None
        return self.server.security.tls_port

    def gateway_address(self) -> BrokerAddress:
        return BrokerAddress(self.server.host, self.server.port, username="gw.1", password=GATEWAY_PASSWORD)

    def device_address(self) -> BrokerAddress:
        return BrokerAddress(self.server.host, self.tls_port, tls=True, ca_file=str(self.ca.cert_file))


def _start(base: Path, ca: CertificateAuthority, files: AuthFiles, *, mutual: bool) -> MosquittoServer:
    tls = ca.server_certificate("broker")
    security = BrokerSecurity(
        password_file=files.password_file, acl_file=files.acl_file, tls_port=free_port(),
        cert_file=tls.cert_file, key_file=tls.key_file, ca_file=tls.ca_file, require_client_certificate=mutual,
    )  # fmt: skip
    server = MosquittoServer(base, free_port(), security=security)
    server.start()
    return server


@pytest.fixture(scope="module")
def authority() -> CertificateAuthority:
    return CertificateAuthority(Path(tempfile.mkdtemp(prefix="ondol-ca-"))).ensure()


async def _provision(db: asyncpg.Connection, files: AuthFiles, *devices: str) -> None:
    await register(db, *devices)
    for device in devices:
        await set_account(db, device, "device", mosquitto_hash(device_password(FLEET_SECRET, device)),
                          issued_by="test")  # fmt: skip
    await set_account(db, "gw.1", "gateway", mosquitto_hash(GATEWAY_PASSWORD), issued_by="test")
    await sync_auth_files(db, files)


@pytest.fixture
async def secure(
    db: asyncpg.Connection, servers_dir: Path, authority: CertificateAuthority
) -> AsyncIterator[SecureBroker]:
    base = Path(tempfile.mkdtemp(dir=servers_dir, prefix="mqtt-secure-"))
    files = AuthFiles(base / "passwords", base / "acl")
    await _provision(db, files, "dev-a", "dev-b")
    server = _start(base, authority, files, mutual=False)
    yield SecureBroker(server, files, authority)
    server.stop()


class Probe:
    """One MQTT 5 client driven synchronously, recording what the broker answers."""

    def __init__(self, client_id: str, username: str | None, password: str | None) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack: Any = None
        self.disconnected: Any = None
        self.received: list[str] = []
        self.acks: dict[int, Any] = {}
        self.client.on_connect = lambda _c, _u, _f, reason, _p: setattr(self, "connack", reason)
        self.client.on_disconnect = lambda _c, _u, _f, reason, _p: setattr(self, "disconnected", reason)
        self.client.on_message = lambda _c, _u, message: self.received.append(message.topic)
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.acks.__setitem__(mid, reason)

    def connect(self, host: str, port: int, context: ssl.SSLContext | None = None) -> Any:
        if context is not None:
            self.client.tls_set_context(context)
        self.client.connect(host, port, keepalive=30)
        self.pump(lambda: self.connack is not None or self.disconnected is not None)
        return self.connack

    def pump(self, done: Any = lambda: False, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            self.client.loop(timeout=0.05)

    def publish(self, topic: str, payload: bytes) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        self.pump(lambda: info.mid in self.acks)
        return self.acks.get(info.mid)


def _context(ca: CertificateAuthority, **versions: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    for name, version in versions.items():
        setattr(context, name, version)
    return context


def _telemetry(seq: int) -> bytes:
    return f'{{"seq": {seq}, "ts": "{time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}", "room_c": 21.5}}'.encode()


def _refused(reason: Any) -> bool:
    return reason is not None and reason.is_failure


def test_mosquitto_hash_is_what_mosquitto_passwd_writes() -> None:
    # A line written by mosquitto_passwd 2.0 for the password "s3cret".
    written = "$7$101$EPQJ+bQISZnsHAu1$R+xzHm9pHZEQbiiTJulxnV1XTESrCrcXe4RlJNkqYHaG82Dw3/AjLtqhUlCpdHFM6x/siKimU36Bkx2PkKQt2A=="
    assert verify_mosquitto_hash("s3cret", written)
    assert not verify_mosquitto_hash("s3cret!", written)
    assert verify_mosquitto_hash("x", mosquitto_hash("x"))
    assert mosquitto_hash("x") != mosquitto_hash("x")


async def test_devices_log_in_as_themselves_over_tls_and_reach_the_store(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    fleet = plan_fleet(3, seed=5, prefix="tls")
    await _provision(db, secure.files, *(d.device_id for d in fleet))
    secure.server.reload()
    await asyncio.sleep(0.5)
    async with running_gateway(gateway_config(db_dsn, secure.gateway_address())):
        run = FleetRun(report_interval_s=60, acceleration=0, reports_per_device=5)
        stats = await asyncio.to_thread(
            run_fleet, fleet, secure.device_address(), run, device_password=password_source(FLEET_SECRET)
        )
        assert stats.connect_failures == 0
        assert stats.acknowledged == stats.published == 3 * 6
        await eventually(lambda: db.fetchval("SELECT count(*) = 15 FROM readings"), what="15 readings")
    stored = await db.fetch("SELECT device_id, count(*) AS n FROM readings GROUP BY device_id ORDER BY 1")
    assert [(r["device_id"], r["n"]) for r in stored] == [
        (d.device_id, 5) for d in sorted(fleet, key=lambda d: d.device_id)
    ]


async def test_anonymous_wrong_passwords_and_wildcard_usernames_are_refused(secure: SecureBroker) -> None:
    host, port = secure.plain
    good = device_password(FLEET_SECRET, "dev-a")
    attempts = {
        "anonymous": (None, None),
        "wrong password": ("dev-a", good + "x"),
        "another device's password": ("dev-a", device_password(FLEET_SECRET, "dev-b")),
        "plus": ("+", good),
        "hash": ("#", good),
        "slash": ("dev-a/#", good),
        "root wildcard": ("ondol/v1/#", good),
        "unknown": ("dev-z", good),
    }
    for what, (user, password) in attempts.items():
        reason = await asyncio.to_thread(Probe("probe", user, password).connect, host, port)
        assert _refused(reason), f"{what}: {reason}"
        assert "authori" in str(reason).lower(), f"{what}: {reason}"
    reason = await asyncio.to_thread(Probe("probe", "dev-a", good).connect, host, port)
    assert reason is not None, "the right password still works"
    assert not reason.is_failure, reason


async def test_a_device_cannot_publish_as_or_listen_to_another(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    host, port = secure.plain
    async with running_gateway(gateway_config(db_dsn, secure.gateway_address())):
        intruder = Probe("dev-a", "dev-a", device_password(FLEET_SECRET, "dev-a"))
        assert not _refused(await asyncio.to_thread(intruder.connect, host, port))
        intruder.client.subscribe("ondol/v1/dev-b/#", qos=1)
        intruder.client.subscribe("ondol/v1/#", qos=1)
        denied = await asyncio.to_thread(intruder.publish, "ondol/v1/dev-b/telemetry", _telemetry(1))
        assert _refused(denied), denied
        assert "authori" in str(denied).lower(), denied
        own = await asyncio.to_thread(intruder.publish, "ondol/v1/dev-a/telemetry", _telemetry(2))
        assert not _refused(own), own
        victim = Probe("dev-b", "dev-b", device_password(FLEET_SECRET, "dev-b"))
        assert not _refused(await asyncio.to_thread(victim.connect, host, port))
        assert not _refused(
            await asyncio.to_thread(victim.publish, "ondol/v1/dev-b/telemetry", _telemetry(3))
        )
        await eventually(lambda: db.fetchval("SELECT count(*) = 2 FROM readings"), what="two readings")
        await asyncio.to_thread(intruder.pump, seconds=1.0)
    rows = await db.fetch("SELECT device_id, seq FROM readings ORDER BY seq")
    assert [(r["device_id"], r["seq"]) for r in rows] == [("dev-a", 2), ("dev-b", 3)]
    assert intruder.received == [], (
        "it hears nothing: a device reads only its own commands, and none were sent"
    )
    assert await db.fetchval("SELECT count(*) FROM quarantine") == 0


async def test_reusing_another_devices_client_id_does_not_take_over_its_session(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    host, port = secure.plain
    async with running_gateway(gateway_config(db_dsn, secure.gateway_address())):
        victim = Probe("dev-b", "dev-b", device_password(FLEET_SECRET, "dev-b"))
        assert not _refused(await asyncio.to_thread(victim.connect, host, port))
        thief = Probe("dev-b", "dev-a", device_password(FLEET_SECRET, "dev-a"))  # dev-b's client id
        assert not _refused(await asyncio.to_thread(thief.connect, host, port))
        denied = await asyncio.to_thread(thief.publish, "ondol/v1/dev-b/telemetry", _telemetry(1))
        await asyncio.to_thread(victim.pump, seconds=1.0)
        assert victim.disconnected is None, f"the device was thrown off: {victim.disconnected}"
        assert not _refused(
            await asyncio.to_thread(victim.publish, "ondol/v1/dev-b/telemetry", _telemetry(2))
        )
        await eventually(
            lambda: db.fetchval("SELECT count(*) = 1 FROM readings"), what="the device's reading"
        )
        await asyncio.sleep(0.5)
    assert _refused(denied), denied
    assert [tuple(r) for r in await db.fetch("SELECT device_id, seq FROM readings")] == [("dev-b", 2)]


def _no_session(probe: Probe, port: int, context: ssl.SSLContext) -> bool:
    """Whether the broker refused the client, during the handshake (TLS 1.2) or after it (TLS 1.3
    asks for the client's certificate once the handshake is done)."""
    try:
        reason = probe.connect("127.0.0.1", port, context)
    except (ssl.SSLError, OSError):
        return True
    return reason is None or reason.is_failure


def _handshake(port: int, context: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
async def test_the_tls_listener_speaks_tls_1_2_or_newer_only(secure: SecureBroker) -> None:
    assert await asyncio.to_thread(_handshake, secure.tls_port, _context(secure.ca)) == "TLSv1.3"
    twelve = _context(secure.ca, maximum_version=ssl.TLSVersion.TLSv1_2)
    assert await asyncio.to_thread(_handshake, secure.tls_port, twelve) == "TLSv1.2"
    old = _context(secure.ca, minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would speak TLS 1.1; the broker must not
    with pytest.raises(ssl.SSLError):
        await asyncio.to_thread(_handshake, secure.tls_port, old)
    unknown = ssl.create_default_context()  # the system's CAs: the private CA is not among them
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(_handshake, secure.tls_port, unknown)


async def test_mutual_tls_takes_the_device_from_its_certificate(
    db: asyncpg.Connection, db_dsn: str, servers_dir: Path, authority: CertificateAuthority
) -> None:
    base = Path(tempfile.mkdtemp(dir=servers_dir, prefix="mqtt-mtls-"))
    files = AuthFiles(base / "passwords", base / "acl")
    await _provision(db, files, "dev-a", "dev-b")
    server = _start(base, authority, files, mutual=True)
    assert server.security is not None
    assert server.security.tls_port is not None
    port = server.security.tls_port
    try:
        assert await asyncio.to_thread(_no_session, Probe("x", None, None), port, _context(authority)), (
            "no certificate, no session"
        )
        certificate = authority.client_certificate("dev-a")
        context = _context(authority)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        gateway = BrokerAddress("127.0.0.1", server.port, username="gw.1", password=GATEWAY_PASSWORD)
        async with running_gateway(gateway_config(db_dsn, gateway)):
            device = Probe("anything", None, None)  # no username, no password: the certificate says who
            assert not _refused(await asyncio.to_thread(device.connect, "127.0.0.1", port, context))
            assert not _refused(
                await asyncio.to_thread(device.publish, "ondol/v1/dev-a/telemetry", _telemetry(1))
            )
            assert _refused(
                await asyncio.to_thread(device.publish, "ondol/v1/dev-b/telemetry", _telemetry(2))
            )
            await eventually(lambda: db.fetchval("SELECT count(*) = 1 FROM readings"), what="one reading")
            await asyncio.sleep(0.5)
    finally:
        server.stop()
    assert [tuple(r) for r in await db.fetch("SELECT device_id, seq FROM readings")] == [("dev-a", 1)]


async def test_credentials_issued_or_revoked_through_the_api_reach_the_broker_within_seconds(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    await register(db, "dev-new")
    stop = asyncio.Event()
    syncing = asyncio.create_task(
        run_broker_auth(db_dsn, secure.files, secure.server.pid_file, interval_s=0.2, should_stop=stop.is_set)
    )
    host, port = secure.plain
    try:
        async with ApiClient(db_dsn, role="device-provisioner") as installer, ApiClient(db_dsn) as admin:
            issued = await installer.post("/v1/devices/dev-new/mqtt-credentials")
            assert issued.status_code == 201, issued.text
            body = issued.json()
            assert (body["username"], body["topic_prefix"]) == ("dev-new", "ondol/v1/dev-new/")
            again = await installer.post("/v1/devices/dev-new/mqtt-credentials")
            assert again.status_code == 409, "an installer cannot replace a password in use"
            assert (
                await installer.post("/v1/devices/dev-new/mqtt-credentials?rotate=true")
            ).status_code == 403
            assert (await installer.post("/v1/devices/nobody/mqtt-credentials")).status_code == 404
            stored = await db.fetchval("SELECT password_hash FROM broker_accounts WHERE username = 'dev-new'")
            assert body["password"] not in stored
            assert verify_mosquitto_hash(body["password"], stored)

            async def accepted(password: str) -> bool:
                reason = await asyncio.to_thread(Probe("p", "dev-new", password).connect, host, port)
                return not _refused(reason)

            await eventually(lambda: accepted(body["password"]), what="the new device accepted", timeout_s=10)
            rotated = await admin.post("/v1/devices/dev-new/mqtt-credentials?rotate=true")
            assert rotated.status_code == 201
            await eventually(
                lambda: accepted(rotated.json()["password"]), what="rotated password", timeout_s=10
            )
            assert not await accepted(body["password"]), "the old password stopped working"
            connected = Probe("p", "dev-new", rotated.json()["password"])
            assert not _refused(await asyncio.to_thread(connected.connect, host, port))
            assert (await admin.delete("/v1/devices/dev-new/mqtt-credentials")).status_code == 204
            await asyncio.to_thread(connected.pump, lambda: connected.disconnected is not None, 10.0)
            assert connected.disconnected is not None, "the broker dropped the revoked device's connection"

            async def locked_out() -> bool:
                return not await accepted(rotated.json()["password"])

            await eventually(locked_out, what="revoked device refused", timeout_s=10)
            assert (await admin.delete("/v1/devices/nobody/mqtt-credentials")).status_code == 404
    finally:
        stop.set()
        await syncing
    assert "dev-new" not in secure.files.password_file.read_text()
    assert secure.files.password_file.stat().st_mode & 0o777 == 0o600


async def test_an_installer_connects_a_device_from_the_credentials_answer_alone_and_sees_it_come_online(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    """The answer carries where the broker is and the CA to trust; the installer's key then shows the
    device it registered online (and only devices it registered)."""
    pem = secure.ca.cert_file.read_text()
    where = DeviceBroker(host="127.0.0.1", port=secure.tls_port, tls=True, ca_certificate=pem)
    stop = asyncio.Event()
    syncing = asyncio.create_task(
        run_broker_auth(db_dsn, secure.files, secure.server.pid_file, interval_s=0.2, should_stop=stop.is_set)
    )
    try:
        async with (
            ApiClient(db_dsn, role="device-provisioner", device_broker=where) as installer,
            running_gateway(gateway_config(db_dsn, secure.gateway_address())),
        ):
            body = {"device_id": "dev-new", "model": "NCB-300", "serial": "SN-NEW", "region": "seoul"}
            assert (await installer.post("/v1/devices", json=body)).status_code == 201
            issued = (await installer.post("/v1/devices/dev-new/mqtt-credentials")).json()
            assert issued["broker"] == {"host": "127.0.0.1", "port": secure.tls_port, "tls": True,
                                        "ca_certificate": pem}  # fmt: skip
            before = (await installer.get("/v1/devices/dev-new/status")).json()
            assert (before["status"], before["online"], before["last_seen"]) == ("offline", False, None)

            broker = issued["broker"]

            async def logged_in() -> Probe | None:
                device = Probe(issued["username"], issued["username"], issued["password"])
                context = ssl.create_default_context(cadata=broker["ca_certificate"])
                reason = await asyncio.to_thread(device.connect, broker["host"], broker["port"], context)
                return None if _refused(reason) else device

            device = await eventually(
                logged_in, what="the device logs in with its new password", timeout_s=10
            )
            birth = b'{"online": true, "model": "NCB-300", "fw": "1.4.2"}'
            assert not _refused(
                await asyncio.to_thread(device.publish, issued["topic_prefix"] + "status", birth)
            )
            assert not _refused(
                await asyncio.to_thread(device.publish, issued["topic_prefix"] + "telemetry", _telemetry(1))
            )

            async def online() -> dict[str, Any] | None:
                answer = (await installer.get("/v1/devices/dev-new/status")).json()
                return answer if answer["online"] else None

            status = await eventually(online, what="the installer sees the device online")
            assert (status["status"], status["connected"], status["firmware"]) == ("online", True, "1.4.2")
            assert set(status) == {"device_id", "status", "online", "connected", "last_seen", "last_reading_at",
                                   "firmware", "reported_model", "active_codes"}, "no customer data"  # fmt: skip
            assert (await installer.get("/v1/devices/dev-a/status")).status_code == 404, (
                "not registered by this key"
            )
            assert (await installer.get("/v1/devices/dev-new")).status_code == 403, (
                "the full record is not theirs"
            )
    finally:
        stop.set()
        await syncing


def test_the_api_is_told_where_devices_connect_and_which_ca_they_trust(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "tls").ensure()
    told = device_broker(Settings(device_mqtt_url="mqtts://mqtt.example.net", mqtt_ca_file=ca.cert_file))
    assert told == DeviceBroker("mqtt.example.net", 8883, True, ca.cert_file.read_text())
    assert (told.ca_certificate or "").startswith("-----BEGIN CERTIFICATE-----")
    public = device_broker(Settings(device_mqtt_url="mqtts://user:secret@mqtt.example.net:9883"))
    assert public == DeviceBroker("mqtt.example.net", 9883, True, None), "no CA: the system's CAs; no user"
    local = device_broker(Settings(sim_mqtt_url="mqtts://127.0.0.1:8883", mqtt_ca_file=ca.cert_file))
    assert (local.host, local.port, local.tls) == ("127.0.0.1", 8883, True), "the local stack's TLS listener"
    with pytest.raises(ValueError, match="CA certificate"):
        device_broker(
            Settings(device_mqtt_url="mqtts://mqtt.example.net", mqtt_ca_file=tmp_path / "missing.crt")
        )


async def test_packets_over_the_size_limit_are_refused_by_the_broker(secure: SecureBroker) -> None:
    host, port = secure.plain
    device = Probe("dev-a", "dev-a", device_password(FLEET_SECRET, "dev-a"))
    assert not _refused(await asyncio.to_thread(device.connect, host, port))
    assert not _refused(await asyncio.to_thread(device.publish, "ondol/v1/dev-a/telemetry", b"x" * 60_000))
    await asyncio.to_thread(device.publish, "ondol/v1/dev-a/telemetry", b"x" * 70_000)
    await asyncio.to_thread(device.pump, lambda: device.disconnected is not None, 5.0)
    assert device.disconnected is not None, "a packet over max_packet_size ends the connection"


def test_the_acl_confines_devices_and_lets_gateways_read_everything(tmp_path: Path) -> None:
    from gateway.broker_accounts import BrokerAccount
    from ondol.broker_auth import render_acl

    acl = render_acl([BrokerAccount("dev-a", "device", "h"), BrokerAccount("gw.1", "gateway", "h")])
    for kind in ("telemetry", "events", "status", "command-results"):
        assert f"pattern write ondol/v1/%u/{kind}\n" in acl
    assert "pattern read ondol/v1/%u/commands\n" in acl
    assert "readwrite" not in acl
    assert "user gw.1\ntopic read ondol/v1/#\ntopic write ondol/v1/+/commands" in acl
    assert "user dev-a" not in acl, "devices get no rule of their own beyond the pattern"


async def test_a_device_reads_only_its_own_commands_and_answers_only_on_its_own_topic(
    db: asyncpg.Connection, secure: SecureBroker
) -> None:
    host, port = secure.plain
    dispatcher = Probe("gw.1", "gw.1", GATEWAY_PASSWORD)
    device = Probe("dev-a", "dev-a", device_password(FLEET_SECRET, "dev-a"))
    assert not _refused(await asyncio.to_thread(dispatcher.connect, host, port))
    assert not _refused(await asyncio.to_thread(device.connect, host, port))
    device.client.subscribe("ondol/v1/dev-a/commands", qos=1)
    device.client.subscribe("ondol/v1/dev-b/commands", qos=1)
    await asyncio.to_thread(device.pump, seconds=0.5)
    for target in ("dev-b", "dev-a"):
        sent = await asyncio.to_thread(
            dispatcher.publish, f"ondol/v1/{target}/commands", b'{"to": "' + target.encode() + b'"}'
        )
        assert not _refused(sent), sent
    await asyncio.to_thread(device.pump, lambda: len(device.received) >= 1, 5.0)
    await asyncio.to_thread(device.pump, seconds=0.5)
    assert device.received == ["ondol/v1/dev-a/commands"], "another device's commands never reach it"
    other = await asyncio.to_thread(device.publish, "ondol/v1/dev-b/command-results", b'{"id": "x"}')
    assert _refused(other), other
    assert "authori" in str(other).lower(), other
    forged = await asyncio.to_thread(device.publish, "ondol/v1/dev-b/commands", b"{}")
    assert _refused(forged), "a device cannot send commands, not even to itself or another"
    own = await asyncio.to_thread(device.publish, "ondol/v1/dev-a/command-results", b'{"id": "x"}')
    assert not _refused(own), own


async def test_an_outside_client_following_the_protocol_document_receives_a_command_and_answers_it(
    db: asyncpg.Connection, db_dsn: str, secure: SecureBroker
) -> None:
    """mosquitto_pub and mosquitto_sub with the device's password, over TLS, doing what
    docs/protocol.md says a device does (birth, subscribe, answer ack then result). The broker binds
    the client id to the username, so the two tools connect one after the other: the command sent
    while nobody listened is sent again (resend_after_s) once mosquitto_sub has subscribed."""
    import json
    import subprocess

    from gateway.mqtt_edge import CommandPublisher
    from outbox.commands.dispatch import CommandDispatcher, DispatchConfig
    from telemetry.database import create_pool
    from testbed.support import ApiClient

    tls = ["-h", "127.0.0.1", "-p", str(secure.tls_port), "--cafile", str(secure.ca.cert_file),
           "-u", "dev-a", "-P", device_password(FLEET_SECRET, "dev-a"), "-V", "mqttv5", "-q", "1"]  # fmt: skip

    def pub(topic: str, message: dict[str, Any], *extra: str) -> None:
        subprocess.run(
            ["mosquitto_pub", *tls, "-t", topic, "-m", json.dumps(message), *extra], check=True, timeout=10
        )

    # The dispatcher logs in with a gateway account of its own: the broker binds client ids to
    # usernames, so sharing the gateway's account would take over the gateway's session.
    await set_account(db, "gw.cmd", "gateway", mosquitto_hash("dispatcher-password"), issued_by="test")
    await sync_auth_files(db, secure.files)
    secure.server.reload()
    await asyncio.sleep(0.5)  # the broker re-reads its files on SIGHUP
    dispatcher_address = BrokerAddress(
        "127.0.0.1", secure.plain[1], username="gw.cmd", password="dispatcher-password"
    )
    pool = await create_pool(db_dsn, application_name="test-outside", max_size=2)
    publisher = CommandPublisher(dispatcher_address, "gw.cmd")
    publisher.start()
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(CommandDispatcher(
        pool, publisher, DispatchConfig(dispatcher_address, resend_after_s=1.0, idle_poll_s=0.1)).run(stop))  # fmt: skip
    try:
        async with (
            running_gateway(gateway_config(db_dsn, secure.gateway_address())),
            ApiClient(db_dsn, role="agent") as api,
        ):
            await asyncio.to_thread(pub, "ondol/v1/dev-a/status", {"online": True, "model": "NCB-300"}, "-r")
            await eventually(lambda: db.fetchval("SELECT connected FROM device_state WHERE device_id = 'dev-a'"),
                             what="dev-a online")  # fmt: skip
            await api.put(
                "/v1/devices/dev-a/remote-consent", json={"scope": ["all"], "on_behalf_of_customer": True}
            )
            asked = await api.post(
                "/v1/devices/dev-a/commands", json={"kind": "request_diagnostics", "reason": "test"}
            )
            assert asked.status_code == 201, asked.text
            listen = await asyncio.to_thread(
                subprocess.run, ["mosquitto_sub", *tls, "-t", "ondol/v1/dev-a/commands", "-C", "1", "-W", "20"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            command = json.loads(listen.stdout)
            assert command["id"] == asked.json()["command_id"]
            assert command["response_topic"] == "ondol/v1/dev-a/command-results"
            await asyncio.to_thread(
                pub, command["response_topic"], {"id": command["id"], "stage": "ack", "ac": 202}
            )
            await asyncio.to_thread(pub, command["response_topic"],
                                    {"id": command["id"], "stage": "result", "ac": 200, "ad": "snapshot sent"})  # fmt: skip

            async def succeeded() -> bool:
                answer = await api.get(f"/v1/commands/{command['id']}")
                return bool(answer.json()["state"] == "succeeded")

            await eventually(succeeded, what="command succeeded")
            final = (await api.get(f"/v1/commands/{command['id']}")).json()
    finally:
        stop.set()
        await asyncio.wait_for(dispatcher, 10)
        publisher.stop()
        await pool.close()
    assert final["result"] == {"by": "device", "stage": "result", "ac": 200, "ad": "snapshot sent"}
    assert [t["to_state"] for t in final["transitions"]][-2:] == ["delivered", "succeeded"]
