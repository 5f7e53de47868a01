"""Districts, accessibility and equity through the service (tier 2: the synthetic line of
:mod:`tests.access_synth`, two districts over its ends and one off it to the north).

The run is a job; its measures must be those ``transit access`` computes for the same
inputs, and they follow the geometry: the hospital sits at the line's east end.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import mapping

from api.access_pipeline import AccessRequest, run_access
from api.store.db import open_store
from api.store.feeds import publish_feed
from gtfs_out.read import read_feed
from tests import access_synth as synth
from tests.api_helpers import Keys, TestClient, make_keys, service
from transit.access import AccessSpec
from transit.equity import district_columns

pytestmark = pytest.mark.slow

Ready = tuple[TestClient, Keys, Path]


def _feed_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in synth.feed_text().items():
            zf.writestr(f"{name}.txt", text + "\n")
    return buf.getvalue()


def _districts() -> bytes:
    features = [{"type": "Feature", "properties": {"ward": n, "pop": float(p)},
                 "geometry": mapping(g)}
                for n, g, p in zip(synth.NAMES, synth.DISTRICTS, synth.POPULATION,
                                   strict=True)]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _clinics() -> bytes:
    rows = ["name,kind,lat,lon"]
    rows += [f"c{i},CLINIC,{la},{lo}"
             for i, (la, lo) in enumerate(zip(synth.CLINIC_LAT, synth.CLINIC_LON, strict=True))]
    rows.append(f"h0,HOSPITAL,{synth.HOSPITAL_LAT[0]},{synth.HOSPITAL_LON[0]}")
    return ("\n".join(rows) + "\n").encode()


FORM = {"population_field": "pop", "name_field": "ward", "select": "hospital=kind:hospital",
        "depart": "07:00", "window": "10", "draws": "2", "minutes": "10,30",
        "spacing_m": "400"}


@pytest.fixture(scope="module")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ready]:
    folder = tmp_path_factory.mktemp("access")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    keys = make_keys(url)
    # published through the repository: the synthetic line lies at (0, 0), which the
    # validator (rightly, for real feeds) refuses on POST /feeds
    engine = open_store(url)
    with engine.begin() as conn:
        publish_feed(conn, _feed_zip(), source="line.zip", build_id=None, feed_version=None)
    engine.dispose()
    with service(url, folder / "data") as client:
        yield client, keys, folder


def _wait(client: TestClient, run_id: int, keys: Keys) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/districts/{run_id}", headers=keys.planner).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    pytest.fail("the accessibility run did not finish")


def test_01_districts_upload_runs_a_job_with_the_cli_measures(ready: Ready) -> None:
    client, keys, folder = ready
    files = [("districts", ("wards.geojson", _districts())),
             ("opportunities", ("clinics.csv", _clinics()))]
    started = client.post("/districts", data=FORM, files=files, headers=keys.planner)
    assert started.status_code == 202, started.text
    run = _wait(client, started.json()["id"], keys)
    assert run["status"] == "succeeded", run["error"]
    assert run["feed_version"] == 1
    body = client.get("/accessibility", params={"districts": run["id"]},
                      headers=keys.planner).json()
    rows = {d["name"]: d for d in body["districts"]}
    assert list(rows) == list(synth.NAMES)
    assert rows["East"]["population"] == pytest.approx(3000)
    # the hospital is at the east end: nearer from East than from West, by transit
    assert rows["East"]["nearest_hospital_min"] < rows["West"]["nearest_hospital_min"]
    assert rows["North"]["gain_nearest_hospital_min"] == pytest.approx(0)  # walking only
    # the same inputs through `transit access`'s pipeline give the same numbers
    (folder / "wards.geojson").write_bytes(_districts())
    (folder / "clinics.csv").write_bytes(_clinics())
    zip_path = folder / "line.zip"
    zip_path.write_bytes(_feed_zip())
    direct = run_access(AccessRequest(
        feed=zip_path, districts=folder / "wards.geojson", population_field="pop",
        opportunities=(folder / "clinics.csv",), name_field="ward",
        selects=("hospital=kind:hospital",), spacing_m=400, workers=1,
        service_date=min(d for d in _days(zip_path) if d.weekday() < 5),
        spec=AccessSpec(depart_s=7 * 3600, window_s=600, draws=2, thresholds_s=(600, 1800))))
    for column, values in district_columns(direct.district_measures).items():
        for i, name in enumerate(synth.NAMES):
            expected = float(values[i])
            got = rows[name][column]
            assert (got is None and expected != expected) or got == pytest.approx(
                expected, abs=1e-3), (column, name)
    geo = client.get("/accessibility", params={"districts": run["id"], "format": "geojson"},
                     headers=keys.planner).json()
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == 3
    equity = client.get("/equity", headers=keys.planner).json()
    assert equity["run"] == run["id"]
    assert equity["population_beyond_60min"]["hospital"]["transit"] >= 0


def _days(path: Path) -> list[Any]:
    from transit.gtfs_time import service_dates

    return service_dates(read_feed(path))


def test_02_bad_district_uploads_are_4xx(ready: Ready) -> None:
    client, keys, _ = ready
    good = [("districts", ("w.geojson", _districts())),
            ("opportunities", ("clinics.csv", _clinics()))]
    for form, files, status in (
        ({**FORM, "population_field": "people"}, good, 400),
        ({**FORM, "minutes": "30,x"}, good, 400),
        ({**FORM, "depart": "7"}, good, 400),
        (FORM, [("districts", ("w.geojson", b"{not json")), good[1]], 422),
        (FORM, [("districts", ("w.geojson", b"\xff\xfe")), good[1]], 422),
        (FORM, [good[0]], 422),
    ):
        r = client.post("/districts", data=form, files=files, headers=keys.planner)
        assert r.status_code == status, (form, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert client.post("/districts", data=FORM, files=good,
                       headers=keys.field).status_code == 403
    assert client.get("/accessibility", params={"districts": 999},
                      headers=keys.planner).status_code == 404
