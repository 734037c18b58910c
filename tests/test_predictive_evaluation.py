"""Scoring the detectors (`ondol eval`'s judgement) with made-up faults and predictions: which
prediction is right, what counts as caught and with what lead, where false alarms go."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from diagnostics.predictive import evaluation
from diagnostics.predictive.evaluation import (
    FaultKindSpec,
    InjectedFault,
    Prediction,
    RunFacts,
    format_report,
    score,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
END = T0 + timedelta(days=30)
KINDS = [
    FaultKindSpec("leak", "water_pressure", slow=True),
    FaultKindSpec("electrode_wear", "ignition", slow=True),
    FaultKindSpec("flame_rod_fouling", "ignition", slow=True),
    FaultKindSpec("unpowered_frost", "freeze", slow=False),
]
RUN = RunFacts(devices=10, days=30.0, seed=1, readings=7200, elapsed_s=12.34, healthy_hard_faults=2)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _by_kind(report: evaluation.EvalReport) -> dict[str, evaluation.KindScore]:
    return {k.kind: k for k in report.kinds}


def test_a_prediction_of_the_family_while_the_fault_is_under_way_is_right_and_leads_from_the_first() -> None:
    fault = InjectedFault("d1", "electrode_wear", onset=_h(0), failed_at=_h(100), repaired_at=_h(130))
    predictions = [
        Prediction("d1", "A02", "ignition", _h(40)),
        Prediction("d1", "A01", "ignition", _h(70)),  # a second alarm of the same fault: right, not a lead
        Prediction("d1", "A02", "ignition", _h(120)),  # after the failure, before the repair: right, too late
    ]
    report = score(KINDS, [fault], predictions, end=END, run=RUN)
    wear = _by_kind(report)["electrode_wear"]
    assert (wear.faults, wear.failed, wear.detected, wear.true_alarms, wear.false_alarms) == (1, 1, 1, 3, 0)
    assert wear.leads_h == [60.0]
    assert (wear.recall, wear.precision) == (1.0, 1.0)
    assert report.false_alarm_codes == {}


def test_predictions_outside_the_fault_or_of_another_family_or_device_are_false_alarms() -> None:
    fault = InjectedFault("d1", "leak", onset=_h(50), failed_at=None, repaired_at=None)
    predictions = [
        Prediction("d1", "A09", "water_pressure", _h(10)),  # before the onset
        Prediction("d1", "A02", "ignition", _h(60)),  # another family
        Prediction("d2", "A09", "water_pressure", _h(60)),  # another boiler
        Prediction("d1", "A09", "water_pressure", _h(600)),  # still under way at the end: right
    ]
    report = score(KINDS, [fault], predictions, end=END, run=RUN)
    leak = _by_kind(report)["leak"]
    assert (leak.faults, leak.failed, leak.detected, leak.true_alarms) == (1, 0, 0, 1)
    assert leak.recall is None, "nothing failed: recall is not defined"
    assert leak.false_alarms == 2
    assert report.false_alarm_codes == {"A09": 2, "A02": 1}


def test_a_repaired_fault_explains_no_later_prediction() -> None:
    fault = InjectedFault("d1", "leak", onset=_h(0), failed_at=_h(20), repaired_at=_h(30))
    report = score(KINDS, [fault], [Prediction("d1", "A09", "water_pressure", _h(31))], end=END, run=RUN)
    leak = _by_kind(report)["leak"]
    assert (leak.detected, leak.true_alarms, leak.false_alarms) == (0, 0, 1)
    assert leak.recall == 0.0


def test_two_kinds_of_one_family_split_its_false_alarms() -> None:
    predictions = [Prediction(f"d{i}", "A02", "ignition", _h(i)) for i in range(3)]
    report = score(KINDS, [], predictions, end=END, run=RUN)
    kinds = _by_kind(report)
    assert kinds["electrode_wear"].false_alarms == kinds["flame_rod_fouling"].false_alarms == 2  # round(1.5)
    assert kinds["leak"].false_alarms == kinds["unpowered_frost"].false_alarms == 0
    assert report.overall()["false_alarms"] == 3, "the overall count is of predictions, not of shares"


def test_the_overall_figures_and_the_slow_faults_lead() -> None:
    faults = [
        InjectedFault("d1", "leak", onset=_h(0), failed_at=_h(200)),
        InjectedFault("d2", "unpowered_frost", onset=_h(100), failed_at=_h(110)),
        InjectedFault("d3", "electrode_wear", onset=_h(0), failed_at=_h(50)),
        InjectedFault("d4", "flame_rod_fouling", onset=_h(0)),
    ]
    predictions = [
        Prediction("d1", "A09", "water_pressure", _h(100)),
        Prediction("d2", "A04", "freeze", _h(105)),
        Prediction("d5", "A04", "freeze", _h(105)),
    ]
    report = score(KINDS, faults, predictions, end=END, run=RUN)
    overall = report.overall()
    assert [k.kind for k in report.kinds] == [k.kind for k in KINDS]
    assert report.hard_faults == 3
    assert {k: overall[k] for k in ("faults", "failed", "detected_before_failure", "predictions")} == {
        "faults": 4, "failed": 3, "detected_before_failure": 2, "predictions": 3,
    }  # fmt: skip
    assert overall["recall"] == round(2 / 3, 3)
    assert overall["precision"] == round(2 / 3, 3)
    assert overall["false_alarms_per_1000_device_days"] == round(1000 / 300, 3)
    assert (overall["lead_h_median"], overall["lead_h_p10"]) == (100.0, 5.0)
    assert (overall["slow_lead_h_median"], overall["slow_lead_h_p10"]) == (100.0, 100.0)
    assert (overall["devices"], overall["days"], overall["seed"]) == (10, 30.0, 1)
    assert (overall["readings"], overall["elapsed_s"]) == (7200, 12.3)


def test_the_report_is_a_table_per_kind_then_the_overall_json_line() -> None:
    fault = InjectedFault("d1", "leak", onset=_h(0), failed_at=_h(48))
    report = score(KINDS, [fault], [Prediction("d1", "A09", "water_pressure", _h(24))], end=END, run=RUN)
    lines = format_report(report)
    assert lines[0].split()[:3] == ["fault", "faults", "failed"]
    assert [line.split()[0] for line in lines[1:6]] == ["leak", "electrode_wear", "flame_rod_fouling",
                                                         "unpowered_frost", "overall"]  # fmt: skip
    assert lines[1].split()[1:5] == ["1", "1", "1", "1.00"]
    assert lines[6] == "false alarms by code: none; hard faults on boilers without a planned fault: 2"
    assert json.loads(lines[-1]) == report.overall()


def test_no_fault_and_no_prediction_scores_nothing_rather_than_failing() -> None:
    overall = score(KINDS, [], [], end=END, run=RUN).overall()
    assert (overall["recall"], overall["precision"], overall["lead_h_median"]) == (None, None, None)
    assert overall["false_alarms_per_1000_device_days"] == 0.0


def test_scoring_takes_plain_data_and_never_imports_the_simulator() -> None:
    tree = ast.parse(Path(evaluation.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [m for m in imported if m.split(".")[0] in ("firmware_sim", "telemetry", "ondol")]
