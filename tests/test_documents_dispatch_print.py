"""The printable dispatch page as Chromium prints it (Debian's /usr/bin/chromium, Playwright):
room to write by hand, no text running over a cell, the workbook's number formats, and page
numbers on every page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import require_program

from geoverify.documents.dispatch import FEEDBACK_HEADERS
from tests.conftest import header_texts

#: A4 landscape less the page's side margins (8 mm each), in CSS pixels (96 per inch).
PRINT_WIDTH_PX = round((297 - 16) / 25.4 * 96)
MM = 96 / 25.4
#: Where a village writes a name (核查人员) or what a site really is (排除：实际为).
WIDE_FIELDS = ("核查人员", "排除：实际为", "案件编号")


@pytest.fixture(scope="module")
def printed(
    demo_workspace: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """福果社区's page of the demo: its print layout (measured) and its PDF's page texts."""
    exe = require_program("chromium")
    pdfium = pytest.importorskip("pypdfium2")
    from playwright.sync_api import sync_playwright

    folder = Path(demo_workspace["workspace"]) / "dispatch" / "2024-03"
    page_path = folder / "福果社区.html"
    work = tmp_path_factory.mktemp("dispatch_print")
    local = work / "page.html"
    shutil.copy(page_path, local)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 800})
            page.goto(local.as_uri())
            page.emulate_media(media="print")
            layout = page.evaluate(
                """(wide) => {
                  const overflow = [];
                  for (const td of document.querySelectorAll('table.list tbody td')) {
                    if (getComputedStyle(td).display === 'none') continue;
                    if (td.scrollWidth > td.clientWidth + 1)
                      overflow.push(td.innerText.trim().slice(0, 40));
                  }
                  // the space under each fill-in label: its table cell or its box
                  const room = {};
                  for (const el of document.querySelectorAll('th, .box .k')) {
                    const label = el.textContent.trim();
                    if (!wide.includes(label)) continue;
                    const space = el.matches('th') ? el : el.parentElement;
                    const w = space.getBoundingClientRect().width;
                    room[label] = Math.min(room[label] ?? Infinity, w);
                  }
                  return {overflow, room};
                }""",
                list(WIDE_FIELDS),
            )
            pdf_bytes = page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    (work / "page.pdf").write_bytes(pdf_bytes)
    pdf = pdfium.PdfDocument(pdf_bytes)
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    pdf.close()
    return {"layout": layout, "texts": texts, "html": page_path.read_text("utf-8"),
            "xlsx": folder / "福果社区.xlsx"}  # fmt: skip


def test_room_to_write_by_hand(printed: dict[str, Any]) -> None:
    room = printed["layout"]["room"]
    assert set(room) == set(WIDE_FIELDS)
    for label, px in room.items():
        assert px >= 25 * MM, (label, round(px / MM, 1))  # at least 25 mm to write in


def test_no_text_runs_over_its_cell(printed: dict[str, Any]) -> None:
    assert printed["layout"]["overflow"] == []


def test_numbers_as_in_the_workbook(printed: dict[str, Any]) -> None:
    ws = openpyxl.load_workbook(printed["xlsx"])["核查清单"]
    header = next(r for r in range(1, 8) if ws.cell(r, 1).value == "序号")
    col = {h: c for c, h in enumerate(header_texts(ws[header]), start=1)}
    assert ws.cell(header + 1, col["图斑面积（亩）"]).number_format == "0.000"
    assert ws.cell(header + 1, col["图斑面积（平方米）"]).number_format == "0.0"
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", printed["html"]))
    for r in range(header + 1, ws.max_row + 1):
        mu = ws.cell(r, col["图斑面积（亩）"]).value
        sqm = ws.cell(r, col["图斑面积（平方米）"]).value
        if mu is None:
            continue
        assert f"{sqm:.1f} 平方米 {mu:.3f} 亩" in text, ws.cell(r, 2).value
    # the demo has an area whose 亩 ends in 0 (313.2 m² = 0.470 亩)
    assert "0.470 亩" in text


def test_page_numbers_on_every_page(printed: dict[str, Any]) -> None:
    texts = [re.sub(r"\s+", "", t) for t in printed["texts"]]
    n = len(texts)
    assert n >= 2
    for i, t in enumerate(texts, start=1):
        assert f"第{i}页，共{n}页" in t, i
        assert "福果社区疑似靶标核查清单" in t  # which list a loose page belongs to
    everything = "".join(texts)
    for h in FEEDBACK_HEADERS:  # every fill-in field is on paper
        assert h in everything, h


def test_a_short_list_prints_on_one_page_with_its_map(
    demo_workspace: dict[str, Any], tmp_path: Path
) -> None:
    """A village with two targets gets one sheet of paper: the map, both targets, the signature
    lines (the district's area and image date are not repeated beside the page's own)."""
    exe = require_program("chromium")
    pdfium = pytest.importorskip("pypdfium2")
    from playwright.sync_api import sync_playwright

    folder = Path(demo_workspace["workspace"]) / "dispatch" / "2024-03"
    pages = {p: p.read_text("utf-8") for p in folder.glob("*.html") if "地图" not in p.name}
    two = [p for p, text in pages.items() if text.count('<tbody class="t') == 2]
    assert two, "the demo has a village with two targets"
    local = tmp_path / "page.html"
    shutil.copy(two[0], local)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(local.as_uri())
            page.emulate_media(media="print")
            pdf = pdfium.PdfDocument(page.pdf(prefer_css_page_size=True, print_background=True))
        finally:
            browser.close()
    texts = [re.sub(r"\s+", "", pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
    pdf.close()
    assert len(texts) == 1, two[0].name
    assert "示意图" in texts[0] and "填报时间" in texts[0] and "第1页，共1页" in texts[0]
