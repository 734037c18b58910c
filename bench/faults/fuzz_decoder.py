"""Coverage-guided fuzzing of the gateway's decoder with atheris (optional; the suite's hypothesis
test covers the same property in seconds). Any topic and any bytes must give exactly one outcome,
never an exception, and a quarantined message must carry a known reason and a detail; memory must
stay flat however long it runs.

Usage: .venv/bin/pip install -e '.[fuzz]' && .venv/bin/python bench/faults/fuzz_decoder.py -runs=2000000
(any libFuzzer flag works: -max_total_time=600, -rss_limit_mb=512, ...)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import atheris

with atheris.instrument_imports():
    from gateway.decoder import DecodeLimits, Reason, decode
    from gateway.mqtt_edge import RawMessage
    from telemetry.ingest_store import EventRow, QuarantineRow, ReadingRow, StatusRow

LIMITS = DecodeLimits()
REASONS = {r.value for r in Reason}
TOPICS = ["ondol/v1/dev-1/telemetry", "ondol/v1/dev-1/events", "ondol/v1/dev-1/status"]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    choice = provider.ConsumeIntInRange(0, 3)
    topic = TOPICS[choice] if choice < 3 else provider.ConsumeUnicodeNoSurrogates(80)
    payload = provider.ConsumeBytes(provider.remaining_bytes())
    message = RawMessage(topic=topic, payload=payload, qos=1, retain=False, dup=False, mid=1, delivery=1,
                         connection=1, received_at=time.time())  # fmt: skip
    outcome = decode(message, LIMITS)
    if not isinstance(outcome, ReadingRow | EventRow | StatusRow | QuarantineRow):
        raise AssertionError(f"unexpected outcome {outcome!r}")
    if isinstance(outcome, QuarantineRow) and (outcome.reason not in REASONS or not outcome.detail):
        raise AssertionError(f"quarantined without a reason: {outcome!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
