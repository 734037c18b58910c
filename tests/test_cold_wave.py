"""Cold-wave mode: the KMA grid and answer format, advisories from the forecast, and the preparation of
a region's households before the cold (ranked by freeze risk, told highest first, frost protection
applied only where the home looks empty and the customer allowed mode changes)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from diagnostics.cold_wave.forecasts import AdvisoryConfig, cold_days, refresh_advisories, store_forecast
from diagnostics.cold_wave.kma import (
    ForecastError,
    ForecastPoint,
    grid_of,
    parse_vilage_forecast,
    region_grid,
)
from diagnostics.cold_wave.prepare import prepare_due_advisories
from diagnostics.service_points import seed_service_points
from ondol.forecast_files import simulated_forecast
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.korean_time import KST, kst_day


def test_the_kma_grid_points_of_the_capitals_are_the_ones_the_kma_lists() -> None:
    # Grid points the KMA publishes for these places (동네예보 격자): the projection must land on them.
    assert grid_of(37.5665, 126.9780) == (60, 127)  # Seoul city hall
    assert grid_of(35.1796, 129.0756) == (98, 76)  # Busan
    assert grid_of(37.4563, 126.7052) == (55, 124)  # Incheon
    assert grid_of(35.1595, 126.8526) == (58, 74)  # Gwangju
    assert grid_of(36.3504, 127.3845) == (67, 100)  # Daejeon
    assert grid_of(35.5384, 129.3114) == (102, 84)  # Ulsan
    assert grid_of(37.8813, 127.7298) == (73, 134)  # Chuncheon
    assert len(region_grid()) == 17, "every region has a grid point of its own"


def _answer(items: list[dict[str, object]], code: str = "00") -> dict[str, object]:
    return {"response": {"header": {"resultCode": code, "resultMsg": "NORMAL_SERVICE" if code == "00" else "NO_DATA"},
                         "body": {"items": {"item": items}}}}  # fmt: skip


def _item(category: str, day: str, hour: str, value: str, nx: int = 60, ny: int = 127) -> dict[str, object]:
    return {"baseDate": "20261214", "baseTime": "0500", "category": category, "fcstDate": day, "fcstTime": hour,
            "fcstValue": value, "nx": nx, "ny": ny}  # fmt: skip


def test_a_kma_answer_gives_temperatures_per_region_and_refuses_what_is_not_a_forecast() -> None:
    points = parse_vilage_forecast(_answer([
        _item("TMP", "20261215", "0600", "-13"), _item("TMN", "20261215", "0600", "-14.5"),
        _item("SKY", "20261215", "0600", "1"), _item("TMP", "20261215", "0600", "-3", nx=1, ny=1),
    ]))  # fmt: skip
    assert [(p.region, p.kind, p.temp_c) for p in points] == [
        ("seoul", "TMP", -13.0),
        ("seoul", "TMN", -14.5),
    ]
    assert points[0].valid_at == datetime(2026, 12, 15, 6, tzinfo=KST)
    assert points[0].issued_at == datetime(2026, 12, 14, 5, tzinfo=KST)
    with pytest.raises(ForecastError, match="03 NO_DATA"):
        parse_vilage_forecast(_answer([], code="03"))
    with pytest.raises(ForecastError, match="item 1: nx, ny and fcstValue must be numbers"):
        parse_vilage_forecast(
            _answer([_item("TMP", "20261215", "0600", "1"), _item("TMP", "20261215", "0600", "x")])
        )
    with pytest.raises(ForecastError, match=r"item 0: 99\.0 °C is not a temperature"):
        parse_vilage_forecast(_answer([_item("TMP", "20261215", "0600", "99")]))
    with pytest.raises(ForecastError, match="not a KMA answer"):
        parse_vilage_forecast({"hello": 1})


def test_the_simulators_forecast_file_reads_back_for_every_simulated_region() -> None:
    document = json.loads(json.dumps(simulated_forecast(seed=3, issued=datetime(2026, 12, 14, 5, tzinfo=KST), days=2,
                                                        wave_depth_c=12)))  # fmt: skip
    points = parse_vilage_forecast(document)
    regions = {p.region for p in points}
    assert len(regions) == 9
    assert len([p for p in points if p.kind == "TMP"]) == 9 * 48


def test_cold_days_are_a_minimum_below_the_threshold_or_a_steep_drop() -> None:
    config = AdvisoryConfig(min_below_c=-12, drop_c=10)
    d = date(2026, 12, 14)
    minima = {"seoul": {d: -2.0, d + timedelta(days=1): -13.0, d + timedelta(days=2): -11.0},
              "busan": {d: 4.0, d + timedelta(days=1): -6.5}, "jeju": {d: 5.0, d + timedelta(days=1): 1.0}}  # fmt: skip
    found = {(c.region, c.day): c.reasons for c in cold_days(minima, config)}
    assert found == {
        ("seoul", d + timedelta(days=1)): ("min_below", "drop"),
        ("busan", d + timedelta(days=1)): ("drop",),
    }


async def _household(db: asyncpg.Connection, device_id: str, phone: str, *, vulnerable: bool = False,
                     installed: date = date(2022, 1, 1)) -> None:  # fmt: skip
    contact = ContactRecord("고객", phone, "owner", "sms", "ko", quiet_start=time(0, 0), quiet_end=time(0, 0))
    record = DeviceRecord(device_id, "NCB-300", f"SN-{device_id}", installed, "addr", "seoul", 37.56, 126.97,
                          "고객", 60, (contact,))  # fmt: skip
    async with db.transaction():
        await register_devices(db, devices=[record])
    if vulnerable:
        await db.execute("UPDATE devices SET vulnerable = true WHERE device_id = $1", device_id)


async def test_a_forecast_cold_wave_prepares_the_region_highest_risk_first(db: asyncpg.Connection) -> None:
    async with db.transaction():
        await seed_service_points(db)
    now = datetime.now(UTC)
    today = kst_day(now)
    tomorrow = today + timedelta(days=1)
    await _household(db, "cw-plain", "+821060000001")
    await _household(db, "cw-alone", "+821060000002", vulnerable=True, installed=date(2012, 1, 1))
    await _household(db, "cw-empty", "+821060000003")
    await _household(db, "cw-empty-consented", "+821060000004")
    await _household(db, "cw-froze", "+821060000005")
    await db.execute(
        "INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule)"
        " VALUES ('cw-froze', 'freeze', 'E201', 'closed', now() - interval '300 days', now() - interval '300 days', 'test')"
    )
    for device in ("cw-empty", "cw-empty-consented"):  # reporting, but no burner firing for three days
        await db.execute(
            "INSERT INTO device_health_daily (device_id, day, samples, firing) SELECT $1, d::date, 1440, 0"
            " FROM generate_series($2::date - 2, $2::date, interval '1 day') AS d", device, today,
        )  # fmt: skip
    await db.execute("INSERT INTO device_desired_state (device_id) VALUES ('cw-empty-consented')")
    await db.execute("INSERT INTO remote_consents (device_id, scope, granted_by, granted_via) VALUES"
                     " ('cw-empty-consented', '{set_mode}', 'customer', 'customer')")  # fmt: skip

    morning = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 6, tzinfo=KST)
    points = [ForecastPoint("seoul", now, morning - timedelta(days=1), "TMN", -1.0),
              ForecastPoint("seoul", now, morning, "TMN", -14.0),
              ForecastPoint("busan", now, morning, "TMN", 2.0)]  # fmt: skip
    config = AdvisoryConfig()
    async with db.transaction():
        await store_forecast(db, points, "file")
        new = await refresh_advisories(db, config, today)
    assert [(c.region, c.day, c.reasons) for c in new] == [("seoul", tomorrow, ("min_below", "drop"))]

    prepared = await prepare_due_advisories(db, config, now)
    assert [(p.region, p.households, p.told, p.frost_protection_applied) for p in prepared] == [
        ("seoul", 5, 5, 1)
    ]
    assert await prepare_due_advisories(db, config, now) == [], "a region is prepared once per advisory"
    ranks = await db.fetch(
        "SELECT device_id, risk_rank, reasons, frost_protection FROM freeze_preparations ORDER BY risk_rank"
    )
    assert [r["device_id"] for r in ranks] == [
        "cw-alone",
        "cw-empty",
        "cw-empty-consented",
        "cw-froze",
        "cw-plain",
    ]
    assert json.loads(ranks[0]["reasons"]) == ["vulnerable", "old"]
    protection = {r["device_id"]: r["frost_protection"] for r in ranks}
    assert protection == {"cw-alone": None, "cw-empty": "offered", "cw-empty-consented": "applied", "cw-froze": None,
                          "cw-plain": None}  # fmt: skip
    alerts = await db.fetch(
        "SELECT device_id, message_ko FROM customer_alerts WHERE kind = 'freeze_prep' ORDER BY alert_id"
    )
    assert [a["device_id"] for a in alerts] == [r["device_id"] for r in ranks], "queued highest risk first"
    assert "-14°C" in alerts[0]["message_ko"]
    assert "동파" in alerts[0]["message_ko"]
    command = await db.fetchrow("SELECT device_id, kind, params, role, state FROM commands")
    assert (command["device_id"], command["kind"], command["role"], command["state"]) == (
        "cw-empty-consented",
        "set_mode",
        "cold_wave",
        "queued",
    )
    assert json.loads(command["params"]) == {"mode": "frost_protection"}
