"""The words customers receive: templates per alert type and language (alert_templates.toml),
filled from the catalog entry and the ticket's routing.

Templates are checked when loaded: every type has Korean and English text, uses only known
variables and never asks the customer to reply (nothing receives replies), so a mistake fails at
start-up rather than in a message to a customer.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from string import Template
from typing import Final

from diagnostics.catalog import CatalogEntry

__all__ = [
    "ALERT_TYPES",
    "LANGUAGES",
    "LINK_PLACEHOLDER",
    "LMS_BYTES",
    "SMS_BYTES",
    "Message",
    "PointName",
    "TemplateError",
    "Wording",
    "alimtalk_code",
    "compose",
    "compose_freeze_prep",
    "compose_incident",
    "compose_inspection",
    "compose_visit",
    "message_bytes",
    "render",
    "sms_class",
    "visit_day",
    "with_link",
]  # fmt: skip

LANGUAGES: Final = ("ko", "en")
ALERT_TYPES: Final = (
    "guidance",
    "safety",
    "emergency",
    "escalation",
    "visit",
    "inspection",
    "inspection_offer",
    "visit_reminder",
    "result",
    "freeze_prep",
    "incident",
    "incident_resolved",
)
VARIABLES: Final = frozenset({
    "code", "code_name", "customer_text", "steps", "service_point", "visit_time", "owner_name", "technician",
    "link", "region", "cause", "temp",
})  # fmt: skip
LINK_PLACEHOLDER: Final = "${link}"
"""Kept in the stored text: the alert worker puts the case's link for the contact there when it sends
the message (a link is a credential, so it is never stored in clear)."""
SMS_BYTES: Final = 90
LMS_BYTES: Final = 2000
"""Korean carriers count EUC-KR bytes (a Hangul syllable is 2): up to 90 is an SMS, up to 2,000 an LMS."""
_SERVICE_POINT_FALLBACK: Final = {"ko": "서비스센터", "en": "our service centre"}
_REPLY_REQUEST: Final = re.compile(
    r"답장|회신|답해|문자로 알려|\breply\b|\brespond\b|confirm you have read", re.IGNORECASE
)
"""Words that ask the customer to answer the message itself. Nothing receives replies to alerts, so a
text must not ask for one (a customer calls the centre instead)."""


class TemplateError(ValueError):
    """The templates file is incomplete or uses an unknown variable."""


@dataclass(frozen=True, slots=True)
class Message:
    ko: str
    en: str


@dataclass(frozen=True, slots=True)
class Wording:
    """What a code means to the customer and the self-fix steps, when the standard answer database
    words them (docs/answers.md) rather than the catalog."""

    customer_ko: str
    customer_en: str
    steps_ko: tuple[str, ...]
    steps_en: tuple[str, ...]

    def customer_text(self, language: str) -> str:
        return self.customer_ko if language == "ko" else self.customer_en

    def steps(self, language: str) -> tuple[str, ...]:
        return self.steps_ko if language == "ko" else self.steps_en


@dataclass(frozen=True, slots=True)
class PointName:
    """A service point's name in each language (service_points.name and name_en). Each message names
    the point in its own language: a contact who reads English never gets the Korean name, and where
    the point has no English name the English text says "our service centre"."""

    ko: str | None
    en: str | None

    def text(self, language: str) -> str:
        return (self.en if language == "en" else self.ko) or _SERVICE_POINT_FALLBACK[language]


@dataclass(frozen=True, slots=True)
class _Template:
    alimtalk_code: str
    text: dict[str, Template]


@cache
def _templates() -> dict[str, _Template]:
    raw = tomllib.loads(
        (resources.files("diagnostics.messages") / "alert_templates.toml").read_text(encoding="utf-8")
    )
    return parse_templates(raw)


def parse_templates(raw: dict[str, object]) -> dict[str, _Template]:
    """Check and compile a templates document; TemplateError on the first problem."""
    result: dict[str, _Template] = {}
    for kind in ALERT_TYPES:
        table = raw.get(kind)
        if not isinstance(table, dict) or not isinstance(table.get("alimtalk_code"), str):
            raise TemplateError(f"alert type {kind!r} needs a table with alimtalk_code")
        texts: dict[str, Template] = {}
        for language in LANGUAGES:
            text = table.get(language)
            if not isinstance(text, str) or not text:
                raise TemplateError(f"{kind}: no {language} text")
            if asked := _REPLY_REQUEST.search(text):
                raise TemplateError(
                    f"{kind}.{language}: asks for a reply ({asked[0]!r}), but replies reach nobody"
                )
            template = Template(text)
            unknown = set(template.get_identifiers()) - VARIABLES
            if unknown or not template.is_valid():
                raise TemplateError(f"{kind}.{language}: unknown or malformed variables {sorted(unknown)}")
            texts[language] = template
        result[kind] = _Template(table["alimtalk_code"], texts)
    return result


def alimtalk_code(kind: str) -> str:
    """The Alimtalk template code of an alert type."""
    return _templates()[kind].alimtalk_code


def render(kind: str, language: str, variables: dict[str, str]) -> str:
    """One template filled in; missing variables are left empty rather than shown as ${name}."""
    values = dict.fromkeys(VARIABLES, "") | {"link": LINK_PLACEHOLDER} | variables
    return " ".join(_templates()[kind].text[language].substitute(values).split())


def _numbered(steps: tuple[str, ...]) -> str:
    return " ".join(f"{i}) {step}" for i, step in enumerate(steps, 1))


_KO_WEEKDAYS: Final = "월화수목금토일"


def visit_day(day: date, language: str) -> str:
    """A visit day as a customer reads it: 10월 3일(금), Fri 3 October."""
    if language == "ko":
        return f"{day.month}월 {day.day}일({_KO_WEEKDAYS[day.weekday()]})"
    return f"{day.strftime('%a')} {day.day} {day.strftime('%B')}"


def compose_inspection(
    kind: str, *, day: date, service_point: PointName | None, owner_name: str | None
) -> Message:
    """An inspection reminder ('inspection' or 'inspection_offer') in both languages."""
    if kind not in ("inspection", "inspection_offer"):
        raise ValueError(f"{kind!r} is not an inspection reminder")
    texts = {}
    for language in LANGUAGES:
        variables = {
            "service_point": _point(service_point, language),
            "owner_name": owner_name or ("고객" if language == "ko" else "customer"),
            "visit_time": visit_day(day, language),
        }
        texts[language] = render(kind, language, variables)
    return Message(texts["ko"], texts["en"])


def _point(name: PointName | None, language: str) -> str:
    return _SERVICE_POINT_FALLBACK[language] if name is None else name.text(language)


def compose(
    entry: CatalogEntry,
    kind: str,
    *,
    service_point: PointName | None = None,
    owner_name: str | None = None,
    wording: Wording | None = None,
) -> Message:
    """The message of `kind` for a raised code, in both languages; what the code means and the steps
    from `wording` when the answer database has them, else from the catalog."""
    texts = {}
    for language in LANGUAGES:
        variables = {
            "code": entry.display,
            "code_name": getattr(entry.name, language),
            "customer_text": wording.customer_text(language)
            if wording
            else getattr(entry.customer_text, language),
            "steps": _numbered(wording.steps(language) if wording else tuple(getattr(entry.steps, language))),
            "service_point": _point(service_point, language),
            "owner_name": owner_name or "",
        }
        texts[language] = render(kind, language, variables)
    return Message(texts["ko"], texts["en"])


def with_link(text: str, url: str | None) -> str:
    """The stored text as sent: the case's link where the template put it (or nothing, for a message
    without a case)."""
    if LINK_PLACEHOLDER not in text:
        return text
    return " ".join(text.replace(LINK_PLACEHOLDER, url or "").split())


def message_bytes(text: str) -> int:
    """The length a Korean carrier counts (EUC-KR; a character outside it is counted as 2)."""
    return sum(len(ch.encode("cp949", errors="ignore")) or 2 for ch in text)


def sms_class(text: str) -> str:
    """'SMS' (up to 90 bytes) or 'LMS' (up to 2,000); ValueError beyond what one message carries."""
    size = message_bytes(text)
    if size <= SMS_BYTES:
        return "SMS"
    if size <= LMS_BYTES:
        return "LMS"
    raise ValueError(f"a message of {size} bytes is longer than an LMS ({LMS_BYTES} bytes)")


_SLOT_TEXT: Final = {
    "ko": {"am": "오전(9~13시)", "pm": "오후(13~18시)"},
    "en": {"am": "morning (9-13)", "pm": "afternoon (13-18)"},
}


def compose_visit(
    kind: str, entry: CatalogEntry | None, code: str, *, day: date | None = None, slot: str | None = None,
    service_point: PointName | None = None, technician: PointName | None = None,
) -> Message:  # fmt: skip
    """A message about the ticket's visit ('visit_reminder') or its result ('result'), both languages.
    `technician`: the technician's name in each language (the same shape as a point's name)."""
    texts = {}
    for language in LANGUAGES:
        when = ""
        if day is not None:
            when = visit_day(day, language) + (" " + _SLOT_TEXT[language][slot] if slot else "")
        variables = {
            "code": entry.display if entry else code,
            "code_name": getattr(entry.name, language) if entry else "",
            "service_point": _point(service_point, language),
            "visit_time": when,
            "technician": technician.text(language) if technician else "",
        }
        texts[language] = render(kind, language, variables)
    return Message(texts["ko"], texts["en"])


_CAUSES: Final = {
    "gas_supply": ("가스 공급", "the gas supply"),
    "water_pressure": ("수돗물 공급", "the water supply"),
    "water_flow": ("수돗물 공급", "the water supply"),
    "electrical_pcb": ("전기 공급", "the power supply"),
    "communication": ("통신", "the network"),
    "freeze": ("동결", "freezing"),
    "condensate": ("응축수 배관 동결", "frozen condensate pipes"),
}
"""What stops many boilers of an area at once, per fault family, as customers read it."""


def compose_incident(
    kind: str, entry: CatalogEntry | None, code: str, *, family: str, region_ko: str, region_en: str
) -> Message:
    """An area incident's broadcast ('incident' when it holds the household's fault, 'incident_resolved'
    when it ends), in both languages."""
    cause = _CAUSES.get(family, ("같은 원인", "a common cause"))
    texts = {}
    for index, language in enumerate(LANGUAGES):
        variables = {
            "code": entry.display if entry else code,
            "code_name": getattr(entry.name, language) if entry else "",
            "region": region_ko if language == "ko" else region_en,
            "cause": cause[index],
        }
        texts[language] = render(kind, language, variables)
    return Message(texts["ko"], texts["en"])


def compose_freeze_prep(*, day: date, region_ko: str, region_en: str, low_c: float) -> Message:
    """Freeze-prevention guidance before a forecast cold day, in both languages."""
    texts = {}
    for language in LANGUAGES:
        variables = {
            "visit_time": visit_day(day, language),
            "region": region_ko if language == "ko" else region_en,
            "temp": f"{low_c:.0f}",
        }
        texts[language] = render("freeze_prep", language, variables)
    return Message(texts["ko"], texts["en"])
