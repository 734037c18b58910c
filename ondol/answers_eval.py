"""`ondol eval-answers`: the standard answer search judged on fifty questions as callers put them,
each written with its right entry before the search was built: top-1 and top-3 hit rates."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from diagnostics.answers.search import AnswerIndex

__all__ = ["SearchQuality", "judge_search", "load_questions"]


@dataclass(frozen=True, slots=True)
class SearchQuality:
    questions: int
    top1: float
    top3: float
    misses: list[tuple[str, str, list[str]]]
    """(question, right entry, the top three) for each question whose right entry was not first."""


def load_questions(path: Path) -> list[tuple[str, str]]:
    return [(q, want) for q, want in tomllib.loads(path.read_text(encoding="utf-8"))["questions"]]


def judge_search(index: AnswerIndex, questions: list[tuple[str, str]]) -> SearchQuality:
    top1 = top3 = 0
    misses = []
    for question, want in questions:
        found = [h.entry_id for h in index.search(question, 3)]
        top1 += found[:1] == [want]
        top3 += want in found
        if found[:1] != [want]:
            misses.append((question, want, found))
    return SearchQuality(len(questions), top1 / len(questions), top3 / len(questions), misses)
