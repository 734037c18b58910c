"""The customer's page about a case, reached from the link in an alert: `/c/{token}`.

Server-rendered HTML that works without JavaScript, Korean first with English, for a 360 px phone
and large type. No account: the token in the address is the credential (random, one case and one
contact, expiring, revocable, stored hashed: diagnostics/customer_link). Every form posts back to the
same address and is answered with a redirect to the page (so a reload never answers twice).

Whatever is wrong with a token (malformed, never issued, expired, revoked, its case erased), the
answer is the same 404 page: nobody learns whether a case exists. The pages send no Referer (the
token must not leak to a linked photo or video), are never cached and never indexed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.i18n import Lang, Translator
from api.console.rendering import render_string
from api.dependencies import DbConnection
from diagnostics.answers.store import Answer, answer_for_code
from diagnostics.customer_link import service
from diagnostics.customer_link.service import (
    CONSENT_HOURS,
    LinkNotValidError,
    NotNowError,
    PageState,
    SlotTakenError,
)
from diagnostics.customer_link.store import Link, Slot
from diagnostics.messages.texts import visit_day
from telemetry.korean_time import KST

__all__ = ["install_customer_pages", "router"]

router = APIRouter(include_in_schema=False)

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}
Token = Annotated[str, "the link's token"]


def install_customer_pages(app: FastAPI) -> None:
    app.include_router(router)


def _now() -> datetime:
    return datetime.now(UTC)


def _lang(link: Link | None, wanted: str | None) -> Lang:
    for choice in (wanted, link.language if link is not None else None):
        if choice == "en":
            return "en"
        if choice == "ko":
            return "ko"
    return "ko"


def _page(template: str, lang: Lang, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = render_string(template, {"lang": lang, "t": Translator(lang), **context})
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _not_valid(lang: Lang) -> HTMLResponse:
    return _page("customer_invalid.html", lang, {}, status=404)


def _back(token: str, lang: Lang, done: str | None = None, **extra: str) -> RedirectResponse:
    query = {"lang": lang, **({"done": done} if done else {}), **extra}
    return RedirectResponse(f"/c/{token}?{urlencode(query)}", status_code=303, headers=_HEADERS)


async def _open(conn: DbConnection, token: str) -> Link:
    return await service.open_link(conn, token, _now())


def _kst_time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(KST).strftime("%m-%d %H:%M")


def _slot_days(slots: list[Slot]) -> list[tuple[str, list[Slot]]]:
    days: dict[str, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.day.isoformat(), []).append(slot)
    return list(days.items())


def _context(state: PageState, answer: Answer | None, token: str, lang: Lang, *, step: int, done: str | None,
             move: bool, problem: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The page's values. What the fault means and the self-fix steps come from the standard answer
    for the code on this model family (docs/answers.md), so an editor's change reaches the customer;
    from the catalog only for a code with no entry."""
    entry = state.entry
    steps = list(getattr(entry.steps, lang)) if entry is not None else []
    customer_text = getattr(entry.customer_text, lang) if entry is not None else ""
    if answer is not None:
        steps = list(answer.body.steps_ko if lang == "ko" else answer.body.steps_en)
        customer_text = answer.body.customer_ko if lang == "ko" else answer.body.customer_en
    step = min(max(step, 1), max(len(steps), 1))
    return {
        "s": state,
        "token": token,
        "entry": entry,
        "steps": steps,
        "step": step,
        "done": done,
        "move": move,
        "problem": problem,
        "days": _slot_days(state.slots),
        "consent_hours": CONSENT_HOURS,
        "kst_time": _kst_time,
        "own_link": state.link.link_id,
        "code_name": getattr(entry.name, lang) if entry is not None else state.case.code,
        "customer_text": customer_text,
        "emergency": entry is not None and entry.dispatch.value == "emergency_first",
        "visit_day": lambda day: visit_day(day, lang),
    }


async def _render_state(
    conn: DbConnection, link: Link, token: str, lang: Lang, *, step: int = 1, done: str | None = None,
    move: bool = False, problem: str | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    state = await service.page_state(conn, link, now=_now())
    answer = await answer_for_code(conn, state.case.code, state.case.model)
    return _page("customer_page.html", lang, _context(state, answer, token, lang, step=step, done=done, move=move,
                                                      problem=problem), status=status)  # fmt: skip


@router.get("/c/{token}", response_class=HTMLResponse)
async def case_page(
    conn: DbConnection, token: Token, lang: str | None = None, step: Annotated[int, Query(ge=1, le=50)] = 1,
    done: Annotated[str | None, Query(max_length=40)] = None, move: bool = False,
) -> Response:  # fmt: skip
    """The case as it stands, and what the customer can do now."""
    try:
        link = await _open(conn, token)
        await service.mark_opened(conn, link)
        return await _render_state(conn, link, token, _lang(link, lang), step=step, done=done, move=move)
    except LinkNotValidError:
        return _not_valid(_lang(None, lang))


async def _act(conn: DbConnection, token: str, lang: str | None, action: Any) -> Response:
    """Run one of the page's actions: a redirect to the page on success, the page with the problem
    (409) when the answer does not fit, the not-valid page for a bad token."""
    try:
        link = await _open(conn, token)
    except LinkNotValidError:
        return _not_valid(_lang(None, lang))
    chosen = _lang(link, lang)
    try:
        done = await action(link)
    except SlotTakenError:
        return await _render_state(conn, link, token, chosen, problem="slot_taken", move=True, status=409)
    except NotNowError as exc:
        return await _render_state(conn, link, token, chosen, problem=exc.reason, status=409)
    except LinkNotValidError:
        return _not_valid(chosen)
    return _back(token, chosen, done)


@router.post("/c/{token}/works-again")
async def works_again(
    conn: DbConnection, token: Token, lang: Annotated[str | None, Form()] = None
) -> Response:
    async def act(link: Link) -> str:
        await service.works_again(conn, link, _now())
        return "works_again"

    return await _act(conn, token, lang, act)


@router.post("/c/{token}/still-broken")
async def still_broken(
    conn: DbConnection, token: Token, lang: Annotated[str | None, Form()] = None
) -> Response:
    async def act(link: Link) -> str:
        await service.still_broken(conn, link, _now())
        return "still_broken"

    return await _act(conn, token, lang, act)


@router.post("/c/{token}/book")
async def book(
    conn: DbConnection, token: Token, choice: Annotated[str, Form(max_length=20)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:  # fmt: skip
    """`choice`: `YYYY-MM-DD/am` or `…/pm` (one radio group, so one choice)."""

    async def act(link: Link) -> str:
        day, _, slot = choice.partition("/")
        if not day:
            raise NotNowError("no_slot_chosen")
        await service.book_visit(conn, link, day=service.parse_day(day), slot=slot, now=_now())
        return "booked"

    return await _act(conn, token, lang, act)


@router.post("/c/{token}/consent")
async def consent(
    conn: DbConnection, token: Token, hours: Annotated[int, Form()] = 0, agree: Annotated[bool, Form()] = False,
    lang: Annotated[str | None, Form()] = None,
) -> Response:  # fmt: skip
    async def act(link: Link) -> str:
        if not agree:
            raise NotNowError("consent_not_ticked")
        await service.grant_consent(conn, link, hours=hours, now=_now())
        return "consent"

    return await _act(conn, token, lang, act)


@router.post("/c/{token}/reset")
async def reset(
    conn: DbConnection, request: Request, token: Token, no_gas_smell: Annotated[bool, Form()] = False,
    lang: Annotated[str | None, Form()] = None,
) -> Response:  # fmt: skip
    async def act(link: Link) -> str:
        if not no_gas_smell:
            raise NotNowError("gas_smell_not_ruled_out")
        answer = await service.request_reset(conn, link, no_gas_smell=True, policy=request.app.state.command_policy,
                                             now=_now())  # fmt: skip
        if answer.refusal is not None:
            raise NotNowError(f"reset_refused.{answer.refusal.rule.value}")
        return "reset"

    return await _act(conn, token, lang, act)


@router.post("/c/{token}/survey")
async def survey(
    conn: DbConnection, token: Token, score: Annotated[int, Form()] = 0, solved: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=1000)] = "", lang: Annotated[str | None, Form()] = None,
) -> Response:  # fmt: skip
    async def act(link: Link) -> str:
        if solved not in ("yes", "no"):
            raise NotNowError("survey_incomplete")
        answer = await service.answer_survey(conn, link, score=score, solved=solved == "yes", comment=comment,
                                             now=_now())  # fmt: skip
        return "survey_flagged" if answer.flagged else "survey"

    return await _act(conn, token, lang, act)
