"""Command latency: request → boiler → result committed, with and without telemetry load.

Private servers; one gateway process, the command dispatcher (`ondol commands`) and a simulated
fleet (`ondol sim`, whose boilers run the commands they get with the physics) of `--devices`
boilers, all online. Each round asks for `--commands` commands (a hot-water setpoint each, to
distinct boilers, `--rate` a second) through the same function the API calls, and measures each
command from its request (`created_at`) to its result committed in the gateway's transaction
(`updated_at` of the succeeded command). The baseline round runs with no other traffic than the
fleet's own reports (one a minute per boiler); the loaded round while the C load generator
publishes telemetry at `--telemetry-rate` (by default about half of one gateway's maximum in
bench/ingest.py's runs on this machine).

Goal (issue "remote care"): p99 under 1 s with the telemetry load.

Usage: python bench/commands.py [--devices 10000] [--commands 1000] [--rate 50] [--telemetry-rate 15000] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.harness import (
    Gateway,
    Servers,
    loadgen_command,
    log,
    parse_loadgen,
    percentile,
    product_processes,
    register,
    report,
    servers,
)
from diagnostics.commands.policy import CommandRequest, PolicySettings
from diagnostics.commands.service import Requester, request_command
from protocol.commands import CommandKind

LOAD_DEVICES = 1000
REQUESTER = Requester("agent:bench", "bench", "agent", own_device=False)
POLICY = PolicySettings(rate_limit=1000)


async def wait_online(dsn: str, prefix: str, devices: int, timeout_s: float = 600) -> float:
    """Seconds until every boiler of the fleet is online (its birth stored by the gateway)."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            online = await conn.fetchval(
                "SELECT count(*) FROM device_state WHERE device_id LIKE $1 AND connected", f"{prefix}-%"
            )
            if online >= devices:
                return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"{online} of {devices} boilers online after {timeout_s:.0f} s")
            await asyncio.sleep(1.0)
    finally:
        await conn.close()


async def consent_all(dsn: str, prefix: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO remote_consents (device_id, scope, granted_by, granted_via)"
            " SELECT device_id, ARRAY['all'], 'customer:bench', 'customer' FROM devices WHERE device_id LIKE $1",
            f"{prefix}-%",
        )
    finally:
        await conn.close()


async def ask(dsn: str, device_ids: list[str], rate: float, celsius: float) -> list[str]:
    """One command per boiler, `rate` a second; their ids."""
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
    ids: list[str] = []
    try:
        started = time.monotonic()
        for n, device_id in enumerate(device_ids):
            due = started + n / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            async with pool.acquire() as conn, conn.transaction():
                version = await conn.fetchval(
                    "SELECT coalesce((SELECT version FROM device_desired_state WHERE device_id = $1), 0)",
                    device_id,
                )
                request = CommandRequest(CommandKind.SET_DHW_SETPOINT, {"dhw_c": celsius}, "agent", False,
                                         if_version=version)  # fmt: skip
                outcome = await request_command(conn, device_id, request, REQUESTER, reason="bench", ticket_id=None,
                                                ttl=timedelta(minutes=10), settings=POLICY)  # fmt: skip
            if outcome.refusal is not None or outcome.command is None:
                raise SystemExit(f"command refused for {device_id}: {outcome.refusal}")
            ids.append(str(outcome.command.command_id))
    finally:
        await pool.close()
    return ids


async def latencies(dsn: str, ids: list[str], timeout_s: float = 120) -> tuple[list[float], dict[str, int]]:
    """Request → result committed of every command once all have ended; and how many ended how."""
    conn = await asyncpg.connect(dsn)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            rows = await conn.fetch(
                "SELECT state, extract(epoch FROM updated_at - created_at) AS seconds FROM commands"
                " WHERE command_id = ANY($1::uuid[])", ids,
            )  # fmt: skip
            open_ = [r for r in rows if r["state"] in ("queued", "sent", "delivered")]
            if not open_ or time.monotonic() > deadline:
                states: dict[str, int] = {}
                for r in rows:
                    states[r["state"]] = states.get(r["state"], 0) + 1
                return [float(r["seconds"]) for r in rows if r["state"] == "succeeded"], states
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def round_of(
    srv: Servers, devices: list[str], rate: float, celsius: float, gateway: Gateway
) -> dict[str, object]:
    received0, started = gateway.received(), time.monotonic()
    ids = asyncio.run(ask(srv.dsn, devices, rate, celsius))
    seconds, states = asyncio.run(latencies(srv.dsn, ids))
    ingest_rate = (gateway.received() - received0) / (time.monotonic() - started)
    seconds.sort()
    return {
        "p50": percentile(seconds, 0.50), "p99": percentile(seconds, 0.99), "max": seconds[-1] if seconds else float("nan"),
        "states": states, "ingest": ingest_rate,
    }  # fmt: skip


def _states(states: object) -> str:
    assert isinstance(states, dict)
    return ", ".join(f"{n:,} {state}" for state, n in sorted(states.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="commands asked per second")
    parser.add_argument("--telemetry-rate", type=float, default=15_000.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.commands * 2 > args.devices:
        raise SystemExit("--devices must be at least twice --commands (each round uses boilers of its own)")
    prefix = "cmdb"
    with servers() as srv:
        env = {
            "ONDOL_STATE_DIR": str(srv.base / "state"),
            "ONDOL_SIM_MQTT_URL": f"mqtt://127.0.0.1:{srv.mq.port}",
        }
        gateway = Gateway(srv.dsn, srv.mq.port, 1)
        try:
            sim = ["sim", "--devices", str(args.devices), "--prefix", prefix, "--interval", "60"]
            with product_processes(srv, ["commands"], **env):
                fleet = subprocess.Popen([sys.executable, "-m", "ondol", *sim], env=dict(os.environ, ONDOL_DATABASE_URL=srv.dsn,
                                         ONDOL_MQTT_URL=f"mqtt://127.0.0.1:{srv.mq.port}", **env),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                try:
                    online_s = asyncio.run(wait_online(srv.dsn, prefix, args.devices))
                    log(f"{args.devices:,} boilers online after {online_s:.0f} s")
                    asyncio.run(consent_all(srv.dsn, prefix))
                    ids = [f"{prefix}-{i + 1:05d}" for i in range(args.devices)]
                    quiet = round_of(srv, ids[: args.commands], args.rate, 50.0, gateway)
                    log(
                        f"no telemetry load: p50 {quiet['p50']:.3f} s, p99 {quiet['p99']:.3f} s, {quiet['states']}"
                    )
                    asyncio.run(register(srv.dsn, "tload", LOAD_DEVICES))
                    seconds = args.commands / args.rate + 30
                    per_device = max(1, int(args.telemetry_rate * seconds / LOAD_DEVICES))
                    load = subprocess.Popen(loadgen_command(srv.loadgen_binary, srv.mq.port, LOAD_DEVICES, per_device, "tload",
                                                            args.telemetry_rate), stdout=subprocess.PIPE, text=True)  # fmt: skip
                    time.sleep(3.0)  # the load is on before the first command
                    loaded = round_of(srv, ids[args.commands : 2 * args.commands], args.rate, 52.0, gateway)
                    load.wait(timeout=seconds + 120)
                    sent = parse_loadgen(load.stdout.read() if load.stdout else "")
                    log(
                        f"with telemetry: p50 {loaded['p50']:.3f} s, p99 {loaded['p99']:.3f} s, {loaded['states']}"
                    )
                finally:
                    fleet.terminate()
                    fleet.wait(30)
        finally:
            gateway.stop()
    table = "\n".join([
        f"Commands: request → boiler → result committed; {args.commands:,} hot-water setpoint changes per round, "
        f"{args.rate:g} a second, to distinct boilers of {args.devices:,} simulated boilers online (reporting "
        f"once a minute); one gateway, the command dispatcher; {os.cpu_count()} cores shared by everything.",
        "",
        "| round | p50 | p99 | max | commands | gateway ingest during the round |",
        "|---|---|---|---|---|---|",
        f"| baseline: the fleet's own reports only | {quiet['p50'] * 1000:.0f} ms | {quiet['p99'] * 1000:.0f} ms | "
        f"{quiet['max'] * 1000:.0f} ms | {_states(quiet['states'])} | {quiet['ingest']:,.0f} msg/s |",
        f"| telemetry at {args.telemetry_rate:,.0f} msg/s (generator sent {sent.get('rate', 0):,.0f}/s) | "
        f"{loaded['p50'] * 1000:.0f} ms | {loaded['p99'] * 1000:.0f} ms | {loaded['max'] * 1000:.0f} ms | "
        f"{_states(loaded['states'])} | {loaded['ingest']:,.0f} msg/s |",
        "",
        f"Goal: p99 under 1 s with the telemetry load: {'met' if loaded['p99'] < 1.0 else '**not met**'}.",
    ])  # fmt: skip
    report(table, args.output)


if __name__ == "__main__":
    main()
