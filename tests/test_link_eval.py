"""`ondol eval-link` on the real database: its counts add up, and its baseline is honest (a link
nobody opens saves no call)."""

from __future__ import annotations

from dataclasses import replace

from ondol.link_eval import Behaviour, LinkEvalConfig, evaluate_link, format_link_report


async def test_the_evaluation_counts_every_case_once_and_saves_calls_only_through_the_page(
    db_dsn: str,
) -> None:
    report = await evaluate_link(db_dsn, LinkEvalConfig(cases=60, seed=3))
    assert sum(report.outcomes.values()) == 60
    assert report.calls_with_link < report.calls_baseline
    answered = sum(
        report.outcomes[k] for k in ("self_fixed", "fixed_remotely", "recurred_then_booked", "booked")
    )
    assert report.calls_baseline - report.calls_with_link == answered + report.outcomes["informed_only"]
    assert "avoided" in format_link_report(report)


async def test_a_link_nobody_opens_saves_no_call(db_dsn: str) -> None:
    config = LinkEvalConfig(cases=40, seed=4, behaviour=replace(Behaviour(), opens_link=0.0))
    report = await evaluate_link(db_dsn, config)
    assert report.calls_with_link == report.calls_baseline
    assert report.outcomes["self_fixed"] == report.outcomes["booked"] == 0
