"""Preparing a region before a cold-wave day: rank its households by freeze risk and send the
freeze-prevention guidance, highest risk first; put empty homes' boilers in frost protection where
the customer allowed it.

Risk (points, summed; the reasons are kept with the rank):
- a vulnerable household (an elderly person living alone): 3
- the boiler froze before (a freeze or condensate fault case): 2
- a frost-watch finding in the last 60 days (A04 silent in frost, A12 condensate freezing): 2
- the home looks empty (no burner firing for three days while reporting): 2, and if the customer's
  remote-access consent covers set_mode, frost protection is applied rather than only advised
- the boiler is 10 years old or more: 1

Every household of the region is told (the guidance is a safety notice about their own boiler, not
advertising); the messages are queued in rank order, so the alert worker sends the highest risk
first, each inside its contact's consent and the night rule (never 21:00 to 08:00).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from diagnostics.cold_wave.forecasts import AdvisoryConfig
from diagnostics.commands import service as command_service
from diagnostics.commands import store as command_store
from diagnostics.commands.policy import COLD_WAVE_ROLE, CommandRequest, PolicySettings
from diagnostics.faults import store as fault_store
from diagnostics.messages import store as alert_store
from diagnostics.messages.store import NewAlert
from diagnostics.messages.texts import compose_freeze_prep
from protocol.commands import CommandKind, DeviceMode
from telemetry import named_queries
from telemetry.database import Connection
from telemetry.korean_time import kst_day
from telemetry.regions import region_name

__all__ = ["HouseholdRisk", "Prepared", "prepare_due_advisories", "rank_households"]

_Q: Final = named_queries.load("cold_wave", package="diagnostics.cold_wave").require(
    "advisories_to_prepare", "freeze_risk", "prepared", "record_preparation"
)
_WEIGHTS: Final = {
    "vulnerable": 3.0,
    "froze_before": 2.0,
    "frost_finding": 2.0,
    "looks_empty": 2.0,
    "old": 1.0,
}
_OLD_YEARS: Final = 10
_REQUESTER: Final = command_service.Requester(label="cold-wave", key_id="engine", role=COLD_WAVE_ROLE,
                                              own_device=False)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HouseholdRisk:
    device_id: str
    risk: float
    reasons: tuple[str, ...]
    may_apply_frost_protection: bool


def rank_households(rows: list[dict[str, object]], today: date) -> list[HouseholdRisk]:
    """Highest risk first (ties by device id, so the order is stable)."""
    ranked = []
    for row in rows:
        installed = row["installed_on"]
        old = isinstance(installed, date) and (today - installed).days >= 365 * _OLD_YEARS
        flags = {"vulnerable": bool(row["vulnerable"]), "froze_before": bool(row["froze_before"]),
                 "frost_finding": bool(row["frost_finding"]), "looks_empty": bool(row["looks_empty"]), "old": old}  # fmt: skip
        reasons = tuple(name for name, hit in flags.items() if hit)
        scope = row["consent_scope"]
        consented = isinstance(scope, list) and bool({"all", CommandKind.SET_MODE.value} & set(scope))
        ranked.append(HouseholdRisk(str(row["device_id"]), sum(_WEIGHTS[r] for r in reasons), reasons,
                                    flags["looks_empty"] and consented))  # fmt: skip
    return sorted(ranked, key=lambda h: (-h.risk, h.device_id))


@dataclass(frozen=True, slots=True)
class Prepared:
    advisory_id: int
    region: str
    day: date
    households: int
    told: int
    frost_protection_applied: int


async def prepare_due_advisories(conn: Connection, config: AdvisoryConfig, now: datetime) -> list[Prepared]:
    """Prepare every advisory whose day starts within `config.prepare_ahead` and was not prepared yet."""
    done = []
    async with conn.transaction():
        for advisory in await conn.fetch(_Q["advisories_to_prepare"], config.prepare_ahead):
            done.append(await _prepare(conn, advisory["advisory_id"], advisory["region"], advisory["day"],
                                       float(advisory["min_c"]), now))  # fmt: skip
    return done


async def _prepare(
    conn: Connection, advisory_id: int, region: str, day: date, low_c: float, now: datetime
) -> Prepared:
    today = kst_day(now)
    ranked = rank_households([dict(r) for r in await conn.fetch(_Q["freeze_risk"], region, today)], today)
    contacts = await fault_store.first_contacts_of(conn, [h.device_id for h in ranked])
    message = compose_freeze_prep(day=day, region_ko=region_name(region, "ko"), region_en=region_name(region, "en"),
                                  low_c=low_c)  # fmt: skip
    alerts, told, protection = [], [], []
    applied = 0
    for household in ranked:
        people = contacts.get(household.device_id, [])
        alerts += [NewAlert(household.device_id, c.contact_id, c.phone, c.preferred_channel, "freeze_prep", "",
                            None, None, message.ko, message.en) for c in people]  # fmt: skip
        told.append(bool(people))
        state = None
        if household.may_apply_frost_protection and await _apply_frost_protection(
            conn, household.device_id, now
        ):
            state, applied = "applied", applied + 1
        elif household.may_apply_frost_protection or "looks_empty" in household.reasons:
            state = "offered"
        protection.append(state)
    await alert_store.queue_alerts(conn, alerts)
    await conn.execute(
        _Q["record_preparation"], advisory_id, [h.device_id for h in ranked], [h.risk for h in ranked],
        list(range(1, len(ranked) + 1)), [json.dumps(list(h.reasons)) for h in ranked], told, protection,
    )  # fmt: skip
    await conn.execute(_Q["prepared"], advisory_id, len(ranked), sum(told))
    return Prepared(advisory_id, region, day, len(ranked), sum(told), applied)


async def _apply_frost_protection(conn: Connection, device_id: str, now: datetime) -> bool:
    """Frost protection for an empty home whose customer allowed mode changes; the command policy
    decides as for any remote command. Whether it was queued."""
    state = await command_store.desired_state(conn, device_id)
    if state is None or state.desired.get("mode") == DeviceMode.FROST_PROTECTION.value:
        return False
    request = CommandRequest(CommandKind.SET_MODE, {"mode": DeviceMode.FROST_PROTECTION.value}, COLD_WAVE_ROLE,
                             False, if_version=state.version)  # fmt: skip
    outcome = await command_service.request_command(
        conn, device_id, request, _REQUESTER, reason="cold-wave preparation: the home looks empty",
        ticket_id=None, ttl=timedelta(hours=12), settings=PolicySettings(), now=now,
    )  # fmt: skip
    return outcome.refusal is None and outcome.command is not None
