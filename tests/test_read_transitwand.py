"""TransitWand captures: the published wire format, every field's meaning, bad input, sniffing.

Captures are built with the message classes generated from the published definition
(tests/transitwand_factory.py encodes them as the app does); one case is encoded by hand
from the published field numbers so that a drift in our .proto cannot go unnoticed.
"""

from __future__ import annotations

import base64
import contextlib
import io
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_ingest.proto import transitwand_pb2 as pb
from gps_ingest.timeparse import parse_instants
from gps_ingest.transitwand import (
    UPTIME_LIMIT_MS,
    decode_transitwand,
    parse_transitwand_upload_form,
    read_transitwand,
    sniff_transitwand,
)
from tests.transitwand_factory import (
    GEOJSON,
    GPX,
    NAIROBI_START_MS,
    TEXT_CSV,
    CapturePoint,
    CaptureRoute,
    CaptureStop,
    fixture_captures,
    make_transitwand_capture,
    straight_route,
)
from transit.errors import FormatError, InputError
from transit.traces import Reason, TraceSet

T0 = NAIROBI_START_MS


def _read(data: bytes, device_id: str | None = None) -> TraceSet:
    return read_transitwand(io.BytesIO(data), source="capture.pb", device_id=device_id)


def _fixture(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / "transitwand" / name).read_bytes()


# --- 1. the message definition is the published one -------------------------------------

PUBLISHED = {  # conveyal/transit-wand route.proto + TransitWandProtos.java (vehicle fields)
    "transitwand.Upload": {"unit_id": (1, "int64", "required"),
                           "upload_id": (2, "int32", "required"),
                           "route": (3, "message", "repeated")},
    "transitwand.Upload.Route": {"start_time": (1, "int64", "required"),
                                 "point": (2, "message", "repeated"),
                                 "stop": (3, "message", "repeated"),
                                 "route_name": (4, "string", "optional"),
                                 "route_description": (5, "string", "optional"),
                                 "route_notes": (6, "string", "optional"),
                                 "vehicle_type": (7, "string", "optional"),
                                 "vehicle_capacity": (8, "string", "optional")},
    "transitwand.Upload.Route.Point": {"lat": (1, "float", "required"),
                                       "lon": (2, "float", "required"),
                                       "timeoffset": (3, "int32", "optional")},
    "transitwand.Upload.Route.Stop": {"lat": (1, "float", "required"),
                                      "lon": (2, "float", "required"),
                                      "arrivalTimeoffset": (3, "int32", "optional"),
                                      "departureTimeoffset": (4, "int32", "optional"),
                                      "board": (5, "int32", "optional"),
                                      "alight": (6, "int32", "optional")},
}
_TYPES = {3: "int64", 5: "int32", 2: "float", 9: "string", 11: "message"}


def test_01_message_definition_matches_the_published_one() -> None:
    messages = {
        "transitwand.Upload": pb.Upload.DESCRIPTOR,
        "transitwand.Upload.Route": pb.Upload.Route.DESCRIPTOR,
        "transitwand.Upload.Route.Point": pb.Upload.Route.Point.DESCRIPTOR,
        "transitwand.Upload.Route.Stop": pb.Upload.Route.Stop.DESCRIPTOR,
    }
    for full_name, descriptor in messages.items():
        assert descriptor.full_name == full_name
        ours = {}
        for f in descriptor.fields:
            label = ("repeated" if f.is_repeated
                     else "required" if f.is_required else "optional")
            ours[f.name] = (f.number, _TYPES[f.type], label)
        assert ours == PUBLISHED[full_name]


def _key(number: int, wire: int) -> bytes:
    return bytes([number << 3 | wire])


def _len(payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([len(payload)]) + payload


def test_02_hand_encoded_route_decodes_field_by_field() -> None:
    """A delimited Route written byte by byte from the published field numbers."""
    start_ms = 1_600_000_000_250
    start_varint = bytearray()
    v = start_ms
    while v >= 0x80:
        start_varint.append(v & 0x7F | 0x80)
        v >>= 7
    start_varint.append(v)

    def point(lat: float, lon: float, offset_s: int) -> bytes:
        return (_key(1, 5) + struct.pack("<f", lat) + _key(2, 5) + struct.pack("<f", lon)
                + _key(3, 0) + bytes([offset_s]))

    stop = (_key(1, 5) + struct.pack("<f", 5.25) + _key(2, 5) + struct.pack("<f", -3.5)
            + _key(3, 0) + b"\x05" + _key(4, 0) + b"\x09" + _key(5, 0) + b"\x02"
            + _key(6, 0) + b"\x01")
    route = (_key(1, 0) + bytes(start_varint)
             + _key(2, 2) + _len(point(5.25, -3.5, 7))
             + _key(2, 2) + _len(point(5.5, -3.75, 3))
             + _key(3, 2) + _len(stop)
             + _key(4, 2) + _len(b"A1") + _key(7, 2) + _len(b"gbaka"))
    ts = _read(_len(route))
    assert ts.fixes.time_ms.tolist() == [start_ms + 7_000, start_ms + 10_000]
    assert ts.fixes.lat.tolist() == [5.25, 5.5]
    assert ts.fixes.lon.tolist() == [-3.5, -3.75]
    (s,) = ts.field_stops
    assert (s.lat, s.lon, s.time_ms, s.departure_ms) == (5.25, -3.5, start_ms + 5_000,
                                                         start_ms + 9_000)
    assert (s.boardings, s.alightings) == (2, 1)
    (meta,) = ts.traces
    assert (meta.trace_key, meta.route_name, meta.vehicle_type) == ("route 1: A1", "A1", "gbaka")


# --- 2. the three layouts, every field ----------------------------------------------------

def test_03_upload_with_two_routes(fixtures_dir: Path) -> None:
    ts = _read(_fixture(fixtures_dir, "upload_two_routes.pb"))
    assert [t.trace_key for t in ts.traces] == ["route 1: Kencom - Kawangware 46",
                                                "route 2: Route 10002"]
    first, second = ts.traces
    assert first.route_name == "Kencom - Kawangware 46"
    assert first.vehicle_type == "matatu"
    assert first.notes == "driver friendly; description: via Ngong Road; vehicle capacity: 14"
    assert (second.vehicle_type, second.notes) == (None, None)
    assert {t.device_id for t in ts.traces} == {"482913"}  # the Upload's unit_id
    # points at 4, 9, 15 and 75 s after the start; then 1 and 6 s after the second start
    assert ts.fixes.time_ms.tolist() == [T0 + 4_000, T0 + 9_000, T0 + 15_000, T0 + 75_000,
                                         T0 + 3_601_000, T0 + 3_606_000]
    assert ts.fixes.trace_index.tolist() == [0, 0, 0, 0, 1, 1]
    assert ts.fixes.lat.tolist() == [-1.2833, -1.2841, -1.285, -1.2862, -1.3, -1.3005]
    assert ts.fixes.lon.tolist() == [36.8167, 36.8175, 36.819, 36.8203, 36.78, 36.781]
    assert np.isnan(ts.fixes.accuracy_m).all()
    assert ts.rejections == []
    a, b = ts.field_stops
    assert (a.trace_key, a.lat, a.lon) == (first.trace_key, -1.2841, 36.8175)
    assert (a.time_ms, a.departure_ms, a.boardings, a.alightings) == (T0 + 9_000, T0 + 40_000,
                                                                      3, 1)
    # the second stop's offsets count from the first stop's arrival, as the app writes them
    assert (b.time_ms, b.departure_ms, b.boardings, b.alightings) == (T0 + 75_000, T0 + 95_000,
                                                                      0, 5)


def test_04_single_length_delimited_route(fixtures_dir: Path) -> None:
    ts = _read(_fixture(fixtures_dir, "route_10001.pb"), device_id="352099001761481")
    (meta,) = ts.traces
    assert meta.trace_key == "route 1: Kencom - Kawangware 46"
    assert meta.device_id == "352099001761481"
    assert ts.fixes.time_ms.tolist() == [T0 + 4_000, T0 + 9_000, T0 + 15_000, T0 + 75_000]
    assert [s.boardings for s in ts.field_stops] == [3, 0]


def test_05_several_concatenated_routes(fixtures_dir: Path) -> None:
    ts = _read(_fixture(fixtures_dir, "routes_concatenated.pb"))
    assert [t.route_name for t in ts.traces] == ["Kencom - Kawangware 46", "Route 10002",
                                                 "Route 10003"]
    assert all(t.device_id is None for t in ts.traces)
    assert np.bincount(ts.fixes.trace_index).tolist() == [4, 2, 10]
    third = ts.fixes.time_ms[ts.fixes.trace_index == 2]
    assert third.tolist() == [T0 + 7_200_000 + 5_000 * (i + 1) for i in range(10)]
    third_stops = [s for s in ts.field_stops if s.trace_key == "route 3: Route 10003"]
    # straight_route(n_stops=2): stops at points 3 and 6 (0-based), 10 s dwell
    assert [(s.time_ms, s.departure_ms) for s in third_stops] == [
        (T0 + 7_200_000 + 20_000, T0 + 7_200_000 + 30_000),
        (T0 + 7_200_000 + 35_000, T0 + 7_200_000 + 45_000)]
    assert [(s.boardings, s.alightings) for s in third_stops] == [(1, 0), (2, 1)]


def test_06_committed_fixtures_are_what_the_factory_writes(fixtures_dir: Path) -> None:
    for name, data in fixture_captures().items():
        assert _fixture(fixtures_dir, name) == data, f"regenerate: python -m {__package__}" \
            ".transitwand_factory"


def test_07_device_id_argument_wins_and_zero_unit_id_is_no_device() -> None:
    data = make_transitwand_capture([straight_route()], unit_id=123456)
    assert _read(data, device_id="imei-1").traces[0].device_id == "imei-1"
    assert _read(data).traces[0].device_id == "123456"
    assert _read(make_transitwand_capture([straight_route()])).traces[0].device_id is None


def test_08_sub_second_intervals_follow_the_apps_truncation() -> None:
    """The app stores whole seconds since the previous point, truncated: 1.5 s -> 1 s."""
    route = CaptureRoute(start_ms=T0, points=[CapturePoint(1.0, 2.0, T0 + 1_500),
                                              CapturePoint(1.0, 2.0, T0 + 3_000),
                                              CapturePoint(1.0, 2.0, T0 + 6_999)])
    ts = _read(make_transitwand_capture([route]))
    assert ts.fixes.time_ms.tolist() == [T0 + 1_000, T0 + 2_000, T0 + 5_000]


def test_09_nan_point_is_rejected_out_of_range_point_stays_a_fix() -> None:
    msg = pb.Upload(unit_id=0, upload_id=0)
    r = msg.route.add(start_time=T0)
    r.point.add(lat=1.0, lon=2.0, timeoffset=1)
    r.point.add(lat=float("nan"), lon=2.0, timeoffset=1)
    r.point.add(lat=95.0, lon=200.0, timeoffset=1)
    r.stop.add(lat=float("nan"), lon=2.0, arrivalTimeoffset=2, departureTimeoffset=3)
    r.stop.add(lat=1.0, lon=2.0, arrivalTimeoffset=1, departureTimeoffset=4)
    ts = _read(msg.SerializeToString())
    assert ts.fixes.time_ms.tolist() == [T0 + 1_000, T0 + 3_000]  # the NaN point's 1 s counts
    assert ts.fixes.lat.tolist() == [1.0, 95.0]
    assert [(j.where, j.reason) for j in ts.rejections] == [
        ("point 2 of route 1", Reason.MISSING_VALUE), ("stop 1 of route 1", Reason.MISSING_VALUE)]
    (s,) = ts.field_stops  # the rejected stop's arrival still anchors the next one
    assert (s.time_ms, s.departure_ms) == (T0 + 3_000, T0 + 6_000)


def test_10_absent_optional_fields_are_none() -> None:
    msg = pb.Upload.Route(start_time=T0)
    msg.point.add(lat=1.0, lon=2.0)  # no timeoffset: 0 s, as the app reads it
    msg.stop.add(lat=1.0, lon=2.0)
    body = msg.SerializeToString()
    ts = _read(bytes([len(body)]) + body)
    assert ts.fixes.time_ms.tolist() == [T0]
    (s,) = ts.field_stops
    assert (s.time_ms, s.departure_ms, s.boardings, s.alightings) == (None, None, None, None)
    assert (ts.traces[0].trace_key, ts.traces[0].route_name) == ("route 1", None)


def test_11_uptime_start_time_from_the_first_app_version_is_flagged() -> None:
    route = CaptureRoute(start_ms=86_400_000, points=[CapturePoint(1.0, 2.0, 86_405_000)])
    ts = _read(make_transitwand_capture([route]))
    assert ts.fixes.time_ms.tolist() == [86_405_000]
    assert "phone uptime" in (ts.traces[0].notes or "")


def test_12_upload_form_uses_imei_as_device_and_raw_bytes_as_data() -> None:
    data = make_transitwand_capture([straight_route(), straight_route(name="B")])
    ts = parse_transitwand_upload_form(" 352099001761481 ", data)
    assert [t.device_id for t in ts.traces] == ["352099001761481"] * 2
    with pytest.raises(InputError, match="imei"):
        parse_transitwand_upload_form("  ", data)
    with pytest.raises(FormatError):  # the app posts raw protobuf, never base64
        parse_transitwand_upload_form("352099001761481", base64.b64encode(data))


# --- 3. unusable input -------------------------------------------------------------------

def _error(data: bytes) -> str:
    with pytest.raises(FormatError) as info:
        _read(data)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("capture.pb: ")
    assert "fix:" in message
    return message


def test_13_empty_input() -> None:
    assert "empty" in _error(b"")


@pytest.mark.parametrize("name", ["upload_two_routes.pb", "route_10001.pb",
                                  "routes_concatenated.pb"])
def test_14_capture_cut_in_half_is_truncated(fixtures_dir: Path, name: str) -> None:
    data = _fixture(fixtures_dir, name)
    assert "truncated" in _error(data[: len(data) // 2])


def test_15_garbage_bytes() -> None:
    rng = np.random.default_rng(15)
    for size in (1, 7, 100, 5_000):
        assert "not a TransitWand capture" in _error(rng.bytes(size))


@pytest.mark.parametrize(("data", "says"), [
    (TEXT_CSV, "CSV"), (GPX, "GPX"), (GEOJSON, "GeoJSON"), (b"\xef\xbb\xbf" + TEXT_CSV, "CSV")])
def test_16_other_formats_given_as_transitwand(data: bytes, says: str) -> None:
    assert says in _error(data)


def test_17_upload_with_no_routes_or_no_points() -> None:
    assert "no routes" in _error(pb.Upload(unit_id=0, upload_id=0).SerializeToString())
    empty = CaptureRoute(start_ms=T0, points=[])
    assert "no usable GPS points" in _error(make_transitwand_capture([empty, empty]))


def test_18_missing_required_field_is_not_a_capture() -> None:
    msg = pb.Upload.Route(route_name="no start")  # start_time is required
    msg.point.add(lat=1.0, lon=2.0, timeoffset=1)
    body = msg.SerializePartialToString()
    assert "not a TransitWand capture" in _error(bytes([len(body)]) + body)


# --- 5. properties ----------------------------------------------------------------------------

_coord = st.floats(-89.0, 89.0, allow_nan=False, width=32)
_point = st.tuples(_coord, _coord, st.integers(0, 600))


@settings(max_examples=60, deadline=None)
@given(routes=st.lists(st.lists(_point, min_size=1, max_size=30), min_size=1, max_size=4),
       start_ms=st.integers(UPTIME_LIMIT_MS, 4_102_444_800_000),
       layout=st.sampled_from(["upload", "delimited"]))
def test_22_round_trip_of_whole_second_captures(routes: list[list[tuple[float, float, int]]],
                                                start_ms: int, layout: str) -> None:
    built, want_t, want_lat = [], [], []
    for r, pts in enumerate(routes):
        t0 = start_ms + r * 86_400_000
        t, points = t0, []
        for lat, lon, step_s in pts:
            t += step_s * 1000
            points.append(CapturePoint(lat, lon, t))
            want_t.append(t)
            want_lat.append(lat)
        built.append(CaptureRoute(start_ms=t0, points=points))
    data = make_transitwand_capture(built, layout=layout)  # type: ignore[arg-type]
    assert sniff_transitwand(data[:64])
    ts = _read(data)
    assert ts.fixes.time_ms.tolist() == want_t
    assert np.array_equal(ts.fixes.lat.astype(np.float32), np.array(want_lat, np.float32))
    assert len(ts.traces) == len(routes)
    assert all(t.notes is None for t in ts.traces)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_23_arbitrary_bytes_never_crash(data: bytes) -> None:
    sniff_transitwand(data)
    with contextlib.suppress(FormatError):
        decode_transitwand(data, source="fuzz")


# --- 6. real trace, carried through the app's encoding ----------------------------------------

@pytest.mark.shared
def test_24_real_abidjan_trace_through_a_transitwand_capture(shared_data: Path) -> None:
    """Trace 83 (SOTRA 18 B, 3,498 fixes at 1 Hz) and its stop waypoints, as a capture."""
    folder = shared_data / "abidjan-gps-traces"
    pts = pd.read_csv(folder / "sample_trackpoints.csv")
    pts = pts[pts.trace_id == 83]
    wps = pd.read_csv(folder / "sample_waypoints.csv")
    wps = wps[wps.trace_id == 83]
    t_ms, ok = parse_instants(pts.time_utc.to_numpy())
    wp_ms, wp_ok = parse_instants(wps.time_utc.to_numpy())
    assert ok.all()
    assert wp_ok.all()
    start = int(t_ms.min())
    route = CaptureRoute(
        start_ms=start,
        points=[CapturePoint(a, b, int(c)) for a, b, c in
                zip(pts.lat.tolist(), pts.lon.tolist(), t_ms.tolist(), strict=True)],
        stops=[CaptureStop(a, b, int(c), int(c) + 20_000, board=1) for a, b, c in
               zip(wps.lat.tolist(), wps.lon.tolist(), wp_ms.tolist(), strict=True)],
        name="18 B", vehicle_type="sotra_bus")
    data = make_transitwand_capture([route], layout="delimited")
    assert sniff_transitwand(data[:4096])
    ts = _read(data)
    assert len(ts.fixes) == len(pts) == 3_498
    # whole-second, increasing times survive the app's second offsets exactly
    assert np.array_equal(ts.fixes.time_ms, t_ms)
    assert np.abs(ts.fixes.lat - pts.lat.to_numpy()).max() < 5e-6  # float32 at ~5 degrees
    assert np.abs(ts.fixes.lon - pts.lon.to_numpy()).max() < 5e-6
    assert len(ts.field_stops) == len(wps)
    assert all(s.boardings == 1 for s in ts.field_stops)
    assert [s.time_ms for s in ts.field_stops] == sorted(s.time_ms for s in ts.field_stops)


def test_26_fields_in_any_order_and_unknown_fields_read_like_protobuf() -> None:
    """Other encoders may order fields differently or add new ones; reading must not care."""
    point = (_key(3, 0) + b"\x04" + _key(9, 0) + b"\x01" + _key(2, 5) + struct.pack("<f", 2.5)
             + _key(1, 5) + struct.pack("<f", 1.25))
    route = (_key(2, 2) + _len(point) + _key(12, 2) + _len(b"future") + _key(1, 0) + b"\x01"
             + _key(2, 2) + _len(point))
    ts = _read(_len(route))
    assert ts.fixes.time_ms.tolist() == [1 + 4_000, 1 + 8_000]
    assert ts.fixes.lat.tolist() == [1.25, 1.25]
    assert ts.fixes.lon.tolist() == [2.5, 2.5]


def test_28_point_or_stop_without_a_required_coordinate_is_rejected_not_fatal() -> None:
    no_lat = _key(2, 5) + struct.pack("<f", 2.5) + _key(3, 0) + b"\x02"
    full = _key(1, 5) + struct.pack("<f", 1.25) + _key(2, 5) + struct.pack("<f", 2.5)
    stop_no_lon = _key(1, 5) + struct.pack("<f", 1.25) + _key(3, 0) + b"\x01"
    route = (_key(1, 0) + b"\x01" + _key(2, 2) + _len(no_lat) + _key(2, 2) + _len(full)
             + _key(3, 2) + _len(stop_no_lon))
    ts = _read(_len(route))
    assert ts.fixes.time_ms.tolist() == [1 + 2_000]  # the rejected point's 2 s still count
    assert [j.where for j in ts.rejections] == ["point 1 of route 1", "stop 1 of route 1"]
    assert ts.field_stops == []
