"""`ondol eval-link`: how many calls the customer link saves, on a simulated fleet of fault cases.

Each case is a boiler raising one catalog code. The product's own code handles everything against a
real (scratch) database: the fault engine opens the case and its alert, the alert's link is issued as
the alert worker issues it, and the customer's answers go through the page's functions
(`diagnostics.customer_link.service`): "it works again", "still not working", consent and a remote
reset, a booked visit. The fault engine then sees the telemetry: the code clears when a fix worked,
and comes back within the 24 h watch when the fix did not hold (the case reopens with a ticket).

What the customers do is an assumption, stated in `Behaviour` and printed with the results: no maker
publishes how often customers fix a boiler themselves or open a link. The baseline is the one the
issue names: without the link, every alert leads to one inbound call. With the link, a customer who
answers on the page does not call; one who does not open it calls as before; one who needs a visit and
finds no free window calls to arrange one. Safety-critical cases are counted as calls either way
(the customer is told to call 119 or the gas company, and the call center calls them).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from diagnostics.catalog import CatalogEntry, Dispatch, SelfFix, load_catalog
from diagnostics.commands.policy import PolicySettings
from diagnostics.customer_link import service
from diagnostics.customer_link.service import LinkNotValidError, NotNowError, Phase, SlotTakenError
from diagnostics.customer_link.store import Link
from diagnostics.customer_link.tokens import LinkSecret
from diagnostics.faults.engine import EngineConfig, FaultEngine
from diagnostics.service_points import ServicePointDirectory, seed_service_points
from ondol.schema import migrate_schema
from telemetry import named_queries
from telemetry.database import Connection, connect
from telemetry.device_registry import ContactRecord, DeviceRecord, register_devices
from telemetry.event_inbox import InboxEvent
from telemetry.korean_time import KST

__all__ = ["Behaviour", "LinkEvalConfig", "LinkReport", "evaluate_link", "format_link_report"]

_Q: Final = named_queries.load("link_eval", package="ondol").require("fault_state", "first_alert")
_SECRET: Final = LinkSecret(b"eval-link-secret-" + b"0" * 32)
_CITIES: Final = ((37.5665, 126.978, "seoul"), (35.1796, 129.0756, "busan"), (35.8714, 128.6014, "daegu"),
                  (37.4563, 126.7052, "incheon"), (36.3504, 127.3845, "daejeon"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What simulated customers do (assumptions, printed with the results)."""

    opens_link: float = 0.75
    """Opens the link in the alert (the rest call, as without a link)."""
    fix_works: tuple[float, float] = (0.6, 0.35)
    """The catalog's steps fix the fault: self_fix = yes, partial."""
    fix_holds: float = 0.8
    """A fix that worked holds past the 24 h watch (else the code comes back)."""
    says_it_works: float = 0.8
    """Having fixed it, presses "It works again" (the rest just leave it)."""
    consents: float = 0.5
    """Offered a remote reset (the catalog allows one), consents and asks for it."""
    reset_works: float = 0.3
    """The remote reset clears the lockout (bench/results/remote_resets.md: most lockouts have a cause)."""
    books: float = 0.9
    """Still not working: books a window on the page (the rest call)."""


@dataclass(frozen=True, slots=True)
class LinkEvalConfig:
    cases: int = 600
    seed: int = 1
    start: datetime = datetime(2026, 12, 14, 9, 0, tzinfo=KST)
    behaviour: Behaviour = field(default_factory=Behaviour)


@dataclass
class LinkReport:
    config: LinkEvalConfig
    outcomes: Counter[str] = field(default_factory=Counter)
    by_code: dict[str, Counter[str]] = field(default_factory=dict)
    calls_baseline: int = 0
    calls_with_link: int = 0
    wall_s: float = 0.0


def _codes() -> list[CatalogEntry]:
    """Device-reported codes that alert the customer (advisories come from our own detectors)."""
    return [e for e in load_catalog().entries() if not e.advisory]


async def evaluate_link(
    dsn: str, config: LinkEvalConfig, progress: Callable[[str], None] = lambda _: None
) -> LinkReport:
    started = time.perf_counter()
    rng = random.Random(config.seed)  # noqa: S311 - a simulation, not a secret
    report = LinkReport(config)
    async with connect(dsn, application_name="ondol-eval-link") as conn:
        await migrate_schema(conn)
        async with conn.transaction():
            await seed_service_points(conn)
            engine = FaultEngine(load_catalog(), await ServicePointDirectory.load(conn), EngineConfig())
        codes = _codes()
        for n in range(config.cases):
            entry = rng.choice(codes)
            outcome = await _one_case(conn, engine, rng, config, n, entry)
            report.outcomes[outcome] += 1
            report.by_code.setdefault(entry.code, Counter())[outcome] += 1
            if (n + 1) % 100 == 0:
                progress(f"cases: {n + 1}/{config.cases}")
    report.calls_baseline = sum(c for o, c in report.outcomes.items() if o != "no_alert")
    report.calls_with_link = sum(c for o, c in report.outcomes.items() if o in _CALLS)
    report.wall_s = time.perf_counter() - started
    return report


_CALLS: Final = frozenset({"safety", "did_not_open", "no_window", "did_not_book"})
"""Outcomes in which the customer still calls the center."""


class _Case:
    def __init__(
        self, conn: Connection, engine: FaultEngine, device_id: str, code: str, at: datetime
    ) -> None:
        self.conn, self.engine, self.device_id, self.code, self.at = conn, engine, device_id, code, at
        self.seq = 0

    async def event(self, state: str, after: timedelta) -> None:
        self.seq += 1
        at = self.at + after
        async with self.conn.transaction():
            await self.conn.execute(
                _Q["fault_state"], self.device_id, self.code, state == "raised", at, self.seq
            )
            await self.engine.handle(
                self.conn, InboxEvent(self.seq, self.device_id, at, self.seq, self.code, state, at)
            )


async def _device(conn: Connection, device_id: str, rng: random.Random) -> None:
    lat, lon, region = rng.choice(_CITIES)
    contact = ContactRecord("고객", f"+8210{rng.randrange(10**7, 10**8)}", "owner", "sms", "ko")
    record = DeviceRecord(device_id, "NCB-300", f"SN-{device_id}", date(2022, 1, 1), "addr", region,
                          lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05), "고객", 60, (contact,))  # fmt: skip
    async with conn.transaction():
        await register_devices(conn, devices=[record])


async def _link(conn: Connection, device_id: str, at: datetime) -> Link | None:
    """The case's link for its owner, issued as the alert worker issues it; None without an alert."""
    row = await conn.fetchrow(_Q["first_alert"], device_id)
    if row is None:
        return None
    token = await service.issue_token(conn, _SECRET, case_id=row["case_id"], device_id=device_id, phone=row["phone"],
                                      language="ko", valid_for=timedelta(days=30), now=at)  # fmt: skip
    assert token is not None
    return await service.open_link(conn, token, at)


async def _one_case(
    conn: Connection,
    engine: FaultEngine,
    rng: random.Random,
    config: LinkEvalConfig,
    n: int,
    entry: CatalogEntry,
) -> str:
    b = config.behaviour
    device_id = f"link-eval-{n}"
    at = config.start + timedelta(minutes=n)
    await _device(conn, device_id, rng)
    case = _Case(conn, engine, device_id, entry.code, at)
    await case.event("raised", timedelta())
    link = await _link(conn, device_id, at)
    if link is None:
        return "no_alert"
    if entry.safety_critical:
        return "safety"
    if rng.random() >= b.opens_link:
        return "did_not_open"
    now = at + timedelta(minutes=15)
    state = await service.page_state(conn, link, now=now)
    if state.phase is Phase.SELF_FIX and entry.self_fix is not SelfFix.NO:
        works = b.fix_works[0] if entry.self_fix is SelfFix.YES else b.fix_works[1]
        if rng.random() < works:
            if rng.random() < b.says_it_works:
                await service.works_again(conn, link, now)
            await case.event("cleared", timedelta(minutes=20))
            if rng.random() < b.fix_holds:
                return "self_fixed"
            await case.event("raised", timedelta(hours=rng.uniform(1, 23)))
            return await _book(conn, link, rng, b, at + timedelta(hours=23), "recurred_then_booked")
    if state.reset is service.ResetOffer.ASK_CONSENT and rng.random() < b.consents:
        await service.grant_consent(conn, link, hours=24, now=now)
        answer = await service.request_reset(conn, link, no_gas_smell=True, policy=PolicySettings(), now=now)
        if answer.refusal is None and rng.random() < b.reset_works:
            await case.event("cleared", timedelta(minutes=25))
            return "fixed_remotely"
    if entry.dispatch is Dispatch.NEVER and state.phase is Phase.SELF_FIX:
        return "informed_only"
    if state.phase is Phase.SELF_FIX:
        await service.still_broken(conn, link, now)
    return await _book(conn, link, rng, b, now, "booked")


async def _book(
    conn: Connection, link: Link, rng: random.Random, b: Behaviour, now: datetime, outcome: str
) -> str:
    if rng.random() >= b.books:
        return "did_not_book"
    state = await service.page_state(conn, link, now=now)
    if state.phase is not Phase.BOOK:
        return "did_not_book" if state.phase is not Phase.BOOKED else outcome
    if not state.slots:
        return "no_window"
    slot = state.slots[0]  # the earliest window: what most people pick
    try:
        await service.book_visit(conn, link, day=slot.day, slot=slot.slot, now=now)
    except (SlotTakenError, NotNowError, LinkNotValidError):
        return "no_window"
    return outcome


_LABELS: Final = {
    "self_fixed": "fixed by the customer (held past the 24 h watch)",
    "fixed_remotely": "fixed by a remote reset asked for on the page",
    "recurred_then_booked": "self-fix did not hold: case reopened, visit booked on the page",
    "booked": "still not working: visit booked on the page",
    "informed_only": "information only (no technician needed), not fixed",
    "safety": "safety-critical: told what to do; the call center calls",
    "did_not_open": "did not open the link: calls",
    "did_not_book": "needed a visit, did not book: calls",
    "no_window": "needed a visit, no free window: calls",
    "no_alert": "no customer alert for this code",
}


def format_link_report(report: LinkReport) -> str:
    c, b = report.config, report.config.behaviour
    total = sum(report.outcomes.values())
    lines = [
        f"{total} fault cases (codes drawn evenly from the catalog's device codes), seed {c.seed}, "
        f"wall time {report.wall_s:.0f} s. Customer behaviour (assumed): opens the link {b.opens_link:.0%}; "
        f"steps fix it {b.fix_works[0]:.0%} (self-fix yes) / {b.fix_works[1]:.0%} (partial); the fix holds "
        f"{b.fix_holds:.0%}; says so {b.says_it_works:.0%}; consents to a remote reset {b.consents:.0%}, which "
        f"fixes it {b.reset_works:.0%}; books when still broken {b.books:.0%}.",
        "",
        "| outcome | cases | share |",
        "|---|---|---|",
    ]
    for key, label in _LABELS.items():
        if count := report.outcomes.get(key, 0):
            lines.append(f"| {label} | {count} | {count / total:.1%} |")
    saved = report.calls_baseline - report.calls_with_link
    lines += [
        "",
        "| inbound calls | count |",
        "|---|---|",
        f"| baseline: every alert leads to a call | {report.calls_baseline} |",
        f"| with the link | {report.calls_with_link} |",
        f"| avoided | {saved} ({saved / report.calls_baseline:.1%}) |"
        if report.calls_baseline
        else "| avoided | 0 |",
    ]
    return "\n".join(lines)
