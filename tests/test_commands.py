"""Commands to boilers end to end: the API decides and records, the dispatcher publishes over a real
Mosquitto, simulated devices (the simulator's own command handler) run and answer, the gateway
stores the answers in a real PostgreSQL, and the command's state follows."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from gateway.mqtt_edge import CommandPublisher
from outbox.commands.dispatch import CommandDispatcher, DispatchConfig, Outgoing
from protocol.broker import BrokerAddress
from protocol.commands import CommandKind, CommandMessage, answer_topic, command_topic
from protocol.contract import encode
from telemetry.database import create_pool
from testbed.command_devices import CommandDevices
from testbed.support import ApiClient, eventually, gateway_config, register, running_gateway


@dataclass
class Stack:
    api: httpx.AsyncClient
    db: asyncpg.Connection
    broker: BrokerAddress
    publisher: CommandPublisher

    async def consent(self, device_id: str, scope: list[str] | None = None) -> None:
        answer = await self.api.put(f"/v1/devices/{device_id}/remote-consent",
                                    json={"scope": scope or ["all"], "on_behalf_of_customer": True})  # fmt: skip
        assert answer.status_code == 200, answer.text

    async def send(
        self, device_id: str, kind: str, params: dict[str, Any] | None = None, **extra: Any
    ) -> httpx.Response:
        body = {"kind": kind, "params": params or {}, "reason": "test", **extra}
        return await self.api.post(f"/v1/devices/{device_id}/commands", json=body)

    async def command(self, command_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/v1/commands/{command_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def state_becomes(self, command_id: str, state: str, timeout_s: float = 20) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            found = await self.command(command_id)
            return found if found["state"] == state else None

        return await eventually(check, timeout_s=timeout_s, what=f"command {command_id} {state}")


@contextlib.asynccontextmanager
async def running_stack(db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress) -> AsyncIterator[Stack]:
    """Gateway, command dispatcher and API on one database and broker."""
    pool = await create_pool(db_dsn, application_name="test-commands", max_size=2)
    publisher = CommandPublisher(broker, f"test-commands-{uuid4().hex[:6]}")
    publisher.start()
    assert await asyncio.to_thread(publisher.wait_connected, 10)
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(
        CommandDispatcher(
            pool, publisher, DispatchConfig(broker=broker, resend_after_s=2, idle_poll_s=0.1)
        ).run(stop)
    )
    try:
        async with running_gateway(gateway_config(db_dsn, broker)), ApiClient(db_dsn, role="agent") as api:
            yield Stack(api, db, broker, publisher)
    finally:
        stop.set()
        await asyncio.wait_for(dispatcher, 10)
        publisher.stop()
        await pool.close()


async def _online(db: asyncpg.Connection, *device_ids: str) -> None:
    async def check() -> bool:
        count = await db.fetchval(
            "SELECT count(*) FROM device_state WHERE device_id = ANY($1) AND connected", list(device_ids)
        )
        return bool(count == len(device_ids))

    await eventually(check, what="devices online")


async def test_a_command_goes_queued_sent_delivered_succeeded_and_its_history_and_events_say_so(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    await register(db, "cmd-1")
    async with running_stack(db_dsn, db, broker) as stack:
        await stack.consent("cmd-1")
        with CommandDevices(broker, ["cmd-1"]) as devices:
            await _online(db, "cmd-1")
            answer = await stack.send("cmd-1", "set_mode", {"mode": "away"}, if_version=0)
            assert answer.status_code == 201, answer.text
            assert answer.json()["state"] == "queued"
            done = await stack.state_becomes(answer.json()["command_id"], "succeeded")
            assert devices.boiler.done == [("cmd-1", "mode", "away")]
        desired = await stack.api.get("/v1/devices/cmd-1/desired-state")
    assert [t["to_state"] for t in done["transitions"]] == ["queued", "sent", "delivered", "succeeded"]
    assert [t["actor"] for t in done["transitions"]] == ["agent:test-agent", "dispatcher", "device", "device"]
    assert done["result"]["ac"] == 200
    events = await db.fetch("SELECT event_type FROM outbox_events WHERE subject = $1 ORDER BY event_id",
                            f"command/{done['command_id']}")  # fmt: skip
    assert [e["event_type"] for e in events] == ["command.requested", "command.succeeded"]
    assert desired.json()["version"] == 1
    assert desired.json()["desired"] == {"mode": "away"}


async def test_a_command_delivered_twice_runs_once_and_is_answered_the_same_both_times(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    await register(db, "cmd-2")
    async with running_stack(db_dsn, db, broker) as stack:
        await stack.consent("cmd-2")
        with CommandDevices(broker, ["cmd-2"]) as devices:
            await _online(db, "cmd-2")
            answer = await stack.send("cmd-2", "water_fill")
            command_id = answer.json()["command_id"]
            await stack.state_becomes(command_id, "succeeded")
            # The same command again, as a broker redelivery or a resend after a lost connection would.
            now = datetime.now(UTC)
            again = CommandMessage(id=UUID(command_id), kind=CommandKind.WATER_FILL, issued_at=now,
                                   expires_at=now + timedelta(minutes=5), response_topic=answer_topic("cmd-2"))  # fmt: skip
            assert await asyncio.to_thread(stack.publisher.publish, Outgoing(
                command_topic("cmd-2"), encode(again), 300, answer_topic("cmd-2"), UUID(command_id).bytes))  # fmt: skip
            await eventually(lambda: _async(devices.commands.repeated == 1), what="repeat answered")
            await asyncio.sleep(
                1.0
            )  # time for the repeated answers to reach the store, were they stored twice
    assert devices.boiler.done == [("cmd-2", "fill", None)]
    answers = await db.fetch("SELECT stage, ac FROM command_answers WHERE command_id = $1 ORDER BY answer_id",
                             UUID(command_id))  # fmt: skip
    assert [(a["stage"], a["ac"]) for a in answers] == [("ack", 202), ("result", 200)]
    rows = await db.fetch("SELECT to_state FROM command_transitions WHERE command_id = $1 ORDER BY transition_id",
                          UUID(command_id))  # fmt: skip
    assert [r["to_state"] for r in rows] == ["queued", "sent", "delivered", "succeeded"]


async def _async(value: bool) -> bool:
    return value


async def test_an_offline_device_gets_its_valid_commands_in_order_on_reconnect_and_never_an_expired_one(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    await register(db, "cmd-3")
    async with running_stack(db_dsn, db, broker) as stack:
        await stack.consent("cmd-3")
        short = await stack.send("cmd-3", "request_diagnostics", ttl_s=10)
        first = await stack.send("cmd-3", "set_dhw_setpoint", {"dhw_c": 50}, if_version=0, ttl_s=600)
        second = await stack.send("cmd-3", "set_dhw_setpoint", {"dhw_c": 48}, if_version=1, ttl_s=600)
        assert {a.status_code for a in (short, first, second)} == {201}
        expired = await stack.state_becomes(short.json()["command_id"], "expired", timeout_s=30)
        assert expired["result"]["detail"] == "expired before the boiler was online"
        assert (await stack.command(first.json()["command_id"]))["state"] == "queued"
        with CommandDevices(broker, ["cmd-3"]) as devices:
            await stack.state_becomes(second.json()["command_id"], "succeeded")
            await stack.state_becomes(first.json()["command_id"], "succeeded")
        assert devices.boiler.done == [("cmd-3", "dhw", 50.0), ("cmd-3", "dhw", 48.0)]
    events = await db.fetch("SELECT event_type FROM outbox_events WHERE subject = $1 ORDER BY event_id",
                            f"command/{short.json()['command_id']}")  # fmt: skip
    assert [e["event_type"] for e in events] == ["command.requested", "command.expired"]


async def test_a_device_refuses_a_command_that_reaches_it_after_its_expiry(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    """The broker's expiry and the dispatcher's check are the first guards; the device is the last."""
    await register(db, "cmd-4")
    async with running_stack(db_dsn, db, broker) as stack:
        await stack.consent("cmd-4")
        with CommandDevices(broker, ["cmd-4"]) as devices:
            await _online(db, "cmd-4")
            answer = await stack.send("cmd-4", "request_diagnostics", ttl_s=600)
            command_id = UUID(answer.json()["command_id"])
            await stack.state_becomes(str(command_id), "succeeded")
            late = uuid4()
            past = datetime.now(UTC) - timedelta(seconds=5)
            stale = CommandMessage(id=late, kind=CommandKind.LOCKOUT_RESET, issued_at=past - timedelta(minutes=1),
                                   expires_at=past, response_topic=answer_topic("cmd-4"))  # fmt: skip
            await asyncio.to_thread(stack.publisher.publish, Outgoing(
                command_topic("cmd-4"), encode(stale), 60, answer_topic("cmd-4"), late.bytes))  # fmt: skip

            async def refused() -> bool:
                return bool(
                    await db.fetchval("SELECT ac FROM command_answers WHERE command_id = $1", late) == 410
                )

            await eventually(refused, what="expired command refused")
    assert ("cmd-4", "reset", None) not in devices.boiler.done


async def _fault(db: asyncpg.Connection, device_id: str, code: str, *, raised_hours_ago: float = 0.5) -> int:
    """An active fault and its open case, as the gateway and the fault engine would have left them."""
    at = datetime.now(UTC) - timedelta(hours=raised_hours_ago)
    await db.execute(
        "INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq) VALUES ($1, $2, true, $3, $3, 1)"
        " ON CONFLICT (device_id, code) DO UPDATE SET active = true, raised_at = $3, changed_at = $3",
        device_id, code, at,
    )  # fmt: skip
    return int(await db.fetchval(
        "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
        " VALUES ($1, 'ignition_flame', $2, 'ticketed', $3, $3, 'test') RETURNING case_id",
        device_id, code, at,
    ))  # fmt: skip


async def _refusal(api: httpx.AsyncClient, device_id: str, body: dict[str, Any]) -> tuple[int, str, str]:
    answer = await api.post(f"/v1/devices/{device_id}/commands", json=body)
    problem = answer.json()
    return answer.status_code, problem.get("type", "").rsplit(":", 1)[-1], problem.get("detail", "")


async def test_remote_resets_are_refused_by_the_rule_that_forbids_them_and_each_refusal_is_recorded(
    db_dsn: str, db: asyncpg.Connection
) -> None:
    await register(db, "rst-safety", "rst-once", "rst-noconsent", "rst-gas", "rst-recent")
    reset = {"kind": "lockout_reset", "reason": "customer asked", "no_gas_smell_confirmed": True}
    async with ApiClient(db_dsn, role="agent") as api:
        for device in ("rst-safety", "rst-once", "rst-gas", "rst-recent"):
            answer = await api.put(f"/v1/devices/{device}/remote-consent",
                                   json={"scope": ["lockout_reset"], "on_behalf_of_customer": True})  # fmt: skip
            assert answer.status_code == 200
        await _fault(db, "rst-safety", "E110")
        assert await _refusal(api, "rst-safety", reset) == (
            409,
            "safety-critical-code-active",
            "safety-critical E110 is active: never reset remotely",
        )

        await _fault(db, "rst-once", "E003")
        first = await api.post("/v1/devices/rst-once/commands", json=reset)
        assert first.status_code == 201, first.text
        status, rule, _ = await _refusal(api, "rst-once", reset)
        assert (status, rule) == (409, "one-remote-reset-per-case")

        await _fault(db, "rst-noconsent", "E003")
        status, rule, _ = await _refusal(api, "rst-noconsent", reset)
        assert (status, rule) == (403, "no-remote-access-consent")

        await _fault(db, "rst-gas", "E003")
        status, rule, _ = await _refusal(api, "rst-gas", {**reset, "no_gas_smell_confirmed": False})
        assert (status, rule) == (409, "gas-smell-not-ruled-out")

        await _fault(db, "rst-recent", "E003")
        await db.execute("INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq)"
                         " VALUES ('rst-recent', 'E110', false, now() - interval '3 hours', now(), 2)")  # fmt: skip
        status, rule, _ = await _refusal(api, "rst-recent", reset)
        assert (status, rule) == (409, "safety-critical-code-recent")
    refused = await db.fetch("SELECT device_id, state, result->>'rule' AS rule, requested_by FROM commands"
                             " WHERE state = 'rejected' ORDER BY created_at")  # fmt: skip
    assert [(r["device_id"], r["rule"]) for r in refused] == [
        ("rst-safety", "safety_critical_code_active"), ("rst-once", "one_remote_reset_per_case"),
        ("rst-noconsent", "no_remote_access_consent"), ("rst-gas", "gas_smell_not_ruled_out"),
        ("rst-recent", "safety_critical_code_recent"),
    ]  # fmt: skip
    assert {r["requested_by"] for r in refused} == {"agent:test-agent"}


async def test_two_agents_changing_the_same_setpoint_get_a_conflict_not_a_race(
    db_dsn: str, db: asyncpg.Connection
) -> None:
    await register(db, "race-1")
    async with ApiClient(db_dsn, role="agent") as one, ApiClient(db_dsn, role="agent") as two:
        await one.put(
            "/v1/devices/race-1/remote-consent", json={"scope": ["all"], "on_behalf_of_customer": True}
        )
        seen = (await one.get("/v1/devices/race-1/desired-state")).json()["version"]
        answers = await asyncio.gather(
            one.post("/v1/devices/race-1/commands", json={"kind": "set_ch_setpoint", "params": {"room_c": 22}, "if_version": seen}),
            two.post("/v1/devices/race-1/commands", json={"kind": "set_ch_setpoint", "params": {"room_c": 19}, "if_version": seen}),
        )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [201, 409]
    loser = next(a for a in answers if a.status_code == 409).json()
    assert loser["type"] == "urn:ondol:problem:desired-state-changed"
    state = await db.fetchrow("SELECT version, desired FROM device_desired_state WHERE device_id = 'race-1'")
    winner = next(a for a in answers if a.status_code == 201).json()
    assert state["version"] == 1
    assert json.loads(state["desired"]) == winner["params"]


async def test_the_history_cannot_be_edited_or_deleted(db_dsn: str, db: asyncpg.Connection) -> None:
    await register(db, "hist-1")
    async with ApiClient(db_dsn, role="agent") as api:
        await api.put(
            "/v1/devices/hist-1/remote-consent", json={"scope": ["all"], "on_behalf_of_customer": True}
        )
        answer = await api.post("/v1/devices/hist-1/commands", json={"kind": "request_diagnostics"})
    command_id = UUID(answer.json()["command_id"])
    for statement in (
        "UPDATE commands SET params = '{\"x\": 1}' WHERE command_id = $1",
        "UPDATE commands SET requested_by = 'someone else' WHERE command_id = $1",
        "DELETE FROM commands WHERE command_id = $1",
        "UPDATE command_transitions SET actor = 'x' WHERE command_id = $1",
        "DELETE FROM command_transitions WHERE command_id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.execute(statement, command_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("TRUNCATE command_transitions")
    await db.execute(
        "UPDATE commands SET state = 'cancelled', updated_by = 'test' WHERE command_id = $1", command_id
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute(
            "UPDATE commands SET state = 'queued', updated_by = 'test' WHERE command_id = $1", command_id
        )


async def _ticket(db: asyncpg.Connection, device_id: str, case_id: int, code: str) -> int:
    ticket_id = int(await db.fetchval(
        "INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,"
        " last_raised_at, contact_due_at, rule, evidence) VALUES ($1, $2, 'ignition_flame', $3, ARRAY[$3], 'repair', 'open', 3,"
        " now(), now(), now() + interval '4 hours', 'test', '{}') RETURNING ticket_id",
        case_id, device_id, code,
    ))  # fmt: skip
    await db.execute("UPDATE fault_cases SET ticket_id = $1 WHERE case_id = $2", ticket_id, case_id)
    return ticket_id


async def test_a_remote_reset_that_holds_resolves_its_ticket_remotely_and_one_that_fails_leaves_a_note(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    from diagnostics.commands.watch import judge_resets
    from testbed.command_devices import RecordingBoiler

    await register(db, "fix-1", "fix-2")
    tickets = {}
    for device in ("fix-1", "fix-2"):
        tickets[device] = await _ticket(db, device, await _fault(db, device, "E003"), "E003")
    reset = {"no_gas_smell_confirmed": True}
    async with running_stack(db_dsn, db, broker) as stack:
        for device in ("fix-1", "fix-2"):
            await stack.consent(device)
        with (
            CommandDevices(broker, ["fix-1"]),
            CommandDevices(broker, ["fix-2"], RecordingBoiler(fail_resets=True)),
        ):
            await _online(db, "fix-1", "fix-2")
            held = await stack.send("fix-1", "lockout_reset", ticket_id=tickets["fix-1"], **reset)
            failed = await stack.send("fix-2", "lockout_reset", ticket_id=tickets["fix-2"], **reset)
            assert (held.status_code, failed.status_code) == (201, 201), (held.text, failed.text)
            await stack.state_becomes(held.json()["command_id"], "succeeded")
            await stack.state_becomes(failed.json()["command_id"], "failed")
    await db.execute("UPDATE device_faults SET active = false, changed_at = now() WHERE device_id = 'fix-1'")
    pool = await create_pool(db_dsn, application_name="test-watch", max_size=1)
    try:
        assert await judge_resets(pool, watch=timedelta(hours=2)) == {"fixed": 0, "recurred": 0, "failed": 1}
        assert await judge_resets(pool, watch=timedelta(0)) == {"fixed": 1, "recurred": 0, "failed": 0}
        assert await judge_resets(pool, watch=timedelta(0)) == {"fixed": 0, "recurred": 0, "failed": 0}
    finally:
        await pool.close()
    statuses = dict(await db.fetch("SELECT device_id, status FROM tickets"))
    assert statuses == {"fix-1": "resolved_remotely", "fix-2": "open"}
    notes = await db.fetch("SELECT author, body FROM ticket_notes WHERE ticket_id = $1", tickets["fix-2"])
    assert [(n["author"], n["body"]) for n in notes] == [
        ("remote-reset", "failed: the remote reset failed: locked out again")
    ]


async def test_a_command_cancelled_while_its_boiler_is_offline_never_reaches_it(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    await register(db, "cxl-1")
    async with running_stack(db_dsn, db, broker) as stack:
        await stack.consent("cxl-1")
        cancelled = await stack.send("cxl-1", "water_fill")
        kept = await stack.send("cxl-1", "request_diagnostics")
        answer = await stack.api.post(f"/v1/commands/{cancelled.json()['command_id']}/cancel")
        assert answer.status_code == 200
        assert answer.json()["state"] == "cancelled"
        again = await stack.api.post(f"/v1/commands/{cancelled.json()['command_id']}/cancel")
        assert again.status_code == 409
        with CommandDevices(broker, ["cxl-1"]) as devices:
            await stack.state_becomes(kept.json()["command_id"], "succeeded")
            await asyncio.sleep(0.5)
    assert devices.boiler.done == [("cxl-1", "snapshot", None)]
    events = await db.fetch("SELECT event_type FROM outbox_events WHERE subject = $1 ORDER BY event_id",
                            f"command/{cancelled.json()['command_id']}")  # fmt: skip
    assert [e["event_type"] for e in events] == ["command.requested", "command.cancelled"]


async def test_a_command_the_boiler_refuses_is_rejected_with_the_boilers_reason(
    db_dsn: str, db: asyncpg.Connection, broker: BrokerAddress
) -> None:
    """A boiler's own refusal (a 4xx acknowledgement), here from a bare MQTT client playing the boiler."""
    from testbed.support import Publisher

    await register(db, "rej-1")
    boiler = Publisher(broker, client_id="rej-1")
    try:
        async with running_stack(db_dsn, db, broker) as stack:
            await stack.consent("rej-1")
            boiler.publish("ondol/v1/rej-1/status", json.dumps({"online": True, "model": "NCB-300"}))
            await _online(db, "rej-1")
            asked = await stack.send("rej-1", "set_mode", {"mode": "away"}, if_version=0)
            command_id = asked.json()["command_id"]
            await stack.state_becomes(command_id, "sent")
            boiler.publish("ondol/v1/rej-1/command-results",
                           json.dumps({"id": command_id, "stage": "ack", "ac": 409, "ad": "the thermostat is locked"}))  # fmt: skip
            rejected = await stack.state_becomes(command_id, "rejected")
    finally:
        boiler.close()
    assert rejected["result"] == {"by": "device", "stage": "ack", "ac": 409, "ad": "the thermostat is locked"}
    events = await db.fetch("SELECT event_type FROM outbox_events WHERE subject = $1 ORDER BY event_id",
                            f"command/{command_id}")  # fmt: skip
    assert [e["event_type"] for e in events] == ["command.requested", "command.rejected"]
