"""The gateway's MQTT edge: the one module that imports paho.

It keeps a persistent session (fixed client id, clean start off, session expiry) so the broker
holds what arrives while the gateway is away, subscribes at QoS 1 with manual acknowledgement, and
hands each message to asyncio as our own frozen `RawMessage`. A message is acknowledged only when the
ingest side says its row is committed (`ack`), so a crash before commit means redelivery, not loss.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol.broker import BrokerAddress
from protocol.contract import QOS, subscription_filter

__all__ = ["EdgeConfig", "MqttEdge", "RawMessage"]

log = logging.getLogger(__name__)

_RECEIVE_MAXIMUM: Final = 65535
"""Unacknowledged QoS-1 messages the broker may have in flight to us (the MQTT 5 maximum); the
batch writer needs thousands in flight to fill a batch while the previous one commits."""


_SESSION_TAKEN_OVER: Final = 142
"""MQTT 5 DISCONNECT reason code: another connection with the same client id took the session."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as received, before any validation. `delivery` tells deliveries of one id apart."""

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
    """time.time() when paho handed the message over."""


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
    """Owns the paho client and its network thread; thread-safe `ack` for the asyncio side."""

    def __init__(
        self,
        config: EdgeConfig,
        on_batch_ready: Callable[[], None],
        on_subscribed: Callable[[bool], None] = lambda _: None,
        on_id_reuse: Callable[[], None] = lambda: None,
    ) -> None:
        self._config = config
        self._on_id_reuse = on_id_reuse
        self._notify = on_batch_ready
        self._on_subscribed_change = on_subscribed
        self._lock = threading.Lock()
        self._pending: list[RawMessage] = []
        # mid -> its deliveries not yet acknowledged, oldest first (current connection only). Mosquitto
        # numbers a message when it queues it, so with more than 65,535 queued an id can be delivered
        # again while its older delivery is still unacknowledged: two messages, one id.
        self._inflight: dict[int, deque[int]] = {}
        self._committed: set[int] = set()  # deliveries committed while an older one of their id was not
        self._deliveries = 0
        self.connected = threading.Event()
        self.connect_count = 0
        self._client = self._build_client()

    def _build_client(self) -> paho.Client:
        if self._config.mqtt5:
            client = paho.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self._config.client_id,
                protocol=MQTTProtocolVersion.MQTTv5,
                manual_ack=True,
            )
        else:
            # MQTT 3.1.1: a persistent session is clean_session=False; it lasts as long as the broker
            # keeps sessions (persistent_client_expiration), in flight as many as it allows.
            client = paho.Client(
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
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and start the network thread."""
        broker = self._config.broker
        if self._config.mqtt5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._config.session_expiry_s
            properties.ReceiveMaximum = _RECEIVE_MAXIMUM
            self._client.connect_async(
                broker.host,
                broker.port,
                keepalive=self._config.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        else:
            self._client.connect_async(broker.host, broker.port, keepalive=self._config.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect without losing anything: unacknowledged messages stay with the broker's session."""
        self._client.disconnect()
        self._client.loop_stop()

    def take(self, limit: int) -> list[RawMessage]:
        """Remove and return up to `limit` received messages, oldest first."""
        with self._lock:
            taken, self._pending = self._pending[:limit], self._pending[limit:]
        return taken

    def backlog(self) -> int:
        with self._lock:
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
        with self._lock:
            for message in messages:
                if message.qos == 0 or message.connection != self.connect_count:
                    continue
                waiting = self._inflight.get(message.mid)
                if waiting is None or message.delivery not in waiting:
                    continue  # acknowledged already
                self._committed.add(message.delivery)
                while waiting and waiting[0] in self._committed:
                    self._committed.discard(waiting.popleft())
                    if self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS:
                        sent += 1
                if not waiting:
                    del self._inflight[message.mid]
        return sent

    # paho callbacks: run on paho's network thread; kept thin and free of I/O.

    def _on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the gateway's connection: %s", reason)
            return
        with self._lock:
            self.connect_count += 1
            self._inflight.clear()  # ids of the previous connection mean nothing on this one
            self._committed.clear()
        client.subscribe(subscription_filter(self._config.share_group), qos=QOS)
        self.connected.set()
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
        self.connected.clear()
        self._on_subscribed_change(False)
        if reason.value == _SESSION_TAKEN_OVER:
            log.error(
                "another client connected with this gateway's client id %r and took over its session: "
                "give every gateway process its own ONDOL_GATEWAY_CLIENT_ID", self._config.client_id,
            )  # fmt: skip
        else:
            log.warning("gateway disconnected from the broker: %s", reason)

    def _on_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "<topic is not valid UTF-8>"
        with self._lock:
            self._deliveries += 1
            raw = RawMessage(
                topic=topic,
                payload=bytes(message.payload),
                qos=message.qos,
                retain=bool(message.retain),
                dup=bool(message.dup),
                mid=message.mid,
                delivery=self._deliveries,
                connection=self.connect_count,
                received_at=time.time(),
            )
            reused = False
            if raw.qos > 0:
                waiting = self._inflight.setdefault(raw.mid, deque())
                reused = bool(waiting)
                waiting.append(raw.delivery)
            self._pending.append(raw)
            first = len(self._pending) == 1
        if reused:
            self._on_id_reuse()
        if first:
            self._notify()


def threadsafe_notifier(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> Callable[[], None]:
    """A callback that sets `event` on `loop` from any thread."""

    def notify() -> None:
        loop.call_soon_threadsafe(event.set)

    return notify
