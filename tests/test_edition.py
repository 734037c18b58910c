"""Which TimescaleDB features the store uses is decided in one place, from `timescaledb.license`."""

from __future__ import annotations

import asyncpg
import pytest

from ondol.schema import SCHEMA_PACKAGES
from telemetry.edition import Edition, UnsupportedServerError, detect, features_for_license
from telemetry.migrations import available


def test_apache_license_means_the_store_does_rollups_and_retention_itself() -> None:
    features = features_for_license("apache")
    assert features.edition is Edition.APACHE
    assert not (features.continuous_aggregates)
    assert not (features.compression)
    assert not (features.background_policies)
    assert "refreshes its own hourly rollup" in features.describe()


def test_timescale_license_means_the_server_does_them() -> None:
    features = features_for_license("timescale")
    assert features.edition is Edition.TIMESCALE
    assert features.continuous_aggregates
    assert features.compression
    assert features.background_policies


@pytest.mark.parametrize("value", ["", "enterprise", "community"])
def test_unknown_license_values_are_refused_at_start(value: str) -> None:
    with pytest.raises(UnsupportedServerError):
        features_for_license(value)


def test_each_edition_gets_its_own_rollup_migration() -> None:
    apache = {m.version: m for m in available("apache", SCHEMA_PACKAGES)}
    timescale = {m.version: m for m in available("timescale", SCHEMA_PACKAGES)}
    assert apache.keys() == timescale.keys()
    assert "CREATE TABLE readings_hourly" in apache[2].sql
    assert "timescaledb.continuous" in timescale[2].sql


async def test_the_suite_runs_on_the_apache_edition_the_setup_builds(db: asyncpg.Connection) -> None:
    features = await detect(db)
    assert features.edition is Edition.APACHE
    assert await db.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'") >= "2.19"
    hypertables = {
        r["hypertable_name"]
        for r in await db.fetch("SELECT hypertable_name FROM timescaledb_information.hypertables")
    }
    assert {"readings", "events", "readings_hourly"} <= hypertables
