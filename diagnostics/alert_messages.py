"""The words customers receive, in Korean and English, composed from the catalog entry."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.catalog import CatalogEntry

__all__ = ["Message", "compose"]

_EMERGENCY_KO = (
    "전기 스위치나 불씨를 만지지 마시고, 가스 밸브를 잠근 뒤 창문을 열고 밖으로 대피하세요. "
    "도시가스 회사 긴급전화 또는 119에 바로 신고해 주세요."
)
_EMERGENCY_EN = (
    "Do not touch switches or flames. Close the gas valve, open the windows and leave the home. "
    "Call the city-gas emergency line or 119 now."
)


@dataclass(frozen=True, slots=True)
class Message:
    ko: str
    en: str


def _numbered(steps: tuple[str, ...]) -> str:
    return " ".join(f"{i}) {step}" for i, step in enumerate(steps, 1))


def compose(entry: CatalogEntry, kind: str) -> Message:
    """The message of `kind` (guidance, safety, emergency) for a raised code."""
    head_ko = f"[온돌] 보일러 {entry.display} {entry.name.ko}: {entry.customer_text.ko}"
    head_en = f"[Ondol] Boiler {entry.display} {entry.name.en}: {entry.customer_text.en}"
    if kind == "emergency":
        return Message(
            f"[온돌 긴급] {head_ko[5:]} {_EMERGENCY_KO}", f"[Ondol EMERGENCY] {head_en[8:]} {_EMERGENCY_EN}"
        )
    if kind == "safety":
        return Message(
            f"{head_ko} 안전을 위해 리셋하지 마세요. 서비스 기사가 곧 연락드립니다.",
            f"{head_en} For your safety do not reset it. A technician will call you shortly.",
        )
    ko, en = head_ko, head_en
    if entry.steps.ko:
        ko += f" 이렇게 해 보세요: {_numbered(entry.steps.ko)}"
        en += f" Please try: {_numbered(entry.steps.en)}"
    return Message(ko, en)
