"""Runs `ondol eval` for several seeds, one after another, and writes the per-seed figures and the
table of each run (bench/results/predictive.md). About 9 minutes per seed at 2,000 boilers × 120 days
on 2 cores; the wall time of each run is the acceptance figure (under 10 minutes).

Usage: .venv/bin/python bench/predictive.py --seeds 13 14 15 [--devices 2000 --days 120]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[13, 14, 15])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--days", type=float, default=120)
    parser.add_argument("--output", type=Path, default=Path("bench/results/predictive.md"))
    args = parser.parse_args()
    rows, tables = [], []
    for seed in args.seeds:
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "ondol", "eval", "--devices", str(args.devices), "--days", str(args.days),
             "--seed", str(seed)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.monotonic() - started
        lines = run.stdout.strip().splitlines()
        figures = json.loads(lines[-1])
        rows.append((seed, wall, figures))
        tables.append(f"### seed {seed} ({wall:.0f} s)\n\n```\n" + "\n".join(lines[:-1]) + "\n```\n")
        print(f"seed {seed}: {wall:.0f} s, {lines[-1]}", flush=True)
    out = [
        f"`ondol eval --devices {args.devices} --days {args.days:g}`, one seed after another on this machine.",
        "",
        "| seed | wall time | recall | precision | slow faults: median / p10 lead | all: median / p10 lead "
        "| false alarms per 1,000 device-days | failed faults | predictions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, wall, f in rows:
        out.append(
            f"| {seed} | {wall:.0f} s | {f['recall']} | {f['precision']} | {_hours(f['slow_lead_h_median'])} / "
            f"{_hours(f['slow_lead_h_p10'])} | {_hours(f['lead_h_median'])} / {_hours(f['lead_h_p10'])} | "
            f"{f['false_alarms_per_1000_device_days']} | {f['failed']} | {f['predictions']} |"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(out) + "\n\n" + "\n".join(tables))
    return 0


def _hours(value: float | None) -> str:
    """A lead time in whole hours; a dash when no fault of that kind was caught (a small season)."""
    return "—" if value is None else f"{value:.0f} h"


if __name__ == "__main__":
    raise SystemExit(main())
