"""Fault drills at suite size (the long variants: `bench/faults/run.py`). A fleet publishes numbered
reports while the gateway, the database or the broker fails; every report the broker accepted must be
stored exactly once, and ingest must resume on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ondol.local_servers import AUTOSAVE_INTERVAL_S
from testbed.fault_drill import (
    Drill,
    DrillResult,
    DrillServers,
    broker_restart,
    database_outage,
    drill_servers,
    kill_gateway,
    reconnect_storm,
    restart_database_immediately,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def srv(servers_dir: Path) -> Iterator[DrillServers]:
    with drill_servers(servers_dir) as servers:
        yield servers


def exactly_once(result: DrillResult) -> None:
    print(result.line())
    assert result.published == result.acknowledged_by_broker, "the broker accepted every report in the end"
    assert (result.tally.lost, result.tally.stored_twice) == (0, 0), result.line()


async def test_gateway_killed_three_times_loses_and_duplicates_nothing(srv: DrillServers) -> None:
    drill = Drill(srv, "gateway-kills", devices=100, reports=200)
    result = await drill.run([(0.2, kill_gateway), (0.45, kill_gateway), (0.7, kill_gateway)])
    exactly_once(result)
    assert len(result.recovery_s) == 3


async def test_database_restarted_immediately_loses_and_duplicates_nothing(srv: DrillServers) -> None:
    result = await Drill(srv, "pg-immediate", devices=50, reports=300).run(
        [(0.3, restart_database_immediately)]
    )
    exactly_once(result)


async def test_two_minute_database_outage_is_ridden_out(srv: DrillServers) -> None:
    """600 reports/s keep arriving while the database is down for 2 minutes: 72,000 wait at the broker,
    more than the 65,535 message ids, so ids come round while older messages are unacknowledged."""
    drill = Drill(srv, "pg-outage", devices=200, reports=450, per_device_s=1 / 3)
    result = await drill.run([(0.1, database_outage(120))])
    exactly_once(result)
    notes = result.notes
    assert notes["acknowledged by it"] == notes["received by the last gateway"], (
        "every message the gateway received and committed was acknowledged (none left in flight)"
    )
    assert notes["packet ids reused"] > 0, "the drill did bring packet ids round while older ones waited"


async def test_broker_stopped_cleanly_and_restarted_loses_and_duplicates_nothing(srv: DrillServers) -> None:
    exactly_once(
        await Drill(srv, "broker-restart", devices=50, reports=300).run([(0.3, broker_restart(kill=False))])
    )


async def test_broker_killed_loses_at_most_its_autosave_window(srv: DrillServers) -> None:
    """SIGKILL leaves the broker no time to save: what it accepted since its last autosave and had not
    yet handed to the gateway is gone. Nothing may be stored twice, and the loss stays within the window."""
    drill = Drill(srv, "broker-kill", devices=50, reports=300, per_device_s=0.5, may_lose=True)  # 100/s
    result = await drill.run([(0.3, broker_restart(kill=True))], settle_timeout_s=120)
    print(result.line())
    assert result.tally.stored_twice == 0
    assert result.tally.lost <= 100 * AUTOSAVE_INTERVAL_S, result.line()


async def test_two_thousand_devices_reconnecting_at_once_recover_within_a_minute(srv: DrillServers) -> None:
    figures = await reconnect_storm(srv, devices=2000)
    print(figures)
    assert figures["recovery_s"] < 60
    assert figures["gateway errors"] == 0
