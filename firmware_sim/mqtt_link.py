"""Many device MQTT connections driven from one thread: the simulator's only paho import.

Each simulated device has its own client id, a retained birth message and a retained last will on
its status topic, as a real thermostat would. Sockets are multiplexed with `selectors` rather than a
thread per device, so thousands of devices fit in one process.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from protocol.backoff import Backoff
from protocol.broker import BrokerAddress
from protocol.commands import command_topic
from protocol.contract import QOS, StatusPayload, encode, status_topic

__all__ = ["DeviceLink", "LinkPool"]

log = logging.getLogger(__name__)

RECONNECT: Final = Backoff(base_s=1.0, cap_s=60.0, jitter=1.0)
"""A device's wait before it connects again: up to 1 s after the first failure, doubling to a
minute, all of it drawn at random (full jitter), so a fleet dropped at once comes back spread out."""


@dataclass
class DeviceLink:
    """One device's connection and its delivery counters."""

    device_id: str
    client: paho.Client
    published: int = 0
    acknowledged: int = 0
    connected: bool = False
    next_attempt: float = 0.0
    failures: int = 0
    refused: str | None = None
    """The broker's reason when it last refused this link's CONNECT (bad credentials, not authorised)."""
    birth: bytes = b""
    on_ack: Callable[[int], None] | None = field(default=None, repr=False)

    @property
    def outstanding(self) -> int:
        return self.published - self.acknowledged


class LinkPool:
    """Connects, reconnects (jittered exponential backoff) and services many device links."""

    def __init__(
        self,
        broker: BrokerAddress,
        *,
        keepalive_s: int = 60,
        inflight_window: int = 100,
        device_password: Callable[[str], str] | None = None,
        on_command: Callable[[str, bytes], None] | None = None,
    ) -> None:
        """`on_command(device_id, payload)`: each link subscribes to its device's command topic and
        hands every command delivered to it here (on the thread that calls `service`)."""
        self._broker = broker
        self._on_command = on_command
        self._device_password = device_password
        self._tls = broker.tls_context() if broker.tls else None
        self._keepalive_s = keepalive_s
        self._window = inflight_window
        self._selector = selectors.DefaultSelector()
        self.links: dict[str, DeviceLink] = {}
        self._last_misc = 0.0
        self.connect_failures = 0
        self._closing = False

    def add(
        self, device_id: str, model: str, firmware: str, *, announce: bool = True, login_as: str | None = None
    ) -> DeviceLink:
        """A link for `device_id`; `announce` gives it a retained birth and a last will, as devices have.

        `login_as` names the device whose credentials the link uses when it is not `device_id` itself
        (a fault injector speaking for a device)."""
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=device_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        if self._device_password is not None:
            # Each device logs in as itself: the broker's ACL confines it to its own topics.
            username = login_as or device_id
            client.username_pw_set(username, self._device_password(username))
        elif self._broker.username is not None:
            client.username_pw_set(self._broker.username, self._broker.password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.max_inflight_messages_set(self._window)
        link = DeviceLink(device_id, client)
        if announce:
            client.will_set(
                status_topic(device_id), encode(StatusPayload(online=False)), qos=QOS, retain=True
            )
            link.birth = encode(StatusPayload(online=True, model=model, fw=firmware))
        client.user_data_set(link)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self.links[device_id] = link
        return link

    def connect_due(self) -> None:
        """Start connecting every link that is down and whose backoff has passed."""
        now = time.monotonic()
        for link in self.links.values():
            if link.connected or link.client.socket() is not None or link.next_attempt > now:
                continue
            try:
                link.client.connect(self._broker.host, self._broker.port, keepalive=self._keepalive_s)
            except OSError as exc:
                self._backoff(link, now)
                log.debug("device %s could not connect: %s", link.device_id, exc)

    def _backoff(self, link: DeviceLink, now: float) -> None:
        link.failures += 1
        self.connect_failures += 1
        link.next_attempt = now + RECONNECT.delay(link.failures)

    def publish(self, device_id: str, topic: str, payload: bytes, *, retain: bool = False) -> None:
        link = self.links[device_id]
        info = link.client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"publish from {device_id} failed: {info.rc}")
        link.published += 1

    def can_publish(self, device_id: str) -> bool:
        link = self.links[device_id]
        return link.connected and link.outstanding < self._window

    def service(self, timeout_s: float) -> None:
        """Move bytes for every link that is ready, for at most `timeout_s`."""
        events = self._selector.select(timeout_s) if self._selector.get_map() else []
        if not events and timeout_s > 0 and not self._selector.get_map():
            time.sleep(min(timeout_s, 0.05))
        for key, mask in events:
            client: paho.Client = key.data
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE and client.socket() is not None:
                client.loop_write()
        now = time.monotonic()
        if now - self._last_misc >= 0.5:
            self._last_misc = now
            for link in self.links.values():
                if link.client.socket() is not None:
                    link.client.loop_misc()
            self.connect_due()

    def disconnect_all(self, timeout_s: float = 10.0) -> None:
        """Disconnect cleanly (the broker discards the will: devices going away on purpose), then
        release every socket, including those still connecting, and the selector: the pool is done.

        Without the release, sockets of links caught mid-reconnect stay open until the garbage
        collector breaks the client's reference cycles; thousands of them push the process's new
        descriptors past 1024, where `select()` (paho's own network loop) fails."""
        self._closing = True
        for link in self.links.values():
            if link.connected:
                link.client.disconnect()
        deadline = time.monotonic() + timeout_s
        while self._selector.get_map() and time.monotonic() < deadline:
            self.service(0.05)
        for link in self.links.values():
            sock = link.client.socket()
            if sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)
                sock.close()
        self._selector.close()

    def drop_all(self) -> None:
        """Close every socket without DISCONNECT, as a power cut would: the broker publishes the wills."""
        for link in self.links.values():
            sock = link.client.socket()
            if sock is not None:
                if isinstance(sock, socket.socket):
                    sock.close()
                link.client.loop_read()

    # paho callbacks, called from `service` on this thread.

    def _on_connect(
        self, client: paho.Client, link: DeviceLink, _flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused device %s: %s", link.device_id, reason)
            link.refused = str(reason)
            self._backoff(link, time.monotonic())
            return
        link.connected = True
        link.failures = 0
        link.refused = None
        if self._on_command is not None and link.birth:
            # Before the birth: the platform sends commands once it hears the device is online, and the
            # broker takes the SUBSCRIBE before the PUBLISH that follows it on this connection.
            client.subscribe(command_topic(link.device_id), qos=QOS)
        if link.birth:
            link.published += 1
            client.publish(status_topic(link.device_id), link.birth, qos=QOS, retain=True)

    def _on_message(self, _c: paho.Client, link: DeviceLink, message: paho.MQTTMessage) -> None:
        if self._on_command is not None:
            self._on_command(link.device_id, bytes(message.payload))

    def _on_disconnect(
        self, _c: paho.Client, link: DeviceLink, _f: Any, _reason: ReasonCode, _p: Any
    ) -> None:
        link.connected = False
        if not self._closing:
            self._backoff(link, time.monotonic())

    def _on_publish(self, _c: paho.Client, link: DeviceLink, _mid: int, _reason: ReasonCode, _p: Any) -> None:
        link.acknowledged += 1

    def _on_socket_open(self, client: paho.Client, _link: DeviceLink, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _on_socket_close(self, _client: paho.Client, _link: DeviceLink, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _on_register_write(self, client: paho.Client, _link: DeviceLink, sock: Any) -> None:
        self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _on_unregister_write(self, client: paho.Client, _link: DeviceLink, sock: Any) -> None:
        self._selector.modify(sock, selectors.EVENT_READ, client)
