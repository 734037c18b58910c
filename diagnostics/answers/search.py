"""Finding the standard answer for what a caller says, in Korean.

PostgreSQL has no Korean stemmer, and Korean words carry their endings attached ("추워요", "추운"), so
whole-word matching misses most questions. The search instead compares **character bigrams** within
words ("보일러" → 보일, 일러), which survive endings, weighted by how rare each bigram is across the
answers (idf) and by where it occurs in an answer (its title counts three times, its keywords twice,
its texts once). Error codes are matched as codes: "E109", "e-109", and the two digits a Korean
thermostat shows ("03", "16번") when they are not a number of years, days or degrees.

The index is built in memory from the entries (a few thousand bigrams for hundreds of answers; Seoul's
120 center's 38,000 entries would be tens of MB). The search's quality is measured on fifty written
questions (`ondol eval-answers`, tests/test_answers.py): top-1 and top-3 hit rates.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["AnswerIndex", "Hit", "IndexedEntry", "bigrams", "codes_in"]

_WORD: Final = re.compile(r"[0-9a-z가-힣]+")
_CODE: Final = re.compile(r"(?<![0-9a-z])([ea])[\s-]?(\d{2,3})(?![0-9])")
_DISPLAY: Final = re.compile(
    r"(?<![0-9.])(\d{2})(?![0-9.])(?!\s*(?:년|일|월|시|분|초|도|℃|°|%|세|살|만|천|원|bar|개|층|평|kg))"
)
_FIELD_WEIGHTS: Final = {"title": 3.0, "keywords": 2.0, "text": 1.0}
_CODE_BONUS: Final = 4.0
_DISPLAY_BONUS: Final = 2.0


def bigrams(text: str) -> set[str]:
    """The character bigrams within the words of `text` (a one-letter word counts as itself)."""
    found: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if len(word) == 1:
            found.add(word)
        found.update(word[i : i + 2] for i in range(len(word) - 1))
    return found


def codes_in(text: str) -> tuple[set[str], set[str]]:
    """(catalog codes written out, e.g. E109; two-digit display codes, e.g. 03) in `text`."""
    lowered = text.lower()
    full = {f"{letter.upper()}{int(number):03d}" if letter == "e" else f"A{int(number):02d}"
            for letter, number in _CODE.findall(lowered)}  # fmt: skip
    stripped = _CODE.sub(" ", lowered)
    return full, set(_DISPLAY.findall(stripped))


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    entry_id: str
    title: str
    keywords: str
    text: str
    code: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    entry_id: str
    score: float


class AnswerIndex:
    """Bigram index over the entries; `search` ranks them for a question."""

    def __init__(self, entries: Sequence[IndexedEntry]) -> None:
        self._fields: dict[str, dict[str, float]] = {}
        document_frequency: Counter[str] = Counter()
        self._by_code: dict[str, str] = {}
        self._by_display: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            weights: dict[str, float] = {}
            for field, weight in _FIELD_WEIGHTS.items():
                for gram in bigrams(getattr(entry, field)):
                    weights[gram] = max(weights.get(gram, 0.0), weight)
            self._fields[entry.entry_id] = weights
            document_frequency.update(weights)
            if entry.code:
                self._by_code[entry.code] = entry.entry_id
            if entry.display and entry.display.isdigit():
                self._by_display[entry.display].append(entry.entry_id)
        total = max(len(entries), 1)
        self._idf = {g: math.log(1 + total / n) for g, n in document_frequency.items()}

    def search(self, question: str, limit: int = 5) -> list[Hit]:
        grams = bigrams(question)
        weight_sum = sum(self._idf.get(g, 0.0) for g in grams) or 1.0
        scores: dict[str, float] = defaultdict(float)
        for entry_id, weights in self._fields.items():
            score = sum(self._idf.get(g, 0.0) * weights[g] for g in grams if g in weights)
            if score:
                scores[entry_id] = score / weight_sum
        full, displays = codes_in(question)
        for code in full:
            if (coded := self._by_code.get(code)) is not None:
                scores[coded] += _CODE_BONUS
        for display in displays:
            for entry_id in self._by_display.get(display, []):
                scores[entry_id] += _DISPLAY_BONUS
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [Hit(entry_id, round(score, 4)) for entry_id, score in ranked]
