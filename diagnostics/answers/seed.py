"""The seed of the standard answer database: one entry per catalog code (its names, what the customer is
told, the self-fix steps, when a technician goes), and the common questions of `seed.toml`, in Korean
and English."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from diagnostics.catalog import CatalogEntry, Dispatch, load_catalog

__all__ = ["SeedEntry", "seed_entries"]

_DISPATCH: Final = {
    Dispatch.EMERGENCY_FIRST: ("가스 회사와 119가 먼저, 그다음 긴급 방문.", "Gas company and 119 first, then an urgent visit."),
    Dispatch.ALWAYS: ("기사 방문이 필요합니다.", "A technician must visit."),
    Dispatch.SCHEDULED: ("급하지 않은 방문을 예약합니다.", "Book a visit without urgency."),
    Dispatch.IF_RECURS: ("안내대로 해도 30분 안에 풀리지 않거나 24시간 안에 다시 나면 방문합니다.",
                         "Visit if it does not clear within 30 minutes of the steps, or returns within 24 hours."),
    Dispatch.NEVER: ("방문이 필요하지 않습니다.", "No visit needed."),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeedEntry:
    entry_id: str
    kind: str
    code: str | None
    owner: str
    title_ko: str
    title_en: str
    agent_ko: str
    agent_en: str
    customer_ko: str
    customer_en: str
    steps_ko: tuple[str, ...]
    steps_en: tuple[str, ...]
    dispatch_ko: str
    dispatch_en: str
    keywords_ko: str
    keywords_en: str
    model_family: str | None = None
    """For an entry about a code on one model family only."""


def _from_code(entry: CatalogEntry) -> SeedEntry:
    dispatch = _DISPATCH[entry.dispatch]
    safety = (
        "안전 관련 고장입니다. 리셋하지 말도록 안내하세요. ",
        "A safety fault: tell them not to reset. ",
    )
    prefix = safety if entry.safety_critical else ("", "")
    return SeedEntry(
        entry_id=f"code-{entry.code.lower()}", kind="code", code=entry.code, owner="technical-support",
        title_ko=f"{entry.display} {entry.name.ko}", title_en=f"{entry.display} {entry.name.en}",
        agent_ko=prefix[0] + entry.customer_text.ko, agent_en=prefix[1] + entry.customer_text.en,
        customer_ko=entry.customer_text.ko, customer_en=entry.customer_text.en,
        steps_ko=tuple(entry.steps.ko), steps_en=tuple(entry.steps.en),
        dispatch_ko=dispatch[0], dispatch_en=dispatch[1],
        keywords_ko=f"{entry.code} {entry.display} 에러 {entry.display}번 {entry.name.ko}",
        keywords_en=f"{entry.code} {entry.display} error {entry.name.en} {entry.category.value.replace('_', ' ')}",
    )  # fmt: skip


@cache
def seed_entries() -> tuple[SeedEntry, ...]:
    """Every catalog code's entry, then the common questions."""
    raw = tomllib.loads((resources.files("diagnostics.answers") / "seed.toml").read_text(encoding="utf-8"))
    questions = [
        SeedEntry(
            entry_id=e["id"], kind=e["kind"], code=e.get("code"), owner=e["owner"], title_ko=e["title_ko"],
            title_en=e["title_en"], agent_ko=e["agent_ko"], agent_en=e["agent_en"], customer_ko=e["customer_ko"],
            customer_en=e["customer_en"], steps_ko=tuple(e["steps_ko"]), steps_en=tuple(e["steps_en"]),
            dispatch_ko=e["dispatch_ko"], dispatch_en=e["dispatch_en"], keywords_ko=e["keywords_ko"],
            keywords_en=e["keywords_en"], model_family=e.get("model_family"),
        )
        for e in raw["entry"]
    ]  # fmt: skip
    return tuple([_from_code(e) for e in load_catalog().entries()] + questions)
