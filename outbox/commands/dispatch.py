"""The command dispatcher: takes queued commands to the boilers, in order, never after they expire.

Where a command waits while its boiler is offline: in our own queue, the `commands` table, not the
broker's persistent session. The table can be read (the console shows a waiting command), cancelled,
expired on time and ordered; a broker session cannot, and an MQTT 3.1.1 session would hand an old
command to a boiler that comes back after its expiry. So a command is published only while its
boiler is connected (`device_state.connected`, from its birth and last will), oldest first, with
the remaining time as its MQTT 5 Message Expiry Interval: if the boiler drops off between publish
and delivery, the broker throws the command away when it expires rather than deliver it late. The
payload carries `expires_at` too, and a boiler refuses a command past it (410).

A command the broker acknowledged is `sent`; the boiler's acknowledgement (via the gateway) makes
it `delivered`. A sent command the boiler has not acknowledged within `resend_after_s` is published
again while still valid (a connection lost in between); the boiler answers a repeated id without
running it twice. Killed at any moment, the dispatcher loses nothing: a command is marked sent only
after the broker has it, and one published but not marked is published again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from diagnostics.commands import store
from diagnostics.commands.store import Dispatchable
from gateway.mqtt_edge import CommandPublisher, Outgoing
from protocol.broker import BrokerAddress
from protocol.commands import CommandKind, CommandMessage, answer_topic, command_topic
from protocol.contract import encode
from telemetry.database import Pool, create_pool_when_ready, poll_until_stopped

__all__ = ["COMMANDS_CHANNEL", "CommandDispatcher", "DispatchConfig", "run_dispatcher"]

log = logging.getLogger(__name__)

COMMANDS_CHANNEL = "ondol_commands"


@dataclass(frozen=True)
class DispatchConfig:
    broker: BrokerAddress
    client_id: str = "ondol-commands-1"
    batch: int = 200
    resend_after_s: float = 10.0
    result_grace_s: float = 300.0
    """How long after its expiry an accepted command may still report its result before it is failed."""
    idle_poll_s: float = 0.2


def outgoing(command: Dispatchable, now: datetime) -> Outgoing:
    """The MQTT message for a command: the contract's payload plus MQTT 5 properties."""
    message = CommandMessage(
        id=command.command_id, kind=CommandKind(command.kind), params=_params(command.params),
        issued_at=command.created_at, expires_at=command.expires_at, response_topic=answer_topic(command.device_id),
    )  # fmt: skip
    return Outgoing(
        topic=command_topic(command.device_id), payload=encode(message),
        expiry_s=int((command.expires_at - now).total_seconds()), response_topic=message.response_topic,
        correlation=command.command_id.bytes,
    )  # fmt: skip


def _params(params: Mapping[str, object]) -> dict[str, float | str]:
    return {k: v for k, v in params.items() if isinstance(v, int | float | str) and not isinstance(v, bool)}


class CommandDispatcher:
    def __init__(self, pool: Pool, publisher: CommandPublisher, config: DispatchConfig) -> None:
        self._pool = pool
        self._publisher = publisher
        self._config = config

    async def dispatch_once(self) -> int:
        """Expire what is due, then send what may go now; how many commands changed."""
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                expired, failed = await store.expire_due(conn, self._config.result_grace_s)
            async with conn.transaction():
                due = await store.claim_dispatchable(conn, self._config.batch, self._config.resend_after_s)
                if not due:
                    return expired + failed
                now = datetime.now(UTC)
                published = await asyncio.to_thread(self._publish_all, [outgoing(c, now) for c in due])
                for command, ok in zip(due, published, strict=True):
                    if ok:
                        await store.mark_sent(conn, command.command_id)
        sent = sum(published)
        if sent < len(due):
            log.warning("the broker took %d of %d commands; the rest are tried again", sent, len(due))
        return expired + failed + sent

    def _publish_all(self, messages: list[Outgoing]) -> list[bool]:
        return [self._publisher.publish(m) for m in messages]

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()

        def on_notify(*_: object) -> None:
            wake.set()

        async with self._pool.acquire() as listener:
            await listener.add_listener(COMMANDS_CHANNEL, on_notify)
            try:
                await poll_until_stopped(self.dispatch_once, stop, self._config.idle_poll_s, what="command dispatch",
                                         wake=wake)  # fmt: skip
            finally:
                await listener.remove_listener(COMMANDS_CHANNEL, on_notify)


async def run_dispatcher(database_url: str, config: DispatchConfig, stop: asyncio.Event) -> None:
    """The dispatcher process: waits for the database and the broker, then dispatches until `stop`."""
    pool = await create_pool_when_ready(database_url, application_name="ondol-commands", stop=stop)
    if pool is None:
        return
    publisher = CommandPublisher(config.broker, config.client_id)
    publisher.start()
    try:
        log.info("command dispatcher started")
        await CommandDispatcher(pool, publisher, config).run(stop)
    finally:
        publisher.stop()
        await pool.close()
