"""What `ondol campaign plan` shows: a progress bar while the planner works, then the plan in a
table per region (boilers, slots used, first and last day, what was left out) and the totals."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from diagnostics.campaigns.plan import PlanReport

__all__ = ["planning_progress", "print_summary"]


@contextmanager
def planning_progress() -> Iterator[Callable[[str, int, int], None]]:
    """The planner's progress hook: a bar per stage (loading, placing, writing), drawn on stderr."""
    with Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False,
    ) as bar:  # fmt: skip
        yield _stage_reporter(bar)


def _stage_reporter(bar: Progress) -> Callable[[str, int, int], None]:
    tasks: dict[str, TaskID] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1))
        bar.update(tasks[stage], completed=done if total else 1, total=max(total, 1))

    return report


def print_summary(report: PlanReport) -> None:
    """The plan by region (of the service points), then what the run changed, and why it proposed
    nothing new when it did not, on stdout."""
    console = Console()
    per_region: dict[str, list[date]] = defaultdict(list)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for p in report.placements:
        region = report.points[p.point_id][1] or "-"
        per_region[region].append(p.day)
        reasons[region][max(p.reasons, key=lambda k: p.reasons[k], default="-")] += 1
    table = Table(title=f"Inspection campaign {report.season}: {report.window.first} to {report.window.last}")
    for column in ("region", "inspections", "first day", "last day", "main reason"):
        table.add_column(column, justify="right" if column == "inspections" else "left")
    for region in sorted(per_region):
        days = per_region[region]
        table.add_row(
            region, f"{len(days):,}", str(min(days)), str(max(days)), reasons[region].most_common(1)[0][0]
        )
    table.add_section()
    all_days = [p.day for p in report.placements]
    table.add_row(
        "all", f"{len(all_days):,}", str(min(all_days, default="-")), str(max(all_days, default="-")), ""
    )
    if not report.window_over:  # an ended season was left alone: there is no plan or count to show
        console.print(table)
        console.print(
            f"boilers ranked {report.considered:,}; inspections {report.selected:,} ({report.kept:,} kept as answered); "
            f"new {report.new:,}, moved {report.moved:,}, re-scored {report.rescored:,}, withdrawn {report.withdrawn:,}, "
            f"lapsed {report.lapsed:,}; no free slot {report.over_capacity:,}, no service point {report.without_point:,}"
        )
    for reason in report.why_nothing_new:
        console.print(f"no new inspection: {reason}", soft_wrap=True)
    if not report.changed and not report.window_over:
        console.print("nothing changed: the stored plan was already this one")
