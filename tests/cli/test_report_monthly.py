"""`geoverify report monthly` on the sample patrols, SQLite and PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from docx import Document

from geoverify.workflows import sample_path
from tests.conftest import Cli


def test_monthly_report_files_and_summary(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    gpx = str(sample_path("samples", "patrols_2024-03.gpx"))
    table = str(sample_path("samples", "patrols_2024-03.csv"))
    res = run("patrols", "import", table, "--tracks", gpx, "--received", "2024-03-22")
    assert res.exit_code == 0, res.output
    out = tmp_path / "rep"
    res = run("report", "monthly", "--month", "2024-03", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["deadline"] == "2024-03-25"
    assert "石桥村" in doc["not_reported"] and "龙泉村" not in doc["not_reported"]
    rows = {r["village"]: r for r in doc["villages"]}
    assert rows["龙泉村"]["status"] == "已报送" and rows["龙泉村"]["patrols"] == 3
    assert rows["龙泉村"]["covered_pct"] > 0
    xlsx = out / "2024年3月_龙泉村_踏查情况统计表.xlsx"
    docx = out / "2024年3月_龙泉村_踏查情况统计表.docx"
    assert xlsx.exists() and docx.exists()
    assert len(doc["village_files"]) == 2 * len(rows)
    ws = openpyxl.load_workbook(xlsx).active
    assert ws is not None
    assert ws["A1"].value == "2024年重庆市铜梁区福果镇龙泉村禁种铲毒工作踏查情况3月统计表"
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "2024年重庆市铜梁区福果镇龙泉村禁种铲毒工作踏查情况3月统计表" in text
    summary = openpyxl.load_workbook(out / "2024年3月_全镇踏查情况汇总.xlsx")
    assert "汇总" in summary.sheetnames and "未报送" in summary.sheetnames


def test_monthly_report_late_table(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    f = tmp_path / "t.csv"
    f.write_text(
        "村、社区,组,踏查时间,踏查人员,踏查情况,备注\n青龙村,一组,2024-03-02,甲,未发现异常,\n",
        encoding="utf-8",
    )
    assert run("patrols", "import", str(f), "--received", "2024-03-28").exit_code == 0
    res = run("report", "monthly", "--month", "2024-03", "--out", str(tmp_path / "r"), "--json")
    rows = {r["village"]: r for r in json.loads(res.stdout)["villages"]}
    assert rows["青龙村"]["status"] == "逾期报送"
    assert rows["青龙村"]["covered_pct"] == 0.0
