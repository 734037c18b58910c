"""The documentation against the code: every document the project points to exists, and the figures
and lists the docs state about the catalog and the regions are the code's, so they cannot drift."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from diagnostics.catalog import load_catalog
from diagnostics.service_points import load_seed
from telemetry.regions import REGION_CODES

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "gateway",
    "telemetry",
    "diagnostics",
    "api",
    "firmware_sim",
    "ondol",
    "bench",
    "scripts",
    "tests",
)


def _texts() -> dict[Path, str]:
    """Every file a person or the CLI's help might read a docs/ reference in."""
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml", *(ROOT / "docs").glob("*.md")]
    for package in PACKAGES:
        files += [
            p for p in (ROOT / package).rglob("*") if p.suffix in (".py", ".md", ".toml", ".html", ".sh")
        ]
    return {p: p.read_text(encoding="utf-8") for p in files}


def test_every_document_the_project_points_to_exists() -> None:
    missing = {
        f"{path.relative_to(ROOT)} → {name}"
        for path, text in _texts().items()
        for name in re.findall(r"\bdocs/[\w.-]+\.md\b", text)
        if not (ROOT / name).is_file()
    }
    assert missing == set()


def test_the_code_counts_in_the_docs_are_the_catalogs() -> None:
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    stated = re.search(
        r"(\d+) codes: (\d+) device codes \(`E###`\) and (\d+) platform advisories \(`A##`\)", text
    )
    assert stated is not None, "docs/diagnostics.md states the catalog's size in one sentence"
    kinds = Counter(code[0] for code in load_catalog().codes())
    assert tuple(int(n) for n in stated.groups()) == (len(load_catalog()), kinds["E"], kinds["A"])


def test_the_region_codes_in_the_docs_are_the_one_list_of_regions() -> None:
    text = (ROOT / "docs" / "devices.md").read_text(encoding="utf-8")
    section = text.split("### Regions", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    listed = re.findall(r"\| `([a-z]+)` \|", "\n".join(table))
    assert len(listed) == len(set(listed)), "a region listed twice"
    assert set(listed) == set(REGION_CODES)
    assert {point.region for point in load_seed()} <= set(REGION_CODES)
