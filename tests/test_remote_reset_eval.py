"""The remote-reset evaluation on a small simulated season: the product's policy and judge against the
physics. What must hold whatever the seed: no safety-critical lockout is ever reset, every reset is
accounted for, a fix that did not last is not counted as a dispatch saved."""

from __future__ import annotations

from diagnostics.catalog import load_catalog
from ondol.remote_reset_eval import ResetEvalConfig, evaluate_resets, format_resets


def test_a_season_of_lockouts_is_accounted_for_and_no_safety_lockout_is_reset() -> None:
    report = evaluate_resets(ResetEvalConfig(devices=400, days=30, seed=3, fault_share=0.5))
    safety = {e.code for e in load_catalog().entries() if e.safety_critical}
    no_reset = {e.code for e in load_catalog().entries() if not e.remote_reset}
    total = report.total()
    assert total.lockouts >= 10, "the season produced lockouts to judge"
    for code, f in report.by_code.items():
        if code in safety or code in no_reset:
            assert f.resets == 0, f"{code} was reset remotely"
        assert f.fixed + f.recurred <= f.resets, code
        assert 0 <= f.back_later <= f.fixed
        assert sum(f.refused.values()) + f.resets <= f.lockouts + f.recurred
    assert total.resets > 0
    assert total.saved == total.fixed - total.back_later
    assert "| all |" in format_resets(report)


def test_without_consent_nothing_is_reset_and_every_lockout_is_refused_for_it() -> None:
    report = evaluate_resets(
        ResetEvalConfig(devices=300, days=25, seed=3, fault_share=0.5, consent_share=0.0)
    )
    total = report.total()
    assert total.resets == 0
    assert total.refused["no_remote_access_consent"] + total.refused["catalog_forbids_remote_reset"] \
        + total.refused["safety_critical_code_active"] == total.lockouts  # fmt: skip
