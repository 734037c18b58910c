"""The standard answer database's store (migration 0026): entries with their versions, review dates
and flags, and the search over them (`search.py`), rebuilt when an entry changes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Final

from diagnostics.answers.search import AnswerIndex, Hit, IndexedEntry
from diagnostics.answers.seed import SeedEntry, seed_entries
from diagnostics.catalog import load_catalog
from telemetry import named_queries
from telemetry.database import Connection, Row

__all__ = [
    "Answer", "AnswerBody", "Flag", "Version", "VersionConflictError", "add_flag", "all_answers", "answer_for_code",
    "answer_for_device",
    "edit", "get_answer",
    "mark_reviewed", "open_flags", "overdue", "resolve_flag", "search", "seed_answers", "versions",
]  # fmt: skip

_Q: Final = named_queries.load("answers", package="diagnostics.answers").require(
    "add_flag", "all_entries", "entry", "for_code", "for_device_code", "generation", "lock_entry", "mark_reviewed", "open_flags", "overdue",
    "resolve_flag", "seed_entry", "update_entry", "versions",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AnswerBody:
    """What an entry says, in both languages."""

    title_ko: str
    title_en: str
    agent_ko: str
    """The short answer an agent reads out."""
    agent_en: str
    customer_ko: str
    customer_en: str
    steps_ko: list[str]
    steps_en: list[str]
    dispatch_ko: str
    """When to send a technician."""
    dispatch_en: str
    keywords_ko: str
    """Words callers use that the texts may not (search only)."""
    keywords_en: str
    links: list[str]


@dataclass(frozen=True, slots=True)
class Answer:
    entry_id: str
    kind: str
    code: str | None
    model_family: str | None
    """The model family the entry answers for (None: every model)."""
    owner: str
    body: AnswerBody
    version: int
    updated_at: datetime
    updated_by: str
    reviewed_at: datetime
    review_due: date
    open_flags: int


def _answer(row: Row) -> Answer:
    fields = dict(row)
    fields["body"] = AnswerBody(**json.loads(fields["body"]))
    return Answer(**fields)


def _body_of(seed: SeedEntry) -> AnswerBody:
    return AnswerBody(seed.title_ko, seed.title_en, seed.agent_ko, seed.agent_en, seed.customer_ko, seed.customer_en,
                      list(seed.steps_ko), list(seed.steps_en), seed.dispatch_ko, seed.dispatch_en, seed.keywords_ko,
                      seed.keywords_en, [])  # fmt: skip


async def seed_answers(conn: Connection) -> None:
    """Insert the seed entries that do not exist yet (each with its first version)."""
    await conn.executemany(_Q["seed_entry"], [
        (s.entry_id, s.kind, s.code, s.owner, json.dumps(asdict(_body_of(s)), ensure_ascii=False), s.model_family)
        for s in seed_entries()
    ])  # fmt: skip


async def all_answers(conn: Connection) -> list[Answer]:
    return [_answer(r) for r in await conn.fetch(_Q["all_entries"])]


async def get_answer(conn: Connection, entry_id: str) -> Answer | None:
    row = await conn.fetchrow(_Q["entry"], entry_id)
    return None if row is None else _answer(row)


async def answer_for_device(conn: Connection, code: str, device_id: str) -> Answer | None:
    """`answer_for_code` for the model of a registered device."""
    row = await conn.fetchrow(_Q["for_device_code"], code, device_id)
    return None if row is None else _answer(row)


async def answer_for_code(conn: Connection, code: str, model: str) -> Answer | None:
    """The entry that answers `code` on a device of `model`: the model family's own entry when there is
    one, else the code's; None for a code with no entry. The customer pages and the alert texts read it,
    so an editor's change reaches every channel."""
    row = await conn.fetchrow(_Q["for_code"], code, model)
    return None if row is None else _answer(row)


class VersionConflictError(ValueError):
    """Someone changed the entry since the editor read it."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the entry is at version {current}")
        self.current = current


async def edit(
    conn: Connection, entry_id: str, body: AnswerBody, *, if_version: int, by: str, why: str
) -> int | None:
    """A new version of the entry (None: no such entry); VersionConflictError when `if_version` is not
    the current one."""
    async with conn.transaction():
        current = await conn.fetchval(_Q["lock_entry"], entry_id)
        if current is None:
            return None
        if current != if_version:
            raise VersionConflictError(int(current))
        version = await conn.fetchval(_Q["update_entry"], entry_id, json.dumps(asdict(body), ensure_ascii=False), by,
                                      why)  # fmt: skip
        return int(version)


async def mark_reviewed(conn: Connection, entry_id: str) -> date | None:
    """The monthly review found nothing to change: due again in a month. None: no such entry."""
    value = await conn.fetchval(_Q["mark_reviewed"], entry_id)
    return value if isinstance(value, date) else None


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    body: AnswerBody
    changed_by: str
    why: str
    at: datetime


async def versions(conn: Connection, entry_id: str) -> list[Version]:
    return [Version(r["version"], AnswerBody(**json.loads(r["body"])), r["changed_by"], r["why"], r["at"])
            for r in await conn.fetch(_Q["versions"], entry_id)]  # fmt: skip


async def overdue(conn: Connection, today: date) -> list[tuple[str, str, date]]:
    """(entry, owner, due day) of the entries whose monthly review is overdue."""
    return [(r["entry_id"], r["owner"], r["review_due"]) for r in await conn.fetch(_Q["overdue"], today)]


@dataclass(frozen=True, slots=True)
class Flag:
    flag_id: int
    entry_id: str
    owner: str
    flagged_by: str
    note: str
    at: datetime


async def add_flag(conn: Connection, entry_id: str, *, by: str, note: str) -> int:
    return int(await conn.fetchval(_Q["add_flag"], entry_id, by, note))


async def open_flags(conn: Connection, owner: str | None) -> list[Flag]:
    """The open flags, those of one owner's entries when `owner` is given."""
    return [Flag(**dict(r)) for r in await conn.fetch(_Q["open_flags"], owner)]


async def resolve_flag(conn: Connection, flag_id: int, *, by: str, resolution: str) -> bool:
    return await conn.fetchval(_Q["resolve_flag"], flag_id, by, resolution) is not None


_index_cache: dict[str, AnswerIndex] = {}


def index_of(answers: list[Answer]) -> AnswerIndex:
    """The search index over the entries (both languages)."""
    catalog = load_catalog()
    return AnswerIndex([
        IndexedEntry(
            a.entry_id, f"{a.body.title_ko} {a.body.title_en}", f"{a.body.keywords_ko} {a.body.keywords_en}",
            " ".join([a.body.agent_ko, a.body.customer_ko, *a.body.steps_ko, a.body.dispatch_ko, a.body.agent_en]),
            a.code, (entry.display if a.code and (entry := catalog.get(a.code)) else None),
        )
        for a in answers
    ])  # fmt: skip


async def search(conn: Connection, question: str, limit: int = 5) -> list[tuple[Answer, float]]:
    """The best entries for a question, best first, with their scores; the index is rebuilt only when an
    entry changed."""
    generation = str(await conn.fetchval(_Q["generation"]))
    answers = {a.entry_id: a for a in await all_answers(conn)}
    if generation not in _index_cache:
        _index_cache.clear()
        _index_cache[generation] = index_of(list(answers.values()))
    hits: list[Hit] = _index_cache[generation].search(question, limit)
    return [(answers[h.entry_id], h.score) for h in hits if h.entry_id in answers]
