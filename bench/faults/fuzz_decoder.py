"""Coverage-guided fuzzing of the gateway's decoder with atheris (optional; the suite's hypothesis
test covers the same property in seconds). Any topic and any bytes must give exactly one outcome,
never an exception, and a quarantined message must carry a known reason and a detail; memory must
stay flat however long it runs.

Usage: .venv/bin/pip install -e '.[fuzz]' && .venv/bin/python bench/faults/fuzz_decoder.py -runs=2000000
(any libFuzzer flag works: -max_total_time=600, -rss_limit_mb=512, ...)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import atheris

with atheris.instrument_imports():
    from gateway.decoder import DecodeLimits, Reason, decode
    from gateway.mqtt_edge import RawMessage
    from telemetry.readings import EventRow, QuarantineRow, ReadingRow, StatusRow

LIMITS = DecodeLimits()
REASONS = {r.value for r in Reason}
TOPICS = ["ondol/v1/dev-1/telemetry", "ondol/v1/dev-1/events", "ondol/v1/dev-1/status"]


FIELDS = ["seq", "ts", "room_c", "ch_flow_c", "ch_pressure_bar", "flame_on", "mode", "code", "state",
          "online", "model", "fw", "burner_starts", "extra"]  # fmt: skip


def _value(provider: atheris.FuzzedDataProvider) -> object:
    kind = provider.ConsumeIntInRange(0, 6)
    if kind == 0:
        return provider.ConsumeInt(8)
    if kind == 1:
        return provider.ConsumeRegularFloat()
    if kind == 2:
        return provider.ConsumeBool()
    if kind == 3:
        return None
    if kind == 4:
        return "2026-11-23T09:00:00+09:00"
    return provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 24))


def _payload(provider: atheris.FuzzedDataProvider) -> bytes:
    """Raw bytes half the time; otherwise a JSON object of the contract's fields with fuzzed values,
    so that the fuzzer reaches validation and not only the JSON parser."""
    if provider.ConsumeBool():
        return provider.ConsumeBytes(provider.remaining_bytes())
    fields = {FIELDS[provider.ConsumeIntInRange(0, len(FIELDS) - 1)]: _value(provider)
              for _ in range(provider.ConsumeIntInRange(0, 10))}  # fmt: skip
    return json.dumps(fields).encode()


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    choice = provider.ConsumeIntInRange(0, 3)
    topic = TOPICS[choice] if choice < 3 else provider.ConsumeUnicodeNoSurrogates(80)
    payload = _payload(provider)
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
