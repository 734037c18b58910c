"""The wire contract: topics, payload validation, and its agreement with the store's columns."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from protocol.contract import (
    MEASUREMENT_FIELDS,
    MessageKind,
    TelemetryPayload,
    TopicError,
    device_topic,
    parse_topic,
    subscription_filter,
)
from telemetry.readings import MEASUREMENT_COLUMNS


def test_topics_round_trip() -> None:
    for kind in MessageKind:
        parsed = parse_topic(device_topic("boiler_01-A", kind))
        assert (parsed.device_id, parsed.kind) == ("boiler_01-A", kind)


@pytest.mark.parametrize(
    "topic",
    ["ondol/v1/a.b/telemetry", "ondol/v2/a/telemetry", "ondol/v1/a/commands/ack", "ondol/v1/a", "ondol/v1/a/telemetry/x",
     "ondol/v1//telemetry", "ondol/v1/" + "x" * 65 + "/telemetry", "other/v1/a/telemetry"],
)  # fmt: skip
def test_topics_outside_the_contract_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


def test_device_topic_refuses_ids_that_would_escape_the_topic_tree() -> None:
    for bad in ("a/b", "+", "#", "", "x" * 65):
        with pytest.raises(TopicError):
            device_topic(bad, MessageKind.TELEMETRY)


def test_shared_subscription_filter() -> None:
    assert subscription_filter("g") == "$share/g/ondol/v1/#"
    assert subscription_filter(None) == "ondol/v1/#"


def test_every_contract_field_has_a_store_column_and_back() -> None:
    contract = set(TelemetryPayload.model_fields) - {"seq", "ts"}
    assert contract == set(MEASUREMENT_COLUMNS)
    assert set(MEASUREMENT_FIELDS) <= contract


def test_measurements_are_optional_nullable_and_extra_fields_are_kept() -> None:
    report = TelemetryPayload.model_validate_json(
        b'{"seq": 1, "ts": "2026-11-23T09:00:00+09:00", "room_c": null, "x": 1}'
    )
    assert report.room_c is None
    assert report.model_extra == {"x": 1}


@pytest.mark.parametrize(
    "payload",
    [b'{"seq": 1, "ts": "2026-11-23T09:00:00"}',  # no offset
     b'{"seq": 1, "ts": 1700000000}',  # epoch number
     b'{"seq": "1", "ts": "2026-11-23T09:00:00Z"}',  # string where an integer belongs
     b'{"seq": 1, "ts": "2026-11-23T09:00:00Z", "flame_on": 1}',  # number where a boolean belongs
     b'{"seq": 1, "ts": "2026-11-23T09:00:00Z", "ch_pressure_bar": 7.5}',  # beyond the physical range
     b'{"seq": 1, "ts": "2026-11-23T09:00:00Z", "mode": "a b"}'],
)  # fmt: skip
def test_wrong_types_and_ranges_are_refused(payload: bytes) -> None:
    with pytest.raises(ValidationError):
        TelemetryPayload.model_validate_json(payload)
