"""A target the district issues again: what the later batch says of it is kept and shown."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from geoverify.workflows import import_batch, sample_path
from geoverify.workflows.dispatch import dispatch_batch
from geoverify.workflows.targets import list_targets, target_detail, target_history

MARCH = sample_path("samples", "district_batch_2024-03.geojson")
APRIL = sample_path("samples", "district_batch_2024-04.csv")


@pytest.fixture
def reissued(sample_store):
    import_batch(
        sample_store, MARCH, batch_id="2024-03", actor="pytest", issued_on=dt.date(2024, 3, 5)
    )
    res = import_batch(
        sample_store, APRIL, batch_id="2024-04", actor="pytest", issued_on=dt.date(2024, 4, 2)
    )
    assert res.reissued >= 1
    return sample_store, res


def test_the_reissue_event_keeps_the_later_batchs_area_image_date_and_due_date(reissued):
    store, res = reissued
    table = pd.read_csv(APRIL, encoding="gbk", dtype=str)
    march_ids = table[table["靶标编号"].str.startswith("TL2024-03")]
    assert len(march_ids) == res.reissued
    for _, row in march_ids.iterrows():
        tid = row["靶标编号"]
        events = [e for e in target_history(store, tid).events if e["kind"] == "reissued"]
        assert len(events) == 1
        payload = events[0]["payload"]
        assert payload["batch"] == "2024-04"
        assert payload["due_on"] == res.due_on.isoformat()
        assert payload["area_m2"] == pytest.approx(float(row["面积（平方米）"]))
        assert payload["image_date"] == row["影像时间"]
        # the target's own record keeps its first batch's values, which differ here
        detail = target_detail(store, tid)
        assert detail.record["area_m2"] != pytest.approx(payload["area_m2"])
        # and the history says what the later batch gave, as a person reads it
        facts = {c["label"]: c["after"] for c in events[0]["changes"]}
        assert facts == {
            "图斑面积": f"{float(row['面积（平方米）']):g} 平方米",
            "影像时间": row["影像时间"],
            "核查时限": res.due_on.isoformat(),
        }


def _issued_again(store, batch):
    """The batch's view of its targets, the ids of those it issued again (some), and the view
    of every target, both by id."""
    view = list_targets(store, batch=batch).frame.set_index("target_id")
    again = view.index[view["reissue_of"].notna()].tolist()
    assert again
    return view, again, list_targets(store).frame.set_index("target_id")


def test_a_reissued_targets_deadline_is_its_latest_batchs(reissued, tmp_path):
    """Without a batch chosen, a re-issued target answers to the latest deadline of its batches
    issued by the day (here the later batch's, as its dispatch list says, once that batch is
    issued); within each batch, to that batch's."""
    store, res = reissued
    dispatch_batch(store, batch="2024-03", out=tmp_path / "out", actor="pytest")
    march_due = list_targets(store, batch="2024-03").frame.set_index("target_id")["due_on"]
    april, again, every = _issued_again(store, "2024-04")
    for tid in again:
        assert april.loc[tid, "due_on"] == res.due_on
        assert march_due[tid] < res.due_on
        assert every.loc[tid, "due_on"] == res.due_on
        assert every.loc[tid, "batch"] == "2024-03"  # still first issued in March
    # Past March's deadline, before April's batch was issued: March's deadline is the last
    # word, overdue everywhere (none answered yet).
    before_april = march_due[again[0]] + dt.timedelta(days=1)
    assert before_april < dt.date(2024, 4, 2)
    late = list_targets(store, overdue_on=before_april).frame["target_id"].tolist()
    assert set(again) <= set(late)
    # Once April's batch is issued, before its deadline: overdue for March's batch only.
    between = dt.date(2024, 4, 10)
    assert between < res.due_on
    late = list_targets(store, overdue_on=between).frame["target_id"].tolist()
    late_in_march = list_targets(store, batch="2024-03", overdue_on=between).frame
    assert not set(again) & set(late)
    assert set(again) <= set(late_in_march["target_id"])
    # A target issued once keeps its own batch's deadline.
    once = [t for t in march_due.index if t not in again]
    assert all(every.loc[t, "due_on"] == march_due[t] for t in once)


def test_an_older_batch_imported_late_does_not_bring_a_deadline_forward(sample_store):
    """The district's April file first, its March file after: targets in both keep April's
    (the later) deadline wherever batches are not told apart."""
    april = import_batch(
        sample_store, APRIL, batch_id="2024-04", actor="pytest", issued_on=dt.date(2024, 4, 2)
    )
    march = import_batch(
        sample_store, MARCH, batch_id="2024-03", actor="pytest", issued_on=dt.date(2024, 3, 5)
    )
    assert march.reissued >= 1 and march.due_on < april.due_on
    in_march, both, every = _issued_again(sample_store, "2024-03")
    for tid in both:
        assert in_march.loc[tid, "due_on"] == march.due_on
        assert every.loc[tid, "due_on"] == april.due_on
        assert every.loc[tid, "batch"] == "2024-04"
        # one target asked for by key says the same
        assert target_detail(sample_store, tid).record["due_on"] == april.due_on


def _row_of(path, target_id):
    """The row of ``target_id`` in a dispatch workbook's first sheet, by its header."""
    import openpyxl

    sheet = openpyxl.load_workbook(path).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    head = next(i for i, r in enumerate(rows) if "靶标编号" in r)
    found = next(r for r in rows[head + 1 :] if target_id in r)
    names = [str(h).replace("\n", "") for h in rows[head]]  # heads wrap where they are long
    return dict(zip(names, found, strict=False))


def test_a_batch_shows_a_target_it_issued_again_as_it_gave_it(reissued, tmp_path):
    """The later batch's lists read as the district sent that batch (its area, image date and
    columns); the first batch's, and the target itself, keep the first batch's."""
    store, _ = reissued
    table = pd.read_csv(APRIL, encoding="gbk", dtype=str).set_index("靶标编号")
    again = [t for t in table.index if t.startswith("TL2024-03")]
    march = list_targets(store, batch="2024-03").frame.set_index("target_id")
    april = list_targets(store, batch="2024-04").frame.set_index("target_id")
    every = list_targets(store).frame.set_index("target_id")
    res = dispatch_batch(store, batch="2024-04", out=tmp_path / "april", actor="pytest")
    books = {v.village: v.xlsx for v in res.villages}
    for tid in again:
        given = table.loc[tid]
        assert april.loc[tid, "area_m2"] == float(given["面积（平方米）"])
        assert april.loc[tid, "image_date"] == dt.date.fromisoformat(given["影像时间"])
        assert april.loc[tid, "attributes"]["备注"] == given["备注"]
        assert march.loc[tid, "area_m2"] != april.loc[tid, "area_m2"]
        for view in (march, every):  # the first batch's, which the target keeps
            assert view.loc[tid, "area_m2"] == march.loc[tid, "area_m2"]
            assert view.loc[tid, "image_date"] == march.loc[tid, "image_date"]
        row = _row_of(books[april.loc[tid, "village"]], tid)
        assert row["图斑面积（平方米）"] == float(given["面积（平方米）"])
        assert str(row["影像时间"])[:10] == given["影像时间"]


def test_a_reissue_recorded_before_its_batchs_values_were_kept_shows_the_targets_own(
    sample_store, monkeypatch
):
    """A ``reissued`` event of an older version names its batch alone (no due date, no area):
    that batch's view shows the target's own area and image date, as its lists did then, not
    blanks."""
    from geoverify.workflows import batches

    import_batch(
        sample_store, MARCH, batch_id="2024-03", actor="pytest", issued_on=dt.date(2024, 3, 5)
    )
    monkeypatch.setattr(  # as the events were written before they kept the batch's values
        batches,
        "_reissue_payloads",
        lambda again, batch_id, due_on: [{"batch": batch_id}] * len(again),
    )
    import_batch(
        sample_store, APRIL, batch_id="2024-04", actor="pytest", issued_on=dt.date(2024, 4, 2)
    )
    table = pd.read_csv(APRIL, encoding="gbk", dtype=str).set_index("靶标编号")
    april = list_targets(sample_store, batch="2024-04").frame.set_index("target_id")
    march = list_targets(sample_store, batch="2024-03").frame.set_index("target_id")
    again = april.index[april["reissue_of"].notna()].tolist()
    assert again
    for tid in again:
        assert april.loc[tid, "area_m2"] == march.loc[tid, "area_m2"] > 0
        assert april.loc[tid, "image_date"] == march.loc[tid, "image_date"] is not None
        assert april.loc[tid, "area_m2"] != float(table.loc[tid, "面积（平方米）"])  # unknown
