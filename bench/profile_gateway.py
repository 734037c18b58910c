"""Where one gateway spends its CPU: py-spy samples the gateway process while the C load generator
publishes as fast as the broker takes it, and the functions are ranked by their own time (samples in
which they are the innermost frame), with each one's share turned into µs per message.

Private servers as in bench/ingest.py. The figure per function is an estimate: its share of the
samples times the gateway's measured CPU per message in the same run.

Usage: python bench/profile_gateway.py [--devices 1000] [--messages 300000] [--top 15] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Gateway, gateway_run, log, register, report, servers


def own_time(raw: Path) -> tuple[collections.Counter[str], int]:
    """Samples per innermost function, from py-spy's raw (collapsed stacks) output."""
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        leaf = frames[-1]
        n = int(count)
        own[_function(leaf)] += n
        total += n
    return own, total


def _function(frame: str) -> str:
    """`name (path/to/file.py:line)` → `name (file.py)`: one row per function, not per line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = (
        "/".join(parts[-2:])
        if "site-packages" not in parts
        else "/".join(parts[parts.index("site-packages") + 1 :])
    )
    return f"{name} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    per_device = max(1, args.messages // args.devices)
    raw = Path(tempfile.mkdtemp(prefix="ondol-profile-")) / "gateway.txt"
    with servers() as srv:
        gateway = Gateway(srv.dsn, srv.mq.port, 1)
        try:
            asyncio.run(register(srv.dsn, "prof", args.devices))
            gateway_run(srv, [gateway], args.devices, 1, "prof")  # warm: first sight of every device
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(gateway.process.pid),
                 "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)
            run = gateway_run(srv, [gateway], args.devices, per_device, "prof")
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        finally:
            gateway.stop()
    own, total = own_time(raw)
    log(f"{run.rate:,.0f} msg/s, {run.cpu_us:.1f} µs CPU/message, {total:,} samples")
    lines = [
        f"Gateway profile (py-spy, own time), {args.devices * per_device:,} QoS-1 messages from {args.devices:,} "
        f"devices at full speed: {run.rate:,.0f} msg/s, {run.cpu_us:.1f} µs CPU per message; "
        f"{os.cpu_count()} cores shared by everything. {total:,} samples.",
        "",
        "| function | share of samples | ≈ µs per message |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{name}` | {n / total:.1%} | {n / total * run.cpu_us:.1f} |"
        for name, n in own.most_common(args.top)
    ]
    report("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
