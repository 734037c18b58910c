"""The catalog file is complete and coherent; a broken catalog is refused at load, naming the code."""

from __future__ import annotations

import re

import pytest

from diagnostics.catalog import CatalogError, Dispatch, SelfFix, load_catalog, parse_catalog

GOOD = """
[[code]]
code = "E901"
display = "91"
name.ko = "시험"
name.en = "Test"
customer_text.ko = "시험용 코드예요."
customer_text.en = "A test code."
category = "sensor"
severity = "low"
safety_critical = false
lockout = "warning"
self_fix = "no"
remote_reset = false
dispatch = "always"
causes = ["testing"]
origin = "platform_assigned"
confidence = "low"
"""


def test_the_catalog_has_every_code_with_both_languages_and_a_policy() -> None:
    catalog = load_catalog()
    assert len(catalog) == 45  # 33 device codes, 12 platform advisories (A09-A12 from the trend detectors)
    assert {"A09", "A10", "A11", "A12"} <= set(catalog.codes())
    assert sum(c.startswith("E") for c in catalog.codes()) == 33
    assert sum(c.startswith("A") for c in catalog.codes()) == 12
    for entry in catalog.entries():
        assert re.search(r"[가-힣]", entry.name.ko + entry.customer_text.ko), f"{entry.code} has Korean text"
        assert entry.dispatch in Dispatch
        if entry.self_fix is not SelfFix.NO:
            assert entry.steps.ko
            assert len(entry.steps.ko) == len(entry.steps.en)


def test_life_safety_codes_are_emergencies_and_never_reset_remotely() -> None:
    catalog = load_catalog()
    assert catalog["E014"].dispatch is Dispatch.EMERGENCY_FIRST
    for entry in catalog.entries():
        if entry.safety_critical:
            assert not entry.remote_reset, entry.code


def test_korean_display_codes_map_to_device_codes() -> None:
    catalog = load_catalog()
    assert {catalog[c].display for c in ("E003", "E012", "E016", "E110")} == {"03", "12", "16", "10"}


def test_a_valid_entry_loads() -> None:
    assert parse_catalog(GOOD).codes() == ["E901"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('dispatch = "always"\n', ""), "dispatch"),
        (('dispatch = "always"', 'dispatch = "sometimes"'), "dispatch"),
        (('self_fix = "no"', 'self_fix = "yes"'), "self-fix steps"),
        (("safety_critical = false\n", "safety_critical = true\n"), None),
        (('dispatch = "always"', 'dispatch = "emergency_first"'), "emergency-first"),
        (('dispatch = "always"', 'dispatch = "if_recurs"'), "if_recurs"),
        (('code = "E901"', 'code = "X1"'), "code"),
        (('causes = ["testing"]', "causes = []"), "causes"),
    ],
)
def test_an_incoherent_entry_is_refused_at_load_naming_its_code(
    change: tuple[str, str], message: str | None
) -> None:
    text = GOOD.replace(*change)
    if change[1] == "safety_critical = true\n":
        text = text.replace("remote_reset = false", "remote_reset = true")
        message = "remote reset"
    with pytest.raises(CatalogError, match=re.escape(message or "")) as info:
        parse_catalog(text)
    assert "code" in str(info.value)


def test_a_code_listed_twice_is_refused() -> None:
    with pytest.raises(CatalogError, match="twice"):
        parse_catalog(GOOD + GOOD)


def test_a_safety_critical_code_with_self_fix_steps_is_refused() -> None:
    """Issue item: the console showed E110's restart steps under the "do not let the customer act"
    banner. Steps for a safety-critical fault are refused at load, whatever they say."""
    steps = 'steps.ko = ["전원을 껐다 켜세요."]\nsteps.en = ["Switch it off and on."]\n'
    text = GOOD.replace("safety_critical = false", "safety_critical = true").replace(
        'self_fix = "no"\n', 'self_fix = "partial"\n' + steps
    )
    with pytest.raises(CatalogError, match=r"(?s)E901.*no self-fix steps"):
        parse_catalog(text)
    quiet_steps = GOOD.replace("safety_critical = false", "safety_critical = true").replace(
        'self_fix = "no"\n', 'self_fix = "no"\n' + steps
    )
    with pytest.raises(CatalogError, match="no self-fix steps"):
        parse_catalog(quiet_steps)


def test_no_safety_critical_code_in_the_catalog_has_steps() -> None:
    safety = [e for e in load_catalog().entries() if e.safety_critical]
    assert {"E004", "E014", "E110"} <= {e.code for e in safety}
    assert [(e.code, e.steps.ko, e.steps.en) for e in safety if e.steps.ko or e.steps.en] == []
    assert all(e.self_fix is SelfFix.NO for e in safety)
