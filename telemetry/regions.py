"""The regions a device, a service point or a ticket may be in: one list (`regions.toml`), by code.

People write a region many ways ("서울", "Seoul", "seoul"); stored free text made two regions of one,
so a filter by one hid the other's tickets. Everything that takes a region passes it through
`region_code`, which accepts the code or a name in either language, in any case, and refuses anything
else with the list. The store's `regions` table (migration 0017) holds the same codes and is what
devices, tickets and service points reference.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

__all__ = ["REGIONS", "REGION_CODES", "Region", "UnknownRegionError", "region_code", "region_name"]

_IGNORED: Final = str.maketrans("", "", " \t\n\r\f\v._-")
"""Left out when names are compared, as in the migration that mapped the stored free text."""


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_ko: str
    name_en: str
    also: tuple[str, ...] = ()
    """Other names taken for this region (official names, older romanisations)."""

    def name(self, lang: Literal["ko", "en"]) -> str:
        return self.name_ko if lang == "ko" else self.name_en


def _key(text: str) -> str:
    return text.translate(_IGNORED).lower()


def _load() -> tuple[Region, ...]:
    text = (resources.files("telemetry") / "regions.toml").read_text(encoding="utf-8")
    document: dict[str, Any] = tomllib.loads(text)
    return tuple(
        Region(code=r["code"], name_ko=r["ko"], name_en=r["en"], also=tuple(r.get("also", ())))
        for r in document["region"]
    )


REGIONS: Final = _load()
REGION_CODES: Final = tuple(r.code for r in REGIONS)


def _index(regions: tuple[Region, ...]) -> dict[str, str]:
    """Every accepted name's comparison key → code; a key naming two regions is a mistake in the list."""
    index: dict[str, str] = {}
    for region in regions:
        for name in (region.code, region.name_ko, region.name_en, *region.also):
            if index.setdefault(_key(name), region.code) != region.code:
                raise ValueError(f"regions.toml: {name!r} names both {index[_key(name)]} and {region.code}")
    return index


_BY_NAME: Final = _index(REGIONS)
_BY_CODE: Final = {r.code: r for r in REGIONS}


class UnknownRegionError(ValueError):
    """A region that is not on the list; the message gives the list."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"unknown region {text!r}: give one of {', '.join(REGION_CODES)}, or its Korean or English name"
        )


def region_code(text: str) -> str:
    """The code of the region `text` names (its code, or a Korean or English name, in any case)."""
    code = _BY_NAME.get(_key(text))
    if code is None:
        raise UnknownRegionError(text)
    return code


def region_name(code: str, lang: Literal["ko", "en"]) -> str:
    """The region's name in `lang`, for people; KeyError for a code not on the list."""
    return _BY_CODE[code].name(lang)
