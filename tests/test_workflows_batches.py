"""import_batch as the web service calls it: an uploaded file, a preview that writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

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
