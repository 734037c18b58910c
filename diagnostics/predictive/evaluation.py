"""Scoring the predictive detectors against the faults a simulated season really had.

`ondol eval` runs the season (a simulated fleet, the detectors on the worker's schedule); this
module only judges what came out, so the rules of the judgement are tested directly with made-up
faults and predictions. It takes plain data (no simulator, no store):

- a prediction is right when its device has an injected fault of the same family, between the
  fault's onset and its repair (or the end of the run); otherwise it is a false alarm;
- recall: of the faults that failed within the run, the share predicted before they failed;
- lead time: failure minus the first prediction, for those;
- false alarms per 1,000 device-days, attributed to the fault kinds of the family they name (two
  kinds sharing a family split its false alarms).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "EvalReport",
    "FaultKindSpec",
    "InjectedFault",
    "KindScore",
    "Prediction",
    "RunFacts",
    "format_report",
    "score",
]


@dataclass(frozen=True, slots=True)
class FaultKindSpec:
    """A kind of fault the season may inject, as scoring needs it."""

    kind: str
    family: str
    """The catalog family of the codes the fault ends in: the family a right prediction names."""
    slow: bool
    """Develops over weeks (the daily detectors' job), rather than within hours."""


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """The ground truth of one fault: when it began, and when (if ever) it failed and was repaired."""

    device_id: str
    kind: str
    onset: datetime
    failed_at: datetime | None = None
    repaired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    device_id: str
    code: str
    family: str
    predicted_at: datetime


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the report states about the run besides the scores."""

    devices: int
    days: float
    seed: int
    readings: int = 0
    elapsed_s: float = 0.0
    healthy_hard_faults: int = 0
    """Hard codes raised by boilers with no injected fault."""

    @property
    def device_days(self) -> float:
        return self.devices * self.days


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: str
    faults: int
    failed: int
    detected: int
    leads_h: list[float]
    true_alarms: int
    false_alarms: int
    slow: bool = False

    @property
    def recall(self) -> float | None:
        return self.detected / self.failed if self.failed else None

    @property
    def precision(self) -> float | None:
        total = self.true_alarms + self.false_alarms
        return self.true_alarms / total if total else None


@dataclass
class EvalReport:
    run: RunFacts
    kinds: list[KindScore]
    hard_faults: int
    """Injected faults that failed within the run."""
    false_alarm_codes: dict[str, int] = field(default_factory=dict)

    @property
    def device_days(self) -> float:
        return self.run.device_days

    def overall(self) -> dict[str, float | int | None]:
        failed = sum(k.failed for k in self.kinds)
        detected = sum(k.detected for k in self.kinds)
        true = sum(k.true_alarms for k in self.kinds)
        false = sum(self.false_alarm_codes.values())
        slow = [h for k in self.kinds if k.slow for h in k.leads_h]
        leads = [h for k in self.kinds for h in k.leads_h]
        return {
            "devices": self.run.devices, "days": self.run.days, "seed": self.run.seed,
            "faults": sum(k.faults for k in self.kinds), "failed": failed, "detected_before_failure": detected,
            "recall": _round(detected / failed if failed else None),
            "precision": _round(true / (true + false) if true + false else None),
            "predictions": true + false, "false_alarms": false,
            "false_alarms_per_1000_device_days": round(1000 * false / self.device_days, 3),
            "lead_h_median": _round(_quantile(leads, 0.5)), "lead_h_p10": _round(_quantile(leads, 0.1)),
            "slow_lead_h_median": _round(_quantile(slow, 0.5)), "slow_lead_h_p10": _round(_quantile(slow, 0.1)),
            "readings": self.run.readings, "elapsed_s": round(self.run.elapsed_s, 1),
        }  # fmt: skip


def score(
    kinds: Sequence[FaultKindSpec],
    faults: Sequence[InjectedFault],
    predictions: Sequence[Prediction],
    *,
    end: datetime,
    run: RunFacts,
) -> EvalReport:
    """Match `predictions` to the injected `faults` of a run that ended at `end`: a row per kind of
    `kinds`, in their order."""
    matched, false_alarms = _match(faults, predictions, {k.kind: k.family for k in kinds}, end)
    false_by_family = Counter(p.family for p in false_alarms)
    scores = [_kind_score(spec, kinds, faults, matched, false_by_family) for spec in kinds]
    false_codes = Counter(p.code for p in false_alarms)
    return EvalReport(run, scores, sum(1 for f in faults if f.failed_at), dict(false_codes))


def _match(
    faults: Sequence[InjectedFault],
    predictions: Sequence[Prediction],
    family_of_kind: dict[str, str],
    end: datetime,
) -> tuple[dict[int, list[Prediction]], list[Prediction]]:
    """The predictions of each fault (by its index in `faults`) that was under way when they were
    made, and the predictions no fault explains (the false alarms)."""
    by_device: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(faults):
        by_device[f.device_id].append(i)
    matched: dict[int, list[Prediction]] = defaultdict(list)
    false_alarms = []
    for p in predictions:
        hit = next((i for i in by_device.get(p.device_id, ())
                    if family_of_kind[faults[i].kind] == p.family
                    and faults[i].onset <= p.predicted_at <= (faults[i].repaired_at or end)), None)  # fmt: skip
        if hit is None:
            false_alarms.append(p)
        else:
            matched[hit].append(p)
    return matched, false_alarms


def _kind_score(
    spec: FaultKindSpec,
    kinds: Sequence[FaultKindSpec],
    faults: Sequence[InjectedFault],
    matched: dict[int, list[Prediction]],
    false_by_family: Counter[str],
) -> KindScore:
    mine = [i for i, f in enumerate(faults) if f.kind == spec.kind]
    leads = [lead for i in mine if (lead := _lead_h(faults[i], matched.get(i, []))) is not None]
    sharing = sum(1 for k in kinds if k.family == spec.family)
    return KindScore(
        spec.kind, len(mine), sum(1 for i in mine if faults[i].failed_at is not None), len(leads), leads,
        sum(len(matched.get(i, [])) for i in mine), round(false_by_family[spec.family] / sharing), spec.slow,
    )  # fmt: skip


def _lead_h(fault: InjectedFault, predictions: Sequence[Prediction]) -> float | None:
    """Hours from the first prediction to the failure; None if it never failed or was not foreseen."""
    if fault.failed_at is None:
        return None
    before = [p.predicted_at for p in predictions if p.predicted_at < fault.failed_at]
    return (fault.failed_at - min(before)).total_seconds() / 3600 if before else None


def format_report(report: EvalReport) -> list[str]:
    """The table, then one JSON line with the overall figures."""
    lines = [
        f"{'fault':<20} {'faults':>6} {'failed':>6} {'caught':>6} {'recall':>6} {'lead p50 h':>10} "
        f"{'lead p10 h':>10} {'alarms':>6} {'false':>5} {'precision':>9} {'false/1000 dd':>13}"
    ]
    for k in report.kinds:
        lines.append(
            f"{k.kind:<20} {k.faults:>6} {k.failed:>6} {k.detected:>6} {_fmt(k.recall):>6} "
            f"{_fmt(_quantile(k.leads_h, 0.5), 0):>10} {_fmt(_quantile(k.leads_h, 0.1), 0):>10} "
            f"{k.true_alarms + k.false_alarms:>6} {k.false_alarms:>5} {_fmt(k.precision):>9} "
            f"{1000 * k.false_alarms / report.device_days:>13.3f}"
        )
    o = report.overall()
    lines.append(
        f"{'overall':<20} {o['faults']:>6} {o['failed']:>6} {o['detected_before_failure']:>6} {_fmt(o['recall']):>6} "
        f"{_fmt(o['lead_h_median'], 0):>10} {_fmt(o['lead_h_p10'], 0):>10} {o['predictions']:>6} "
        f"{o['false_alarms']:>5} {_fmt(o['precision']):>9} {o['false_alarms_per_1000_device_days']:>13.3f}"
    )
    lines.append(f"false alarms by code: {report.false_alarm_codes or 'none'}; "
                 f"hard faults on boilers without a planned fault: {report.run.healthy_hard_faults}")  # fmt: skip
    lines.append(json.dumps(o, sort_keys=True))
    return lines


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
