"""Forecast files in the KMA's answer format: made from the simulator's weather (the file source the
simulated fleet's weather feeds), and loaded into the store (`ondol forecasts`)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from diagnostics.cold_wave.forecasts import AdvisoryConfig, ColdDay, refresh_advisories, store_forecast
from diagnostics.cold_wave.kma import CAPITALS, ForecastError, ForecastPoint, grid_of, parse_vilage_forecast
from firmware_sim.fleet import REGIONS
from firmware_sim.weather import simulate_weather
from telemetry.database import connect
from telemetry.korean_time import KST, kst_day

__all__ = ["read_forecast_file", "simulated_forecast", "store_and_judge"]


def simulated_forecast(
    *, seed: int, issued: datetime, days: int, wave_depth_c: float = 0.0
) -> dict[str, Any]:
    """A `getVilageFcst` answer for the simulated regions: hourly TMP for `days` from `issued`, and each
    day's TMN, from the simulator's weather (with a cold wave of `wave_depth_c` starting a day after
    `issued` when it is not 0)."""
    issued = issued.astimezone(KST).replace(minute=0, second=0, microsecond=0)
    waves = [(issued + timedelta(days=1), 2.0, wave_depth_c)] if wave_depth_c else []
    weather = simulate_weather([r.winter_mean_c for r in REGIONS], start=issued, days=days, seed=seed,
                               extra_waves=waves)  # fmt: skip
    base_date, base_time = issued.strftime("%Y%m%d"), issued.strftime("%H00")
    items: list[dict[str, Any]] = []
    for index, region in enumerate(REGIONS):
        nx, ny = grid_of(*CAPITALS[region.code])  # where the KMA is asked about the region
        lows: dict[str, float] = {}
        for hour in range(days * 24):
            at = issued + timedelta(hours=hour)
            value = round(weather.outdoor(index, at), 1)
            day = at.strftime("%Y%m%d")
            lows[day] = min(lows.get(day, value), value)
            items.append({"baseDate": base_date, "baseTime": base_time, "category": "TMP", "fcstDate": day,
                          "fcstTime": at.strftime("%H00"), "fcstValue": str(value), "nx": nx, "ny": ny})  # fmt: skip
        items += [{"baseDate": base_date, "baseTime": base_time, "category": "TMN", "fcstDate": day,
                   "fcstTime": "0600", "fcstValue": str(low), "nx": nx, "ny": ny} for day, low in lows.items()]  # fmt: skip
    return {"response": {"header": {"resultCode": "00", "resultMsg": "NORMAL_SERVICE"},
                         "body": {"dataType": "JSON", "items": {"item": items}, "totalCount": len(items)}}}  # fmt: skip


def read_forecast_file(path: Path) -> list[ForecastPoint]:
    """The temperatures of a forecast file; ForecastError for a file that is not a forecast."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ForecastError(f"{path}: {exc}") from exc
    return parse_vilage_forecast(document)


async def store_and_judge(
    dsn: str, points: list[ForecastPoint], source: str, config: AdvisoryConfig
) -> tuple[int, list[ColdDay]]:
    """Store the temperatures and judge the advisories; (points stored, new advisories)."""
    async with connect(dsn, application_name="ondol-forecasts") as conn, conn.transaction():
        stored = await store_forecast(conn, points, source)
        new = await refresh_advisories(conn, config, kst_day(datetime.now(KST)))
    return stored, new
