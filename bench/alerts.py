"""Customer-alert benchmark: a safety-critical fault to the phones of both contacts, and the
escalation to the next contact when nobody acknowledges.

Private servers, and the product's gateway, diagnostics worker and alert worker as processes; the
SMS gateway and the Alimtalk dealer are one HTTP server in this process that notes when each
message arrives. Every device has an owner (KakaoTalk), a family member (SMS) and a neighbour
(escalation rank 1). The load generator publishes one false-flame fault (E004, safety-critical) per
device at `--rate` per second. Figures, per device:

- baseline: publication → alert rows committed (the diagnostics decision), from the rows' own time;
- publication → the message has reached both contacts' providers (goal: p99 under 5 s);
  every tenth owner has no KakaoTalk, so the Alimtalk dealer refuses and SMS carries it;
- publication → the neighbour's escalation message, with nobody acknowledging (`--ack-s`).

Usage: python bench/alerts.py [--rate 20] [--seconds 15] [--ack-s 15] [--output FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.diagnostics import prepare, publish_paced  # noqa: E402
from bench.harness import Servers, log, percentile, product_processes, report, servers  # noqa: E402
from protocol.broker import BrokerAddress  # noqa: E402
from testbed.provider_sink import ProviderSink  # noqa: E402


def phones(i: int) -> tuple[str, str, str]:
    """Contacts' numbers as the store keeps them (E.164)."""
    return f"+82101{i:07d}", f"+82102{i:07d}", f"+82103{i:07d}"


async def register(dsn: str, devices: list[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO devices (device_id, model, serial, region, latitude, longitude, installed_on, customer_name) "
            "VALUES ($1, 'NCB-300', $1, 'seoul', 37.55, 126.98, DATE '2025-01-01', '김순자')",
            [(d,) for d in devices],
        )
        rows = []
        for i, device_id in enumerate(devices):
            owner, child, neighbour = phones(i)
            rows += [(device_id, "김순자", owner, "owner", "kakao", "ko", 0),
                     (device_id, "Minho Kim", child, "family", "sms", "en", 0),
                     (device_id, "이웃", neighbour, "family", "sms", "ko", 1)]  # fmt: skip
        await conn.executemany(
            "INSERT INTO device_contacts (device_id, name, phone, role, preferred_channel, language, escalation_rank) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)", rows,
        )  # fmt: skip
    finally:
        await conn.close()


async def decided_at(dsn: str) -> dict[str, float]:
    """When each device's first-wave alert rows were committed (their own timestamps)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT device_id, extract(epoch FROM max(created_at)) AS t FROM customer_alerts "
                                "WHERE wave = 0 GROUP BY device_id")  # fmt: skip
        return {r["device_id"]: float(r["t"]) for r in rows}
    finally:
        await conn.close()


def wait_for(sink: ProviderSink, recipients: list[str], deadline_s: float) -> dict[str, float]:
    """First arrival time of a message for each recipient (epoch seconds)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with sink._lock:
            first: dict[str, float] = {}
            for r in sink.received:
                first.setdefault(r["to"], r["at"])
        if all(p in first for p in recipients):
            return first
        time.sleep(0.05)
    missing = [p for p in recipients if p not in first]
    raise SystemExit(f"{len(missing)} of {len(recipients)} recipients got nothing within {deadline_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--ack-s", type=float, default=15.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    devices = [f"alert-{i:05d}" for i in range(count)]
    sink = ProviderSink(
        no_kakao={phones(i)[0] for i in range(0, count, 10)}
    )  # every tenth owner: SMS fallback
    settings = {"ONDOL_ALERT_PROVIDERS": "http", "ONDOL_SMS_GATEWAY_URL": f"{sink.base}/sms",
                "ONDOL_ALIMTALK_URL": f"{sink.base}/alimtalk", "ONDOL_ALERT_ACK_WITHIN_MIN": str(args.ack_s / 60)}  # fmt: skip
    with contextlib.closing(sink), servers() as srv:
        asyncio.run(prepare(srv.dsn))
        asyncio.run(register(srv.dsn, devices))
        with product_processes(srv, ("gateway", "diagnostics", "alerts"), **settings):
            measure(srv, sink, devices, args)


def measure(srv: Servers, sink: ProviderSink, devices: list[str], args: argparse.Namespace) -> None:
    """Publish the faults, wait for every message and escalation, and report the table."""
    count = len(devices)
    broker = BrokerAddress(srv.mq.host, srv.mq.port)
    time.sleep(4)
    log(f"{count} safety faults at {args.rate:.0f}/s; nobody acknowledges for {args.ack_s:.0f} s")
    sent: dict[str, float] = {}
    publisher = threading.Thread(target=publish_paced, args=(broker, devices, args.rate, sent, "E004"))
    publisher.start()
    publisher.join()
    first_wave = wait_for(sink, [p for i in range(count) for p in phones(i)[:2]], args.seconds + 120)
    decided = asyncio.run(decided_at(srv.dsn))
    escalation = wait_for(sink, [phones(i)[2] for i in range(count)], args.ack_s + 180)
    time.sleep(2)  # late duplicates would arrive now
    per_recipient = Counter(r["to"] for r in sink.received)
    duplicates = sum(n - 1 for n in per_recipient.values())
    fallbacks = sum(1 for r in sink.received if r["path"] == "/sms" and r["to"].startswith("0101"))
    both = [max(first_wave[phones(i)[0]], first_wave[phones(i)[1]]) - sent[d] for i, d in enumerate(devices)]
    baseline = [decided[d] - sent[d] for d in devices]
    escalated = [escalation[phones(i)[2]] - sent[d] for i, d in enumerate(devices)]
    rows = [("baseline: publication → alert rows committed (diagnostics decision)", baseline),
            ("publication → message at both contacts' providers", both),
            (f"publication → neighbour's escalation (nobody acknowledged for {args.ack_s:.0f} s)", escalated)]  # fmt: skip
    table = "\n".join([
        f"Customer alerts, {count} safety-critical faults (E004) at {args.rate:.0f}/s, each device with an owner "
        f"(KakaoTalk), a family member (SMS) and a neighbour (escalation); {os.cpu_count()} cores shared by "
        "everything. Goal: p99 under 5 s to both contacts.",
        "",
        "| figure | p50 | p99 | max |",
        "|---|---|---|---|",
        *(f"| {label} | {percentile(v, 0.5):.2f} s | {percentile(v, 0.99):.2f} s | {max(v):.2f} s |"
          for label, v in rows),
        f"| messages received / duplicates / Alimtalk→SMS fallbacks | {len(sink.received)} / {duplicates} / "
        f"{fallbacks} | | |",
    ])  # fmt: skip
    report(table, args.output)


if __name__ == "__main__":
    main()
