"""The gateway's MQTT edge: the one module that imports paho.

It keeps a persistent session (fixed client id, clean start off, session expiry) so the broker
holds what arrives while the gateway is away, subscribes at QoS 1 with manual acknowledgement, and
hands each message to the ingest loop as our own frozen `RawMessage`. A message is acknowledged only
when the ingest side says its row is committed (`ack`), so a crash before commit means redelivery,
not loss.

paho runs on the gateway's asyncio loop, with no network thread: the loop watches the socket
(`add_reader`, and `add_writer` while paho has bytes to send), and a timer drives keepalive. Receiving,
storing and acknowledging therefore happen on one thread: no lock per message, no socketpair write per
acknowledgement to wake another thread, no two threads taking turns with the GIL. Connecting (a TCP
and maybe TLS handshake, which block) runs in the loop's executor; its socket callbacks come back to
the loop thread-safely. Reads go through `BufferedReadClient`, the one place that reaches into paho.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol.backoff import Backoff
from protocol.broker import BrokerAddress
from protocol.contract import QOS, subscription_filter

__all__ = [
    "PAHO_SURFACE",
    "BufferedReadClient",
    "CommandPublisher",
    "EdgeConfig",
    "MqttEdge",
    "Outgoing",
    "RawMessage",
]

log = logging.getLogger(__name__)

_RECEIVE_MAXIMUM: Final = 65535
"""Unacknowledged QoS-1 messages the broker may have in flight to us (the MQTT 5 maximum); the
batch writer needs thousands in flight to fill a batch while the previous one commits."""

_SESSION_TAKEN_OVER: Final = 142
"""MQTT 5 DISCONNECT reason code: another connection with the same client id took the session."""

_BAD_TOPIC: Final = "<topic is not valid UTF-8>"
"""What a message whose topic bytes are not UTF-8 is filed under (the decoder quarantines it)."""

_MISC_EVERY_S: Final = 1.0
"""How often keepalive is looked after (paho's own loop does it about once a second too)."""

RECONNECT: Final = Backoff(base_s=1.0, cap_s=30.0)
"""Reconnecting to a broker that went away: as paho's own loop did (1 s doubling to 30 s), with jitter
so that gateways restarted together do not come back in step."""

PAHO_SURFACE: Final = (
    "_sock_recv", "_sock", "loop_read", "_packet_read", "_handle_on_message", "_userdata", "_in_packet",
    "_last_bytes_received", "_protocol",
)  # fmt: skip
"""The parts of paho's Client below its public API that `BufferedReadClient` relies on; a test checks
that the installed paho still has them and reads through them as this module expects."""


class BufferedReadClient(paho.Client):
    """A paho Client whose socket reads come from a buffer filled by one large `recv`.

    paho 2.x reads every packet with three or four `recv` calls (one byte of command, the remaining
    length a byte at a time, then the rest), and handles one packet per call of `loop_read`. Here each
    `recv` paho asks for is served from `_inbox`, refilled by a single `recv` of up to READ_SIZE when it
    runs dry; `read_available` then handles every complete packet that is buffered. The protocol work
    is paho's, unchanged.

    It overrides two private methods. `_sock_recv` calls the original for the real read, so that errors
    (a TLS record not complete yet: `SSLWantReadError`, turned into `BlockingIOError` by paho; a
    closed connection: empty bytes) behave exactly as before. `_handle_on_message` skips matching the
    topic against per-topic callbacks, which this client never has. `PAHO_SURFACE` lists what this relies
    on; pyproject.toml pins paho to the releases tests/test_mqtt_edge.py checked.
    """

    READ_SIZE: Final = 256 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = b""
        self._inbox_at = 0
        self._qos1_handler: Callable[[bytes, bytes, int, bool, bool], None] | None = None

    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed to paho."""
        return len(self._inbox) - self._inbox_at

    def forget_buffered(self) -> None:
        """Drop what is buffered: bytes of a connection that is gone must not reach the next one."""
        self._inbox, self._inbox_at = b"", 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._inbox_at >= len(self._inbox):
            data = super()._sock_recv(self.READ_SIZE)
            if len(data) <= bufsize:
                return data  # all of it (or b"": the connection closed)
            self._inbox, self._inbox_at = data, 0
        start = self._inbox_at
        self._inbox_at = min(start + bufsize, len(self._inbox))
        return self._inbox[start : self._inbox_at]

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        """Hand a message to `on_message` without matching its topic against per-topic callbacks,
        which the edge never registers (`message_callback_add` is refused): paho walks its empty
        filter tree for every message otherwise, measured at about 3 µs each."""
        on_message = self.on_message
        if on_message is not None:
            on_message(self, self._userdata, message)

    def message_callback_add(self, sub: str, callback: Any) -> None:
        raise NotImplementedError("the gateway's edge takes every message through on_message")

    def on_qos1_publish(self, handler: Callable[[bytes, bytes, int, bool, bool], None]) -> None:
        """Take MQTT 3.1.1 QoS-1 PUBLISH packets straight from the buffer: `handler(topic, payload,
        packet id, dup, retain)` instead of paho's parser and `on_message`. Everything else (CONNACK,
        SUBACK, PINGRESP, QoS-0 messages, a packet split across two reads, a malformed one) still goes
        through paho. MQTT 5 packets carry properties and are always left to paho."""
        if self._protocol != MQTTProtocolVersion.MQTTv311:
            raise ValueError("the QoS-1 fast path reads MQTT 3.1.1 packets only")
        self._qos1_handler = handler

    def read_available(self) -> MQTTErrorCode:
        """Handle every packet the socket has ready, with as few `recv` calls as its size allows.
        A TLS socket can hold decrypted bytes the kernel no longer signals (`pending`): read them too."""
        while True:
            if self._qos1_handler is not None and self._in_packet["command"] == 0 and self.buffered():
                self._take_qos1_publishes(self._qos1_handler)
                if not (self.buffered() or self._tls_pending()):
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
            rc = self.loop_read()  # the packet at the head is not a QoS-1 PUBLISH, or the buffer is dry
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None:
                return rc
            if not (self.buffered() or self._tls_pending()):
                return rc

    def _tls_pending(self) -> bool:
        pending = getattr(self._sock, "pending", None)
        return isinstance(self._sock, ssl.SSLSocket) and pending is not None and pending() > 0

    def _take_qos1_publishes(self, handler: Callable[[bytes, bytes, int, bool, bool], None]) -> None:
        """Hand `handler` every complete QoS-1 PUBLISH at the head of the buffer, in order; stop at the
        first packet that is anything else, incomplete or odd, and leave it to paho."""
        inbox, at, end = self._inbox, self._inbox_at, len(self._inbox)
        taken = 0
        while at < end:
            command = inbox[at]
            if command & 0xF6 != 0x32:  # not PUBLISH with QoS 1 (the dup and retain bits may be either)
                break
            length, multiplier, i = 0, 1, at + 1
            while i < end and i - at <= 4:
                byte = inbox[i]
                i += 1
                length += (byte & 127) * multiplier
                multiplier *= 128
                if byte < 128:
                    break
            else:
                break  # the remaining length is cut off (or longer than four bytes: paho says malformed)
            packet_end = i + length
            if packet_end > end or length < 4:
                break
            topic_end = i + 2 + (inbox[i] << 8 | inbox[i + 1])
            if topic_end + 2 > packet_end:
                break
            handler(inbox[i + 2 : topic_end], inbox[topic_end + 2 : packet_end],
                    inbox[topic_end] << 8 | inbox[topic_end + 1], bool(command & 8), bool(command & 1))  # fmt: skip
            at = packet_end
            taken += 1
        self._inbox_at = at
        if taken:
            self._last_bytes_received = paho.time_func()  # what paho's keepalive reads, on paho's clock


class RawMessage(NamedTuple):
    """A message as received, before any validation. `delivery` tells deliveries of one id apart.

    A named tuple, not a frozen dataclass: one is made per message, and a tuple is built in one step
    where a frozen dataclass sets each of its nine fields in turn."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    mid: int
    delivery: int
    connection: int
    """Which connection of the session delivered it; acks go back only on that same connection."""
    received_at: float
    """time.time() of the read that brought it in."""


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    broker: BrokerAddress
    client_id: str
    share_group: str | None = "ondol-gateway"
    session_expiry_s: int = 7 * 24 * 3600
    """MQTT 5 only; with 3.1.1 the broker's own setting decides how long a session outlives its client."""
    keepalive_s: int = 30
    mqtt5: bool = False
    """MQTT 3.1.1 by default: paho parses MQTT 5 properties on every message, which measured about
    20 µs of CPU per message (a third of paho's own cost); MQTT 5 adds the session expiry, a receive
    maximum and named disconnect reasons."""


class MqttEdge:
    """Owns the paho client and drives it from the running asyncio loop. Every method, and every
    callback it passes on, runs on that loop's thread."""

    def __init__(
        self,
        config: EdgeConfig,
        on_batch_ready: Callable[[], None],
        on_subscribed: Callable[[bool], None] = lambda _: None,
        on_id_reuse: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self._config = config
        self._on_id_reuse = on_id_reuse
        self._notify = on_batch_ready
        self._on_subscribed_change = on_subscribed
        self._pending: list[RawMessage] = []
        # mid -> its delivery not yet acknowledged, or, when an id was delivered again while its older
        # delivery was still unacknowledged, their deliveries oldest first (current connection only).
        # Mosquitto numbers a message when it queues it, so with more than 65,535 queued an id can
        # come again: two messages, one id. One int per message in the common case.
        self._inflight: dict[int, int | deque[int]] = {}
        self._committed: set[int] = set()  # deliveries committed while an older one of their id was not
        self._deliveries = 0
        self._reuses = 0
        """Deliveries of an id still in flight since the last read pass (told per pass, not per message:
        at full speed most ids come again while the broker queues more than 65,535 messages for us)."""
        self.connect_count = 0
        self._read_at = time.time()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._sock: Any = None
        self._misc: asyncio.TimerHandle | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._failures = 0
        self._stopping = False
        self._closed = asyncio.Event()
        self._client = self._build_client()

    def _build_client(self) -> BufferedReadClient:
        if self._config.mqtt5:
            client = BufferedReadClient(
                CallbackAPIVersion.VERSION2,
                client_id=self._config.client_id,
                protocol=MQTTProtocolVersion.MQTTv5,
                manual_ack=True,
            )
        else:
            # MQTT 3.1.1: a persistent session is clean_session=False; it lasts as long as the broker
            # keeps sessions (persistent_client_expiration), in flight as many as it allows.
            client = BufferedReadClient(
                CallbackAPIVersion.VERSION2,
                client_id=self._config.client_id,
                clean_session=False,
                protocol=MQTTProtocolVersion.MQTTv311,
                manual_ack=True,
            )
        broker = self._config.broker
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set_context(broker.tls_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        if not self._config.mqtt5:
            client.on_qos1_publish(self._on_qos1_publish)
        return client

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect in the background (retrying with backoff until the broker answers); call from the
        loop that will drive the client."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        broker = self._config.broker
        if self._config.mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._config.session_expiry_s
            properties.ReceiveMaximum = _RECEIVE_MAXIMUM
            self._client.connect_async(broker.host, broker.port, keepalive=self._config.keepalive_s,
                                       clean_start=False, properties=properties)  # fmt: skip
        else:
            self._client.connect_async(broker.host, broker.port, keepalive=self._config.keepalive_s)
        self._connect_soon(0.0)
        self._misc = self._loop.call_later(_MISC_EVERY_S, self._look_after)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect without losing anything: unacknowledged messages stay with the broker's session."""
        self._stopping = True
        if self._misc is not None:
            self._misc.cancel()
        if self._connecting is not None and not self._connecting.done():
            await asyncio.wait({self._connecting}, timeout=timeout_s)
        if self._sock is not None:
            self._client.disconnect()  # DISCONNECT is written by the writer callback, then the socket closes
            try:
                await asyncio.wait_for(self._closed.wait(), timeout_s)
            except TimeoutError:
                log.warning("the broker did not see the gateway's DISCONNECT within %.0f s", timeout_s)
                self._client.loop_misc()
        if self._sock is not None:  # still open: close it ourselves
            self._unwatch(self._sock)
            self._sock.close()
            self._sock = None

    def _connect_soon(self, delay_s: float) -> None:
        """Start a connection attempt after `delay_s`, unless one is under way or the edge is stopping."""
        assert self._loop is not None
        if self._stopping or (self._connecting is not None and not self._connecting.done()):
            return
        self._connecting = self._loop.create_task(self._connect(delay_s), name="mqtt-connect")

    async def _connect(self, delay_s: float) -> None:
        assert self._loop is not None
        if delay_s:
            await asyncio.sleep(delay_s)
        if self._stopping:
            return
        try:
            rc = await self._loop.run_in_executor(None, self._client.reconnect)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._retry(f"cannot reach the broker: {exc}")
            return
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._retry(f"connection failed: {rc}")

    def _retry(self, why: str) -> None:
        self._failures += 1
        delay = RECONNECT.delay(self._failures)
        log.warning("%s; trying again in %.1f s", why, delay)
        self._connect_soon(delay)

    def _look_after(self) -> None:
        """Keepalive (PINGREQ, and closing a connection whose PINGRESP never came), once a second."""
        assert self._loop is not None
        if self._sock is not None and (self._connecting is None or self._connecting.done()):
            self._client.loop_misc()
        if not self._stopping:
            self._misc = self._loop.call_later(_MISC_EVERY_S, self._look_after)

    # ------------------------------------------------------------------ the asyncio side

    def take(self, limit: int) -> list[RawMessage]:
        """Remove and return up to `limit` received messages, oldest first."""
        taken, self._pending = self._pending[:limit], self._pending[limit:]
        return taken

    def backlog(self) -> int:
        return len(self._pending)

    def ack(self, messages: list[RawMessage]) -> int:
        """Acknowledge committed messages; return how many acks were sent.

        Only deliveries of the current connection are acknowledged. After a reconnect the broker
        redelivers whatever was not acknowledged, with the same packet ids; acknowledging an old
        delivery on the new connection could release an id the broker has meanwhile given to a
        message we have not stored. The redelivered copy is acknowledged once it is committed (its
        row already exists, so nothing is stored twice).

        When two unacknowledged deliveries share an id, the broker releases the older one on the
        first PUBACK with that id. So each delivery gets its own PUBACK, oldest first: a newer one
        committed before an older one waits for it, and nothing uncommitted is ever released.
        """
        sent = 0
        inflight, ack, current = self._inflight, self._client.ack, self.connect_count
        for message in messages:
            if message.qos == 0 or message.connection != current:
                continue
            waiting = inflight.get(message.mid)
            if waiting is None:
                continue  # acknowledged already
            if type(waiting) is int:
                if waiting != message.delivery:
                    continue
                del inflight[message.mid]
                sent += ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS
                continue
            assert isinstance(waiting, deque)
            sent += self._ack_shared_id(message, waiting)
        return sent

    def _ack_shared_id(self, message: RawMessage, waiting: deque[int]) -> int:
        """Acknowledge, oldest first, the committed deliveries of an id delivered more than once."""
        if message.delivery not in waiting:
            return 0
        sent = 0
        self._committed.add(message.delivery)
        while waiting and waiting[0] in self._committed:
            self._committed.discard(waiting.popleft())
            sent += self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS
        if not waiting:
            del self._inflight[message.mid]
        return sent

    # ------------------------------------------------------------------ socket callbacks

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run `action` on the loop's thread: now when called there, else as soon as it can (paho calls
        the socket callbacks from the executor while connecting)."""
        if threading.get_ident() == self._thread:
            action()
        else:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(action)

    def _on_socket_open(self, client: paho.Client, _userdata: Any, sock: Any) -> None:
        def watch() -> None:
            assert self._loop is not None
            self._client.forget_buffered()
            self._sock = sock
            self._closed.clear()
            self._loop.add_reader(sock, self._readable)

        self._on_loop(watch)

    def _on_socket_close(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        def unwatch() -> None:
            self._unwatch(sock)
            if self._sock is sock:
                self._sock = None
                self._client.forget_buffered()
            self._closed.set()

        self._on_loop(unwatch)

    def _on_socket_register_write(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        def want_write() -> None:
            assert self._loop is not None
            if sock.fileno() >= 0:
                self._loop.add_writer(sock, self._writable)

        self._on_loop(want_write)

    def _on_socket_unregister_write(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        def done_writing() -> None:
            assert self._loop is not None
            if sock.fileno() >= 0:
                self._loop.remove_writer(sock)

        self._on_loop(done_writing)

    def _unwatch(self, sock: Any) -> None:
        assert self._loop is not None
        if sock.fileno() >= 0:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _readable(self) -> None:
        self._read_at = time.time()
        rc = self._client.read_available()
        self.report_reuses()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.debug("read ended the connection: %s", rc)

    def report_reuses(self) -> None:
        """Tell `on_id_reuse` how many deliveries came with an id still in flight, since it was last told."""
        if self._reuses:
            reuses, self._reuses = self._reuses, 0
            self._on_id_reuse(reuses)

    def _writable(self) -> None:
        self._client.loop_write()

    # ------------------------------------------------------------------ MQTT callbacks (loop thread)

    def _on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the gateway's connection: %s", reason)
            return
        self._failures = 0
        self.connect_count += 1
        self._inflight.clear()  # ids of the previous connection mean nothing on this one
        self._committed.clear()
        client.subscribe(subscription_filter(self._config.share_group), qos=QOS)
        log.info(
            "gateway connected to %s:%s as %s",
            self._config.broker.host,
            self._config.broker.port,
            self._config.client_id,
        )

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            log.error("broker refused the gateway's subscription: %s", failed)
            return
        self._on_subscribed_change(True)

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._on_subscribed_change(False)
        if self._stopping:
            return
        if reason.value == _SESSION_TAKEN_OVER:
            log.error(
                "another client connected with this gateway's client id %r and took over its session: "
                "give every gateway process its own ONDOL_GATEWAY_CLIENT_ID", self._config.client_id,
            )  # fmt: skip
        else:
            log.warning("gateway disconnected from the broker: %s", reason)
        self._on_loop(lambda: self._retry("the broker connection was lost"))

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = _BAD_TOPIC
        self._receive(topic, bytes(message.payload), message.qos, bool(message.retain), bool(message.dup),
                      message.mid)  # fmt: skip

    def _on_qos1_publish(self, topic: bytes, payload: bytes, mid: int, dup: bool, retain: bool) -> None:
        try:
            text = topic.decode()
        except UnicodeDecodeError:
            text = _BAD_TOPIC
        self._receive(text, payload, 1, retain, dup, mid)

    def _receive(self, topic: str, payload: bytes, qos: int, retain: bool, dup: bool, mid: int) -> None:
        """Queue a delivery for the ingest loop and note its packet id as in flight."""
        self._deliveries += 1
        delivery = self._deliveries
        pending = self._pending
        pending.append(
            RawMessage(topic, payload, qos, retain, dup, mid, delivery, self.connect_count, self._read_at)
        )
        if len(pending) == 1:
            self._notify()  # the ingest loop waits for the backlog to go from empty to not
        if qos > 0:
            waiting = self._inflight.get(mid)
            if waiting is None:
                self._inflight[mid] = delivery
                return
            if type(waiting) is int:
                self._inflight[mid] = deque((waiting, delivery))
            else:
                assert isinstance(waiting, deque)
                waiting.append(delivery)
            self._reuses += 1


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A QoS-1 message to a device, with its MQTT 5 request/response properties."""

    topic: str
    payload: bytes
    expiry_s: int
    """Message Expiry Interval: the broker drops it if the device has not taken it by then."""
    response_topic: str
    correlation: bytes


class CommandPublisher:
    """Publishes commands to devices at QoS 1 over MQTT 5 (for the Message Expiry Interval, Response
    Topic and Correlation Data), and says when the broker has each one (PUBACK). Low volume, so paho
    runs its own network thread here; `publish` blocks until the broker answers (call it from a
    worker thread: `asyncio.to_thread`)."""

    def __init__(self, broker: BrokerAddress, client_id: str) -> None:
        self._broker = broker
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        if broker.username is not None:
            self._client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self._client.tls_set_context(broker.tls_context())
        self._connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(1, 30)

    def start(self) -> None:
        self._client.connect_async(self._broker.host, self._broker.port, keepalive=30)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def publish(self, message: Outgoing, timeout_s: float = 10.0) -> bool:
        """True once the broker has acknowledged the message; False when not connected or no answer
        came in time (the caller tries again later; the device recognises a repeated id)."""
        if not self._connected.is_set():
            return False
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = max(1, message.expiry_s)
        properties.ResponseTopic = message.response_topic
        properties.CorrelationData = message.correlation
        info = self._client.publish(message.topic, message.payload, qos=QOS, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("the broker refused the command publisher: %s", reason)
            return
        self._connected.set()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self._connected.clear()
        log.info("command publisher disconnected: %s", reason)
