"""Fault injection: make a simulated device raise, clear or repeat any error code over MQTT.

The simulator knows codes only as the wire contract does (`E###` or `A##`); which codes exist and
what they mean is the platform's business, checked by the command line before it injects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from firmware_sim.mqtt_link import LinkPool
from protocol.broker import BrokerAddress
from protocol.contract import EventPayload, MessageKind, device_topic, encode

__all__ = ["Injection", "InjectionRefusedError", "inject"]


class InjectionRefusedError(RuntimeError):
    """The broker refused to let the injector log in as some devices. Unlike a device, which keeps
    retrying, the injector gives up at once: a refusal is the broker's answer, not a network fault."""

    def __init__(self, refusals: dict[str, str]) -> None:
        super().__init__("; ".join(f"{device}: {reason}" for device, reason in refusals.items()))
        self.refusals = refusals
        """Device id → the broker's reason (e.g. "Not authorized")."""


@dataclass(frozen=True, slots=True)
class Injection:
    device_id: str
    code: str
    state: Literal["raised", "cleared"]
    repeat: int = 1
    """How many times to send it (a boiler retrying and failing again raises the same code again)."""
    gap_s: float = 0.0
    """Pause between repeats."""


def inject(
    broker: BrokerAddress,
    injections: Sequence[Injection],
    timeout_s: float = 60.0,
    device_password: Callable[[str], str] | None = None,
) -> int:
    """Publish the injections in order, each device through its own injector connection; return the count.

    On a broker that checks credentials (`device_password` given) the injector logs in as the device
    itself, the only identity allowed to publish on its topics; the broker then binds the client id to
    that username, so the injector briefly replaces the running device's connection."""
    links = LinkPool(broker, device_password=device_password)
    speaks_for: dict[str, str] = {}
    for device_id in dict.fromkeys(i.device_id for i in injections):
        # A separate client id, so that on an open broker injecting into a device the fleet is running
        # does not take over that device's own connection.
        client = f"{device_id}-injector"[:64]
        links.add(client, "injector", "sim", announce=False, login_as=device_id)
        speaks_for[client] = device_id
    links.connect_due()
    deadline = time.monotonic() + timeout_s
    while not all(link.connected for link in links.links.values()):
        refused = {speaks_for[c]: link.refused for c, link in links.links.items() if link.refused}
        if refused:
            links.disconnect_all()
            raise InjectionRefusedError(refused)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the injector could not connect to the broker at {broker.host}:{broker.port}")
        links.service(0.05)
    seq = int(time.time() * 1000)
    sent = 0
    for injection in injections:
        for _ in range(injection.repeat):
            seq += 1
            payload = EventPayload(seq=seq, ts=datetime.now(UTC), code=injection.code, state=injection.state)
            client = f"{injection.device_id}-injector"[:64]
            links.publish(client, device_topic(injection.device_id, MessageKind.EVENTS), encode(payload))
            sent += 1
            links.service(0.0)
            if injection.gap_s:
                _wait(links, injection.gap_s)
    while any(link.outstanding > 0 for link in links.links.values()):
        if time.monotonic() > deadline:
            raise TimeoutError("the broker did not acknowledge every injected event")
        links.service(0.05)
    links.disconnect_all()
    return sent


def _wait(links: LinkPool, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        links.service(min(0.05, max(0.0, end - time.monotonic())))
