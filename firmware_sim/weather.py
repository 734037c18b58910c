"""Outdoor temperature per region, hour by hour: season, day cycle, passing weather and cold waves.

A boiler's load follows the weather, and the faults this project predicts show themselves against it
(a cold wave means long burns and high modulation, frost means condensate can freeze), so the
simulated fleet needs weather with those shapes, the same for every boiler of a region.

The model, per region and hour (all in °C):
- season: the region's January mean, warming by `SEASON_SWING_C` toward mid-July (a cosine);
- day cycle: coldest around 06:00 Korean time, warmest around 15:00;
- passing weather: a slow random walk (AR(1), about two days' memory), shared nationally with a
  smaller regional part;
- cold waves: national events, more likely in December to February, that pull every region down by
  6–13 K for 2–5 days (a 12-hour plunge, a hold and a day-long recovery).

Deterministic for (seed, start, days, regions).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["SEASON_SWING_C", "ColdWave", "Weather", "simulate_weather"]

SEASON_SWING_C: Final = 27.0
"""Mid-July mean minus January mean (Seoul: −2.4 °C in January, about 25 °C in August)."""

_DAY_CYCLE_C: Final = 4.0
_MEMORY_H: Final = 48.0
_NATIONAL_SIGMA_C: Final = 2.6
_REGIONAL_SIGMA_C: Final = 1.0
_KST_OFFSET_H: Final = 9


@dataclass(frozen=True, slots=True)
class ColdWave:
    start: datetime
    days: float
    depth_c: float


@dataclass(frozen=True, slots=True)
class Weather:
    """Hourly outdoor temperatures from `start`, one series per region (in the order given)."""

    start: datetime
    hourly: tuple[tuple[float, ...], ...]
    cold_waves: tuple[ColdWave, ...]

    @property
    def hours(self) -> int:
        return len(self.hourly[0]) if self.hourly else 0

    def outdoor(self, region: int, at: datetime) -> float:
        """The region's temperature at `at`, interpolated between hours (clamped to the series)."""
        series = self.hourly[region]
        h = (at - self.start).total_seconds() / 3600
        if h <= 0:
            return series[0]
        if h >= len(series) - 1:
            return series[-1]
        i = int(h)
        frac = h - i
        return series[i] * (1 - frac) + series[i + 1] * frac


def simulate_weather(
    january_means: Sequence[float],
    *,
    start: datetime,
    days: float,
    seed: int,
    extra_waves: Sequence[tuple[datetime, float, float]] = (),
) -> Weather:
    """Weather for regions with these January means, from `start` for `days` (plus one day's margin).

    `extra_waves`: (start, days, depth °C) of cold waves to add to the random ones, for tests."""
    if start.tzinfo is None:
        raise ValueError("start must carry a timezone")
    rng = random.Random(f"weather:{seed}")
    hours = math.ceil(days * 24) + 25
    waves = _cold_waves(rng, start, hours) + [ColdWave(at, d, depth) for at, d, depth in extra_waves]
    national = _ar1(rng, hours, _NATIONAL_SIGMA_C)
    series = []
    for mean in january_means:
        regional = _ar1(rng, hours, _REGIONAL_SIGMA_C)
        values = []
        for h in range(hours):
            at = start + timedelta(hours=h)
            base = _seasonal(mean, at) + _day_cycle(at) + national[h] + regional[h] - _wave_depth(waves, at)
            values.append(round(base, 2))
        series.append(tuple(values))
    return Weather(start=start, hourly=tuple(series), cold_waves=tuple(waves))


def _seasonal(january_mean: float, at: datetime) -> float:
    day = at.timetuple().tm_yday
    return january_mean + SEASON_SWING_C * (1 - math.cos(2 * math.pi * (day - 15) / 365.25)) / 2


def _day_cycle(at: datetime) -> float:
    hour = (at.astimezone(UTC).hour + at.minute / 60 + _KST_OFFSET_H) % 24
    return _DAY_CYCLE_C * math.sin(2 * math.pi * (hour - 10.5) / 24)


def _ar1(rng: random.Random, hours: int, sigma: float) -> list[float]:
    """A stationary AR(1) series with standard deviation `sigma` and about `_MEMORY_H` of memory."""
    phi = math.exp(-1 / _MEMORY_H)
    innovation = sigma * math.sqrt(1 - phi * phi)
    value = rng.gauss(0, sigma)
    out = []
    for _ in range(hours):
        value = phi * value + rng.gauss(0, innovation)
        out.append(value)
    return out


def _cold_waves(rng: random.Random, start: datetime, hours: int) -> list[ColdWave]:
    """National cold waves: about one every three weeks in deep winter, rarer at its edges."""
    waves: list[ColdWave] = []
    h = 0.0
    while h < hours:
        at = start + timedelta(hours=h)
        month = at.month
        per_day = 1 / 20 if month in (12, 1, 2) else 1 / 60 if month in (11, 3) else 0.0
        if per_day and rng.random() < per_day / 4:  # checked every 6 hours
            wave = ColdWave(at, days=rng.uniform(2.0, 5.0), depth_c=rng.uniform(6.0, 13.0))
            waves.append(wave)
            h += wave.days * 24 + 72  # two waves do not overlap
        h += 6
    return waves


def _wave_depth(waves: Sequence[ColdWave], at: datetime) -> float:
    depth = 0.0
    for wave in waves:
        into = (at - wave.start).total_seconds() / 3600
        total = wave.days * 24
        if into < 0 or into > total + 24:
            continue
        if into < 12:
            depth = max(depth, wave.depth_c * into / 12)
        elif into <= total:
            depth = max(depth, wave.depth_c)
        else:
            depth = max(depth, wave.depth_c * (1 - (into - total) / 24))
    return depth
