"""The Korea Meteorological Administration's short-term forecast (단기예보, `getVilageFcst`): its 5 km
grid and its answer format, turned into temperatures per region and hour.

The KMA gives forecasts for grid points (nx, ny) of a Lambert conformal conic projection (the "DFS"
grid: standard parallels 30° and 60° N, origin 38° N 126° E at grid point (43, 136), 5 km cells). A
region is represented by the grid point of its capital, found with the same projection; the grid
points the KMA lists for the capitals are checked against it in the tests.

An answer is JSON: `response.header.resultCode` ("00" is normal) and `response.body.items.item`, a list
of `{baseDate, baseTime, category, fcstDate, fcstTime, fcstValue, nx, ny}`. The categories used here
are TMP (the hour's temperature), TMN (the day's minimum, issued for 06:00) and TMX (the day's maximum,
for 15:00); the others (sky, rain, wind) are ignored. Times are Korean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telemetry.korean_time import KST

__all__ = [
    "CAPITALS", "ForecastError", "ForecastPoint", "grid_of", "parse_vilage_forecast", "region_grid",
]  # fmt: skip

_RE_KM: Final = 6371.00877
_GRID_KM: Final = 5.0
_SLAT1, _SLAT2, _OLON, _OLAT = 30.0, 60.0, 126.0, 38.0
_XO, _YO = 43, 136

CAPITALS: Final[Mapping[str, tuple[float, float]]] = {
    "seoul": (37.5665, 126.9780), "busan": (35.1796, 129.0756), "daegu": (35.8714, 128.6014),
    "incheon": (37.4563, 126.7052), "gwangju": (35.1595, 126.8526), "daejeon": (36.3504, 127.3845),
    "ulsan": (35.5384, 129.3114), "sejong": (36.4800, 127.2890), "gyeonggi": (37.2636, 127.0286),
    "gangwon": (37.8813, 127.7298), "chungbuk": (36.6424, 127.4890), "chungnam": (36.6588, 126.6728),
    "jeonbuk": (35.8242, 127.1480), "jeonnam": (34.8161, 126.4629), "gyeongbuk": (36.5760, 128.5056),
    "gyeongnam": (35.2383, 128.6925), "jeju": (33.4996, 126.5312),
}  # fmt: skip
"""The coordinates of each region's capital (provinces: the seat of the provincial government)."""


def grid_of(latitude: float, longitude: float) -> tuple[int, int]:
    """The KMA grid point (nx, ny) of a position (the DFS Lambert conformal conic conversion)."""
    degrad = math.pi / 180.0
    re = _RE_KM / _GRID_KM
    slat1, slat2, olon, olat = _SLAT1 * degrad, _SLAT2 * degrad, _OLON * degrad, _OLAT * degrad
    sn = math.log(math.cos(slat1) / math.cos(slat2)) / math.log(
        math.tan(math.pi * 0.25 + slat2 * 0.5) / math.tan(math.pi * 0.25 + slat1 * 0.5)
    )
    sf = math.tan(math.pi * 0.25 + slat1 * 0.5) ** sn * math.cos(slat1) / sn
    ro = re * sf / math.tan(math.pi * 0.25 + olat * 0.5) ** sn
    ra = re * sf / math.tan(math.pi * 0.25 + latitude * degrad * 0.5) ** sn
    theta = longitude * degrad - olon
    theta = (theta + math.pi) % (2 * math.pi) - math.pi
    theta *= sn
    return int(ra * math.sin(theta) + _XO + 0.5), int(ro - ra * math.cos(theta) + _YO + 0.5)


def region_grid() -> dict[tuple[int, int], str]:
    """Which region each capital's grid point stands for."""
    return {grid_of(*position): region for region, position in CAPITALS.items()}


class ForecastError(ValueError):
    """The answer is not a usable forecast (an error code, a malformed body); says which and where."""


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    region: str
    issued_at: datetime
    valid_at: datetime
    kind: str
    """'TMP' (the hour), 'TMN' (the day's minimum), 'TMX' (the day's maximum)."""
    temp_c: float


_KINDS: Final = frozenset({"TMP", "TMN", "TMX"})


def _kst(day: object, hhmm: object, where: str) -> datetime:
    try:
        text = f"{day}{hhmm}"
        return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=KST)
    except (TypeError, ValueError) as exc:
        raise ForecastError(f"{where}: date and time {day!r} {hhmm!r} are not YYYYMMDD HHMM") from exc


def parse_vilage_forecast(
    document: object, grid: Mapping[tuple[int, int], str] | None = None
) -> list[ForecastPoint]:
    """The temperatures of a `getVilageFcst` answer, for the grid points that stand for a region
    (others are ignored: an answer may cover any grid point). ForecastError for an error answer or a
    malformed item, naming the item."""
    grid = region_grid() if grid is None else grid
    try:
        response = document["response"]  # type: ignore[index]
        code = str(response["header"]["resultCode"])
    except (KeyError, TypeError) as exc:
        raise ForecastError("not a KMA answer: no response.header.resultCode") from exc
    if code != "00":
        message = response["header"].get("resultMsg", "")
        raise ForecastError(f"the KMA answered {code} {message}".strip())
    try:
        items = response["body"]["items"]["item"]
    except (KeyError, TypeError) as exc:
        raise ForecastError("no response.body.items.item in the answer") from exc
    if not isinstance(items, list):
        raise ForecastError("response.body.items.item is not a list")
    points = []
    for index, item in enumerate(items):
        where = f"item {index}"
        if not isinstance(item, dict):
            raise ForecastError(f"{where} is not an object")
        if item.get("category") not in _KINDS:
            continue
        try:
            cell = (int(item["nx"]), int(item["ny"]))
            value = float(item["fcstValue"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ForecastError(f"{where}: nx, ny and fcstValue must be numbers") from exc
        if not -60.0 <= value <= 60.0:
            raise ForecastError(f"{where}: {value} °C is not a temperature")
        region = grid.get(cell)
        if region is None:
            continue
        issued = _kst(item.get("baseDate"), item.get("baseTime"), where)
        valid = _kst(item.get("fcstDate"), item.get("fcstTime"), where)
        points.append(ForecastPoint(region, issued, valid, str(item["category"]), value))
    return points
