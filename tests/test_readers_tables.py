"""Tests for geoverify.readers.tables: CSV encodings and delimiters, XLSX, header finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoverify.errors import InputError
from geoverify.readers.tables import find_column, normalize_header, read_table

ROWS = "靶标编号,经度,纬度,备注\nTL-001, 106.05 ,29.8,房前屋后\nTL-002,106.06,29.81,\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, detected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(ROWS.encode(encoding))
    table = read_table(path)
    assert table.encoding == detected
    assert list(table.frame.columns) == ["靶标编号", "经度", "纬度", "备注"]
    assert table.frame["备注"].tolist() == ["房前屋后", None]
    assert table.frame["经度"].tolist() == ["106.05", "106.06"]  # stripped, still text
    assert table.rows == [2, 3]
    assert table.header_row == 1
    assert table.source == str(path)


def test_an_encoding_that_gives_half_a_character_is_refused_at_its_line(
    tmp_path: Path, sample_store: Any
) -> None:
    """UTF-7 (or unicode_escape) can decode to a lone UTF-16 surrogate, which no store can keep:
    refused as bad input naming the line, the store unchanged."""
    from geoverify.workflows import import_batch
    from tests.conftest import snapshot

    path = tmp_path / "utf7.csv"
    text = "靶标编号,经度,纬度,备注\nU1,106.05,29.70,好\nU2,106.06,29.71,a\ud800b\n"
    path.write_bytes(text.encode("utf-7"))
    with pytest.raises(InputError, match="第 3 行用编码 utf-7 读出的不是有效字符"):
        read_table(path, encoding="utf-7")
    before = snapshot(sample_store)
    with pytest.raises(InputError, match="unpaired surrogate"):
        import_batch(sample_store, path, batch_id="U", encoding="utf-7")
    assert snapshot(sample_store) == before
    # Without the surrogate the same codec reads as it did.
    path.write_bytes(text.replace("\ud800", "").encode("utf-7"))
    assert read_table(path, encoding="utf-7").frame["备注"].tolist() == ["好", "ab"]


def test_explicit_encoding_and_wrong_encoding(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(ROWS.encode("gbk"))
    assert read_table(path, encoding="gbk").frame["备注"].iloc[0] == "房前屋后"
    with pytest.raises(InputError, match="无法用编码 utf-8"):
        read_table(path, encoding="utf-8")


@pytest.mark.parametrize("delimiter", ["\t", ";", ","])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = ROWS.replace(",", delimiter)
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    assert table.frame.shape == (2, 4)
    assert table.frame["纬度"].tolist() == ["29.8", "29.81"]


def test_quoted_cells_keep_their_delimiters(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('编号,经度,纬度,备注\nA,106,29,"甲, 乙"\n', encoding="utf-8")
    assert read_table(path).frame["备注"].tolist() == ["甲, 乙"]


def test_title_rows_and_empty_rows_keep_true_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    text = "2024年第一批疑似靶标,,\n,,\n编号,经度,纬度\nA,106,29\n,,\n\nB,106.1,29.1\n"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    assert table.header_row == 3
    assert table.rows == [4, 7]
    assert table.frame["编号"].tolist() == ["A", "B"]


def test_header_is_the_first_row_when_nothing_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("村,组\n福果村,三组\n", encoding="utf-8")
    table = read_table(path)
    assert table.header_row == 1
    assert list(table.frame.columns) == ["村", "组"]
    # an extra header name moves the header below a title row
    path.write_text("标题\n村,组\n福果村,三组\n", encoding="utf-8")
    assert read_table(path, headers=["组"]).header_row == 2


def test_a_header_on_two_rows(tmp_path: Path) -> None:
    """坐标 merged over 经度 and 纬度 (序号, 靶标编号 merged down): the lower row names the
    columns it has a name for, the upper row the others; data rows keep their numbers."""
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["铜梁区2024年第一批卫星遥感疑似靶标"])
    ws.append(["序号", "靶标编号", "坐标", None, "面积（亩）"])
    ws.append([None, None, "经度", "纬度", None])
    for cells in ("A2:A3", "B2:B3", "C2:D2", "E2:E3"):
        ws.merge_cells(cells)
    ws.append([1, "T-001", 106.0163, 29.7191, 0.5])
    ws.append([2, "T-002", 106.02, 29.72, 0.3])
    wb.save(path)
    table = read_table(path)
    assert list(table.frame.columns) == ["序号", "靶标编号", "经度", "纬度", "面积（亩）"]
    assert table.header_row == 3 and table.rows == [4, 5]
    assert table.frame["经度"].tolist() == [106.0163, 106.02]
    # the same in a CSV
    csv = tmp_path / "t.csv"
    csv.write_text("靶标编号,坐标,,备注\n,经度,纬度,\nT-001,106.0163,29.7191,房前\n", "utf-8")
    table = read_table(csv)
    assert list(table.frame.columns) == ["靶标编号", "经度", "纬度", "备注"]
    assert table.rows == [3] and table.frame.iloc[0].tolist() == [
        "T-001",
        "106.0163",
        "29.7191",
        "房前",
    ]


def test_a_data_row_is_never_taken_for_a_second_header_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    # Y (a latitude's name) under a column of its own, in a row that has a number
    path.write_text("序号,经度,纬度,是否复核\n1,,,Y\n", encoding="utf-8")
    table = read_table(path)
    assert list(table.frame.columns) == ["序号", "经度", "纬度", "是否复核"] and table.rows == [2]
    # a units row under the header is data, not a header (it names no coordinate)
    path.write_text("靶标编号,经度,纬度\n,(度),(度)\nT-1,106.1,29.8\n", encoding="utf-8")
    assert read_table(path).rows == [2, 3]


def test_duplicate_and_blank_headers_get_unique_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("编号,备注,备注,,\nA,x,y,z,\n", encoding="utf-8")
    frame = read_table(path).frame
    assert list(frame.columns) == ["编号", "备注", "备注.2", "列4"]
    assert frame.iloc[0].tolist() == ["A", "x", "y", "z"]


def _xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "靶标"
    ws["A1"] = "铜梁区2024年第一批卫星遥感疑似靶标"
    ws.merge_cells("A1:E1")
    ws.append(["靶标编号", "经度", "纬度", "面积（平方米）", "影像时间"])
    ws.append([1001, 106.05, 29.8, 120.5, dt.datetime(2024, 3, 15)])
    ws.append([None, None, None, None, None])
    ws.append(["TL-3", "106°02'03.5\"", "29°49'", 80, "2024/3/16"])
    other = wb.create_sheet("说明")
    other.append(["编号", "说明"])
    other.append(["x", "第二个工作表"])
    wb.save(path)


def test_xlsx_with_title_row_keeps_types_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    _xlsx(path)
    table = read_table(path)
    assert table.header_row == 2
    assert table.rows == [3, 5]
    assert table.encoding is None
    first = table.frame.iloc[0]
    assert first["靶标编号"] == 1001
    assert first["经度"] == 106.05
    assert first["影像时间"] == dt.datetime(2024, 3, 15)
    assert table.frame["经度"].iloc[1] == "106°02'03.5\""


def test_xlsx_sheet_by_name_and_index(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    _xlsx(path)
    assert read_table(path, sheet="说明").frame["说明"].tolist() == ["第二个工作表"]
    assert read_table(path, sheet=1).frame["编号"].tolist() == ["x"]
    with pytest.raises(InputError, match="没有名为 '无' 的工作表"):
        read_table(path, sheet="无")
    with pytest.raises(InputError, match="no sheet index 5"):
        read_table(path, sheet=5)


def test_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"另存为 \.xlsx"):
        read_table(tmp_path / "old.xls")
    with pytest.raises(InputError, match="文件不存在"):
        read_table(tmp_path / "missing.csv")
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip", encoding="utf-8")
    with pytest.raises(InputError, match="无法作为 XLSX 读取"):
        read_table(fake)
    xlsx_as_csv = tmp_path / "real.csv"
    _xlsx(tmp_path / "real.xlsx")
    xlsx_as_csv.write_bytes((tmp_path / "real.xlsx").read_bytes())
    with pytest.raises(InputError, match="Excel"):
        read_table(xlsx_as_csv)
    empty = tmp_path / "empty.csv"
    empty.write_text(",,\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="没有任何数据"):
        read_table(empty)
    ods = tmp_path / "x.ods"
    ods.write_bytes(b"PK")
    with pytest.raises(InputError, match="不支持的表格类型"):
        read_table(ods)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x81\x30\xff\xfe\x00\xff" * 3)
    with pytest.raises(InputError, match="编码无法识别"):
        read_table(binary)


def test_normalize_header() -> None:
    assert normalize_header("面积（平方米）") == normalize_header("面积 (平方米)") == "面积(平方米)"
    assert normalize_header(" ＬＯＮ ") == "lon"
    assert normalize_header("【编号】") == "[编号]"
    assert normalize_header(None) == ""


def test_find_column() -> None:
    cols = ["序号", "面积（平方米）", "经度(°)", "ID"]
    assert find_column(cols, ["面积(平方米)"]) == "面积（平方米）"
    assert find_column(cols, ["经度"]) == "经度(°)"  # bracketed unit ignored on a second pass
    assert find_column(cols, ["target_id", "id"]) == "ID"
    assert find_column(cols, ["纬度"]) is None
    # an exact match beats a bracket-stripped one, whatever the order of the columns
    assert find_column(["面积(亩)", "面积"], ["面积"]) == "面积"


# --- the column-wise reader reads what the row-by-row one read ------------------------------


def _reference_lower_header(upper: list[Any], lower: list[Any]) -> bool:
    """The second row of a two-row header, as the rule says it: a longitude and a latitude
    named, no number, nothing under a column the upper row names."""
    import re

    from geoverify.readers.tables import LAT_HEADERS, LON_HEADERS, _is_header_row

    def named(cell: Any, headers: tuple[str, ...]) -> bool:
        text = re.sub(r"\s", "", str(cell)).lower()
        text = text.replace("（", "(").replace("）", ")")
        bare = re.sub(r"[(\[【].*?[)\]】]", "", text)
        return any(h.lower() in (text, bare) for h in headers)

    cells = [low for low in lower if low is not None]
    if any(up is not None and low is not None and _is_header_row([up], frozenset())
           for up, low in zip(upper, lower, strict=True)):  # fmt: skip
        return False
    for low in cells:
        try:
            float(low)
        except ValueError:
            continue
        return False
    return any(named(c, LON_HEADERS) for c in cells) and any(named(c, LAT_HEADERS) for c in cells)


def _reference_table(rows: list[list[str]]) -> tuple[list[str], list[list[Any]], list[int], int]:
    """The table the row-by-row reader built from ``csv.reader`` rows: columns, row values,
    row numbers, header row (the slow, obvious code the column-wise reader replaced)."""
    from geoverify.readers.tables import _HEADER_SCAN_ROWS, _is_header_row

    records = [(n, [c.strip() or None for c in row]) for n, row in enumerate(rows, start=1)]
    nonempty = [(n, cells) for n, cells in records if cells.count(None) < len(cells)]
    header_idx = None
    for i, (_, cells) in enumerate(nonempty[:_HEADER_SCAN_ROWS]):
        if _is_header_row(cells, frozenset()):
            header_idx = i
            break
    recognised = header_idx is not None
    header_idx = header_idx or 0
    header_row, header_cells = nonempty[header_idx]
    if recognised and header_idx + 1 < len(nonempty):  # a header on two rows
        below_row, below = nonempty[header_idx + 1]
        w = max(len(header_cells), len(below))
        up = header_cells + [None] * (w - len(header_cells))
        low = below + [None] * (w - len(below))
        if _reference_lower_header(up, low):
            header_cells = [u if v is None else v for u, v in zip(up, low, strict=True)]
            header_idx += 1
            header_row = below_row
    data = nonempty[header_idx + 1 :]
    width = max([len(header_cells), *(len(c) for _, c in data)])
    names: list[str] = []
    keep: list[int] = []
    seen: dict[str, int] = {}
    for j in range(width):
        raw = header_cells[j] if j < len(header_cells) else None
        has_data = any(j < len(c) and c[j] is not None for _, c in data)
        if raw is None and not has_data:
            continue
        name = str(raw).strip() if raw is not None else f"列{j + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
        keep.append(j)
    values = [[c[j] if j < len(c) else None for j in keep] for _, c in data]
    return names, values, [n for n, _ in data], header_row


_cells = st.sampled_from(
    [
        "",
        " ",
        "编号",
        "经度",
        "纬度",
        "x",
        " a ",
        "\u3000b",
        "c\xa0",
        "\x1cd\x1f",
        "e\x85",
        "1",
        "备注",
    ]
) | st.text(max_size=3)


@given(st.lists(st.lists(_cells, max_size=5), min_size=1, max_size=14))
@settings(max_examples=300, deadline=None)
def test_csv_read_column_by_column_is_the_row_by_row_table(rows: list[list[str]]) -> None:
    import csv
    import io
    import tempfile

    from geoverify.readers.tables import _sniff_delimiter

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    # the rows as the reader splits them (the sniffed delimiter may not be ",")
    split = list(csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_text(text, encoding="utf-8")
        if not any(c.strip() for row in split for c in row):
            with pytest.raises(InputError, match="没有任何数据"):
                read_table(path, encoding="utf-8")
            return
        table = read_table(path, encoding="utf-8")
    names, values, numbers, header_row = _reference_table(split)
    assert list(table.frame.columns) == names
    assert table.frame.to_numpy(dtype=object).tolist() == values
    assert all(table.frame[c].dtype == object for c in table.frame.columns)
    assert table.rows == numbers
    assert table.header_row == header_row


@given(
    st.text(
        alphabet=st.sampled_from(["a", " ", ",", "\n", "\r", "\x0b", "\x1c", "\u2028", "\x85"])
    ),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=8),
)
def test_the_delimiter_is_sniffed_from_the_first_lines_only(
    text: str, count: int, size: int
) -> None:
    from geoverify.readers.tables import _first_lines

    assert _first_lines(text, count, size) == [ln for ln in text.splitlines() if ln.strip()][:count]
