"""The decoder is total: any topic and any bytes give exactly one outcome, never an exception."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decoder import DecodeLimits, Reason, decode
from gateway.mqtt_edge import RawMessage
from telemetry.readings import EventRow, QuarantineRow, ReadingRow, StatusRow

LIMITS = DecodeLimits(max_payload_bytes=2048)
NOW = time.time()


def message(topic: str, payload: bytes) -> RawMessage:
    return RawMessage(
        topic=topic,
        payload=payload,
        qos=1,
        retain=False,
        dup=False,
        mid=1,
        delivery=1,
        connection=1,
        received_at=NOW,
    )


topics = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["ondol/v1/dev-1/telemetry", "ondol/v1/dev-1/events", "ondol/v1/dev-1/status"]),
    st.builds(lambda d, k: f"ondol/v1/{d}/{k}", st.text(max_size=70), st.text(max_size=12)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["seq", "ts", "room_c", "ch_flow_c", "flame_on", "mode", "code", "state", "online", "extra"]
)
near_valid = st.dictionaries(field_names, json_values | st.just("2026-11-23T09:00:00+09:00"), max_size=8).map(
    lambda d: json.dumps(d).encode()
)


@settings(max_examples=400, deadline=None)
@given(topic=topics, payload=st.binary(max_size=3000) | near_valid)
def test_decode_never_raises_and_always_says_why(topic: str, payload: bytes) -> None:
    outcome = decode(message(topic, payload), LIMITS)
    assert isinstance(outcome, ReadingRow | EventRow | StatusRow | QuarantineRow)
    if isinstance(outcome, QuarantineRow):
        assert outcome.reason in {r.value for r in Reason}
        assert outcome.detail
        assert "\x00" not in outcome.detail
        assert outcome.payload == payload, "the raw payload is kept as received"


def test_reading_carries_every_column_and_the_extra_fields() -> None:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))
    outcome = decode(
        message(
            "ondol/v1/dev-1/telemetry", json.dumps({"seq": 3, "ts": ts, "room_c": 20.5, "v": [1]}).encode()
        ),
        LIMITS,
    )
    assert isinstance(outcome, ReadingRow)
    assert outcome.seq == 3
    assert 20.5 in outcome.values
    assert json.loads(outcome.extra_json or "") == {"v": [1]}


def test_oversized_is_judged_before_anything_is_parsed() -> None:
    outcome = decode(message("no/such/topic", b"{" * 5000), LIMITS)
    assert isinstance(outcome, QuarantineRow)
    assert outcome.reason == Reason.OVERSIZED


def _telemetry(body: bytes) -> QuarantineRow:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW)).encode()
    outcome = decode(message("ondol/v1/dev-1/telemetry", body.replace(b"TS", ts)), LIMITS)
    assert isinstance(outcome, QuarantineRow)
    return outcome


def test_bytes_that_are_not_utf8_are_described_as_such_not_as_bad_json() -> None:
    for payload, where in (
        (b"\xff\xfe\xfd", "byte 0"),
        (b'{"seq": 1, "ts": "TS", "mode": "h\xe9at"}', "byte 51"),
    ):
        outcome = _telemetry(payload)
        assert outcome.reason == Reason.NOT_UTF8
        assert "not UTF-8" in outcome.detail
        assert where in outcome.detail, outcome.detail
        assert "JSON" not in outcome.detail, outcome.detail


def test_nan_and_infinity_are_described_as_not_numbers_not_as_out_of_range() -> None:
    for field, value in (("ch_flow_c", b"NaN"), ("ch_flow_c", b"Infinity"), ("outdoor_c", b"-Infinity"),
                         ("burner_starts", b"NaN"), ("ch_pressure_bar", b"1e999")):  # fmt: skip
        outcome = _telemetry(b'{"seq": 1, "ts": "TS", "' + field.encode() + b'": ' + value + b"}")
        assert outcome.reason == Reason.INVALID_PAYLOAD, (field, value, outcome.reason)
        assert f"{field}: " in outcome.detail
        assert "not a number" in outcome.detail, outcome.detail
        assert "than" not in outcome.detail, outcome.detail
    too_hot = _telemetry(b'{"seq": 1, "ts": "TS", "ch_flow_c": 480}')
    assert (too_hot.reason, too_hot.detail) == (
        Reason.OUT_OF_RANGE,
        "ch_flow_c: Input should be less than or equal to 130",
    )


async def test_decoding_a_large_batch_lets_the_event_loop_run_between_slices() -> None:
    """The previous batch's COPY streams from the same loop as decoding: a batch decoded in one go
    would hold that data back (and leave the socket unread) until the whole batch is done."""
    import asyncio
    from datetime import UTC, datetime

    from gateway.ingest import DECODE_SLICE, BatchPolicy, Ingestor
    from gateway.metrics import GatewayMetrics

    ingestor = Ingestor(
        None,  # type: ignore[arg-type]  # decoding touches no database
        None,  # type: ignore[arg-type]
        policy=BatchPolicy(), limits=LIMITS, metrics=GatewayMetrics(), wakeup=asyncio.Event(),
    )  # fmt: skip
    ts = datetime.fromtimestamp(NOW, UTC).isoformat()
    batch = [
        message("ondol/v1/dev-1/telemetry", json.dumps({"seq": n + 1, "ts": ts, "room_c": 21.5}).encode())
        for n in range(4 * DECODE_SLICE + 1)
    ]
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await asyncio.sleep(0)
    before = turns
    decoded = await ingestor._decode(batch)
    during = turns - before
    counter.cancel()
    assert [type(d) for d in decoded] == [ReadingRow] * len(batch)
    assert [d.seq for d in decoded if isinstance(d, ReadingRow)] == list(range(1, len(batch) + 1))
    assert during >= 4, f"the loop ran {during} times while {len(batch)} messages were decoded"
