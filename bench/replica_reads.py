"""The device-status benchmark's load with a synchronous standby: `GET /v1/devices/{id}` at 100
requests/s while the gateway ingests at half its maximum, with the API reading the primary, then
the standby (ONDOL_DATABASE_READ_URL), twice each, alternating, in the same run.

Same pieces as bench/status_api.py (history of 5,000 devices, 1,000 live devices through the C load
generator), on a primary with one synchronous standby (ondol.local_replication), so every ingest
commit also waits for the standby's flush. With reads on the standby, a request still writes its
access-log row on the primary (docs/reliability.md), and reads the device, its status and tickets,
and checks the key, on the standby.

Usage: python bench/replica_reads.py [--readings 1000000] [--rps 100] [--seconds 20] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Gateway, build_loadgen, gateway_run, log, register, report
from bench.status_api import LIVE_DEVICES, Api, History, Sample, measure
from testbed.servers import ReplicatedServers, replicated_servers


@dataclass
class _Servers:
    """What `measure` and `gateway_run` use of the servers: the replicated set's URL, its broker and the
    load generator."""

    ha: ReplicatedServers
    loadgen_binary: Path

    @property
    def dsn(self) -> str:
        return self.ha.dsn

    @property
    def mq(self) -> object:
        return self.ha.mq


def api_reading(dsn: str, mqtt_port: int, read_dsn: str | None) -> Api:
    """The API process, reading the primary (read_dsn None) or the standby."""
    if read_dsn is None:
        os.environ.pop("ONDOL_DATABASE_READ_URL", None)
    else:
        os.environ["ONDOL_DATABASE_READ_URL"] = read_dsn
    try:
        return Api(dsn, mqtt_port)
    finally:
        os.environ.pop("ONDOL_DATABASE_READ_URL", None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--history-devices", type=int, default=5000)
    parser.add_argument("--rps", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    results: list[tuple[str, Sample]] = []
    with replicated_servers("ondol-bench-ha-", replicas=1) as ha:
        srv = _Servers(ha, build_loadgen(ha.base))
        history = History(ha.dsn, args.history_devices)
        asyncio.run(history.register())
        asyncio.run(register(ha.dsn, "live", LIVE_DEVICES))
        asyncio.run(register(ha.dsn, "max", LIVE_DEVICES))
        asyncio.run(history.grow_to(args.readings))
        gateway = Gateway(ha.dsn, ha.mq.port, 1)
        try:
            maximum = gateway_run(srv, [gateway], LIVE_DEVICES, 50, "max").rate
            log(
                f"gateway maximum with a synchronous standby {maximum:,.0f} msg/s; ingest at {maximum / 2:,.0f}"
            )
            for where in ("primary", "standby", "primary", "standby"):
                api = api_reading(ha.dsn, ha.mq.port, ha.read_dsn if where == "standby" else None)
                try:
                    sample = measure(srv, api, maximum / 2, args.rps, args.seconds)
                finally:
                    api.stop()
                results.append((where, sample))
                log(f"reads on the {where}: p50 {sample.p50_ms:.1f} ms, p99 {sample.p99_ms:.1f} ms, "
                    f"{sample.errors} errors, ingest {sample.ingest_rate:,.0f} msg/s")  # fmt: skip
        finally:
            gateway.stop()
    lines = [
        f"`GET /v1/devices/{{id}}` at {args.rps:.0f} requests/s for {args.seconds:.0f} s per run, while the gateway "
        f"ingests at half its maximum ({maximum:,.0f} msg/s with every commit waiting for the synchronous "
        f"standby); {results[0][1].readings:,} readings stored; {os.cpu_count()} cores shared by both database "
        "nodes and everything else.",
        "",
        "| API reads on | p50 | p99 | requests (errors) | ingest meanwhile |",
        "|---|---|---|---|---|",
        *(f"| the {where} | {s.p50_ms:.1f} ms | {s.p99_ms:.1f} ms | {s.requests:,} ({s.errors}) | "
          f"{s.ingest_rate:,.0f} msg/s |" for where, s in results),
    ]  # fmt: skip
    report("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
