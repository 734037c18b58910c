"""The fault drills of tests/test_faults.py, longer and bigger: every fault the reliability promises
cover, with the figures that go in docs/reliability.md (lost, stored twice, recovery time).

Usage: .venv/bin/python bench/faults/run.py [--only NAME ...] [--output bench/results/faults.md]
(`make faults`). About 15 minutes on a 2-core machine; run nothing heavy beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import log, report  # noqa: E402
from ondol.local_servers import AUTOSAVE_INTERVAL_S  # noqa: E402
from testbed.fault_drill import (  # noqa: E402
    Drill,
    DrillServers,
    broker_restart,
    database_outage,
    drill_servers,
    fail_over,
    kill_gateway,
    reconnect_storm,
    rejoin,
    restart_database_immediately,
)
from testbed.servers import ReplicatedServers, replicated_servers  # noqa: E402

Row = tuple[str, str, str, str, str]


def _drill_row(
    what: str, fault: str, drill: Drill, faults: list[tuple[float, Callable[[Drill], Awaitable[None]]]]
) -> Callable[[], Awaitable[Row]]:
    async def go() -> Row:
        result = await drill.run(faults, settle_timeout_s=600)
        log(result.line())
        recovery = ", ".join(f"{r:.1f}" for r in result.recovery_s)
        return (
            what,
            fault,
            f"{result.tally.expected:,}",
            f"{result.tally.lost:,} / {result.tally.stored_twice:,}",
            recovery,
        )

    return go


def drills(srv: DrillServers) -> dict[str, Callable[[], Awaitable[Row]]]:
    kills = [(f, kill_gateway) for f in (0.2, 0.4, 0.6)]
    return {
        "gateway-kills": _drill_row("gateway SIGKILL ×3", "500 devices, full speed", Drill(srv, "gateway-kills", 500, 400, prefix="gk"), kills),
        "pg-immediate": _drill_row("PostgreSQL stop -m immediate ×2", "200 devices, full speed",
                                   Drill(srv, "pg-immediate", 200, 500, prefix="pi"),
                                   [(0.25, restart_database_immediately), (0.6, restart_database_immediately)]),
        "pg-outage": _drill_row("PostgreSQL down 120 s", "1,000 reports/s throughout",
                                Drill(srv, "pg-outage", 1000, 180, per_device_s=1.0, prefix="po"),
                                [(0.15, database_outage(120))]),
        "broker-restart": _drill_row("Mosquitto clean stop and start ×2", "200 devices, full speed",
                                     Drill(srv, "broker-restart", 200, 500, prefix="br"),
                                     [(0.25, broker_restart(kill=False)), (0.6, broker_restart(kill=False))]),
        "broker-restart-shared": _drill_row("Mosquitto clean stop and start, gateway on a shared subscription",
                                            "200 devices, full speed",
                                            Drill(srv, "broker-restart-shared", 200, 500, prefix="bs",
                                                  share_group="ondol-gateway", may_lose=True),
                                            [(0.25, broker_restart(kill=False))]),
        "broker-kill": _drill_row(f"Mosquitto SIGKILL (autosave every {AUTOSAVE_INTERVAL_S} s)", "200 reports/s",
                                  Drill(srv, "broker-kill", 200, 300, per_device_s=1.0, prefix="bk", may_lose=True),
                                  [(0.3, broker_restart(kill=True))]),
    }  # fmt: skip


def failover_drill(srv: ReplicatedServers) -> Callable[[], Awaitable[Row]]:
    """Two failovers and a rejoin at 1,000 reports/s: node0 lost, node1 promoted; node0 back as its
    synchronous standby; node1 lost, node0 promoted."""
    assert srv.replicated is not None
    replicated = srv.replicated
    return _drill_row(
        "PostgreSQL primary SIGKILL, standby promoted; old primary rejoined (pg_rewind); new primary SIGKILL, "
        "promoted back", "1,000 reports/s throughout",
        Drill(srv, "failover", 1000, 150, per_device_s=1.0, prefix="fo"),
        [(0.2, fail_over(replicated, 1)), (0.45, rejoin(replicated, 0)), (0.7, fail_over(replicated, 0))],
    )  # fmt: skip


async def storm(srv: DrillServers, devices: int) -> Row:
    figures = await reconnect_storm(srv, devices)
    log(f"reconnect storm: {figures}")
    return (f"reconnect storm, {devices:,} devices", "broker restarted under them",
            f"{devices:,}", f"gateway errors {figures['gateway errors']:g}", f"{figures['recovery_s']:.1f} (all back)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="drills to run: gateway-kills pg-immediate pg-outage "
                        "broker-restart broker-restart-shared broker-kill storm failover")  # fmt: skip
    parser.add_argument("--storm-devices", type=int, default=4000)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows: list[Row] = []
    started = time.monotonic()
    for name in (
        "gateway-kills",
        "pg-immediate",
        "pg-outage",
        "broker-restart",
        "broker-restart-shared",
        "broker-kill",
        "storm",
        "failover",
    ):
        if args.only and name not in args.only:
            continue
        log(f"drill {name}")
        if name == "failover":
            with replicated_servers("ondol-drill-ha-", replicas=1, keep_logs=True) as ha:
                rows.append(asyncio.run(failover_drill(ha)()))
            continue
        with drill_servers() as srv:  # fresh servers per drill: one drill's damage is not the next one's
            if name == "storm":
                rows.append(asyncio.run(storm(srv, args.storm_devices)))
            else:
                rows.append(asyncio.run(drills(srv)[name]()))
    lines = [
        "| fault | load | reports | lost / stored twice | recovery (s) |",
        "|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"Recovery: from the server being back (or the gateway restarted) to the next row committed. "
        f"Total run {time.monotonic() - started:.0f} s.",
    ]
    report("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
