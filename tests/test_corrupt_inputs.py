"""Corrupt and hostile files (issue 11, item 2): every reader fails cleanly, nothing is written.

A hypothesis-driven corpus mutates real files — bit flips, truncation, spliced and deleted
bytes, and inside zip archives (XLSX, KMZ, zipped shapefiles) dropped, truncated and flipped
parts and entity declarations — and checks that each reader either reads the file or raises a
geoverify error that names it. A fixed-seed sample of the same mutations goes through the
command line on both stores: exit 0 or 1, never a traceback, and on exit 1 the store is exactly
as it was. A zip bomb (a 408 KB KMZ that unpacks to 400 MB) is refused from its central
directory, with memory bounded.
"""

from __future__ import annotations

import io
import random
import shutil
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoverify.errors import GeoverifyError, InputError, TooLargeError
from geoverify.problems import split_bilingual
from geoverify.readers.feedback import read_feedback
from geoverify.readers.gpx import read_gpx
from geoverify.readers.kml import read_kml
from geoverify.readers.safety import ZipLimits, check_zip, read_member
from geoverify.readers.targets import read_targets
from geoverify.readers.vector import read_vector
from geoverify.workflows.common import sample_path
from tests.conftest import Cli, snapshot

SAMPLE_XLSX = sample_path("samples", "district_batch_2024-04.xlsx")
SAMPLE_GEOJSON = sample_path("samples", "district_batch_2024-03.geojson")
SAMPLE_GPX = sample_path("samples", "patrols_2024-03.gpx")

# --- base files -------------------------------------------------------------------------------


def _small_gpx() -> bytes:
    """The sample GPX cut to its first track (fast to parse, still a real device's layout)."""
    text = Path(SAMPLE_GPX).read_text(encoding="utf-8")
    head, rest = text.split("<trk>", 1)
    first = rest.split("</trk>", 1)[0]
    return (head + "<trk>" + first + "</trk>\n</gpx>\n").encode("utf-8")


def _track_coords() -> list[tuple[float, float]]:
    got = read_gpx(_small_gpx(), source="sample.gpx")
    geom = got.tracks.geometry.iloc[0]
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return [(float(x), float(y)) for part in parts for x, y in part.coords]


def _kml(coords: list[tuple[float, float]]) -> bytes:
    text = " ".join(f"{x:.7f},{y:.7f},0" for x, y in coords)
    whens = "".join(f"<when>2024-03-12T02:{i // 60:02d}:{i % 60:02d}Z</when>" for i in range(6))
    gx = "".join(f"<gx:coord>{x:.7f} {y:.7f} 0</gx:coord>" for x, y in coords[:6])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">'
        "<Document><name>踏查</name><Folder><name>三月</name>"
        f"<Placemark><name>TRK-A</name><LineString><coordinates>{text}</coordinates>"
        "</LineString></Placemark>"
        f"<Placemark><name>TRK-B</name><gx:Track>{whens}{gx}</gx:Track></Placemark>"
        "</Folder></Document></kml>\n"
    ).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _shapefile_zip(folder: Path) -> bytes:
    sample = gpd.read_file(SAMPLE_GEOJSON).head(12)
    sample = sample[sample.geometry.geom_type == "Point"]
    frame = gpd.GeoDataFrame(
        {"id": sample["靶标编号"], "note": sample["备注"].fillna("")},
        geometry=sample.geometry,
        crs=sample.crs,
    )
    shp = folder / "targets.shp"
    frame.to_file(shp, driver="ESRI Shapefile", encoding="UTF-8")
    members = {p.name: p.read_bytes() for p in sorted(folder.glob("targets.*"))}
    return _zip(members)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The unmutated files, by suffix."""
    folder = tmp_path_factory.mktemp("bases")
    kml = _kml(_track_coords())
    return {
        ".xlsx": Path(SAMPLE_XLSX).read_bytes(),
        ".gpx": _small_gpx(),
        ".kml": kml,
        ".kmz": _zip({"doc.kml": kml, "files/readme.txt": b"photos would be here"}),
        ".zip": _shapefile_zip(folder),
    }


# --- mutations --------------------------------------------------------------------------------

_BYTE_OPS = ("flip", "truncate", "splice", "delete")
_MEMBER_OPS = ("drop", "flip", "truncate", "entity", "empty", "junk")


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Bit flips, a truncation, spliced bytes or a deleted range."""
    op = rng.choice(_BYTE_OPS)
    b = bytearray(data)
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif op == "truncate":
        del b[rng.randrange(len(b)) :]
    elif op == "splice":
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 256)]
    return bytes(b)


def mutate_member(data: bytes, rng: random.Random) -> bytes:
    """Rewrite a zip with one part dropped, truncated, bit-flipped, emptied, replaced by junk or
    given an entity declaration (a "billion laughs" header)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    victim = rng.choice(sorted(members))
    op = rng.choice(_MEMBER_OPS)
    body = members[victim]
    if op == "drop":
        del members[victim]
    elif op == "flip" and body:
        b = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        members[victim] = bytes(b)
    elif op == "truncate":
        members[victim] = body[: rng.randrange(len(body) + 1)]
    elif op == "entity":
        decl = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        if body.startswith(b"<?xml"):
            end = body.index(b"?>") + 2
            members[victim] = body[:end] + decl + body[end:]
        else:
            members[victim] = decl + body
    elif op == "empty":
        members[victim] = b""
    else:
        members[victim] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 512)))
    return _zip(members)


def mutate(data: bytes, suffix: str, rng: random.Random) -> bytes:
    if suffix in (".xlsx", ".kmz", ".zip") and rng.random() < 0.5:
        return mutate_member(data, rng)
    return mutate_bytes(data, rng)


# --- readers: the hypothesis corpus -------------------------------------------------------------

READERS: dict[str, Callable[[Path], Any]] = {
    ".xlsx": lambda p: read_targets(p, batch_id="B"),
    ".gpx": lambda p: read_gpx(p),
    ".kml": lambda p: read_kml(p, source=str(p)),
    ".kmz": lambda p: read_kml(p, source=str(p)),
    ".zip": lambda p: read_vector(p),
}


def _reads_or_fails_cleanly(path: Path) -> None:
    try:
        READERS[path.suffix](path)
    except GeoverifyError as e:
        assert path.name in str(e), str(e)


@pytest.mark.parametrize("suffix", sorted(READERS))
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_mutated_file_is_read_or_refused_with_a_clean_error(
    suffix: str, seed: int, bases: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / f"mutated{suffix}"
    path.write_bytes(mutate(bases[suffix], suffix, random.Random(seed)))
    _reads_or_fails_cleanly(path)


def test_the_unmutated_bases_read(bases: dict[str, bytes], tmp_path: Path) -> None:
    # The corpus only means something if its starting points are good files.
    for suffix, data in bases.items():
        path = tmp_path / f"base{suffix}"
        path.write_bytes(data)
        READERS[suffix](path)


def test_known_xlsx_failures_are_input_errors(tmp_path: Path) -> None:
    # The shapes that ended in tracebacks: a corrupt deflate stream (zlib.error), a truncated
    # part (XML syntax error), a missing sheet part (KeyError/IndexError) and an entity
    # declaration in the workbook XML.
    base = Path(SAMPLE_XLSX).read_bytes()
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/"))
    cases = {
        "truncated-part": {**members, sheet: members[sheet][:100]},
        "no-sheet": {k: v for k, v in members.items() if k != sheet},
        "entity": {
            **members,
            sheet: b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>' + members[sheet],
        },
        "no-workbook": {k: v for k, v in members.items() if k != "xl/workbook.xml"},
    }
    for name, parts in cases.items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(_zip(parts))
        with pytest.raises(InputError, match=rf"{name}\.xlsx: "):
            read_targets(path, batch_id="B")
    # A flipped bit inside a deflate stream: found by scanning a few positions of the sheet.
    data = bytearray(base)
    info = zipfile.ZipFile(io.BytesIO(base)).getinfo(sheet)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path = tmp_path / "flipped.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"flipped\.xlsx"):
        read_targets(path, batch_id="B")


# --- archives: limits before unpacking ----------------------------------------------------------


@pytest.fixture(scope="session")
def kmz_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 408 KB KMZ whose doc.kml unpacks to 400 MB (the issue's file)."""
    path = tmp_path_factory.mktemp("bomb") / "炸弹.kmz"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("doc.kml", "w", force_zip64=True) as fh,
    ):
        fh.write(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">')
        chunk = b" " * (1 << 20)
        for _ in range(400):
            fh.write(chunk)
        fh.write(b"</kml>")
    return path


def test_kmz_bomb_is_refused_from_its_directory_with_little_memory(kmz_bomb: Path) -> None:
    assert kmz_bomb.stat().st_size < 512 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match=r"炸弹\.kmz.*doc\.kml.*zip bomb"):
            read_kml(kmz_bomb, source=str(kmz_bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_zip_limits_total_members_and_ratio(tmp_path: Path) -> None:
    # Each limit on its own, with small numbers.
    data = _zip({f"m{i}.txt": b"x" * 1000 for i in range(5)})
    assert len(check_zip(data, source="ok.zip")) == 5
    with pytest.raises(TooLargeError, match=r"many\.zip.*too many members"):
        check_zip(data, source="many.zip", limits=ZipLimits(members=4))
    with pytest.raises(TooLargeError, match=r"big\.zip.*would unpack to"):
        check_zip(data, source="big.zip", limits=ZipLimits(total=4000))
    ratio = _zip({"air.xml": b" " * (2 * 1024 * 1024)})
    with pytest.raises(TooLargeError, match=r"air\.zip.*air\.xml.*zip bomb"):
        check_zip(ratio, source="air.zip")
    assert check_zip(ratio, source="air.zip", limits=ZipLimits(ratio=10_000))
    with pytest.raises(InputError, match=r"nozip\.kmz.*not a zip") as refused:
        check_zip(b"PK\x03\x04 this is not a zip", source="nozip.kmz", kind="KMZ")
    # The reader's own words stay in the English: a page shows the Chinese alone.
    zh, en = split_bilingual(str(refused.value))
    assert zh == "nozip.kmz: 无法作为 KMZ 读取，文件已损坏或不是 zip 压缩包"
    assert "BadZipFile" in en


def test_a_lying_directory_is_caught_when_the_member_is_read() -> None:
    # The central directory says 10 bytes; the member holds more: reading stops at the
    # declared size and the CRC check refuses the member.
    data = bytearray(_zip({"doc.kml": b"<kml>" + b" " * 5000 + b"</kml>"}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("doc.kml")
    cd = bytes(data).rindex(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")  # uncompressed size in the directory
    infos = check_zip(bytes(data), source="liar.kmz", kind="KMZ")
    assert infos[0].file_size == 10 and info.file_size > 10
    with pytest.raises(InputError, match=r"liar\.kmz.*doc\.kml.*corrupt"):
        read_member(bytes(data), infos[0], source="liar.kmz", kind="KMZ")


def test_feedback_workbook_bomb_is_refused(tmp_path: Path) -> None:
    # A filled dispatch workbook is read in full, so its limit is lower.
    path = tmp_path / "反馈.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["x"])  # type: ignore[union-attr]
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members["xl/sharedStrings.xml"] = b"<sst>" + b" " * (40 * 1024 * 1024) + b"</sst>"
    path.write_bytes(_zip(members))
    with pytest.raises(TooLargeError, match=r"反馈\.xlsx"):
        read_feedback(path)


# --- the command line on both stores ------------------------------------------------------------


def _cli_corpus(bases: dict[str, bytes], folder: Path, per_format: int) -> list[Path]:
    """A fixed-seed sample of mutated files (the same mutations as the hypothesis corpus)."""
    rng = random.Random(20241130)
    out = []
    for suffix in (".xlsx", ".zip", ".gpx", ".kml", ".kmz"):
        for i in range(per_format):
            path = folder / f"m{i:02d}{suffix}"
            path.write_bytes(mutate(bases[suffix], suffix, rng))
            out.append(path)
    return out


def _command(path: Path, n: int) -> list[str]:
    if path.suffix in (".xlsx", ".zip"):
        return ["batch", "import", str(path), "--batch", f"M{n:03d}", "--json"]
    return ["patrols", "import", str(path), "--date", "2024-03-12", "--json"]


def _clean_exit(run: Cli, args: list[str], name: str) -> int:
    before = snapshot(run.store())
    res = run(*args)
    assert res.exit_code in (0, 1), res.output
    assert "Traceback" not in res.output
    if res.exit_code == 1:
        assert name in res.output
        assert snapshot(run.store()) == before
    return res.exit_code


def test_cli_mutated_files_exit_cleanly_and_leave_the_store_unchanged(
    run: Cli, bases: dict[str, bytes], tmp_path: Path
) -> None:
    assert run("init").exit_code == 0
    corpus = _cli_corpus(bases, tmp_path, per_format=4)
    codes = [_clean_exit(run, _command(p, n), p.name) for n, p in enumerate(corpus)]
    assert 1 in codes  # the corpus does hold refused files


def test_cli_mutated_feedback_workbooks(run: Cli, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    batch = tmp_path / "batch.xlsx"
    shutil.copy(SAMPLE_XLSX, batch)
    assert run("batch", "import", str(batch), "--batch", "B1").exit_code == 0
    assert run("dispatch", "--batch", "B1", "--out", str(tmp_path / "out")).exit_code == 0
    workbook = sorted((tmp_path / "out").glob("*.xlsx"))
    base = next(p for p in workbook if p.name != "汇总.xlsx").read_bytes()
    rng = random.Random(7)
    codes = []
    for i in range(6):
        path = tmp_path / f"fb{i}.xlsx"
        path.write_bytes(mutate(base, ".xlsx", rng))
        codes.append(_clean_exit(run, ["feedback", "import", str(path)], path.name))
    assert 1 in codes


def test_cli_kmz_bomb_exit_1_store_unchanged(run: Cli, kmz_bomb: Path) -> None:
    assert run("init").exit_code == 0
    before = snapshot(run.store())
    res = run("patrols", "import", str(kmz_bomb), "--date", "2024-03-12")
    assert res.exit_code == 1
    assert "炸弹.kmz" in res.output and "zip bomb" in res.output
    res = run("batch", "import", str(kmz_bomb), "--batch", "BOMB", "--json")
    assert res.exit_code == 1
    assert snapshot(run.store()) == before
