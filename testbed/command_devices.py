"""Simulated devices that answer commands, for tests and benchmarks: the simulator's own link pool
and command handler (firmware_sim.commands) on a thread of their own, with a boiler that records
what it was told to do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_sim.commands import CommandDevice, Outcome
from firmware_sim.mqtt_link import LinkPool
from protocol.broker import BrokerAddress
from protocol.commands import DeviceMode

__all__ = ["CommandDevices", "RecordingBoiler"]


@dataclass
class RecordingBoiler:
    """Does what it is told and remembers it: (device, action, value) in order."""

    done: list[tuple[str, str, object]] = field(default_factory=list)
    fail_resets: bool = False

    def _did(self, device_id: str, action: str, value: object = None) -> Outcome:
        self.done.append((device_id, action, value))
        return Outcome(True, action)

    def reset_lockout(self, device_id: str) -> Outcome:
        self.done.append((device_id, "reset", None))
        return Outcome(not self.fail_resets, "locked out again" if self.fail_resets else "reset")

    def set_room_setpoint(self, device_id: str, celsius: float) -> Outcome:
        return self._did(device_id, "room", celsius)

    def set_flow_setpoint(self, device_id: str, celsius: float) -> Outcome:
        return self._did(device_id, "flow", celsius)

    def set_dhw_setpoint(self, device_id: str, celsius: float) -> Outcome:
        return self._did(device_id, "dhw", celsius)

    def set_mode(self, device_id: str, mode: DeviceMode) -> Outcome:
        return self._did(device_id, "mode", mode.value)

    def fill_water(self, device_id: str) -> Outcome:
        return self._did(device_id, "fill")

    def publish_snapshot(self, device_id: str) -> Outcome:
        return self._did(device_id, "snapshot")


class CommandDevices:
    """Devices online (birth and last will, subscribed to their commands) that run what they are sent."""

    def __init__(
        self,
        broker: BrokerAddress,
        device_ids: list[str],
        boiler: RecordingBoiler | None = None,
        password: Callable[[str], str] | None = None,
    ) -> None:
        self._inbox: list[tuple[str, bytes]] = []
        self.links = LinkPool(broker, device_password=password,
                              on_command=lambda device, payload: self._inbox.append((device, payload)))  # fmt: skip
        for device_id in device_ids:
            self.links.add(device_id, "NCB-300", "test-1.0")
        self.boiler = boiler or RecordingBoiler()
        self.commands = CommandDevice(self.boiler, publish=lambda device, topic, payload: self.links.publish(device, topic, payload))  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-devices", daemon=True)

    def __enter__(self) -> CommandDevices:
        self.links.connect_due()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.links.disconnect_all()

    def connected(self) -> bool:
        return all(link.connected for link in self.links.links.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.links.service(0.02)
            while self._inbox:
                self.commands.handle(*self._inbox.pop(0))
