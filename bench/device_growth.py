"""Cost growth with the fleet: gateway CPU per message with 1,000, 20,000 and 200,000 devices.

The gateway keeps which devices are registered in memory (it asks the registry only for ids it
has not seen, once), and each batch writes each device's latest state once. So the CPU spent per
message should not grow with the number of devices; this benchmark measures it.

For each fleet size the same number of messages (`--messages`, spread evenly over the devices) is
published by the C load generator as fast as the broker takes them, after a warm-up round of one
message per device (so the registry look-ups of first sight are not in the figure; they are
printed apart). The baseline is the smallest fleet, measured in the same run.

Usage: python bench/device_growth.py [--messages 200000] [--sizes 1000,20000,200000] [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Gateway, measure_growth, report, servers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--sizes", default="1000,20000,200000")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with servers() as srv:
        gateway = Gateway(srv.dsn, srv.mq.port, 1)
        try:
            results = measure_growth(srv, gateway, sizes, args.messages)
        finally:
            gateway.stop()
    base = results[0]
    lines = [
        f"Cost growth with the fleet: {args.messages:,} QoS-1 messages per fleet size, one gateway; "
        f"{os.cpu_count()} cores shared by everything. Goal: CPU per message within 20% of the smallest fleet.",
        "",
        "| devices | committed msg/s | gateway CPU per message | ratio to "
        f"{base.devices:,} devices | first sight of each device, CPU per message | gateway RSS |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.devices:,} | {r.rate:,.0f} | {r.cpu_us:.1f} µs | {r.cpu_us / base.cpu_us:.2f} | "
        f"{r.warm_cpu_us:.1f} µs | {r.resident_mb:.0f} MB |"
        for r in results
    ]
    table = "\n".join(lines)
    report(table, args.output)


if __name__ == "__main__":
    main()
