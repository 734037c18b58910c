"""Whatever the decoder accepts, the store accepts: random input goes through decode and write_batch
into the real database, and ends as a row or a quarantine entry, never as a store error."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.decoder import DecodeLimits, decode
from gateway.mqtt_edge import RawMessage
from protocol.contract import MEASUREMENT_FIELDS
from telemetry.readings import IngestBatch, QuarantineRow, ReadingRow, write_batch

NOW = time.time()
TS = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(NOW))

anything = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(2**70), 2**70) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
reports = st.fixed_dictionaries(
    {"seq": st.integers(0, 2**63 - 1), "ts": st.just(TS)},
    optional={
        name: st.floats(allow_nan=True) | st.integers() | st.none() for name in list(MEASUREMENT_FIELDS)[:8]
    }
    | {"mode": st.text(max_size=40), "flame_on": st.booleans(), "extra_field": anything, "note": st.text()},
)


def encode(report: dict[str, object]) -> bytes:
    return json.dumps(report, allow_nan=True).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(report=reports, topic_device=st.sampled_from(["dev-1", "dev-2"]))
def test_decoded_messages_are_always_storable(
    fuzz_dsn: str, report: dict[str, object], topic_device: str
) -> None:
    message = RawMessage(f"ondol/v1/{topic_device}/telemetry", encode(report), 1, False, False, 1, 1, 1, NOW)
    row = decode(message, DecodeLimits())
    assert isinstance(row, ReadingRow | QuarantineRow)

    async def store() -> None:
        conn = await asyncpg.connect(fuzz_dsn)
        try:
            async with conn.transaction():
                await write_batch(
                    conn,
                    IngestBatch(readings=[row])
                    if isinstance(row, ReadingRow)
                    else IngestBatch(quarantined=[row]),
                )
                raise _RollbackError
        except _RollbackError:
            pass
        finally:
            await conn.close()

    asyncio.run(store())


class _RollbackError(Exception):
    """Keeps the fuzz database empty between examples."""
