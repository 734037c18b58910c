"""The predictive-care jobs: turn trends in stored telemetry into predicted tickets, incrementally.

- `run_daily`: computes the health features of the days completed since the last run (the store does
  it in SQL), then runs the slow-fault detectors only for devices with a new day, each over its last
  five weeks of daily rows. A cursor (the last day examined) makes a re-run after a crash examine the
  same days again, and the engine never opens a second prediction in a family that has one open, so
  a re-run opens nothing twice.
- `run_frost`: every few minutes, the fast frost faults over the last hours (see `frost_watch`).

Both take `now` from the caller: the worker passes the clock, the evaluation its simulated time.
Each run is one transaction: the features, the predictions, their tickets and the cursor commit
together or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from diagnostics.faults.engine import FaultEngine
from diagnostics.predictive.frost import FrostConfig, condensate_freezing, silent_in_frost
from diagnostics.predictive.store import recently_faulted_families
from diagnostics.predictive.trends import Finding, detect_trends
from telemetry.database import Connection
from telemetry.health_features import (
    detector_cursor,
    devices_with_days_after,
    frost_samples,
    health_window,
    refresh_health,
    regional_outdoor,
    set_detector_cursor,
    silent_devices,
)  # fmt: skip
from telemetry.korean_time import kst_day

__all__ = ["PredictiveConfig", "RunResult", "run_daily", "run_frost"]

log = logging.getLogger(__name__)

_DAILY = "daily_trends"
_FROST = "frost_watch"


@dataclass(frozen=True, slots=True)
class PredictiveConfig:
    window_days: int = 35
    """Daily rows each detector reads per device (the baseline plus the recent days)."""
    frost: FrostConfig = field(default_factory=FrostConfig)
    quiet_after_fault: timedelta = timedelta(days=10)
    """After a device-reported fault in a family, that family's trends are not reported for this long:
    the days before the repair are still in the window and would raise the alarm again."""


@dataclass(frozen=True, slots=True)
class RunResult:
    days: list[date]
    devices_examined: int
    findings: int
    opened: int


async def run_daily(
    conn: Connection, engine: FaultEngine, now: datetime, config: PredictiveConfig
) -> RunResult:
    """Refresh the daily features and run the slow detectors on devices with a new day; in a transaction."""
    days = await refresh_health(conn, now=now)
    cursor, _ = await detector_cursor(conn, _DAILY)
    newest = kst_day(now) - timedelta(days=1)
    devices = await devices_with_days_after(conn, cursor, newest)
    if not devices:
        return RunResult(days, 0, 0, 0)
    windows = await health_window(conn, devices, newest - timedelta(days=config.window_days - 1), newest)
    settled = await recently_faulted_families(conn, now - config.quiet_after_fault)
    found = opened = 0
    for device_id, rows in windows.items():
        if not rows or rows[-1].day <= (cursor or date.min):
            continue
        for finding in detect_trends(rows):
            if (device_id, engine.catalog[finding.code].family) in settled:
                continue  # the fault happened and was seen to; its trend is history now
            found += 1
            opened += await _open(conn, engine, device_id, finding, now)
    await set_detector_cursor(conn, _DAILY, day=newest, ts=now)
    return RunResult(days, len(devices), found, opened)


async def run_frost(
    conn: Connection, engine: FaultEngine, now: datetime, config: PredictiveConfig
) -> RunResult:
    """Look for silent boilers in frost and freezing condensate over the last hours; in a transaction."""
    frost = config.frost
    regional = await regional_outdoor(conn, now - timedelta(hours=3), now)
    silent = await silent_devices(conn, now - timedelta(days=2), now - frost.silent_after)
    findings = silent_in_frost(silent, regional, now, frost)
    samples = await frost_samples(conn, now - frost.condensate_window, now, max_outdoor_c=-2.0)
    findings.update(condensate_freezing(samples, now, frost))
    opened = 0
    for device_id, finding in findings.items():
        opened += await _open(conn, engine, device_id, finding, now)
    await set_detector_cursor(conn, _FROST, day=None, ts=now)
    return RunResult([], len(silent) + len({s.device_id for s in samples}), len(findings), opened)


async def _open(
    conn: Connection, engine: FaultEngine, device_id: str, finding: Finding, now: datetime
) -> int:
    eta = None if finding.eta_hours is None else now + timedelta(hours=finding.eta_hours)
    evidence = {"summary": finding.summary, "eta_hours": finding.eta_hours, **finding.evidence}
    prediction = await engine.open_prediction(conn, device_id=device_id, code=finding.code,
                                              detector=finding.detector, at=now, eta=eta, evidence=evidence)  # fmt: skip
    return 0 if prediction is None else 1
