"""The console's two languages: its message catalog (messages.toml, Korean and English side by
side) and which language a request is answered in.

The agent's choice is a cookie; without one, the browser's Accept-Language decides, and Korean is
the default (the call centers are Korean). A message missing in either language fails at load time,
not in front of a customer. Region names (`region.<code>`) come from the one list of regions
(telemetry/regions.toml), not from the catalog.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final, Literal, cast

from fastapi import Request

from telemetry.regions import REGIONS

__all__ = ["LANGUAGES", "LANG_COOKIE", "Lang", "Translator", "language_of", "messages"]

Lang = Literal["ko", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("ko", "en")
LANG_COOKIE: Final = "ondol_console_lang"


@cache
def messages() -> dict[str, dict[Lang, str]]:
    """Every message key with its Korean and English text; ValueError naming a key missing either."""
    raw = tomllib.loads(resources.files("api.console").joinpath("messages.toml").read_text(encoding="utf-8"))
    flat: dict[str, dict[Lang, str]] = {}
    _flatten(raw, "", flat)
    if any(key.startswith("region.") for key in flat):
        raise ValueError("messages.toml: region names belong in telemetry/regions.toml")
    flat.update({f"region.{r.code}": {"ko": r.name_ko, "en": r.name_en} for r in REGIONS})
    return flat


def _flatten(table: dict[str, object], prefix: str, out: dict[str, dict[Lang, str]]) -> None:
    for name, value in table.items():
        if not isinstance(value, dict):
            raise ValueError(f"messages.toml: {prefix}{name} is not a table of languages")
        if set(value) == set(LANGUAGES) and all(isinstance(v, str) for v in value.values()):
            out[prefix + name] = cast(dict[Lang, str], value)
        elif any(k in LANGUAGES for k in value):
            raise ValueError(f"messages.toml: {prefix}{name} needs both ko and en")
        else:
            _flatten(cast(dict[str, object], value), f"{prefix}{name}.", out)


@dataclass(frozen=True, slots=True)
class Translator:
    lang: Lang

    def __call__(self, key: str, **values: object) -> str:
        """The message in this language, with `{name}` fields filled in; a missing key is a bug
        (KeyError), caught by the test that checks every key the templates use."""
        text = messages()[key][self.lang]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in messages()


def language_of(request: Request) -> Lang:
    """The cookie's language, else the first of Accept-Language we speak, else Korean."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "ko"
