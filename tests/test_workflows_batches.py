"""import_batch as the web service calls it: an uploaded file, a preview that writes nothing."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoverify.errors import InputError, RejectedInputError
from geoverify.store import Store, repo
from geoverify.workflows import import_batch, sample_path
from geoverify.workflows.common import Actor, InputFile
from tests.conftest import snapshot

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
APRIL_CSV = sample_path("samples", "district_batch_2024-04.csv")


def test_preview_writes_nothing_and_matches_the_import(sample_store: Store) -> None:
    upload = InputFile("三月靶标.geojson", MARCH.read_bytes())
    before = snapshot(sample_store)
    preview = import_batch(
        sample_store, upload, batch_id="2024-03", issued_on=dt.date(2024, 3, 5), preview=True
    )
    assert snapshot(sample_store) == before
    assert preview.status == "preview"
    assert preview.source == "三月靶标.geojson"
    assert preview.villages is not None
    assert sum(v["targets"] for v in preview.villages) == preview.imported == 60

    done = import_batch(
        sample_store,
        upload,
        batch_id="2024-03",
        issued_on=dt.date(2024, 3, 5),
        actor=Actor("office1", "192.0.2.7"),
    )
    assert done.status == "imported"
    # The preview said exactly what the import then did.
    for key in ("imported", "reissued", "repeat_sites", "assignment", "by_village"):
        assert getattr(preview, key) == getattr(done, key), key
    assert "villages" not in done.to_json()
    with sample_store.connect() as conn:
        events = repo.load_events(conn, batch_id="2024-03")
        imports = conn.execute(repo.t.imports.select()).mappings().all()
    assert set(events["actor"]) == {"office1"}
    assert set(events["host"]) == {"192.0.2.7"}
    assert imports[-1]["source_name"] == "三月靶标.geojson"


def test_preview_of_a_reissue_counts_it_where_it_is(sample_store: Store) -> None:
    import_batch(sample_store, MARCH, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    preview = import_batch(
        sample_store, APRIL_CSV, batch_id="2024-04", issued_on=dt.date(2024, 4, 5), preview=True
    )
    done = import_batch(sample_store, APRIL_CSV, batch_id="2024-04", issued_on=dt.date(2024, 4, 5))
    assert preview.reissued == done.reissued > 0
    assert preview.repeat_sites == done.repeat_sites > 0
    assert preview.by_village == done.by_village
    assert preview.assignment == done.assignment


def test_a_rejected_upload_names_the_file_as_the_user_knows_it(sample_store: Store) -> None:
    text = "靶标编号,经度,纬度\nA1,106.05,29.70\nA2,abc,29.70\n"
    upload = InputFile("C:\\Users\\平安办\\坏的.csv", text.encode("utf-8"))
    before = snapshot(sample_store)
    with pytest.raises(RejectedInputError) as info:
        import_batch(sample_store, upload, batch_id="X")
    assert info.value.source == "坏的.csv"
    assert "geoverify-upload" not in str(info.value)
    assert "upload.csv" not in str(info.value)
    assert [p.row for p in info.value.problems] == [3]
    assert snapshot(sample_store) == before
    # A preview lists the same rejected row instead of raising.
    preview = import_batch(sample_store, upload, batch_id="X", preview=True)
    assert [p.row for p in preview.rejected] == [3]
    assert preview.imported == 1
    assert snapshot(sample_store) == before


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("靶标.csv", b"MZ\x90\x00\x03\x00\x00\x00 a program"),
        ("靶标.xlsx", "靶标编号,经度,纬度\n".encode()),
        ("靶标.geojson", b"\x7fELF\x02\x01\x01\x00"),
        ("村界.gpkg", b"PK\x03\x04 a zip"),
    ],
)
def test_an_upload_must_be_what_its_name_says(sample_store: Store, name: str, data: bytes) -> None:
    before = snapshot(sample_store)
    with pytest.raises(InputError, match="内容与扩展名"):
        import_batch(sample_store, InputFile(name, data), batch_id="X")
    assert snapshot(sample_store) == before


_VILLAGES = {"510001": "青龙村", "510002": "白虎村", "510010": "朱雀村"}


@given(
    st.lists(
        st.sampled_from([*_VILLAGES, "510099", None, math.nan]).map(
            lambda c: (c, _VILLAGES.get(c) if isinstance(c, str) else None)
        ),
        max_size=40,
    )
)
@settings(max_examples=200, deadline=None)
def test_targets_per_village_are_counted_as_the_frame_counted_them(
    rows: list[tuple[Any, Any]],
) -> None:
    """The summary's targets per village, counted from its columns, as pandas counted them
    from a frame (in code order, unknown and missing codes as （镇外）, missing codes last)."""
    from geoverify.workflows.batches import _village_counts

    codes = [c for c, _ in rows]
    names = [n for _, n in rows]
    frame = pd.DataFrame({"village_code": codes, "village": names})
    ordered = frame.sort_values("village_code", na_position="last")
    expected = ordered["village"].fillna("（镇外）").value_counts(sort=False)
    got = _village_counts(codes, names)
    assert got == {str(k): int(v) for k, v in expected.items()}
    assert list(got) == [str(k) for k in expected.index]


def test_a_large_batch_over_a_small_store_finds_every_earlier_target(
    sample_store: Store, tmp_path: Path
) -> None:
    """A batch larger than the store reads the stored ids once instead of looking each up:
    the earlier targets among its rows are re-issues all the same."""
    first = import_batch(sample_store, MARCH, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    with sample_store.connect() as conn:
        earlier = repo.load_targets(conn)["target_id"].tolist()
    assert len(earlier) == first.imported == 60
    lines = ["靶标编号,经度,纬度"]
    lines += [f"{tid},106.05,29.8" for tid in earlier[::3]]
    lines += [f"N{i:04d},106.05,29.8" for i in range(700)]  # more than one look-up chunk
    path = tmp_path / "again.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = import_batch(sample_store, path, batch_id="2024-04", issued_on=dt.date(2024, 4, 5))
    assert (res.imported, res.reissued) == (700, 20)
