"""GeoJSON reader: hand-written fixtures whose answers are arithmetic, the stop rule, bad
input, and real data (a Nairobi POI layer; an Abidjan trace in the togeojson layout)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gps_ingest.geojson import read_geojson, sniff_geojson
from gps_ingest.timeparse import parse_instants
from transit.errors import FormatError, InputError
from transit.traces import Reason, TraceSet

GEOJSON_DIR = Path(__file__).parent / "fixtures" / "geojson"
T0_NBO = 1_709_532_000_000  # 2024-03-04T06:00:00Z
T0_ACCRA = 1_432_105_200_000  # 2015-05-20T07:00:00Z
T0_ABJ = 1_573_027_200_000  # 2019-11-06T08:00:00Z


def read_fixture(name: str, **kwargs: str) -> TraceSet:
    with (GEOJSON_DIR / name).open("rb") as f:
        return read_geojson(f, source=name, **kwargs)


def read_obj(doc: object, source: str = "inline.geojson", **kwargs: str) -> TraceSet:
    return read_geojson(io.BytesIO(json.dumps(doc).encode()), source=source, **kwargs)


def point(lon: float, lat: float, **props: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props}


def collection(*features: object) -> dict[str, object]:
    return {"type": "FeatureCollection", "features": list(features)}


def assert_consistent(ts: TraceSet) -> None:
    fx = ts.fixes
    assert np.all(fx.reason == 0)
    if len(fx):
        assert fx.trace_index.min() >= 0
        assert fx.trace_index.max() < len(ts.traces)
    keys = [t.trace_key for t in ts.traces]
    assert len(set(keys)) == len(keys)
    assert all(s.trace_key in keys for s in ts.field_stops)


# --- 1. Point features ---------------------------------------------------------------------
def test_01_points_grouped_by_trace_id() -> None:
    ts = read_fixture("points.geojson")
    assert_consistent(ts)
    assert [t.trace_key for t in ts.traces] == ["A", "B"]
    a, b = ts.traces
    assert (a.device_id, a.route_name, a.vehicle_type) == ("phone-7", "46", None)
    assert (b.device_id, b.vehicle_type) == ("356938035643809", "matatu")  # IMEI, any case
    fx = ts.fixes
    np.testing.assert_array_equal(fx.trace_index, [0, 0, 1, 0, 1, 0])
    # ISO Z; ISO Z; epoch s; ISO +03:00; epoch ms; ISO Z
    np.testing.assert_array_equal(
        fx.time_ms, T0_NBO + 1000 * np.array([0, 10, 0, 20, 10, 60]))
    np.testing.assert_allclose(fx.lon[:2], [36.8219, 36.8229])
    np.testing.assert_allclose(fx.lat[:2], [-1.2921, -1.2911])


def test_02_point_accuracy_speed_altitude() -> None:
    fx = read_fixture("points.geojson").fixes
    nan = np.nan
    np.testing.assert_allclose(fx.accuracy_m, [8.0, 1.5 * 5, nan, nan, nan, nan])
    np.testing.assert_allclose(fx.speed_mps, [0.0, 36 / 3.6, 4.5, nan, nan, nan], rtol=1e-6)
    # property "ele", then the third coordinate
    np.testing.assert_allclose(fx.altitude_m, [1661.0, 1662.5, nan, nan, nan, nan])


def test_03_bad_values_are_rejected_with_the_feature_index() -> None:
    ts = read_fixture("points.geojson")
    assert [(r.where, r.reason) for r in ts.rejections] == [
        ("features[9]", Reason.BAD_NUMBER),  # "abc"
        ("features[10]", Reason.MISSING_VALUE),  # NaN
        ("features[11]", Reason.BAD_TIME),  # "not a time"
        ("features[12]", Reason.MISSING_VALUE),  # ""
    ]
    assert 91.0 in ts.fixes.lat.tolist()  # range checks belong to the cleaner


def test_03a_rejections_beyond_the_cap_are_counted() -> None:
    bad = [point(1, 2, time="never") for _ in range(1200)]
    ts = read_obj(collection(point(1, 2, time=0), *bad, point(float("nan"), 2, time=1)))
    assert len(ts.fixes) == 1
    assert len(ts.rejections) == 1000
    assert ts.rejections[0].where == "features[1]"
    assert ts.rejection_overflow == {"bad_time": 200, "missing_value": 1}
    assert ts.reason_counts() == {"bad_time": 1200, "missing_value": 1}


def test_04_stop_rule() -> None:
    ts = read_fixture("points.geojson")
    stops = ts.field_stops
    assert [s.name for s in stops] == ["Kencom", "Githurai 45", None]
    kencom, githurai, marker = stops
    # type "stop" with a time and a trace id: that trace, its time, its counts
    assert (kencom.trace_key, kencom.time_ms) == ("A", T0_NBO + 12_000)
    assert (kencom.boardings, kencom.alightings) == (3, 1)
    # a name and no time: a stop without time, on the first trace
    assert (githurai.trace_key, githurai.time_ms) == ("A", None)
    # marker: true at 06:00:05, inside A's span (A is first; B's span holds it too)
    assert (marker.trace_key, marker.time_ms) == ("A", T0_NBO + 5000)


def test_05_points_without_trace_id_form_one_trace_named_from_the_source() -> None:
    ts = read_obj(collection(point(1.0, 2.0, time="2024-03-04T06:00:00Z"),
                             point(1.1, 2.1, time="2024-03-04T06:00:01Z")),
                  source="uploads/day 2.geojson")
    assert [t.trace_key for t in ts.traces] == ["day 2"]
    np.testing.assert_array_equal(ts.fixes.time_ms, T0_NBO + np.array([0, 1000]))


def test_06_timezone_applies_to_times_without_zone() -> None:
    ts = read_obj(collection(point(1.0, 2.0, time="2024-03-04 09:00:00")),
                  timezone="Africa/Nairobi")
    assert ts.fixes.time_ms.tolist() == [T0_NBO]


# --- 2. Lines with per-vertex times ---------------------------------------------------------
def test_07_linestring_with_coord_times() -> None:
    ts = read_fixture("linestring_coordtimes.geojson")
    assert_consistent(ts)
    # the unnamed line takes the file's stem, so keys of different uploads do not collide
    assert [t.trace_key for t in ts.traces] == ["Trotro Kaneshie - Circle",
                                                "linestring_coordtimes"]
    assert ts.traces[0].vehicle_type == "trotro"  # togeojson puts GPX <type> in "type"
    fx = ts.fixes
    np.testing.assert_array_equal(fx.trace_index, [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(
        fx.time_ms, T0_ACCRA + 1000 * np.array([0, 5, 10, 15, 0, 1]))
    np.testing.assert_allclose(fx.altitude_m[:4], [40.0, 41.0, 42.5, np.nan])
    np.testing.assert_allclose(fx.lat[:4], 5.56 + 0.0005 * np.arange(4))
    # the null time of the second line; the line without times is skipped, not rejected
    assert [(r.where, r.reason) for r in ts.rejections] == [
        ("features[1] vertex 2", Reason.MISSING_VALUE)]


def test_08_multilinestring_nested_times() -> None:
    ts = read_fixture("multilinestring.geojson")
    assert_consistent(ts)
    assert [t.trace_key for t in ts.traces] == ["gbaka-1"]  # the trace id wins over name
    np.testing.assert_array_equal(
        ts.fixes.time_ms, T0_ABJ + 1000 * np.array([0, 1, 600, 601, 602]))
    np.testing.assert_allclose(ts.fixes.lon, [-4.020, -4.021, -4.050, -4.051, -4.052])


def test_09_multilinestring_flat_times_and_per_vertex_speed() -> None:
    doc = {"type": "Feature",
           "properties": {"times": [0, 1, 2], "speed": [1.0, None, 3.0]},
           "geometry": {"type": "MultiLineString",
                        "coordinates": [[[1.0, 2.0]], [[1.1, 2.1], [1.2, 2.2]]]}}
    ts = read_obj(doc)
    np.testing.assert_array_equal(ts.fixes.time_ms, [0, 1000, 2000])
    np.testing.assert_allclose(ts.fixes.speed_mps, [1.0, np.nan, 3.0])


def test_10_times_that_do_not_match_the_vertices_reject_the_feature() -> None:
    good = {"type": "Feature", "properties": {"name": "ok", "times": [0, 1]},
            "geometry": {"type": "LineString", "coordinates": [[1, 2], [1.1, 2.1]]}}
    bad = {"type": "Feature", "properties": {"name": "short", "times": [0, 1]},
           "geometry": {"type": "LineString", "coordinates": [[1, 2], [1.1, 2.1], [1.2, 2]]}}
    ts = read_obj(collection(good, bad))
    assert [t.trace_key for t in ts.traces] == ["ok"]
    assert [(r.where, r.reason, r.detail) for r in ts.rejections] == [
        ("features[1]", Reason.MISSING_VALUE, "2 per-vertex times for 3 vertices")]


def test_11_repeated_line_names_become_unique_keys() -> None:
    line = {"type": "Feature", "properties": {"name": "x", "times": [0]},
            "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}
    ts = read_obj(collection(line, line, line))
    assert [t.trace_key for t in ts.traces] == ["x", "x#2", "x#3"]
    np.testing.assert_array_equal(ts.fixes.trace_index, [0, 1, 2])


def test_11a_several_unnamed_lines_are_keyed_from_the_source() -> None:
    line = {"type": "Feature", "properties": {"times": [0]},
            "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}
    osm = {"type": "Feature",
           "properties": {"name": "Tracked with OSMTracker for Android™", "times": [5]},
           "geometry": {"type": "LineString", "coordinates": [[1, 2]]}}
    ts = read_obj(collection(line, osm), source="day.geojson")
    assert [t.trace_key for t in ts.traces] == ["day feature-0", "day feature-1"]


def test_12_named_timed_points_beside_timed_lines_are_waypoints() -> None:
    line = {"type": "Feature", "properties": {"name": "trk", "coordTimes": [0, 60]},
            "geometry": {"type": "LineString", "coordinates": [[1, 2], [1.1, 2.1]]}}
    wpt = point(1.05, 2.05, name="Arrêt", time=30)
    ts = read_obj(collection(line, wpt))
    assert len(ts.fixes) == 2
    assert [(s.name, s.time_ms, s.trace_key) for s in ts.field_stops] == [
        ("Arrêt", 30_000, "trk")]
    # without timed lines the same named, timed point is a fix
    alone = read_obj(collection(wpt))
    assert (len(alone.fixes), alone.field_stops) == (1, [])


# --- 3. Bare geometry, unusable files --------------------------------------------------------
def test_13_bare_geometry_without_times_is_unusable() -> None:
    with pytest.raises(FormatError, match="no usable positionfix"):
        read_obj({"type": "LineString", "coordinates": [[1, 2], [3, 4]]})
    with pytest.raises(FormatError, match="1 positions were unreadable"):
        read_obj({"type": "Point", "coordinates": [1, 2]})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (bytes(range(128, 256)) * 4, "not UTF-8"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Feat', "not valid JSON"),
        (b"trace_id,lat,lon\n1,2,3\n", "not valid JSON"),
        (b"[1, 2, 3]", "not GeoJSON: the top level is a JSON list"),
        (b'{"features": []}', "without 'type'"),
        (b'{"type": "Topology"}', "type 'Topology'"),
        (b'{"type": "FeatureCollection", "features": {}}', "no 'features' list"),
        (b'{"type": "FeatureCollection", "features": []}', "no usable positionfix"),
        (json.dumps(collection({"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1], [0, 0]]]}})).encode(),
         "1 features have no timed Point or LineString"),
    ],
    ids=["empty", "blank", "binary", "truncated", "csv", "array", "no-type", "topojson",
         "features-not-list", "no-features", "polygons"],
)
def test_14_unusable_files_raise_format_error(content: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as info:
        read_geojson(io.BytesIO(content), source="up.geojson")
    text = str(info.value)
    assert "up.geojson" in text
    assert "fix:" in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("crs", "ok"),
    [("urn:ogc:def:crs:OGC:1.3:CRS84", True), ("EPSG:4326", True),
     ("urn:ogc:def:crs:EPSG::4326", True), ("urn:ogc:def:crs:EPSG::3857", False),
     ("EPSG:32630", False)],
)
def test_15a_legacy_crs_other_than_wgs84_is_refused(crs: str, ok: bool) -> None:
    doc = collection(point(1, 2, time=0))
    doc["crs"] = {"type": "name", "properties": {"name": crs}}
    if ok:
        assert len(read_obj(doc).fixes) == 1
    else:
        with pytest.raises(FormatError, match="not WGS84"):
            read_obj(doc)


def test_15_utf8_bom_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(collection(point(1, 2, time=0))).encode()
    assert sniff_geojson(data)
    assert len(read_geojson(io.BytesIO(data), source="bom.geojson").fixes) == 1


# --- 4. Sniffing --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"type": "FeatureCollection", "features": [', True),
        (b'\n  {\n "name": "x",\n "type" : "Feature"', True),
        (b'{"type":"LineString","coordinates":[[1,2]', True),
        (b'{"type": "Topology"}', False),
        (b'{"points": []}', False),
        (b"[{}]", False),
        (b'<?xml version="1.0"?><gpx>', False),
        (b"", False),
    ],
)
def test_16_sniff(head: bytes, expected: bool) -> None:
    assert sniff_geojson(head) is expected


@pytest.mark.parametrize("name", ["points.geojson", "linestring_coordtimes.geojson",
                                  "multilinestring.geojson"])
def test_17_sniff_fixtures(name: str) -> None:
    assert sniff_geojson((GEOJSON_DIR / name).read_bytes()[:4096])


# --- 5. Real data ---------------------------------------------------------------------------------
@pytest.mark.shared
def test_18_named_points_without_time_are_all_stops(shared_data: Path) -> None:
    """A POI layer (health facilities) read as traces: every named Point is a field stop."""
    path = shared_data / "nairobi-opportunities" / "health_facilities.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    named = [f for f in doc["features"]
             if str((f.get("properties") or {}).get("Name") or "").strip()]
    with path.open("rb") as f:
        ts = read_geojson(f, source=path.name)
    assert len(ts.fixes) == 0
    assert [t.trace_key for t in ts.traces] == ["health_facilities"]
    assert len(ts.field_stops) == len(named) > 1000
    first = named[0]
    assert ts.field_stops[0].name == first["properties"]["Name"].strip()
    assert ts.field_stops[0].lon == first["geometry"]["coordinates"][0]


@pytest.mark.shared
def test_19_abidjan_trace_in_togeojson_layout(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "abidjan-gps-traces"
    pts = pd.read_csv(folder / "sample_trackpoints.csv")
    wps = pd.read_csv(folder / "sample_waypoints.csv", keep_default_na=False)
    pts = pts[pts.trace_id == 548].sort_values("seq")
    wps = wps[wps.trace_id == 548]
    line = {"type": "Feature",
            "properties": {"name": "Tracked with OSMTracker for Android™",
                           "coordTimes": pts.time_utc.tolist()},
            "geometry": {"type": "LineString",
                         "coordinates": pts[["lon", "lat", "ele"]].to_numpy().tolist()}}
    waypoints = [point(w.lon, w.lat, name=w.name, time=w.time_utc) for w in wps.itertuples()]
    path = tmp_path / "548.geojson"
    path.write_text(json.dumps(collection(*waypoints, line)), encoding="utf-8")
    with path.open("rb") as f:
        ts = read_geojson(f, source=path.name)
    assert_consistent(ts)
    assert [t.trace_key for t in ts.traces] == ["548"]  # not OSMTracker's default name
    assert len(ts.fixes) == len(pts) == 2345
    assert ts.rejections == []
    expected_ms, _ = parse_instants(pts.time_utc.tolist())
    np.testing.assert_array_equal(ts.fixes.time_ms, expected_ms)
    np.testing.assert_array_equal(ts.fixes.lat, pts.lat.to_numpy())
    np.testing.assert_allclose(ts.fixes.altitude_m, pts.ele.to_numpy(), rtol=1e-6)
    assert len(ts.field_stops) == len(wps) == 20
    assert [s.name for s in ts.field_stops] == wps.name.tolist()
    assert {s.trace_key for s in ts.field_stops} == {ts.traces[0].trace_key}


def test_unknown_timezone_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown timezone 'Mars/Olympus'"):
        read_geojson(io.BytesIO(b"<gpx/>"), source="x", timezone="Mars/Olympus")
