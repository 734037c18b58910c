"""Decides, in one place, which TimescaleDB features the store uses, from `timescaledb.license`.

The Apache edition has hypertables, `time_bucket` and `drop_chunks`; continuous aggregates,
compression and background policies need the Timescale-licensed (community) edition. Where the
server lacks them the store does the same work itself (rollup table refreshed by a job, retention
by `drop_chunks` from that job).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telemetry.database import Connection

__all__ = ["Edition", "StoreFeatures", "UnsupportedServerError", "detect", "features_for_license"]


class Edition(StrEnum):
    APACHE = "apache"
    TIMESCALE = "timescale"


class UnsupportedServerError(RuntimeError):
    """The database is not a TimescaleDB the store can run on."""


@dataclass(frozen=True, slots=True)
class StoreFeatures:
    """What the store delegates to TimescaleDB and what it does itself."""

    edition: Edition
    license: str
    continuous_aggregates: bool
    compression: bool
    background_policies: bool

    @property
    def migration_variant(self) -> str:
        """Suffix of edition-specific migration files (`NNNN_name.{variant}.sql`)."""
        return self.edition.value

    def describe(self) -> str:
        if self.continuous_aggregates:
            return (
                f"TimescaleDB {self.edition.value} edition (license={self.license}): the hourly rollup is a "
                "continuous aggregate and raw readings are compressed, both by server policies; retention "
                "runs drop_chunks from the maintenance job"
            )
        return (
            f"TimescaleDB {self.edition.value} edition (license={self.license}): the store refreshes its own "
            "hourly rollup and applies retention with drop_chunks from its maintenance job"
        )


def features_for_license(license_value: str) -> StoreFeatures:
    """The feature set for a `timescaledb.license` value ('apache' or 'timescale')."""
    value = license_value.strip().lower()
    if value == Edition.APACHE:
        return StoreFeatures(Edition.APACHE, value, False, False, False)
    if value == Edition.TIMESCALE:
        return StoreFeatures(Edition.TIMESCALE, value, True, True, True)
    raise UnsupportedServerError(
        f"unknown timescaledb.license {license_value!r}: expected 'apache' or 'timescale'"
    )


async def detect(conn: Connection) -> StoreFeatures:
    """Read the server's license setting; fail clearly where TimescaleDB is not loaded."""
    row = await conn.fetchrow(
        "SELECT current_setting('timescaledb.license', true) AS license, "
        "(SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb') AS available"
    )
    assert row is not None
    if not row["available"]:
        raise UnsupportedServerError("the TimescaleDB extension is not installed on this PostgreSQL server")
    license_value = row["license"]
    if not license_value:
        # The setting appears once the extension's library is loaded into the database.
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        license_value = await conn.fetchval("SELECT current_setting('timescaledb.license', true)")
    if not license_value:
        raise UnsupportedServerError(
            "timescaledb is installed but not preloaded: add it to shared_preload_libraries and restart"
        )
    return features_for_license(str(license_value))
