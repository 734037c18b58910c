"""The standard answer database (docs/answers.md): search what a caller says, read an entry with its
versions, edit it (the answer-editor role, with a reason; every change is a version), mark it reviewed,
list the overdue ones, and flag a wrong entry (agents) so that it lands with its owner."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.access import Principal, Role, allow
from api.dependencies import DbConnection
from api.problems import ProblemError, problem_responses
from api.record_audit import record
from api.user_text import UserText
from diagnostics.answers import store
from diagnostics.answers.store import AnswerBody, VersionConflictError
from telemetry.korean_time import kst_day

__all__ = ["router"]

router = APIRouter(prefix="/v1/answers", tags=["answers"])
Reader = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.ANSWER_EDITOR)]
Editor = Annotated[Principal, allow(Role.ADMIN, Role.ANSWER_EDITOR)]
Flagger = Annotated[Principal, allow(Role.ADMIN, Role.AGENT, Role.TECHNICIAN)]
EntryId = Annotated[str, Path(pattern=r"^[a-z0-9-]{2,80}$")]


class BodyIn(BaseModel):
    title_ko: UserText = Field(min_length=1, max_length=200)
    title_en: UserText = Field(min_length=1, max_length=200)
    agent_ko: UserText = Field(
        min_length=1, max_length=2000, description="The short answer an agent reads out"
    )
    agent_en: UserText = Field(min_length=1, max_length=2000)
    customer_ko: UserText = Field("", max_length=2000)
    customer_en: UserText = Field("", max_length=2000)
    steps_ko: list[UserText] = Field(default_factory=list, max_length=20)
    steps_en: list[UserText] = Field(default_factory=list, max_length=20)
    dispatch_ko: UserText = Field("", max_length=1000)
    dispatch_en: UserText = Field("", max_length=1000)
    keywords_ko: UserText = Field("", max_length=1000, description="Words callers use (search only)")
    keywords_en: UserText = Field("", max_length=1000)
    links: list[str] = Field(default_factory=list, max_length=10)


class AnswerOut(BaseModel):
    entry_id: str
    kind: Literal["code", "question", "billing", "warranty"]
    code: str | None
    owner: str
    body: dict[str, Any]
    version: int
    updated_at: datetime
    updated_by: str
    reviewed_at: datetime
    review_due: date
    open_flags: int


class HitOut(BaseModel):
    score: float
    answer: AnswerOut


class EditIn(BaseModel):
    body: BodyIn
    if_version: int = Field(ge=1, description="The version you edited: a later one answers 409")
    why: UserText = Field(min_length=3, max_length=500, description="Why it changed (kept with the version)")


class FlagIn(BaseModel):
    note: UserText = Field(min_length=3, max_length=1000, description="What is wrong with it")


class VersionOut(BaseModel):
    version: int
    body: dict[str, Any]
    changed_by: str
    why: str
    at: datetime


def _out(answer: store.Answer) -> AnswerOut:
    return AnswerOut.model_validate(asdict(answer))


def _missing(entry_id: str) -> ProblemError:
    return ProblemError(404, "answer-not-found", f"No standard answer {entry_id!r}.", title="Unknown answer")


@router.get("/search", response_model=list[HitOut], responses=problem_responses(422, 503))
async def search_answers(
    conn: DbConnection, caller: Reader, q: Annotated[str, Query(min_length=1, max_length=300)],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[HitOut]:  # fmt: skip
    """The best standard answers for what the caller says (Korean or English; codes as shown)."""
    return [HitOut(score=score, answer=_out(a)) for a, score in await store.search(conn, q, limit)]


@router.get("/overdue", response_model=list[dict[str, Any]], responses=problem_responses(503))
async def overdue_answers(conn: DbConnection, caller: Reader) -> list[dict[str, Any]]:
    """Entries whose monthly review is overdue, oldest first, with their owner."""
    today = kst_day(datetime.now(UTC))
    return [
        {"entry_id": e, "owner": o, "review_due": d.isoformat()}
        for e, o, d in await store.overdue(conn, today)
    ]


@router.get("/flags", response_model=list[dict[str, Any]], responses=problem_responses(422, 503))
async def open_flags(
    conn: DbConnection, caller: Reader,
    owner: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,60}$", description="a department, e.g. technical-support")] = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The open flags, those of one owner's entries when `owner` is given: where a flag lands."""
    return [asdict(f) for f in await store.open_flags(conn, owner)]


@router.get("/{entry_id}", response_model=AnswerOut, responses=problem_responses(404, 503))
async def get_answer(conn: DbConnection, caller: Reader, entry_id: EntryId) -> AnswerOut:
    answer = await store.get_answer(conn, entry_id)
    if answer is None:
        raise _missing(entry_id)
    return _out(answer)


@router.get("/{entry_id}/versions", response_model=list[VersionOut], responses=problem_responses(404, 503))
async def answer_versions(conn: DbConnection, caller: Reader, entry_id: EntryId) -> list[VersionOut]:
    found = await store.versions(conn, entry_id)
    if not found:
        raise _missing(entry_id)
    return [
        VersionOut(version=v.version, body=asdict(v.body), changed_by=v.changed_by, why=v.why, at=v.at)
        for v in found
    ]


@router.put("/{entry_id}", response_model=AnswerOut, responses=problem_responses(404, 409, 422, 503))
async def edit_answer(conn: DbConnection, caller: Editor, entry_id: EntryId, body: EditIn) -> AnswerOut:
    """A new version of the entry, with who and why; its review is then due again in a month."""
    try:
        version = await store.edit(conn, entry_id, AnswerBody(**body.body.model_dump()), if_version=body.if_version,
                                   by=caller.label, why=body.why)  # fmt: skip
    except VersionConflictError as exc:
        raise ProblemError(409, "answer-changed", f"The entry is at version {exc.current}, not {body.if_version}: "
                           "someone changed it; read it again.", title="Changed meanwhile") from exc  # fmt: skip
    if version is None:
        raise _missing(entry_id)
    await record(conn, caller, "change", "answer")
    answer = await store.get_answer(conn, entry_id)
    assert answer is not None
    return _out(answer)


@router.post("/{entry_id}/reviewed", response_model=AnswerOut, responses=problem_responses(404, 503))
async def review_answer(conn: DbConnection, caller: Editor, entry_id: EntryId) -> AnswerOut:
    """The monthly review found nothing to change."""
    if await store.mark_reviewed(conn, entry_id) is None:
        raise _missing(entry_id)
    answer = await store.get_answer(conn, entry_id)
    assert answer is not None
    return _out(answer)


@router.post(
    "/{entry_id}/flags",
    status_code=201,
    response_model=dict[str, int],
    responses=problem_responses(404, 422, 503),
)
async def flag_answer(conn: DbConnection, caller: Flagger, entry_id: EntryId, body: FlagIn) -> dict[str, int]:
    """Say the entry is wrong: the flag lands with its owner (GET /v1/answers/flags?owner=…)."""
    if await store.get_answer(conn, entry_id) is None:
        raise _missing(entry_id)
    return {"flag_id": await store.add_flag(conn, entry_id, by=caller.label, note=body.note)}
