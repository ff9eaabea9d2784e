"""Batch import through the pages: targets outside the town named (far ones warned of) before
the import and on the batch's page; a second 确认导入 of one preview lands on its batch."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from geoverify.assign import assign_targets
from geoverify.geo import metric_crs
from geoverify.outside import FAR_OUTSIDE_KM
from geoverify.store import batches as store_batches
from geoverify.store import repo
from geoverify.workflows.targets import list_targets
from tests.conftest import snapshot
from tests.web.conftest import Client, WebEnv, browser_login, login
from tests.web.live import ARTIFACTS, serve, watch

INSIDE = (106.0612129, 29.7174347)  # in 永安村 (the sample's TL2024-03-003)
NEAR_OUT = (106.0232911, 29.6537572)  # about 2 km outside the town: a rough boundary
BEIJING = (116.4, 39.9)  # a typo: some 1,500 km away


def _csv(rows: list[tuple[str, tuple[float, float]]]) -> bytes:
    lines = ["靶标编号,经度,纬度", *(f"{tid},{x},{y}" for tid, (x, y) in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _preview(office: Client, batch: str, name: str, data: bytes, **fields: str) -> Any:
    page = office.post(
        "/batches/preview",
        data={"batch": batch, "issued": "2024-05-01", **fields},
        files={"file": (name, data, "text/csv")},
    )
    assert page.status_code == 200, page.text[-2000:]
    return page


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found is not None, html[-1500:]
    return found.group(1)


def _table(html: str, testid: str) -> list[list[str]]:
    """The body rows of the table ``testid`` as cell texts (tags dropped)."""
    found = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S)
    assert found is not None, html[-2000:]
    body = found.group(1).split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _expected(web_env: WebEnv, points: list[tuple[float, float]]) -> list[tuple[str, str]]:
    """Each point's distance to the town (km, as the assignment measures it) and its nearest
    village (measured here on its own, in the town's metric CRS)."""
    with web_env.store.connect() as conn:
        villages = repo.load_villages(conn)
        groups = repo.load_groups(conn)
    metric = metric_crs(float(villages.geometry.union_all().centroid.x))
    xs, ys = zip(*points, strict=True)
    frame = gpd.GeoDataFrame(geometry=shapely.points(xs, ys), crs=villages.crs)
    assigned = assign_targets(frame, villages, groups, metric=metric)
    assert list(assigned["assignment"]) == ["outside"] * len(points)
    areas = villages.to_crs(metric)
    out = []
    for point, km in zip(
        frame.to_crs(metric).geometry, assigned["distance_m"] / 1000.0, strict=True
    ):
        nearest = areas.iloc[int(np.argmin(areas.distance(point).to_numpy()))]["name"]
        out.append((f"{km:.1f}", str(nearest)))
    return out


def test_preview_and_batch_page_name_the_targets_outside_the_town(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    data = _csv([("OT-1", INSIDE), ("OT-2", BEIJING), ("OT-3", NEAR_OUT)])
    before = snapshot(web_env.store)
    page = _preview(office, "outside-1", "镇外.csv", data)
    assert snapshot(web_env.store) == before  # a preview writes nothing
    (far_km, far_village), (near_km, near_village) = _expected(web_env, [BEIJING, NEAR_OUT])
    assert float(far_km) > FAR_OUTSIDE_KM > float(near_km)
    # Far ones first, then by row: the row, id, coordinates, distance and nearest village.
    rows = _table(page.text, "preview-outside")
    assert rows == [
        ["3", "OT-2", "116.400000", "39.900000", far_km, far_village, "远离本镇"],
        ["4", "OT-3", f"{NEAR_OUT[0]:.6f}", f"{NEAR_OUT[1]:.6f}", near_km, near_village, ""],
    ]
    assert "镇外的靶标（2 个）" in page.text
    warning = re.search(r'data-testid="outside-far">(.*?)</p>', page.text, re.S)
    assert warning is not None and "1 个距本镇超过 10 公里" in warning.group(1)
    # Not refused: the import goes ahead once the office says it has looked.
    assert 'name="outside_checked"' in page.text and "required" in page.text
    # The API's preview says the same, from the same result.
    api = office.post(
        "/api/v1/batches/preview",
        data={"batch": "outside-1", "issued": "2024-05-01"},
        files={"file": ("镇外.csv", data, "text/csv")},
    )
    assert api.status_code == 200, api.text
    doc = api.json()["outside_town"]
    assert (doc["count"], doc["far"], doc["swapped"], doc["unlisted"]) == (2, 1, 0, 0)
    assert [(t["row"], t["target_id"], t["far"]) for t in doc["targets"]] == [
        (3, "OT-2", True),
        (4, "OT-3", False),
    ]
    assert [f"{t['distance_km']:.1f}" for t in doc["targets"]] == [far_km, near_km]

    res = office.post("/batches/commit", data={"token": _token(page.text), "outside_checked": "1"})
    assert res.status_code == 303, res.text
    assert res.headers["location"] == "/batches/outside-1?imported=1"
    shown = office.get(res.headers["location"]).text
    assert _table(shown, "batch-outside") == rows
    assert 'data-testid="outside-far"' in shown
    with web_env.store.connect() as conn:
        stored = repo.load_targets(conn, batch="outside-1")
    assert sorted(stored.loc[stored["assignment"] == "outside", "target_id"]) == ["OT-2", "OT-3"]


def test_the_batch_page_lists_what_its_import_listed_and_older_batches_are_measured_again(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """The import keeps its list of targets outside the town with its summary, so the batch
    page reads it instead of measuring every such target again on each view; a batch
    imported before imports kept it is measured again, to the same list."""
    office = clients["office1"]
    data = _csv([("OK-1", INSIDE), ("OK-2", BEIJING), ("OK-3", NEAR_OUT)])
    page = _preview(office, "outside-kept", "镇外.csv", data)
    res = office.post("/batches/commit", data={"token": _token(page.text), "outside_checked": "1"})
    assert res.status_code == 303, res.text
    listed = _table(page.text, "preview-outside")
    with web_env.store.connect() as conn:
        batch = store_batches.get_batch(conn, "outside-kept")
        summary = store_batches.import_summary(conn, int(batch["import_id"]))
    kept = summary["outside_town"]
    assert [(t["row"], t["target_id"]) for t in kept["targets"]] == [(3, "OK-2"), (4, "OK-3")]
    assert (kept["count"], kept["far"]) == (2, 1)
    assert _table(office.get("/batches/outside-kept").text, "batch-outside") == listed
    # An import from before imports kept the list: its summary has none.
    imports = sa.table("imports", sa.column("id"), sa.column("summary", sa.JSON))
    older = {k: v for k, v in summary.items() if k != "outside_town"}
    with web_env.store.begin() as conn:
        conn.execute(
            imports.update().where(imports.c.id == batch["import_id"]).values(summary=older)
        )
    assert _table(office.get("/batches/outside-kept").text, "batch-outside") == listed


def test_a_target_just_outside_is_listed_without_the_far_warning(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    page = _preview(
        clients["office1"], "outside-2", "近.csv", _csv([("NO-1", INSIDE), ("NO-2", NEAR_OUT)])
    )
    assert [r[:2] for r in _table(page.text, "preview-outside")] == [["3", "NO-2"]]
    assert 'data-testid="outside-far"' not in page.text
    assert 'name="outside_checked"' not in page.text


def test_swapped_projected_coordinates_are_named(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    """X and Y of one row swapped in a file of projected coordinates: the reader keeps it
    (it lands in China's bounds, thousands of km away); swapped back it is in the town."""
    to_metric = Transformer.from_crs(4490, 4544, always_xy=True)
    x, y = to_metric.transform(*INSIDE)
    text = f"编号,X,Y\nSW-1,{x:.3f},{y:.3f}\nSW-2,{y:.3f},{x:.3f}\n"
    page = _preview(clients["office1"], "swap-1", "投影.csv", text.encode(), crs="EPSG:4544")
    rows = _table(page.text, "preview-outside")
    assert [r[:2] for r in rows] == [["3", "SW-2"]]
    assert rows[0][-1] == "远离本镇 经纬度疑似颠倒（交换后在本镇内）"
    warning = re.search(r'data-testid="outside-far">(.*?)</p>', page.text, re.S)
    assert warning is not None and "1 个把经纬度交换后正落在本镇内" in warning.group(1)


def test_confirming_twice_imports_once_and_lands_on_the_batch(
    web_env: WebEnv, clients: dict[str | None, Client]
) -> None:
    office = clients["office1"]
    data = _csv([("TW-1", INSIDE), ("TW-2", (106.0560983, 29.6728448))])
    token = _token(_preview(office, "twice-1", "两次.csv", data).text)
    # A second preview of the same file, confirmed after the first: the file is imported.
    other = _token(_preview(office, "twice-1", "两次.csv", data).text)
    first = office.post("/batches/commit", data={"token": token})
    assert first.status_code == 303
    assert first.headers["location"] == "/batches/twice-1?imported=1"
    after = snapshot(web_env.store)
    for again_token in (token, token, other):  # a double click, back and again, the other tab
        again = office.post("/batches/commit", data={"token": again_token})
        assert again.status_code == 303, again.text[-1500:]
        assert again.headers["location"] == "/batches/twice-1?already=1"
        assert snapshot(web_env.store) == after
    page = office.get(again.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="already-imported"' in page.text
    assert "没有重复导入" in page.text and "预览已失效" not in page.text
    with web_env.store.connect() as conn:
        batches = repo.t.batches
        assert conn.execute(batches.select().where(batches.c.id == "twice-1")).all() != []
        stored = repo.load_targets(conn, batch="twice-1")
    assert sorted(stored["target_id"]) == ["TW-1", "TW-2"]
    # A preview nobody made is still unknown.
    unknown = office.post("/batches/commit", data={"token": "x" * 43})
    assert unknown.status_code == 422 and "预览已失效" in unknown.text


@pytest.mark.browser
def test_far_targets_must_be_checked_and_a_double_click_imports_once(
    web_env: WebEnv, browser: Any, tmp_path: Any
) -> None:
    """In Chromium: the confirm waits for the box that says the far targets were looked at;
    a double click on 确认导入 imports once and shows the batch with its outside targets."""
    path = tmp_path / "浏览器.csv"
    path.write_bytes(_csv([("BR-1", INSIDE), ("BR-2", BEIJING)]))
    with serve(web_env.app()) as base:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        seen = watch(page, base)
        browser_login(page, base, "office1")
        page.goto(f"{base}/batches")
        page.set_input_files("input[name=file]", str(path))
        page.fill("input[name=batch]", "browser-1")
        page.click("text=上传并预览")
        page.wait_for_url(f"{base}/batches/preview")
        assert page.locator("[data-testid=outside-far]").is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "batch_preview_outside_1400.png"), full_page=True)
        page.set_viewport_size({"width": 412, "height": 915})
        page.screenshot(path=str(ARTIFACTS / "batch_preview_outside_412.png"), full_page=True)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 412
        page.set_viewport_size({"width": 1400, "height": 900})
        before = snapshot(web_env.store)
        page.click("text=确认导入")  # the box is not ticked: nothing is sent
        assert page.url == f"{base}/batches/preview"
        assert page.eval_on_selector("input[name=outside_checked]", "e => !e.validity.valid")
        assert snapshot(web_env.store) == before
        page.check("input[name=outside_checked]")
        page.dblclick("text=确认导入")
        page.wait_for_url(re.compile(rf"{re.escape(base)}/batches/browser-1\?"))
        page.wait_for_load_state()
        main = page.inner_text("main")
        assert "预览已失效" not in main
        assert page.locator("[data-testid=batch-outside] tbody tr").count() == 1
        assert "BR-2" in page.inner_text("[data-testid=batch-outside]")
        assert not seen.console_errors, seen.console_errors
        ctx.close()
    with web_env.store.connect() as conn:
        stored = repo.load_targets(conn, batch="browser-1")
        events = repo.load_events(conn, batch_id="browser-1")
    assert sorted(stored["target_id"]) == ["BR-1", "BR-2"]
    assert int((events["kind"] == "batch_imported").sum()) == 1
    assert sorted(stored["assignment"]) == ["inside", "outside"]


def test_a_file_whose_targets_were_all_issued_before_is_called_so(fresh_env: WebEnv) -> None:
    """Every target of the file already issued, nothing new: perhaps a batch imported before,
    given again in another format. The preview says so and asks to confirm; a file with new
    targets only says where its re-issued ones were issued."""
    from geoverify.workflows import import_batch, sample_path

    office = login(fresh_env.app(), "office1")
    store = fresh_env.store
    march = sample_path("samples", "district_batch_2024-03.geojson")
    april_csv = sample_path("samples", "district_batch_2024-04.csv")
    april_xlsx = sample_path("samples", "district_batch_2024-04.xlsx")
    import_batch(store, march, batch_id="2024-03", issued_on=dt.date(2024, 3, 5))
    march_ids = set(list_targets(store, batch="2024-03").frame["target_id"])
    april_ids = pd.read_csv(april_csv, encoding="gbk", dtype=str)["靶标编号"].tolist()
    again = [t for t in april_ids if t in march_ids]
    assert again and len(again) < len(april_ids)

    page = _preview(office, "2024-04", "四月.csv", april_csv.read_bytes())
    assert 'data-testid="only-reissued"' not in page.text
    assert 'name="reissue_checked"' not in page.text
    said = re.search(r'data-testid="issued-before">(.*?)</p>', page.text, re.S)
    assert (
        said is not None
        and said.group(1) == f"重复下发的靶标此前下发于：批次 2024-03 中 {len(again)} 个。"
    )

    import_batch(store, april_csv, batch_id="2024-04", issued_on=dt.date(2024, 4, 2))
    before = snapshot(store)
    page = office.post(
        "/batches/preview",
        data={"batch": "2024-04x", "issued": "2024-04-02"},
        files={"file": ("四月.xlsx", april_xlsx.read_bytes(), "application/octet-stream")},
    )
    assert page.status_code == 200, page.text[-2000:]
    assert snapshot(store) == before
    alert = re.search(r'data-testid="only-reissued">(.*?)</p>', page.text, re.S)
    assert alert is not None
    n = len(april_ids)  # April issued them all: its new ones, and March's again
    assert alert.group(1).startswith(
        f"本文件的 {n} 个靶标都已下发过（批次 2024-04 中 {n} 个；"
        f"批次 2024-03 中 {len(again)} 个），没有新靶标。"
    )
    assert re.search(
        r'<input type="checkbox" name="reissue_checked" value="1" required>', page.text
    )
    api = office.post(
        "/api/v1/batches/preview",
        data={"batch": "2024-04x", "issued": "2024-04-02"},
        files={"file": ("四月.xlsx", april_xlsx.read_bytes(), "application/octet-stream")},
    )
    assert api.status_code == 200, api.text
    assert api.json()["issued_before"] == {"2024-04": n, "2024-03": len(again)}


def test_the_preview_tells_the_tables_footer_from_bad_rows(
    web_env: WebEnv, clients: dict[str | None, Client], tmp_path: Any
) -> None:
    import openpyxl

    path = tmp_path / "五月.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "靶标编号", "经度", "纬度"])
    ws.append([1, "FT-1", *INSIDE])
    ws.append(["合计", "1个", None, None])
    ws.append(["填表人：张三　　审核人：李四"])
    wb.save(path)
    before = snapshot(web_env.store)
    page = clients["office1"].post(
        "/batches/preview",
        data={"batch": "footer-1", "issued": "2024-05-01"},
        files={"file": ("五月.xlsx", path.read_bytes(), "application/octet-stream")},
    )
    assert page.status_code == 200, page.text[-2000:]
    assert snapshot(web_env.store) == before
    said = re.search(r'data-testid="footer-rows">(.*?)</p>', page.text, re.S)
    assert said is not None
    assert said.group(1) == "表格下方第 3、4 行是合计或签名等，不是靶标，未导入。"
    assert re.search(r'data-testid="rejected-count">0 行', page.text)
    assert re.search(r'data-testid="importable">1 个', page.text)
