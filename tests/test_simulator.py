"""The simulated fleet: deterministic by seed, inside the contract, and honest about connectivity."""

from __future__ import annotations

import gc
import os
import socket
import threading
from datetime import UTC, datetime

import asyncpg

from firmware_sim.fleet import REGIONS, plan_fleet
from firmware_sim.mqtt_link import LinkPool
from firmware_sim.physics import FleetPhysics
from firmware_sim.runner import FleetRun, run_fleet
from firmware_sim.weather import simulate_weather
from ondol.local_servers import free_port
from protocol.broker import BrokerAddress
from protocol.contract import TelemetryPayload
from testbed.support import eventually, gateway_config, register, running_gateway

START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)


def _physics(devices: list, seed: int) -> FleetPhysics:  # type: ignore[type-arg]
    weather = simulate_weather([r.winter_mean_c for r in REGIONS], start=START, days=3, seed=seed)
    return FleetPhysics(devices, weather, START, seed)


def series(seed: int, steps: int = 50) -> list[dict[str, object]]:
    physics = _physics(plan_fleet(3, seed=seed), seed)
    out = []
    for _ in range(steps):
        physics.advance(120)
        out.append(physics.report_values(2))
    return out


def test_the_same_seed_gives_the_same_fleet_and_the_same_numbers() -> None:
    assert plan_fleet(20, seed=5) == plan_fleet(20, seed=5)
    assert plan_fleet(20, seed=5) != plan_fleet(20, seed=6)
    assert series(5) == series(5)
    assert series(5) != series(6)


def test_every_report_is_valid_under_the_contract_and_values_move() -> None:
    devices = plan_fleet(30, seed=3)
    physics = _physics(devices, 3)
    history: list[list[dict[str, object]]] = [[] for _ in devices]
    for _ in range(144):
        physics.advance(600)
        for i in range(len(devices)):
            history[i].append(physics.report_values(i))
    for reports in history:
        for k, values in enumerate(reports):
            TelemetryPayload.model_validate({"seq": k, "ts": START, **values}, strict=False)
        assert len({r["room_c"] for r in reports}) > 10, "room temperature moves"
        assert len({r["outdoor_c"] for r in reports}) > 10, "the weather moves"
        pressure_or_tank = {"ch_pressure_bar", "water_level_low"} & set(reports[0])
        assert len(pressure_or_tank) == 1, "sealed loops report pressure, open tanks a level switch"


async def test_fleet_publishes_every_report_and_a_lost_connection_fires_the_will(
    db: asyncpg.Connection, db_dsn: str, broker: BrokerAddress
) -> None:
    fleet = plan_fleet(6, seed=9, prefix="will")
    await register(db, *(d.device_id for d in fleet))
    newcomer, fleet = fleet[5], fleet[:5]  # never ran: its birth below is the first word from it
    async with running_gateway(gateway_config(db_dsn, broker)):
        stats = run_fleet(fleet, broker, FleetRun(report_interval_s=60, acceleration=0, reports_per_device=4))
        assert stats.acknowledged == stats.published == 5 * (4 + 1), "4 reports and a birth per device"
        await eventually(lambda: db.fetchval("SELECT count(*) = 20 FROM readings"), what="20 readings")

        links = LinkPool(broker)
        links.add(newcomer.device_id, newcomer.model, "sim-1.0")
        links.connect_due()
        await eventually(lambda: _serviced_until_connected(links), what="device connected")
        await eventually(
            lambda: db.fetchval(
                "SELECT connected FROM device_state WHERE device_id = $1", newcomer.device_id
            ),
            what="birth stored",
        )
        links.drop_all()  # the connection dies without DISCONNECT: the broker publishes the will
        await eventually(
            lambda: db.fetchval(
                "SELECT connected = false FROM device_state WHERE device_id = $1", newcomer.device_id
            ),
            what="last will stored",
            timeout_s=30,
        )


async def _serviced_until_connected(links: LinkPool) -> bool:
    links.service(0.05)
    return all(link.connected for link in links.links.values())


def test_a_stopped_run_closes_every_socket_even_those_still_waiting_for_the_broker() -> None:
    """A broker that accepts connections and never answers leaves every device waiting for CONNACK
    when the run stops. Those sockets must be closed by the run itself, not left to the garbage
    collector: thousands of them push later descriptors past 1024, where paho's `select()` fails."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", free_port()))
        silent.listen(200)  # the kernel completes the handshakes; nobody ever reads or answers
        host, port = silent.getsockname()
        before = _open_descriptors()
        gc.disable()  # the cycles of the run's clients must not be what closes their sockets
        try:
            stop = threading.Event()
            threading.Timer(2.0, stop.set).start()
            stats = run_fleet(plan_fleet(50, seed=3, prefix="silent"), BrokerAddress(host=host, port=port),
                              FleetRun(report_interval_s=60, acceleration=1.0), should_stop=stop.is_set)  # fmt: skip
            left = _open_descriptors() - before
        finally:
            gc.enable()
    assert stats.published == 0, "nothing can be published without a CONNACK"
    assert left == 0, f"{left} descriptors of the run are still open after it returned"


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))
