"""Migrations apply once, in order, in parallel safely, and refuse a file changed after it ran."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import pytest

from ondol.schema import SCHEMA_PACKAGES
from telemetry import migrations
from telemetry.migrations import Migration, MigrationError, migrate

_AVAILABLE = migrations.available


async def test_an_up_to_date_database_applies_nothing(db: asyncpg.Connection) -> None:
    assert await migrate(db, SCHEMA_PACKAGES) == []
    versions = [
        r["version"] for r in await db.fetch("SELECT version FROM schema_migrations ORDER BY version")
    ]
    assert versions == [m.version for m in migrations.available("apache", SCHEMA_PACKAGES)]


async def test_concurrent_runners_apply_each_migration_once(empty_db_dsn: str) -> None:
    conns = [await asyncpg.connect(empty_db_dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c, SCHEMA_PACKAGES) for c in conns))
    finally:
        for c in conns:
            await c.close()
    assert sorted(len(r) for r in results) == [0, 0, len(migrations.available("apache", SCHEMA_PACKAGES))]


async def test_a_migration_edited_after_it_was_applied_is_refused(
    db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = migrations.available("apache", SCHEMA_PACKAGES)
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") if m.version == 1 else m for m in real]
    monkeypatch.setattr(migrations, "available", lambda _variant, _packages: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db, SCHEMA_PACKAGES)


def test_versions_from_every_schema_package_make_one_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(monkeypatch, tmp_path, "owner_a", "0001_first.sql", "0003_third.sql")
    _package(monkeypatch, tmp_path, "owner_b", "0002_second.apache.sql", "0002_second.timescale.sql")
    for variant in ("apache", "timescale"):
        found = migrations.available(variant, ("owner_a", "owner_b"))
        assert [(m.version, m.name) for m in found] == [(1, "first"), (2, "second"), (3, "third")]
        assert found[1].sql == f"-- 0002_second.{variant}.sql"


@pytest.mark.parametrize(
    ("in_a", "in_b"),
    [
        (("0001_first.sql",), ("0001_other.sql",)),
        (("0002_rollup.apache.sql",), ("0002_rollup.timescale.sql",)),  # whatever the edition
    ],
)
def test_a_version_claimed_by_two_packages_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_a: tuple[str, ...], in_b: tuple[str, ...]
) -> None:
    _package(monkeypatch, tmp_path, "owner_a", *in_a)
    _package(monkeypatch, tmp_path, "owner_b", *in_b)
    with pytest.raises(MigrationError, match=r"claimed by owner_a/migrations/.* and by owner_b/migrations/"):
        migrations.available("apache", ("owner_a", "owner_b"))


def test_a_schema_package_without_migrations_or_with_a_misnamed_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(monkeypatch, tmp_path, "no_folder")
    _package(monkeypatch, tmp_path, "misnamed", "0001_first.sql", "1_second.sql")
    with pytest.raises(MigrationError, match="no migrations/ folder"):
        migrations.available("apache", ("no_folder",))
    with pytest.raises(MigrationError, match=r"1_second\.sql is not named"):
        migrations.available("apache", ("misnamed",))


def test_every_package_with_migrations_is_a_schema_package() -> None:
    """A new `migrations/` folder that the composition root does not list would never be applied."""
    root = Path(__file__).resolve().parent.parent
    owners = {
        ".".join(folder.parent.relative_to(root).parts)
        for package in ("protocol", "gateway", "telemetry", "diagnostics", "outbox", "api", "ondol")
        for folder in (root / package).rglob("migrations")
        if folder.is_dir() and any(folder.glob("*.sql"))
    }
    assert owners == set(SCHEMA_PACKAGES)


async def test_the_named_functions_0020_and_0021_change_nothing_in_the_database(
    empty_db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook fan-out and the ticket event payload, restated where they belong, as they were."""
    functions = (
        "SELECT p.oid, pg_get_functiondef(p.oid) FROM pg_proc AS p"
        " WHERE p.proname IN ('fan_out_webhooks', 'ticket_event_payload') ORDER BY p.proname"
    )
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await _migrate_up_to(conn, 19, monkeypatch)
        before = [tuple(r) for r in await conn.fetch(functions)]
        assert [m.version for m in await _migrate_up_to(conn, 21, monkeypatch)] == [20, 21]
        assert [tuple(r) for r in await conn.fetch(functions)] == before
        assert len(before) == 2
    finally:
        await conn.close()


async def test_0017_rewrites_phones_merges_duplicate_contacts_and_maps_regions_to_codes(
    empty_db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data stored before the one list of regions and E.164 numbers: converted, nothing silently lost."""
    conn = await asyncpg.connect(empty_db_dsn)
    try:
        await _migrate_up_to(conn, 16, monkeypatch)
        await _store_the_old_way(conn)
        assert [m.version for m in await _migrate_up_to(conn, 17, monkeypatch)] == [17]

        regions = dict(await conn.fetch("SELECT device_id, region FROM devices"))
        assert regions == {
            "d1": "seoul",
            "d2": "seoul",
            "d3": "gyeonggi",
            "d4": None,
            "d5": None,
            "d6": "jeju",
        }
        points = dict(await conn.fetch("SELECT point_id, region FROM service_points"))
        assert points == {"SP-A": "seoul", "SP-B": "busan", "SP-C": None}
        tickets = dict(await conn.fetch("SELECT device_id, region FROM tickets"))
        assert tickets == {"d1": "seoul", "d4": None}

        contacts = [tuple(r) for r in await conn.fetch(
            "SELECT device_id, name, phone FROM device_contacts ORDER BY device_id, contact_id")]  # fmt: skip
        assert contacts == [
            ("d1", "rank 0, newer", "+821011112222"),  # the lowest escalation rank stays
            ("d1", "country code, no plus", "+821022223333"),
            ("d1", "landline", "+82212345678"),
            ("d2", "older", "+821011112222"),  # same rank: the oldest stays
            ("d3", "not a number", "123456"),  # kept as it was: no rule can say what it means
        ]
        alert = await conn.fetchrow("SELECT a.phone, c.name FROM customer_alerts AS a JOIN device_contacts AS c"
                                    " USING (contact_id)")  # fmt: skip
        assert tuple(alert) == ("+821011112222", "rank 0, newer"), "the alert follows the contact that stayed"
        assert await conn.fetchval("SELECT customer_phone FROM api_keys") == "01011112222", (
            "the key still scopes"
        )

        insert = (
            "INSERT INTO device_contacts (device_id, name, phone, role) VALUES ('d1', 'again', $1, 'family')"
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, "01011112222")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, "+821011112222")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute("UPDATE devices SET region = '서울' WHERE device_id = 'd1'")
    finally:
        await conn.close()


async def _store_the_old_way(conn: asyncpg.Connection) -> None:
    """Free-text regions and phone numbers as the schema before 0017 accepted them."""
    await conn.execute(
        "INSERT INTO service_points (point_id, name, city, region, latitude, longitude, coverage_km, daily_capacity)"
        " VALUES ('SP-A', 'a', 'c', '서울', 37.5, 127, 10, 5), ('SP-B', 'b', 'c', 'busan', 35.1, 129, 10, 5),"
        " ('SP-C', 'c', 'c', 'Atlantis HQ', 35, 128, 10, 5)"
    )
    await conn.executemany(
        "INSERT INTO devices (device_id, model, serial, region) VALUES ($1, 'M', $1, $2)",
        [
            ("d1", "서울"),
            ("d2", "Seoul"),
            ("d3", " GYEONGGI "),
            ("d4", "atlantis"),
            ("d5", None),
            ("d6", "제주"),
        ],
    )
    await conn.executemany(
        "INSERT INTO device_contacts (device_id, name, phone, role, escalation_rank) VALUES ($1, $2, $3, 'family', $4)",
        [("d1", "rank 1, older", "01011112222", 1), ("d1", "rank 0, newer", "+821011112222", 0),
         ("d1", "country code, no plus", "821022223333", 0), ("d1", "landline", "0212345678", 0),
         ("d2", "older", "01011112222", 0), ("d2", "newer, trunk zero kept", "+8201011112222", 0),
         ("d3", "not a number", "123456", 0)],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO customer_alerts (device_id, contact_id, phone, channel, kind, code, message_ko, message_en)"
        " SELECT 'd1', contact_id, phone, 'sms', 'safety', 'E014', 'm', 'm' FROM device_contacts"
        " WHERE name = 'rank 1, older'"
    )
    await conn.execute(
        "INSERT INTO api_keys (key_id, name, role, secret_sha256, customer_phone, created_by)"
        " VALUES ('0123456789abcdef', 'c', 'customer', decode(repeat('ab', 32), 'hex'), '01011112222', 'tests')"
    )
    for device_id, region in (("d1", "서울"), ("d4", "Atlantis")):
        case_id = await conn.fetchval(
            "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
            " VALUES ($1, 'leak', 'E014', 'ticketed', now(), now(), 'test') RETURNING case_id", device_id,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at,"
            " last_raised_at, contact_due_at, region, rule, evidence) VALUES ($1, $2, 'leak', 'E014', '{E014}',"
            " 'repair', 'open', 1, now(), now(), now(), $3, 'test', '{}')", case_id, device_id, region,
        )  # fmt: skip


async def _migrate_up_to(
    conn: asyncpg.Connection, last: int, monkeypatch: pytest.MonkeyPatch
) -> list[Migration]:
    """Apply the pending migrations up to version `last` only, as a database of that time had them."""
    monkeypatch.setattr(
        migrations,
        "available",
        lambda variant, packages: [m for m in _AVAILABLE(variant, packages) if m.version <= last],
    )
    return await migrate(conn, SCHEMA_PACKAGES)


def _package(monkeypatch: pytest.MonkeyPatch, parent: Path, name: str, *files: str) -> None:
    """A package `name` under `parent`, importable (not the one an earlier test imported), with `files`
    in its migrations folder (none given: no folder)."""
    (parent / name).mkdir()
    (parent / name / "__init__.py").write_text("")
    if files:
        (parent / name / "migrations").mkdir()
    for file in files:
        (parent / name / "migrations" / file).write_text(f"-- {file}")
    monkeypatch.syspath_prepend(str(parent))
    monkeypatch.delitem(sys.modules, name, raising=False)
