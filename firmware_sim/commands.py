"""A simulated boiler's side of the command contract (protocol/commands.py).

Each device remembers the ids of the commands it has seen, with the answers it gave: a command
delivered twice (a resend after a lost connection, a broker redelivery) gets the same answers
again and is not run twice. A command past its `expires_at` is refused with 410 and not run. An
accepted command is acknowledged (202) before it runs, then its result is published (200 or an
error with the reason). What a command does to the boiler is the physics' (`Boiler`): a reset
clears a lockout, and a boiler whose cause is still there locks out again by itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

from protocol.commands import (
    ACCEPTED,
    EXPIRED,
    SUCCEEDED,
    CommandAnswer,
    CommandKind,
    CommandMessage,
    DeviceMode,
    answer_topic,
)
from protocol.contract import encode

__all__ = ["Boiler", "CommandDevice", "Outcome", "Publish"]

REMEMBERED_IDS: Final = 256
"""Command ids a device remembers (with its answers) to recognise a repeated delivery."""


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str
    version: int | None = None


class Boiler(Protocol):
    """What a command can do to one simulated boiler."""

    def reset_lockout(self, device_id: str) -> Outcome: ...
    def set_room_setpoint(self, device_id: str, celsius: float) -> Outcome: ...
    def set_flow_setpoint(self, device_id: str, celsius: float) -> Outcome: ...
    def set_dhw_setpoint(self, device_id: str, celsius: float) -> Outcome: ...
    def set_mode(self, device_id: str, mode: DeviceMode) -> Outcome: ...
    def fill_water(self, device_id: str) -> Outcome: ...
    def publish_snapshot(self, device_id: str) -> Outcome: ...


Publish = Callable[[str, str, bytes], None]
"""(device id, topic, payload): publish as that device, QoS 1."""


@dataclass
class CommandDevice:
    """Handles the commands of the simulated devices of one process."""

    boiler: Boiler
    publish: Publish
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _seen: dict[str, OrderedDict[str, list[bytes]]] = field(default_factory=dict)
    executed: int = 0
    repeated: int = 0

    def handle(self, device_id: str, payload: bytes) -> None:
        """One delivery of a command to `device_id`."""
        try:
            command = CommandMessage.model_validate_json(payload)
        except ValueError:  # pydantic.ValidationError is one
            return  # not a command this firmware understands, and no id to answer to
        seen = self._seen.setdefault(device_id, OrderedDict())
        answers = seen.get(str(command.id))
        if answers is not None:
            self.repeated += 1
            for answer in answers:
                self.publish(device_id, answer_topic(device_id), answer)
            return
        answers = []
        seen[str(command.id)] = answers
        while len(seen) > REMEMBERED_IDS:
            seen.popitem(last=False)
        self._run(device_id, command, answers)

    def _answer(self, device_id: str, answers: list[bytes], answer: CommandAnswer) -> None:
        payload = encode(answer)
        answers.append(payload)
        self.publish(device_id, answer_topic(device_id), payload)

    def _run(self, device_id: str, command: CommandMessage, answers: list[bytes]) -> None:
        now = self.clock()
        if command.expires_at <= now:
            self._answer(device_id, answers, CommandAnswer(id=command.id, stage="ack", ac=EXPIRED,
                                                           ad="arrived after it expired; not run", ts=now))  # fmt: skip
            return
        problem = _params_problem(command)
        if problem is not None:
            self._answer(
                device_id, answers, CommandAnswer(id=command.id, stage="ack", ac=400, ad=problem, ts=now)
            )
            return
        self._answer(device_id, answers, CommandAnswer(id=command.id, stage="ack", ac=ACCEPTED, ts=now))
        outcome = self._execute(device_id, command)
        self.executed += 1
        self._answer(device_id, answers, CommandAnswer(
            id=command.id, stage="result", ac=SUCCEEDED if outcome.ok else 500, ad=outcome.detail[:500],
            av=outcome.version, ts=self.clock(),
        ))  # fmt: skip

    def _execute(self, device_id: str, command: CommandMessage) -> Outcome:
        b, p = self.boiler, command.params
        kind = command.kind
        if kind is CommandKind.LOCKOUT_RESET:
            return b.reset_lockout(device_id)
        if kind is CommandKind.SET_CH_SETPOINT:
            if "room_c" in p:
                return b.set_room_setpoint(device_id, float(p["room_c"]))
            return b.set_flow_setpoint(device_id, float(p["flow_c"]))
        if kind is CommandKind.SET_DHW_SETPOINT:
            return b.set_dhw_setpoint(device_id, float(p["dhw_c"]))
        if kind is CommandKind.SET_MODE:
            return b.set_mode(device_id, DeviceMode(str(p["mode"])))
        if kind is CommandKind.WATER_FILL:
            return b.fill_water(device_id)
        return b.publish_snapshot(device_id)


def _params_problem(command: CommandMessage) -> str | None:
    """What the firmware refuses in a command's parameters (the platform checked them already; a
    device checks again, as firmware must)."""
    p = command.params
    kind = command.kind
    if kind is CommandKind.SET_CH_SETPOINT:
        if len(p) != 1 or not isinstance(p.get("room_c", p.get("flow_c")), int | float):
            return "set_ch_setpoint needs room_c or flow_c"
    elif kind is CommandKind.SET_DHW_SETPOINT:
        if not isinstance(p.get("dhw_c"), int | float):
            return "set_dhw_setpoint needs dhw_c"
    elif kind is CommandKind.SET_MODE:
        if p.get("mode") not in {m.value for m in DeviceMode}:
            return "unknown mode"
    elif p:
        return f"{kind.value} takes no parameters"
    return None
