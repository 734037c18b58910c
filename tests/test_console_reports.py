"""The console's report pages in Debian's Chromium: the period page with its charts and CSV exports,
and the printable monthly report, printed to PDF by Chromium and checked page by page with poppler's
pdftoppm and pdftotext. Pages are checked with axe-core and saved under test-artifacts/console/."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from diagnostics.reports.rollups import refresh_report_rollups
from testbed.console_browser import ARTIFACTS, axe_violations, chromium, serving_api, sign_in
from testbed.support import issue_api_key, register_full, seed_points

pytestmark = pytest.mark.slow

# Two months of a small fleet: 240 tickets spread over 30 service points (so the points table runs
# onto pages of its own), faults every day, calls, and happy calls with comments.
FLEET_SQL = """
INSERT INTO fault_cases (device_id, family, code, status, first_raised_at, last_raised_at, rule, opened_at)
SELECT 'rp-' || (i % 20), 'ignition_flame', (ARRAY['E003', 'E010', 'E016'])[1 + i % 3], 'closed', at, at, 'test', at
FROM (SELECT i, timestamptz '2026-10-01 09:00+09' + (i * interval '6 hours') AS at
      FROM generate_series(0, 239) AS i) AS g;
INSERT INTO tickets (case_id, device_id, family, code, codes, kind, status, priority, first_raised_at, last_raised_at,
                     contact_due_at, contacted_at, service_point_id, technician, region, rule, evidence, opened_at)
SELECT c.case_id, c.device_id, c.family, c.code, ARRAY[c.code], 'repair', 'resolved', 3, c.opened_at, c.opened_at,
       c.opened_at + interval '1 hour', c.opened_at + (c.case_id % 90) * interval '1 minute',
       p.points[1 + c.case_id % 30], 'tech-' || c.case_id % 4, 'seoul', 'test', '{}', c.opened_at
FROM fault_cases AS c, (SELECT array_agg(point_id ORDER BY point_id) AS points FROM service_points) AS p;
INSERT INTO ticket_transitions (ticket_id, to_status, at, actor)
SELECT ticket_id, 'resolved', opened_at + interval '5 hours', 'test' FROM tickets;
INSERT INTO events (device_id, ts, seq, received_at, code, state)
SELECT 'rp-' || (i % 20), timestamptz '2026-10-01 00:00+09' + i * interval '97 minutes', i, now(),
       (ARRAY['E003', 'E010', 'E016', 'E001'])[1 + i % 4], 'raised'
FROM generate_series(0, 899) AS i;
INSERT INTO inbound_calls (at, region) SELECT timestamptz '2026-10-01 08:00+09' + i * interval '5 hours', 'seoul'
FROM generate_series(0, 290) AS i;
INSERT INTO customer_links (case_id, device_id, phone, salt, expires_at)
SELECT case_id, device_id, '+821000000000', '\\x00', now() FROM tickets WHERE ticket_id % 10 = 0;
INSERT INTO customer_surveys (ticket_id, link_id, score, solved, comment, flagged, answered_at)
SELECT t.ticket_id, l.link_id, 1 + t.ticket_id % 5, true, '기사님이 빨리 오셨어요 #' || t.ticket_id, false,
       t.opened_at + interval '1 day'
FROM tickets AS t JOIN customer_links AS l USING (case_id);
"""


def _pdf_pages(pdf: Path) -> list[tuple[str, float]]:
    """Each page's text (pdftotext) and share of inked pixels (pdftoppm, grey, 40 dpi)."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    out = []
    for n in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        image = subprocess.run(["pdftoppm", "-f", str(n), "-l", str(n), "-r", "40", "-gray", str(pdf)],
                               capture_output=True, check=True).stdout  # fmt: skip
        out.append((text, _ink_share(image)))
    return out


def _ink_share(pgm: bytes) -> float:
    """The share of pixels with ink on them (darker than light grey) in a binary PGM (P5) image."""
    parts = pgm.split(maxsplit=4)
    assert parts[0] == b"P5", "pdftoppm -gray writes PGM"
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][: width * height]
    return sum(1 for p in pixels if p < 200) / len(pixels)


@pytest.mark.parametrize("lang", ["ko", "en"])
async def test_a_manager_reads_the_reports_exports_them_and_prints_the_month(
    db: asyncpg.Connection, db_dsn: str, lang: str
) -> None:
    await seed_points(db)
    for i in range(20):
        await register_full(db, f"rp-{i}", latitude=37.5, longitude=127.0, region="seoul",
                            installed_on=date(2020, 1, 1))  # fmt: skip
    await db.execute(FLEET_SQL)
    async with db.transaction():
        await refresh_report_rollups(db, now=datetime.now(UTC))
    key = await issue_api_key(db_dsn, "agent")
    words = {"ko": ("서비스 보고서", "2026-11 월간 서비스 보고서", "서비스센터별 지표", "보고서 끝", "발생 건수"),
             "en": ("Service reports", "Monthly service report, 2026-11", "Service points", "end of report",
                    "Volume")}[lang]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"monthly-report-{lang}.pdf"
    with serving_api(db_dsn) as base:
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=lang)
            page = await context.new_page()
            await sign_in(page, base, key, "/console/reports?first=2026-10-01&last=2026-11-30")
            if lang == "en":
                await page.get_by_role("link", name="English").click()
            await page.get_by_role("heading", name=words[0], exact=True).wait_for()
            main = await page.inner_text("main")
            assert "240" in main, "the period's tickets"
            assert "E003" in main, "the top codes per month"
            assert "2026-11" in main
            assert "#10" in main or "#20" in main, "a happy-call comment"
            assert await page.locator("svg.bars rect").count() >= 2 * 3 + 7 * 3 + 24 * 3
            assert await axe_violations(page) == []
            await page.screenshot(path=str(ARTIFACTS / f"reports-{lang}.png"), full_page=True)

            sheet = await page.request.get(
                base + "/console/reports/export/points.csv?first=2026-10-01&last=2026-11-30"
            )
            assert sheet.status == 200
            rows = (await sheet.body()).decode("utf-8-sig").splitlines()
            assert rows[0].startswith("point,tickets,contacted_in_time,")
            assert len(rows) == 1 + 30, "one row per service point"
            assert sum(int(r.split(",")[1]) for r in rows[1:]) == 240

            await page.goto(base + "/console/reports/monthly?month=2026-11")
            await page.get_by_role("heading", name=words[1]).wait_for()
            assert await axe_violations(page) == []
            await page.screenshot(path=str(ARTIFACTS / f"monthly-report-{lang}.png"), full_page=True)
            await page.pdf(path=str(pdf), format="A4", print_background=True)
            await context.close()
    pages = _pdf_pages(pdf)
    assert len(pages) >= 4, "figures, volume, top codes and points each start a page"
    assert words[1] in pages[0][0].replace("\n", " ") or words[1].split()[0] in pages[0][0]
    assert words[4] in pages[1][0], "the volume charts start the second page"
    points_page = next(n for n, (text, _) in enumerate(pages) if words[2] in text)
    assert points_page >= 2, "the points table starts a page of its own"
    assert "SP-0" in pages[points_page][0], "and its rows start on that page, under the heading"
    assert words[3] in pages[-1][0]
    for n, (text, ink) in enumerate(pages, 1):
        assert text.strip(), f"page {n} has text"
        assert 0.006 < ink < 0.5, f"page {n} is neither blank nor a black block ({ink:.3%} inked)"
    printed = " ".join(text for text, _ in pages)
    assert "Main menu" not in printed, "the menus are left out of the print"
    assert "주 메뉴" not in printed
