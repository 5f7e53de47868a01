"""GPX reader: hand-written fixtures whose answers are arithmetic, bad input, streaming, and
one real Abidjan trace written out the way OSMTracker writes it and read back."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gps_ingest._assemble import MAX_DETAILED_REJECTIONS
from gps_ingest._gpx_points import BATCH_FIXES
from gps_ingest.gpx import read_gpx, sniff_gpx
from gps_ingest.timeparse import parse_instants
from transit.errors import FormatError, InputError
from transit.traces import Reason, TraceSet

GPX_DIR = Path(__file__).parent / "fixtures" / "gpx"
T0_OSM = 1_572_971_489_000  # 2019-11-05T16:31:29Z in ms
T0_GPSLOGGER = 1_709_532_600_000  # 2024-03-04T06:10:00Z
T0_TWO = 1_573_027_200_000  # 2019-11-06T08:00:00Z


def read_fixture(name: str, **kwargs: str) -> TraceSet:
    with (GPX_DIR / name).open("rb") as f:
        return read_gpx(f, source=name, **kwargs)


def read_text(text: str, **kwargs: str) -> TraceSet:
    return read_gpx(io.BytesIO(text.encode("utf-8")), source="inline.gpx", **kwargs)


def gpx11(body: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
            f'xmlns="http://www.topografix.com/GPX/1/1">{body}</gpx>')


def assert_consistent(ts: TraceSet) -> None:
    fx = ts.fixes
    assert np.all(fx.reason == 0)
    assert fx.trace_index.dtype == np.int32
    if len(fx):
        assert fx.trace_index.min() >= 0
        assert fx.trace_index.max() < len(ts.traces)
    keys = [t.trace_key for t in ts.traces]
    assert len(set(keys)) == len(keys)
    assert all(s.trace_key in keys for s in ts.field_stops)


# --- 1. OSMTracker GPX 1.1: speed extension, hdop x 4, waypoints ---------------------------
def test_01_osmtracker_fixes() -> None:
    ts = read_fixture("osmtracker_1_1.gpx")
    assert_consistent(ts)
    fx = ts.fixes
    assert len(ts.traces) == 1
    # OSMTracker names every track the same: the file name identifies it
    assert ts.traces[0].trace_key == "osmtracker_1_1"
    assert "creator: OSMTracker for Android" in (ts.traces[0].notes or "")
    assert len(fx) == 6
    np.testing.assert_array_equal(fx.time_ms, T0_OSM + 1000 * np.arange(6))
    np.testing.assert_allclose(fx.lat[:2], [5.260917, 5.260877])
    np.testing.assert_allclose(fx.lon[-1], -3.965457)
    # <extensions><speed>, NaN where absent
    np.testing.assert_allclose(fx.speed_mps, [0.58, 0.75, 0.56, 0.4, np.nan, 0.0], rtol=1e-6)
    # OSMTracker writes hdop = accuracy / 4, so accuracy = 4 * hdop exactly
    np.testing.assert_allclose(fx.accuracy_m, [4.0, 10.0, 4.0, np.nan, 12.0, 5.0])
    np.testing.assert_allclose(fx.altitude_m, [5.1, 4.1, 3.4, 3.2, np.nan, 7.9], rtol=1e-6)
    assert ts.rejections == []


def test_02_osmtracker_waypoints_become_field_stops() -> None:
    ts = read_fixture("osmtracker_1_1.gpx")
    stops = ts.field_stops
    assert [s.name for s in stops] == ["Port Bouet Hopital", "vide", "Arrêt de Bus"]
    assert [s.time_ms for s in stops] == [T0_OSM + 3000, T0_OSM + 5000, T0_OSM + 6000]
    assert {s.trace_key for s in stops} == {ts.traces[0].trace_key}
    assert (stops[1].lat, stops[1].lon) == (5.259698, -3.965457)


# --- 2. GPSLogger GPX 1.0: <speed>, <hdop> x 5 m ----------------------------------------------
def test_03_gpslogger_gpx10() -> None:
    ts = read_fixture("gpslogger_1_0.gpx")
    assert_consistent(ts)
    meta = ts.traces[0]
    assert meta.trace_key == "Ruiru - Town matatu 145"
    assert meta.route_name == "145 Ruiru"
    assert meta.vehicle_type == "matatu"
    assert meta.device_id is None
    fx = ts.fixes
    np.testing.assert_array_equal(fx.time_ms, T0_GPSLOGGER + 5000 * np.arange(4))
    np.testing.assert_allclose(fx.speed_mps, [0.0, 2.5, 5.0, 7.25])
    np.testing.assert_allclose(fx.accuracy_m, [0.8 * 5, 1.2 * 5, 4.0 * 5, np.nan], rtol=1e-6)
    np.testing.assert_allclose(fx.altitude_m, [1540.0, 1541.0, 1541.5, np.nan])


# --- 3. Two tracks, several segments, namespace prefixes, Garmin extension -------------------
def test_04_two_tracks_and_segments() -> None:
    ts = read_fixture("two_tracks.gpx")
    assert_consistent(ts)
    assert [t.trace_key for t in ts.traces] == ["Line 18 A", "Line 18 B"]
    assert ts.traces[0].vehicle_type == "bus"
    assert ts.traces[1].route_name == "return trip"
    fx = ts.fixes
    np.testing.assert_array_equal(fx.trace_index, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(
        fx.time_ms, T0_TWO + 1000 * np.array([0, 60, 300, 3600, 3660]))
    np.testing.assert_allclose(fx.speed_mps, [np.nan, np.nan, 3.5, np.nan, np.nan])


def test_05_waypoints_go_to_the_track_whose_span_contains_them() -> None:
    ts = read_fixture("two_tracks.gpx")
    by_name = {s.name: s for s in ts.field_stops}
    assert by_name["Gare Nord"].trace_key == "Line 18 A"  # 08:00:30 in 08:00-08:05
    assert by_name["Siporex"].trace_key == "Line 18 B"  # 09:00:30 in 09:00-09:01
    assert by_name["after both"].trace_key == "Line 18 A"  # outside every span: first
    assert by_name["no time"].trace_key == "Line 18 A"
    assert by_name["no time"].time_ms is None
    assert by_name["Siporex"].time_ms == T0_TWO + 3630 * 1000


def test_06_track_keys_default_and_are_unique() -> None:
    pt = '<trkseg><trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg>'
    ts = read_text(gpx11(f"<trk><name>x</name>{pt}</trk><trk><name>x</name>{pt}</trk>"
                         f"<trk>{pt}</trk><trk><name>  </name>{pt}</trk>"))
    assert [t.trace_key for t in ts.traces] == ["x", "x#2", "inline track-3",
                                                "inline track-4"]
    np.testing.assert_array_equal(ts.fixes.trace_index, [0, 1, 2, 3])


def test_06a_a_single_unnamed_track_takes_the_file_name() -> None:
    pt = '<trkseg><trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg>'
    ts = read_gpx(io.BytesIO(gpx11(f"<trk>{pt}</trk>").encode()), source="a/b/ride 7.GPX")
    assert [t.trace_key for t in ts.traces] == ["ride 7"]


def test_07_routes_are_read_like_tracks() -> None:
    ts = read_text(gpx11(
        "<rte><name>R</name>"
        '<rtept lat="1.0" lon="2.0"><time>2020-01-01T00:00:00Z</time></rtept>'
        '<rtept lat="1.1" lon="2.1"></rtept>'
        '<rtept lat="1.2" lon="2.2"><time>2020-01-01T00:00:10Z</time></rtept>'
        "</rte>"))
    assert [t.trace_key for t in ts.traces] == ["R"]
    np.testing.assert_allclose(ts.fixes.lat, [1.0, 1.2])
    assert [(r.where, r.reason) for r in ts.rejections] == [
        ("rtept 2 of route 'R'", Reason.MISSING_VALUE)]


def test_07a_trkpt_directly_under_trk_is_tolerated() -> None:
    ts = read_text(gpx11('<trk><name>flat</name><trkpt lat="1" lon="2">'
                         "<time>2020-01-01T00:00:00Z</time></trkpt></trk>"))
    assert [t.trace_key for t in ts.traces] == ["flat"]
    assert ts.fixes.lat.tolist() == [1.0]


def test_08_waypoints_only_file_gets_one_trace_named_from_the_source() -> None:
    ts = read_gpx(io.BytesIO(gpx11(
        '<wpt lat="5.3" lon="-4.0"><time>2020-01-01T00:00:00Z</time><name>A</name></wpt>'
    ).encode()), source="uploads/field day 3.gpx")
    assert [t.trace_key for t in ts.traces] == ["field day 3"]
    assert len(ts.fixes) == 0
    assert [(s.trace_key, s.name) for s in ts.field_stops] == [("field day 3", "A")]


# --- 4. Bad cells, latitude 91, mixed time formats ------------------------------------------
def test_09_bad_cells_become_rejections() -> None:
    ts = read_fixture("bad_cells.gpx")
    assert_consistent(ts)
    got = [(r.where, r.reason) for r in ts.rejections]
    assert got == [
        ("trkpt 2 of track 'messy'", Reason.MISSING_VALUE),  # no lat attribute
        ("trkpt 3 of track 'messy'", Reason.BAD_NUMBER),  # lat="abc"
        ("trkpt 4 of track 'messy'", Reason.MISSING_VALUE),  # lon="NaN"
        ("trkpt 5 of track 'messy'", Reason.MISSING_VALUE),  # lat=""
        ("trkpt 6 of track 'messy'", Reason.BAD_TIME),  # "yesterday-ish"
        ("trkpt 7 of track 'messy'", Reason.MISSING_VALUE),  # no <time>
        ("trkpt 8 of track 'messy'", Reason.MISSING_VALUE),  # blank <time>
    ]
    assert "yesterday-ish" in ts.rejections[4].detail
    assert ts.reason_counts() == {"bad_number": 1, "bad_time": 1, "missing_value": 5}
    assert ts.n_accepted() == len(ts.fixes) == 13 - 7


def test_09a_rejections_beyond_the_cap_are_counted() -> None:
    good = '<trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt>'
    body = ("<trk><name>t</name><trkseg>" + good + '<trkpt lat="x" lon="2"/>' * 700
            + '<trkpt lat="1" lon="2"><time>never</time></trkpt>' * 800 + "</trkseg></trk>"
            + '<wpt lat="" lon="2"><name>w</name></wpt>')
    ts = read_text(gpx11(body))
    assert len(ts.fixes) == 1
    assert len(ts.rejections) == MAX_DETAILED_REJECTIONS == 1000
    assert ts.rejections[0].where == "trkpt 2 of track 't'"  # the first ones, in file order
    assert ts.rejection_overflow == {"bad_time": 500, "missing_value": 1}
    assert ts.reason_counts() == {"bad_number": 700, "bad_time": 800, "missing_value": 1}
    assert ts.n_rejected() == 1501


def test_10_latitude_91_is_kept_for_the_cleaner() -> None:
    ts = read_fixture("bad_cells.gpx")
    assert 91.0 in ts.fixes.lat.tolist()


def test_11_mixed_time_formats() -> None:
    ts = read_fixture("bad_cells.gpx")
    t = ts.fixes.time_ms
    # Z, +03:00 (same instant as 08:00:09Z), no zone (UTC), fractional Z, epoch seconds
    np.testing.assert_array_equal(
        t, T0_TWO + np.array([0, 8000, 9000, 10_000, 11_500, 12_000]))
    np.testing.assert_allclose(ts.fixes.lat[2], 5.31)  # " 5.31 " with spaces
    assert np.isnan(ts.fixes.altitude_m[2])  # <ele>not a number</ele> is just absent


def test_12_timezone_applies_to_times_without_zone() -> None:
    ts = read_fixture("bad_cells.gpx", timezone="Africa/Nairobi")
    # "2019-11-06 08:00:10" in UTC+3 is 05:00:10Z; zoned and epoch times do not move
    np.testing.assert_array_equal(
        ts.fixes.time_ms,
        T0_TWO + np.array([0, 8000, 9000, 10_000 - 3 * 3600 * 1000, 11_500, 12_000]))


# --- 5. Unusable files -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 8, "not well-formed XML"),
        (b"lat,lon,time\n1,2,3\n", "not well-formed XML"),
        (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>', "not <gpx>"),
        (gpx11("<metadata><name>nothing</name></metadata>").encode(), "no usable track point"),
        (gpx11("<trk><name>t</name><trkseg></trkseg></trk>").encode(), "no usable track point"),
    ],
    ids=["empty", "binary", "csv", "kml", "no-points", "empty-track"],
)
def test_13_unusable_files_raise_format_error(content: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as info:
        read_gpx(io.BytesIO(content), source="up.gpx")
    text = str(info.value)
    assert "up.gpx" in text
    assert "fix:" in text
    assert "\n" not in text


def test_14_truncated_gpx() -> None:
    whole = (GPX_DIR / "osmtracker_1_1.gpx").read_bytes()
    with pytest.raises(FormatError, match="truncated") as info:
        read_gpx(io.BytesIO(whole[: len(whole) // 2]), source="cut.gpx")
    assert "cut.gpx line" in str(info.value)


def test_15_all_points_bad_says_how_many() -> None:
    body = "<trk><name>t</name><trkseg>" + '<trkpt lat="1" lon="2"/>' * 3 + "</trkseg></trk>"
    with pytest.raises(FormatError, match=r"3 points were unreadable.*trkpt 1 of track 't'"):
        read_text(gpx11(body))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx version="1.1"><trk><name>&lol9;</name><trkseg>
<trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gpx version="1.1"><trk><name>&secret;</name><trkseg>
<trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "external"])
def test_16_doctype_and_entities_are_refused(text: str) -> None:
    assert sniff_gpx(text.encode())  # detected as GPX, so the user gets this message
    started = time.perf_counter()
    with pytest.raises(FormatError, match="DOCTYPE"):
        read_text(text)
    assert time.perf_counter() - started < 1.0


# --- 6. Content sniffing ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["osmtracker_1_1.gpx", "gpslogger_1_0.gpx", "two_tracks.gpx"])
def test_17_sniff_fixtures(name: str) -> None:
    assert sniff_gpx((GPX_DIR / name).read_bytes()[:4096])


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'\xef\xbb\xbf  \n<?xml version="1.0"?>\n<!-- exported --><gpx version="1.0">', True),
        ('<?xml version="1.0" encoding="UTF-16"?><gpx>'.encode("utf-16"), True),
        (b"<gpx", False),  # cut before the tag name ends: not enough to tell
        (b"<gpx:gpx xmlns:gpx='http://www.topografix.com/GPX/1/1'>", True),
        (b"<?xml version='1.0'?><kml><Document/></kml>", False),
        (b'<?xml version="1.0"?><gpxdata/>', False),
        (b'{"type": "FeatureCollection"}', False),
        (b"trace_id,lat,lon\n", False),
        (b"", False),
        (bytes(range(256)), False),
    ],
)
def test_18_sniff_heads(head: bytes, expected: bool) -> None:
    assert sniff_gpx(head) is expected


def test_19_utf16_file_is_read() -> None:
    text = gpx11('<trk><name>Adjamé</name><trkseg><trkpt lat="5.3" lon="-4.0">'
                 "<time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk>")
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    ts = read_gpx(io.BytesIO(data), source="u16.gpx")
    assert ts.traces[0].trace_key == "Adjamé"
    assert len(ts.fixes) == 1


# --- 7. Streaming: bounded reads, batches across chunk and parse-batch boundaries ------------
class ChunkedOnly(io.RawIOBase):
    """A stream that serves a generated GPX and refuses to be read whole."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self.parts = parts
        self.buffer = b""
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert 0 < size <= 1 << 20, f"reader asked for {size} bytes"
        self.largest_request = max(self.largest_request, size)
        while len(self.buffer) < size:
            part = next(self.parts, None)
            if part is None:
                break
            self.buffer += part
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out


def synthetic_gpx(n_tracks: int, n_points: int) -> Iterator[bytes]:
    yield gpx11("").split("</gpx>")[0].encode()
    stamps = np.datetime_as_string(
        np.datetime64(T0_TWO, "ms") + np.arange(n_points) * np.timedelta64(1, "s"), unit="s")
    for k in range(n_tracks):
        rows = [f"<trk><name>t{k}</name><trkseg>"]
        for i, stamp in enumerate(stamps.tolist()):
            rows.append(f'<trkpt lat="{5 + i * 1e-6:.6f}" lon="{-4 - k * 1e-3:.6f}">'
                        f"<time>{stamp}Z</time><extensions><speed>{i % 7}</speed>"
                        "</extensions></trkpt>")
        rows.append("</trkseg></trk>")
        yield "".join(rows).encode()
    yield b"</gpx>"


def test_20_streams_in_bounded_chunks_across_batches() -> None:
    n = BATCH_FIXES + 1234
    stream = ChunkedOnly(synthetic_gpx(2, n))
    seen: list[int] = []
    ts = read_gpx(stream, source="big.gpx", on_progress=seen.append)
    assert stream.largest_request <= 1 << 20
    assert len(seen) > 2
    assert seen == sorted(seen)
    fx = ts.fixes
    assert len(fx) == 2 * n
    np.testing.assert_array_equal(np.bincount(fx.trace_index), [n, n])
    np.testing.assert_array_equal(fx.time_ms[:n], T0_TWO + 1000 * np.arange(n))
    np.testing.assert_array_equal(fx.time_ms[n:], fx.time_ms[:n])
    np.testing.assert_array_equal(fx.speed_mps[n:], np.arange(n) % 7)
    np.testing.assert_allclose(fx.lat[n - 1], 5 + (n - 1) * 1e-6)


# --- 8. Real data: one Abidjan trace written as OSMTracker writes it, read back --------------
def write_osmtracker_gpx(path: Path, points: pd.DataFrame, waypoints: pd.DataFrame) -> None:
    """The layout of OSMTracker for Android's GPXFileWriter: waypoints, then one track."""
    out = ['<?xml version="1.0" encoding="UTF-8" ?>',
           '<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1" creator="OSMTracker '
           'for Android™ - https://github.com/labexp/osmtracker-android">']
    for w in waypoints.itertuples():
        out.append(f'\t<wpt lat="{w.lat}" lon="{w.lon}">\n\t\t<ele>{w.ele}</ele>\n'
                   f"\t\t<time>{w.time_utc}</time>\n\t\t<name><![CDATA[{w.name}]]></name>\n"
                   "\t</wpt>")
    out.append("\t<trk>\n\t\t<name><![CDATA[Tracked with OSMTracker for Android™]]></name>\n"
               "\t\t<trkseg>")
    for p in points.itertuples():
        out.append(f'\t\t\t<trkpt lat="{p.lat}" lon="{p.lon}">\n\t\t\t\t<ele>{p.ele}</ele>\n'
                   f"\t\t\t\t<time>{p.time_utc}</time>\n\t\t\t\t<extensions>\n"
                   f"\t\t\t\t\t<speed>{p.speed_mps}</speed>\n\t\t\t\t</extensions>\n"
                   "\t\t\t</trkpt>")
    out.append("\t\t</trkseg>\n\t</trk>\n</gpx>")
    path.write_text("\n".join(out), encoding="utf-8")


@pytest.mark.shared
def test_21_abidjan_trace_round_trip(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "abidjan-gps-traces"
    points = pd.read_csv(folder / "sample_trackpoints.csv")
    waypoints = pd.read_csv(folder / "sample_waypoints.csv", keep_default_na=False)
    points = points[points.trace_id == 83].sort_values("seq")
    waypoints = waypoints[waypoints.trace_id == 83]
    path = tmp_path / "83.gpx"
    write_osmtracker_gpx(path, points, waypoints)
    assert sniff_gpx(path.read_bytes()[:2048])
    with path.open("rb") as f:
        ts = read_gpx(f, source=path.name)
    assert_consistent(ts)
    fx = ts.fixes
    assert [t.trace_key for t in ts.traces] == ["83"]  # from the file name, not the app's
    assert len(fx) == len(points) == 3498
    assert ts.rejections == []
    expected_ms, ok = parse_instants(points.time_utc.tolist())
    assert ok.all()
    np.testing.assert_array_equal(fx.time_ms, expected_ms)
    np.testing.assert_array_equal(fx.lat, points.lat.to_numpy())
    np.testing.assert_array_equal(fx.lon, points.lon.to_numpy())
    np.testing.assert_allclose(fx.speed_mps, points.speed_mps.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(fx.altitude_m, points.ele.to_numpy(), rtol=1e-6)
    assert len(ts.field_stops) == len(waypoints) == 38
    assert [s.name for s in ts.field_stops] == waypoints.name.tolist()
    wpt_ms, _ = parse_instants(waypoints.time_utc.tolist())
    assert [s.time_ms for s in ts.field_stops] == wpt_ms.tolist()


def test_unknown_timezone_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown timezone 'Mars/Olympus'"):
        read_gpx(io.BytesIO(b"<gpx/>"), source="x", timezone="Mars/Olympus")
