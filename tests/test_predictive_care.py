"""Predicted tickets in the store: opened once with their evidence, confirmed (not duplicated) by the
hard fault, quiet for healthy boilers in a cold wave, and scored by `ondol eval`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from diagnostics.catalog import load_catalog
from diagnostics.faults.engine import EngineConfig, FaultEngine, InboxEvent
from diagnostics.faults.policy import Action
from diagnostics.predictive.jobs import PredictiveConfig, run_daily
from diagnostics.service_points import ServicePointDirectory, seed_if_empty
from firmware_sim.fleet import plan_fleet
from ondol.fleet_seed import sim_device_record
from ondol.predictive_eval import EvalConfig, evaluate
from ondol.schema import migrate_schema
from protocol.broker import BrokerAddress
from telemetry.database import create_pool
from telemetry.device_registry import register_devices
from testbed.support import gateway_config, running_gateway

AT = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


async def _engine(db: asyncpg.Connection) -> tuple[FaultEngine, str]:
    device = plan_fleet(1, seed=5, prefix="pc")[0]
    async with db.transaction():
        await seed_if_empty(db)
        await register_devices(db, devices=[sim_device_record(device, 60)])
    return FaultEngine(load_catalog(), await ServicePointDirectory.load(db), EngineConfig()), device.device_id


async def test_a_prediction_is_opened_once_and_confirmed_by_the_hard_fault(db: asyncpg.Connection) -> None:
    engine, device = await _engine(db)
    evidence = {"summary": "3 of 40 ignition trials failed", "slope_per_day": 0.02}
    async with db.transaction():
        first = await engine.open_prediction(db, device_id=device, code="A02", detector="ignition_retries_rising",
                                             at=AT, eta=AT + timedelta(days=5), evidence=evidence)  # fmt: skip
        again = await engine.open_prediction(db, device_id=device, code="A01", detector="flame_current_falling",
                                             at=AT, eta=None, evidence=evidence)  # fmt: skip
    assert first is not None
    assert again is None, "one open prediction per fault family"
    ticket = await db.fetchrow("SELECT * FROM tickets WHERE device_id = $1", device)
    assert (ticket["code"], ticket["kind"], ticket["priority"]) == ("A02", "planned", 4)
    assert json.loads(ticket["evidence"])["prediction"]["slope_per_day"] == 0.02

    failed_at = AT + timedelta(days=4)
    async with db.transaction():
        decision = await engine.handle(db, InboxEvent(1, device, failed_at, 7, "E003", "raised", failed_at))
    assert decision.action is Action.CONFIRM_PREDICTION
    tickets = await db.fetch("SELECT * FROM tickets WHERE device_id = $1", device)
    assert len(tickets) == 1, "the hard fault joins the predicted ticket"
    t = tickets[0]
    assert (t["code"], t["codes"], t["kind"], t["priority"]) == ("E003", ["A02", "E003"], "repair", 3)
    confirmed = json.loads(t["evidence"])["confirmed"]
    assert confirmed["predictions"][0]["lead_hours"] == 96.0
    prediction = await db.fetchrow("SELECT * FROM predictions WHERE prediction_id = $1", first)
    assert (prediction["status"], prediction["confirmed_code"]) == ("confirmed", "E003")
    events = await db.fetch(
        "SELECT event_type FROM outbox_events WHERE subject = $1", f"ticket/{t['ticket_id']}"
    )
    assert [e["event_type"] for e in events] == ["ticket.opened", "ticket.updated"]


async def test_a_guidance_only_advisory_is_confirmed_and_the_hard_code_handled(
    db: asyncpg.Connection,
) -> None:
    engine, device = await _engine(db)
    async with db.transaction():
        await engine.open_prediction(db, device_id=device, code="A04", detector="silent_in_frost", at=AT,
                                     eta=AT + timedelta(hours=20), evidence={"summary": "silent"})  # fmt: skip
    case = await db.fetchrow("SELECT * FROM fault_cases WHERE device_id = $1", device)
    assert (case["status"], case["ticket_id"]) == ("informed", None)
    assert await db.fetchval(
        "SELECT count(*) FROM customer_alerts WHERE device_id = $1 AND code = 'A04'", device
    )
    later = AT + timedelta(hours=30)
    async with db.transaction():
        await engine.handle(db, InboxEvent(1, device, later, 9, "E201", "raised", later))
    prediction = await db.fetchrow(
        "SELECT status, confirmed_code FROM predictions WHERE device_id = $1", device
    )
    assert tuple(prediction) == ("confirmed", "E201")
    statuses = [
        r["status"]
        for r in await db.fetch(
            "SELECT status FROM fault_cases WHERE device_id = $1 ORDER BY case_id", device
        )
    ]
    assert statuses == ["closed", "informed"]


@pytest.mark.slow
async def test_healthy_boilers_in_a_cold_wave_raise_no_alarm(db_dsn: str) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    config = EvalConfig(devices=80, days=40, seed=21, start=start, fault_share=0.0)
    wave = (start + timedelta(days=22), 5.0, 13.0)
    pool = await create_pool(db_dsn, application_name="test", max_size=4)
    try:
        report = await evaluate(config, pool, cold_waves=[wave])
        async with pool.acquire() as conn:
            cold = await conn.fetchrow(
                "SELECT min(outdoor_min) AS coldest, (avg(firing) FILTER (WHERE day BETWEEN $1 AND $2))::float8 AS wave_firing,"
                " (avg(firing) FILTER (WHERE day < $1))::float8 AS before_firing FROM device_health_daily",
                (start + timedelta(days=23)).date(),
                (start + timedelta(days=26)).date(),
            )
            predictions = await conn.fetchval("SELECT count(*) FROM predictions")
            tickets = await conn.fetchval("SELECT count(*) FROM tickets")
    finally:
        await pool.close()
    assert cold["coldest"] < -12, "the fleet went through a real cold wave"
    assert cold["wave_firing"] > 1.3 * cold["before_firing"], "with much longer burns"
    assert predictions == 0
    assert tickets == 0
    assert report.overall()["false_alarms"] == 0


@pytest.mark.slow
async def test_eval_finds_faults_early_and_reruns_open_nothing(db_dsn: str) -> None:
    config = EvalConfig(devices=150, days=50, seed=4, fault_share=0.5)
    pool = await create_pool(db_dsn, application_name="test", max_size=4)
    try:
        report = await evaluate(config, pool)
        async with pool.acquire() as conn:
            before = await conn.fetchval("SELECT count(*) FROM predictions")
            engine = FaultEngine(load_catalog(), await ServicePointDirectory.load(conn), EngineConfig())
            end = config.start + timedelta(days=config.days)
            async with conn.transaction():
                rerun = await run_daily(conn, engine, end, PredictiveConfig())
            after = await conn.fetchval("SELECT count(*) FROM predictions")
            duplicates = await conn.fetchval(
                "SELECT count(*) FROM (SELECT device_id, family FROM tickets"
                " WHERE status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled')"
                " GROUP BY 1, 2 HAVING count(*) > 1) AS d"
            )
    finally:
        await pool.close()
    overall = report.overall()
    assert overall["failed"] >= 15
    assert overall["recall"] >= 0.75
    assert overall["precision"] >= 0.85
    assert rerun.opened == 0
    assert after == before
    assert duplicates == 0


@pytest.mark.slow
def test_eval_command_prints_a_table_and_a_json_line(db_dsn: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "ondol", "eval", "--devices", "40", "--days", "20", "--seed", "3",
         "--database-url", db_dsn],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["fault", "faults", "failed"]
    figures = json.loads(lines[-1])
    for key in ("recall", "precision", "lead_h_median", "lead_h_p10", "false_alarms_per_1000_device_days"):
        assert key in figures
    assert figures["devices"] == 40


def test_an_eval_stopped_by_sigterm_stops_and_removes_its_scratch_database(tmp_path: Path) -> None:
    """A CI timeout or `kill` must not leave a PostgreSQL server running on a port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ondol", "eval", "--devices", "200", "--days", "60", "--seed", "3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        port = None
        for line in proc.stderr:
            if found := re.search(r"scratch PostgreSQL on 127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
                break
        assert port is not None, "the eval never said where its database runs"
        assert list(tmp_path.glob("ondol-eval-*")), "the scratch database is not under TMPDIR"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert list(tmp_path.glob("ondol-eval-*")) == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "PostgreSQL still listens after the eval stopped"


@pytest.mark.slow
async def test_over_mqtt_the_store_gets_the_same_numbers(
    db_dsn: str, empty_db_dsn: str, broker: BrokerAddress
) -> None:
    """The evaluation's MQTT path (boilers → broker → gateway → store) stores exactly what the direct
    path stores for the same seed."""
    config = EvalConfig(devices=12, days=3, seed=5, fault_share=0.0)
    query = ("SELECT device_id, ts, seq, ch_flow_c, ch_return_c, room_c, flue_c, fan_rpm, modulation_pct,"
             " burner_starts, failed_starts, ch_pressure_bar, auto_refill_count FROM readings ORDER BY 1, 2, 3")  # fmt: skip
    pool = await create_pool(db_dsn, application_name="test", max_size=4)
    try:
        async with running_gateway(gateway_config(db_dsn, broker)):
            await evaluate(config, pool, broker=broker)
        async with pool.acquire() as conn:
            over_mqtt = [tuple(r) for r in await conn.fetch(query)]
    finally:
        await pool.close()
    direct_pool = await create_pool(empty_db_dsn, application_name="test", max_size=4)
    try:
        async with direct_pool.acquire() as conn:
            await migrate_schema(conn)
        await evaluate(config, direct_pool)
        async with direct_pool.acquire() as conn:
            direct = [tuple(r) for r in await conn.fetch(query)]
    finally:
        await direct_pool.close()
    assert len(direct) > 12 * 3 * 23
    assert over_mqtt == direct
