"""Builds as jobs, published feeds with ETag/304, journeys on the published timetable.

Tier 2: the corridor rides of :mod:`tests.build_synth` (route 7 both ways, a stop every
400 m) are uploaded as CSV, built by a background job and routed on.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator

import pandas as pd
import pytest
import shapely.geometry
from sqlalchemy import create_engine, text

from api.jobs import run_build
from api.store import builds as build_repo
from api.store import feeds as feed_repo
from api.store.db import open_store
from tests.api_helpers import TZ, Keys, TestClient, corridor_csv, make_keys, service, wait_build

Built = tuple[TestClient, Keys, dict[str, object], str]


pytestmark = pytest.mark.slow  # one build per backend (~5 s), shared by the module's tests


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_store_url(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As ``store_url``, but one store for the whole module (the tests run in order)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api-builds') / 'store.sqlite'}"
        return
    url = request.getfixturevalue("postgres_server_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture(scope="module")
def built(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    store_url = module_store_url
    keys = make_keys(store_url)
    with service(store_url, tmp_path_factory.mktemp("data"), timezone=TZ) as client:
        data, _ = corridor_csv(4)
        assert client.post("/uploads", files={"file": ("rides.csv", data)},
                           headers=keys.field).status_code == 201
        started = client.post("/builds", json={"agency_name": "Route 7 SACCO"},
                              headers=keys.admin)
        assert started.status_code == 202, started.text
        assert started.json()["status"] in ("queued", "running")
        build = wait_build(client, started.json()["id"], keys.admin)
        yield client, keys, build, store_url


def _stops(client: TestClient) -> pd.DataFrame:
    zipped = zipfile.ZipFile(io.BytesIO(client.get("/feeds/latest.zip").content))
    return pd.read_csv(zipped.open("stops.txt"), dtype={"stop_id": str})


def test_01_a_build_runs_as_a_job_and_publishes_version_1(built: Built) -> None:
    client, _, build, _ = built
    assert build["status"] == "succeeded", build["error"]
    assert build["progress"] == 1.0
    assert build["feed_version"] == 1
    assert build["upload_ids"] == [1]
    assert build["n_fixes"] == corridor_csv(4)[1]
    assert build["report"]
    assert not [f for f in build["findings"] if f["severity"] == "error"]  # type: ignore[union-attr]
    feeds = client.get("/feeds").json()
    assert [f["version"] for f in feeds] == [1]
    assert feeds[0]["build_id"] == build["id"]
    stops = _stops(client)
    # the corridor has 10 stops per side of the road, each side its own stop
    assert len(stops) == 20


def test_01b_device_ids_in_the_report_reach_admins_only(built: Built) -> None:
    client, keys, build, _ = built
    as_admin = client.get(f"/builds/{build['id']}", headers=keys.admin).text
    assert "phone-0" in as_admin
    for who in (keys.planner,):
        shown = client.get(f"/builds/{build['id']}", headers=who)
        assert shown.status_code == 200
        assert "phone-" not in shown.text
        assert "phone-" not in client.get("/builds", headers=who).text
        patterns = [p for r in shown.json()["report"]["routes"] for p in r["patterns"]]
        assert all(isinstance(p["devices"], int) for p in patterns)
        assert max(p["devices"] for p in patterns) == 4  # four phones rode each direction


def test_02_feed_download_has_etag_and_last_modified_and_answers_304(built: Built) -> None:
    client, _, _, _ = built
    first = client.get("/feeds/latest.zip")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/zip"
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    same = client.get("/feeds/1.zip")
    assert same.content == first.content
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get("/feeds/latest.zip", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/1.zip", headers={"If-None-Match": f'W/{etag}, "x"'}
                      ).status_code == 304
    assert client.get("/feeds/latest.zip", headers={"If-None-Match": '"other"'}
                      ).status_code == 200
    assert client.get("/feeds/latest.zip", headers={"If-Modified-Since": modified}
                      ).status_code == 304
    earlier = email.utils.formatdate(email.utils.parsedate_to_datetime(modified).timestamp()
                                     - 60, usegmt=True)
    assert client.get("/feeds/latest.zip", headers={"If-Modified-Since": earlier}
                      ).status_code == 200
    assert client.get("/feeds/latest.zip", headers={"If-Modified-Since": "garbage"}
                      ).status_code == 200


def test_03_journey_along_the_corridor_rides_route_7(built: Built) -> None:
    client, keys, _, _ = built
    stops = _stops(client).sort_values("stop_lon")
    a, b = stops.iloc[0], stops.iloc[-1]
    params = {"from": f"{a.stop_lat},{a.stop_lon}", "to": f"{b.stop_lat},{b.stop_lon}",
              "depart": "08:00", "window": "30"}
    response = client.get("/journeys", params=params, headers=keys.planner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["feed_version"] == 1
    assert body["service_date"] == "2024-01-02"
    rides = [leg for leg in body["itinerary"] if leg["kind"] == "ride"]
    assert rides
    assert {leg["route"] for leg in rides} <= {"7"}
    t = body["travel_time_s"]
    assert t["p10"] <= t["p50"] <= t["p90"] <= body["walk_only_s"]
    assert body["samples"] == 30 * body["draws"]


def test_03b_the_service_answers_as_plan_journey_with_its_kept_draws(built: Built) -> None:
    """The service keeps each day's Monte Carlo draws (read-only) instead of drawing them
    per query; the answer is the one a fresh :func:`plan_journey` gives."""
    from api.schemas import JourneyOut
    from transit.journeys import plan_journey

    client, keys, _, _ = built
    stops = _stops(client).sort_values("stop_lon")
    a, b = stops.iloc[1], stops.iloc[-2]
    params = {"from": f"{a.stop_lat},{a.stop_lon}", "to": f"{b.stop_lat},{b.stop_lon}",
              "depart": "07:40", "window": "20", "draws": "3"}
    body = client.get("/journeys", params=params, headers=keys.planner).json()
    loaded = client.app.state.services.holder.current  # type: ignore[attr-defined]
    tt = loaded.timetable()
    fresh = plan_journey(tt, (a.stop_lat, a.stop_lon), (b.stop_lat, b.stop_lon), 7 * 3600 + 2400,
                         window_s=1200, draws=3, seed=0)
    expect = JourneyOut(feed_version=body["feed_version"], service_date=tt.service_date,
                        **fresh.as_dict())  # type: ignore[arg-type]
    assert body == json.loads(expect.model_dump_json())
    kept = loaded.offsets(tt, 3)
    assert kept is loaded.offsets(tt, 3)
    assert not kept.flags.writeable


@pytest.mark.parametrize(("params", "where"), [
    ({"from": "abc", "to": "0,0"}, "from"),
    ({"from": "-1.2864,36.8172", "to": "91,0"}, "to"),
    ({"from": "-1.2864,36.8172", "to": "nan,1"}, "to"),
    ({"from": "-1.2864,36.8172", "to": "36.8172,-1.2864"}, None),  # swapped: outside
    ({"from": "-1.2864,36.8172", "to": "-1.2864,36.8172", "depart": "7h30"}, "depart"),
    ({"from": "-1.2864,36.8172", "to": "-1.2864,36.8172", "depart": "48:00"}, "depart"),
    ({"from": "-1.2864,36.8172", "to": "-1.2864,36.8172", "date": "1999-01-01"}, "date"),
    ({"from": "-1.2864,36.8172", "to": "-1.2864,36.8172", "window": "600"}, "window"),
])
def test_04_bad_journey_queries_are_400(built: Built, params: dict[str, str],
                                        where: str | None) -> None:
    client, keys, _, _ = built
    response = client.get("/journeys", params=params, headers=keys.planner)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if where is not None:
        assert response.json()["where"] == where


def test_05_a_failed_build_never_replaces_the_published_feed(built: Built) -> None:
    client, keys, _, url = built
    before = client.get("/feeds/latest.zip").content
    engine = open_store(url)
    try:
        with engine.begin() as conn:  # options the API would refuse: the job must fail
            bad = build_repo.create_build(conn, {"timezone": "Mars/Olympus"}, None)
        record = run_build(engine, bad)
        with engine.connect() as conn:
            latest = feed_repo.latest_feed(conn)
    finally:
        engine.dispose()
    assert record.status == "failed"
    assert record.error
    assert record.feed_version is None
    assert latest is not None
    assert latest.version == 1
    assert client.get("/feeds/latest.zip").content == before
    assert client.get(f"/builds/{bad}", headers=keys.planner).json()["status"] == "failed"


def test_06_publishing_a_feed_swaps_the_timetable_queries_use(built: Built) -> None:
    client, keys, _, _ = built
    data = client.get("/feeds/latest.zip").content
    # the same feed again is not a new version
    again = client.post("/feeds", files={"file": ("same.zip", data)}, headers=keys.admin)
    assert again.status_code == 200
    assert again.json()["version"] == 1
    # a feed whose route 7 is renamed: a new version, and journeys ride the new name
    zin = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for name in zin.namelist():
            body = zin.read(name)
            if name == "routes.txt":
                routes = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
                routes["route_short_name"] = "7X"
                body = routes.to_csv(index=False).encode()
            zout.writestr(name, body)
    published = client.post("/feeds", files={"file": ("renamed.zip", buf.getvalue())},
                            headers=keys.admin)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2
    stops = _stops(client).sort_values("stop_lon")
    a, b = stops.iloc[0], stops.iloc[-1]
    body = client.get("/journeys", headers=keys.planner, params={
        "from": f"{a.stop_lat},{a.stop_lon}", "to": f"{b.stop_lat},{b.stop_lon}",
        "depart": "08:00"}).json()
    assert body["feed_version"] == 2
    assert {leg["route"] for leg in body["itinerary"] if leg["kind"] == "ride"} == {"7X"}
    bad = client.post("/feeds", files={"file": ("x.zip", b"PK not a zip")}, headers=keys.admin)
    assert bad.status_code == 422
    assert client.get("/feeds", headers=keys.field).json()[0]["version"] == 2


def test_07_isochrones_grow_with_the_threshold(built: Built) -> None:
    client, keys, _, _ = built
    stops = _stops(client).sort_values("stop_lon")
    a = stops.iloc[0]
    response = client.get("/isochrones", headers=keys.planner, params={
        "from": f"{a.stop_lat},{a.stop_lon}", "depart": "08:00", "minutes": "20,5,10"})
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert [f["properties"]["minutes"] for f in features] == [5, 10, 20]
    areas = [shapely.geometry.shape(f["geometry"]).area for f in features]
    assert areas[0] < areas[1] < areas[2]
    for bad in ({"minutes": "0"}, {"minutes": "x"}, {"from": "0,0"}):
        params = {"from": f"{a.stop_lat},{a.stop_lon}", **bad}
        assert client.get("/isochrones", headers=keys.planner,
                          params=params).status_code == 400
