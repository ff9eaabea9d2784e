"""Every document a village or the district gets, rendered as it prints (marker ``libreoffice``).

The demo's dispatch workbook, monthly table (XLSX and DOCX), town summary and district report
are converted by LibreOffice to PDF; the printable page by Chromium (print and a 360-px phone).
Each page is kept as a PNG under ``test-artifacts/documents/`` to be looked at, and checked:
A4 and its orientation, the header on every page, the fill-in block, signature lines on a page
with the table.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import require_program

from tests.office import libreoffice_convert

pytestmark = pytest.mark.libreoffice

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "documents"
A4_LANDSCAPE = (842, 595)
A4_PORTRAIT = (595, 842)


def _pdfium() -> Any:
    return pytest.importorskip("pypdfium2")


def _flat(text: str) -> str:
    """Page text without the line breaks and spaces a PDF puts between words."""
    return re.sub(r"\s+", "", text)


def _pages(pdf_path: Path, stem: str) -> list[tuple[tuple[int, int], str]]:
    """(size in points, text without spaces) of each page; each page saved as a PNG."""
    pdfium = _pdfium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(pdf_path))
    out = []
    for i in range(len(pdf)):
        page = pdf[i]
        w, h = page.get_size()
        page.render(scale=1.5).to_pil().save(ARTIFACTS / f"{stem}_p{i + 1}.png")
        out.append(((round(w), round(h)), _flat(page.get_textpage().get_text_range())))
    pdf.close()
    return out


def _lines(pdf_path: Path) -> list[str]:
    """The text lines of the first page (spaces removed)."""
    pdfium = _pdfium()
    pdf = pdfium.PdfDocument(str(pdf_path))
    text = pdf[0].get_textpage().get_text_range()
    pdf.close()
    return [_flat(ln) for ln in text.replace("\r", "").split("\n") if ln.strip()]


def _libreoffice_pdf(src: Path, out_dir: Path) -> Path:
    return libreoffice_convert(src, out_dir)[0]


@pytest.fixture(scope="module")
def pack(
    demo_workspace: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    ws = Path(demo_workspace["workspace"])
    dispatch = ws / "dispatch" / "2024-03"
    monthly = Path(demo_workspace["outputs"]["月报 (monthly report)"])
    work = tmp_path_factory.mktemp("renders")
    files = {
        "dispatch_xlsx": dispatch / "青龙村.xlsx",
        "dispatch_html": dispatch / "青龙村.html",
        "monthly_xlsx": monthly / "2024年3月_龙泉村_踏查情况统计表.xlsx",
        "monthly_docx": monthly / "2024年3月_龙泉村_踏查情况统计表.docx",
        "town_summary": monthly / "2024年3月_全镇踏查情况汇总.xlsx",
        "district": Path(demo_workspace["outputs"]["区禁毒办反馈表 (district report)"]),
    }
    for f in files.values():
        assert f.exists(), f
    copies = {}
    for key, f in files.items():  # ASCII names for the artifacts
        copies[key] = work / f"{key}{f.suffix}"
        shutil.copy(f, copies[key])
    copies["work"] = work
    return copies


def test_dispatch_workbook_prints_readably_on_a4(pack: dict[str, Path]) -> None:
    pages = _pages(_libreoffice_pdf(pack["dispatch_xlsx"], pack["work"]), "dispatch_xlsx")
    assert len(pages) >= 2  # over as many pages as needed, not one strip
    for size, text in pages:
        assert size == A4_LANDSCAPE
        assert "序号" in text and "靶标编号" in text  # header rows on every page
        assert "TL2024-03-011" in text  # and 靶标编号 with them
        assert "青龙村疑似靶标核查清单" in text  # the title in each page's header
    everything = "".join(t for _, t in pages)
    for part in ("村（社区）核查后填写", "排除：实际为", "铲除面积（平方米）", "图斑面积（亩）",
                 "腾讯导航", "区禁毒办原表其他信息"):  # fmt: skip
        assert part in everything, part
    # the fill-in block starts a page of its own, next to 序号 and 靶标编号
    fill = [t for _, t in pages if "核查日期" in t]
    assert fill and all("核查结果" in t and "经度" not in t for t in fill)


def test_printable_page_on_a4_and_on_a_phone(pack: dict[str, Path]) -> None:
    require_program("chromium")
    pdfium = _pdfium()
    from playwright.sync_api import sync_playwright

    pdf_path = pack["work"] / "dispatch_html.pdf"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.goto(pack["dispatch_html"].as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dispatch_html_phone_360.png"), full_page=True)
            links = page.locator("td.nav a")
            assert links.count() == 4 * 5 and links.first.is_visible()
            box = links.first.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 360
            printer = browser.new_page()
            printer.goto(pack["dispatch_html"].as_uri())
            printer.emulate_media(media="print")
            printer.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    del pdfium
    pages = _pages(pdf_path, "dispatch_html_print")
    assert all(size == A4_LANDSCAPE for size, _ in pages)
    last = pages[-1][1]
    assert "填报时间" in last and "TL2024-03-" in last  # signatures with the table's rows
    assert "相邻村（社区）：" in pages[0][1]


def test_monthly_table_fits_a4_portrait(pack: dict[str, Path]) -> None:
    for key in ("monthly_xlsx", "monthly_docx"):
        pages = _pages(_libreoffice_pdf(pack[key], pack["work"]), key)
        assert len(pages) == 1, key  # the plan's 15 rows, the signature line on the page
        ((size, text),) = pages
        assert size == A4_PORTRAIT, key
        title = "2024年重庆市铜梁区福果镇龙泉村禁种铲毒工作踏查情况3月统计表"
        assert title in text, key
        assert "村（社区）书记签字" in text and "张德明、赵永华、王建国" in text
        lines = _lines(pack["work"] / f"{key}.pdf")
        if key == "monthly_docx":
            assert lines[0] == title  # the title on one line
            # names and dates fit their columns: no cell text broken over two lines
            assert any("张德明、赵永华、王建国" in ln for ln in lines)
            assert any("2024-03-26" in ln for ln in lines)


def test_town_summary_and_district_report_fit_a4(pack: dict[str, Path]) -> None:
    pages = _pages(_libreoffice_pdf(pack["town_summary"], pack["work"]), "town_summary")
    assert "合计" in pages[0][1] and "报送日期" in pages[0][1]
    pages = _pages(_libreoffice_pdf(pack["district"], pack["work"]), "district_report")
    assert all(size == A4_LANDSCAPE for size, _ in pages)
    text = "".join(t for _, t in pages)
    for part in ("填报单位", "审核人", "填报日期", "盖章", "统计截至2024-03-25",
                 "镇外，建议退回区禁毒办"):  # fmt: skip
        assert part in text, part
    # one page wide: every page of the feedback sheet shows 序号 and 备注 (first and last column)
    feedback = [t for _, t in pages if "疑似靶标核查情况反馈表" in t]
    assert feedback and all("序号" in t and "备注" in t for t in feedback)


def test_signature_lines_never_print_alone(tmp_path: Path) -> None:
    """Whatever the number of rows, the signature lines share a page with the last rows."""
    require_program("chromium")
    pdfium = _pdfium()
    import datetime as dt

    import geopandas as gpd
    from playwright.sync_api import sync_playwright
    from shapely.geometry import Point

    from geoverify.documents.dispatch import render_village_html

    def frame(n: int) -> gpd.GeoDataFrame:
        recs = [
            {"pk": i, "target_id": f"T{i:03d}", "batch": "B", "source": "district",
             "geometry": Point(106.0 + i * 1e-3, 29.8), "lon": 106.0 + i * 1e-3, "lat": 29.8,
             "area_m2": 10.0, "village_code": "1", "village": "福果村", "group": "一组",
             "assignment": "inside", "neighbours": [], "split_into": [], "status": "issued"}
            for i in range(1, n + 1)
        ]  # fmt: skip
        return gpd.GeoDataFrame(recs, geometry="geometry", crs=4490)

    seen_second_page = False
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page()
            for n in range(8, 31):
                html = render_village_html(
                    "福果村", frame(n), batch="B", issued_on=None, due_on=dt.date(2024, 3, 20)
                )
                page.set_content(html)
                page.emulate_media(media="print")
                pdf = pdfium.PdfDocument(page.pdf(prefer_css_page_size=True))
                texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
                pdf.close()
                last = next(t for t in texts if "填报时间" in t)
                assert texts.index(last) == len(texts) - 1
                assert "T0" in last, n  # at least one target row above the signatures
                seen_second_page = seen_second_page or len(texts) > 1
        finally:
            browser.close()
    assert seen_second_page  # the sizes tried do cross a page
