"""A season's inspection campaign in the store: plan it, and re-plan it every day until it ends.

`plan_campaign` loads every boiler's risk, places the selected ones with `campaign_planner` and
writes the difference from the plan already stored, in one transaction under the season's advisory
lock: two planners at once make one plan, and a run over unchanged data changes no inspection and
sends no event.

What a re-plan may touch: only proposals nobody has been told of (no reminder yet). Those it
moves (a better day freed up, their risk changed) or withdraws (no longer selected). Everything the
customer heard of or answered keeps its day and its slot; declined and completed inspections are
not proposed again this season; a reminded proposal whose day passed unanswered lapses, and one
nobody was told of is placed again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from diagnostics.campaigns.planner import BoilerRisk, Placement, Plan, RiskWeights, Window, plan_inspections
from diagnostics.campaigns.store import campaign_of_season
from diagnostics.service_points import ServicePointDirectory
from diagnostics.warranty import warranty_on
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day_start

__all__ = [
    "CampaignConfig", "PlanReport", "Progress", "campaign_window", "load_risks", "plan_campaign", "record_changes",
]  # fmt: skip

_Q: Final = named_queries.load("campaigns", package="diagnostics.campaigns").require(
    "campaign_state", "create_campaign", "finish_plan_run", "insert_inspections", "inspection_slots", "lapse_unanswered", "lock_campaign", "move_inspections", "plan_candidates", "record_changes", "rescore_inspections", "warranty_years", "withdraw_inspections",
)  # fmt: skip
_KEPT: Final = frozenset({"accepted", "rescheduled"})
"""Statuses whose day is the customer's: kept, and their slot used."""
_DONE: Final = frozenset({"declined", "completed", "lapsed"})
"""Statuses that end the device's part in this season's campaign."""

Progress = Callable[[str, int, int], None]
"""(stage, done, total): the planner reports as it goes (the CLI draws a bar)."""


@dataclass(frozen=True, slots=True)
class CampaignConfig:
    first: tuple[int, int] = (9, 1)
    """(month, day) the window opens, Korean time."""
    last: tuple[int, int] = (10, 31)
    weekdays: frozenset[int] = frozenset(range(6))
    """Working days, Monday = 0: Monday to Saturday."""
    plan_lead_days: int = 21
    """The plan is made this many days before the window opens (time to remind the first days)."""
    notice_days: int = 3
    """A day proposed by a re-plan is at least this far ahead."""
    remind_ahead_days: int = 21
    """A reminder goes out once the inspection's day is this close."""
    follow_up_after: timedelta = timedelta(days=4)
    """Without an answer this long after the reminder: a second reminder and a call-center work item."""
    reminder_batch: int = 5000
    """Reminders created per job run: a wave is spread over runs rather than sent at once."""
    weights: RiskWeights = field(default_factory=RiskWeights)
    default_warranty_years: int = 3
    """For models not in `model_warranty`: the same setting tickets use (ONDOL_DEFAULT_WARRANTY_YEARS)."""

    def __post_init__(self) -> None:
        for name in ("plan_lead_days", "notice_days", "remind_ahead_days", "reminder_batch"):
            if getattr(self, name) < 0:
                raise ValueError(f"campaign {name} must not be negative")


def campaign_window(season: int, config: CampaignConfig) -> Window:
    """The season's window: checked here, so a bad configuration fails before anything is stored."""
    try:
        first = date(season, *config.first)
        last = date(season, *config.last)
    except ValueError as exc:
        raise ValueError(f"campaign window of season {season}: {exc}") from None
    return Window(first, last, config.weekdays)


@dataclass(frozen=True, slots=True)
class PlanReport:
    campaign_id: int | None
    """None when nothing was stored: the season's window was over and it had never been planned."""
    season: int
    window: Window
    today: date
    earliest_day: date
    """The earliest day this run could propose for a new visit: today and the notice period."""
    min_score: float
    considered: int
    selected: int
    """Inspections holding a slot after the run (kept ones included)."""
    new: int
    moved: int
    rescored: int
    withdrawn: int
    lapsed: int
    kept: int
    over_capacity: int
    without_point: int
    at_risk: int
    """Boilers reaching the risk score (or holding an answered slot), declined and completed ones aside."""
    finished: int
    """Boilers whose inspection this season was declined, completed or lapsed: not proposed again."""
    placements: Sequence[Placement]
    points: Mapping[str, tuple[str, str | None]]
    """Service point id → (name, region code), for the summary."""

    @property
    def changed(self) -> bool:
        return bool(self.new or self.moved or self.rescored or self.withdrawn or self.lapsed)

    @property
    def window_over(self) -> bool:
        return self.today > self.window.last

    @property
    def why_nothing_new(self) -> tuple[str, ...]:
        """Why this run proposed no new inspection, in words for the operator (empty when it did):
        a plan of 0 inspections must never look like a plan that merely found nothing to change."""
        if self.new:
            return ()
        w = self.window
        if self.window_over:
            return (f"the season's window ({w.first} to {w.last}) is over: today is {self.today}",)
        reasons = []
        no_days = not any(d >= self.earliest_day for d in w.days())
        if no_days:
            notice = (self.earliest_day - self.today).days
            reasons.append(
                f"no working day of the window ({w.first} to {w.last}) is left from {self.earliest_day}, the "
                f"earliest day a new visit can be proposed (today, {self.today}, and {notice} days' notice)"
            )
        if self.considered == 0:
            reasons.append("no boilers are registered")
        elif self.at_risk == 0:
            done = (
                f"; {self.finished:,} more declined or had their visit this season" if self.finished else ""
            )
            reasons.append(
                f"none of the {self.considered:,} boilers ranked reaches the risk score of {self.min_score:g}{done}"
            )
        if self.over_capacity and not no_days:
            reasons.append(
                f"{self.over_capacity:,} boilers at risk found no free slot at their service point in the window "
                "(a point's daily slots: service_points.inspection_slots)"
            )
        if self.without_point:
            reasons.append(f"{self.without_point:,} boilers at risk have no service point that covers them")
        if not reasons:
            reasons.append(f"every boiler at risk already has its inspection in the plan ({self.selected:,})")
        return tuple(reasons)


async def plan_campaign(
    conn: Connection,
    season: int,
    *,
    today: date,
    config: CampaignConfig,
    actor: str = "planner",
    progress: Progress | None = None,
) -> PlanReport:
    """Plan or re-plan `season` as of `today` (Korean date), in one transaction."""
    say = progress or (lambda stage, done, total: None)
    window = campaign_window(season, config)
    earliest = today + timedelta(days=config.notice_days)
    async with conn.transaction():
        await conn.execute(_Q["lock_campaign"], season)
        campaign = await campaign_of_season(conn, season)
        if campaign is not None:
            window = campaign.window
        if today > window.last:  # an ended season: nothing to propose, lapse, move or tell anyone
            return PlanReport(
                campaign_id=campaign.campaign_id if campaign else None, season=season, window=window,
                today=today, earliest_day=earliest, min_score=config.weights.min_score, considered=0,
                selected=0, new=0, moved=0, rescored=0, withdrawn=0, lapsed=0, kept=0, over_capacity=0,
                without_point=0, at_risk=0, finished=0, placements=[], points={},
            )  # fmt: skip
        now = await conn.fetchval("SELECT clock_timestamp()")
        sql, args = _Q.bind("create_campaign", {"season": season, "first_day": window.first, "last_day": window.last,
                                                "weekdays": sorted(window.weekdays), "now": now})  # fmt: skip
        await conn.execute(sql, *args)
        campaign = await campaign_of_season(conn, season)
        assert campaign is not None
        window, campaign_id = campaign.window, campaign.campaign_id
        lapsed = await _changed(conn, _Q["lapse_unanswered"], (campaign_id, today), "lapsed", actor)
        say("loading boilers", 0, 1)
        risks = await load_risks(conn, today, config.default_warranty_years)
        say("loading boilers", 1, 1)
        points = {r["point_id"]: r for r in await conn.fetch(_Q["inspection_slots"])}
        slots = {point_id: int(r["slots"]) for point_id, r in points.items()}
        state = {
            r["device_id"]: _StoredInspection(**dict(r))
            for r in await conn.fetch(_Q["campaign_state"], campaign_id)
        }
        plan = _plan(risks, state, slots, window, today, config)
        say("placing", len(plan.placements), len(plan.placements))
        counts = await _write(conn, campaign_id, plan, state, actor, say)
        sql, args = _Q.bind("finish_plan_run", {
            "campaign_id": campaign_id, "now": now, "changed": bool(lapsed or any(counts.values())),
            "considered": plan.considered, "over_capacity": len(plan.over_capacity),
            "without_point": len(plan.without_point),
        })  # fmt: skip
        await conn.execute(sql, *args)
    return PlanReport(
        campaign_id=campaign_id, season=season, window=window, today=today, earliest_day=earliest,
        min_score=config.weights.min_score, considered=plan.considered,
        selected=len(plan.placements), lapsed=lapsed, kept=sum(p.booked for p in plan.placements),
        over_capacity=len(plan.over_capacity), without_point=len(plan.without_point),
        at_risk=len(plan.placements) + len(plan.over_capacity) + len(plan.without_point),
        finished=sum(row.status in _DONE for row in state.values()),
        placements=plan.placements, points={k: (r["name"], r["region"]) for k, r in points.items()}, **counts,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _StoredInspection:
    """An inspection of the campaign as the re-plan weighs it."""

    inspection_id: int
    device_id: str
    point_id: str
    day: date
    score: float
    risk_rank: int
    reasons_json: str
    """The risk parts as stored (JSON): decoded only to compare a movable proposal's reasons."""
    status: str
    reminders: int

    @property
    def movable(self) -> bool:
        """A proposal nobody has been told of: the re-plan may move or withdraw it."""
        return self.status == "proposed" and self.reminders == 0


async def load_risks(conn: Connection, today: date, default_warranty_years: int = 3) -> list[BoilerRisk]:
    """Every registered boiler's risk inputs as of `today`, each routed to its service point."""
    directory = await ServicePointDirectory.load(conn)
    years = {r["model"]: int(r["years"]) for r in await conn.fetch(_Q["warranty_years"])}
    rows = await conn.fetch(_Q["plan_candidates"], today, kst_day_start(today - timedelta(days=365)))
    risks = []
    for r in rows:
        assignment = directory.assign(r["latitude"], r["longitude"], r["region"])
        warranty = warranty_on(r["installed_on"], years.get(r["model"], default_warranty_years), today)
        risks.append(BoilerRisk(
            device_id=r["device_id"], point_id=assignment.point.point_id if assignment else None,
            installed_on=r["installed_on"], burner_hours_since=float(r["burner_hours_since"]),
            starts_since=int(r["starts_since"]), faults_past_year=int(r["faults_past_year"]),
            open_predictions=int(r["open_predictions"]), warranty_ends=warranty.ends_on,
            vulnerable=r["vulnerable"], last_inspected=r["last_inspected_on"],
        ))  # fmt: skip
    return risks


def _plan(
    risks: Sequence[BoilerRisk],
    state: Mapping[str, _StoredInspection],
    slots: Mapping[str, int],
    window: Window,
    today: date,
    config: CampaignConfig,
) -> Plan:
    booked = {}
    for device_id, row in state.items():
        if row.status in _KEPT or (row.status == "proposed" and row.reminders > 0):
            booked[device_id] = (row.point_id, row.day)
    eligible = [r for r in risks if not (r.device_id in state and state[r.device_id].status in _DONE)]
    return plan_inspections(
        eligible, slots, window, on=today, weights=config.weights,
        booked=booked, from_day=today + timedelta(days=config.notice_days),
    )  # fmt: skip


async def _write(
    conn: Connection,
    campaign_id: int,
    plan: Plan,
    state: Mapping[str, _StoredInspection],
    actor: str,
    say: Progress,
) -> dict[str, int]:
    """Store what differs from `state`: new, moved, rescored and withdrawn proposals."""
    new: list[tuple[Placement, int]] = []
    moved: list[tuple[int, Placement, int]] = []
    rescored: list[tuple[int, Placement, int]] = []
    placed: set[str] = set()
    for rank, p in enumerate(plan.placements, start=1):
        placed.add(p.device_id)
        row = state.get(p.device_id)
        if row is None or row.status == "withdrawn":
            new.append((p, rank))
        elif p.booked or not row.movable:
            if (p.score, rank) != (row.score, row.risk_rank):
                rescored.append((row.inspection_id, p, rank))
        elif (p.point_id, p.day) != (row.point_id, row.day):
            moved.append((row.inspection_id, p, rank))
        elif (p.score, rank, p.reasons) != (row.score, row.risk_rank, json.loads(row.reasons_json)):
            rescored.append((row.inspection_id, p, rank))
    withdrawn = [
        row.inspection_id for device_id, row in state.items() if device_id not in placed and row.movable
    ]
    total = len(new) + len(moved) + len(rescored) + len(withdrawn)
    say("writing", 0, total)
    if new:
        placements = [p for p, _ in new]
        sql, args = _Q.bind("insert_inspections", {
            "campaign_id": campaign_id, "device_ids": [p.device_id for p in placements],
            **_columns(placements, [rank for _, rank in new]),
        })  # fmt: skip
        await _changed(conn, sql, args, "planned", actor)
    say("writing", len(new), total)
    if moved:
        columns = _columns([p for _, p, _ in moved], [rank for _, _, rank in moved])
        sql, args = _Q.bind("move_inspections", {"inspection_ids": [i for i, _, _ in moved], **columns})
        await _changed(conn, sql, args, "moved", actor)
    if rescored:
        columns = _columns([p for _, p, _ in rescored], [rank for _, _, rank in rescored])
        sql, args = _Q.bind("rescore_inspections", {
            "inspection_ids": [i for i, _, _ in rescored], "scores": columns["scores"], "ranks": columns["ranks"],
            "reasons": columns["reasons"],
        })  # fmt: skip
        await conn.execute(sql, *args)
    if withdrawn:
        await _changed(conn, _Q["withdraw_inspections"], (withdrawn,), "withdrawn", actor)
    say("writing", total, total)
    return {"new": len(new), "moved": len(moved), "rescored": len(rescored), "withdrawn": len(withdrawn)}


def _columns(placements: Sequence[Placement], ranks: Sequence[int]) -> dict[str, list[object]]:
    """The arrays a batch statement takes (one element per inspection), named as the statements name them."""
    return {
        "point_ids": [p.point_id for p in placements], "days": [p.day for p in placements],
        "scores": [p.score for p in placements], "ranks": list(ranks),
        "reasons": [json.dumps(p.reasons) for p in placements],
    }  # fmt: skip


async def record_changes(
    conn: Connection, ids: Sequence[int], action: str, actor: str, note: str = ""
) -> int:
    """A history line and a call-center event (`inspection.planned` for 'planned', else
    `inspection.updated` with `action`) for each inspection of `ids`; in the caller's transaction."""
    if not ids:
        return 0
    return int(await conn.fetchval(_Q["record_changes"], list(ids), action, actor, note))


async def _changed(conn: Connection, query: str, args: Sequence[object], action: str, actor: str) -> int:
    """Run a statement returning the inspection ids it changed, and record the change."""
    ids = [r["inspection_id"] for r in await conn.fetch(query, *args)]
    return await record_changes(conn, ids, action, actor)
