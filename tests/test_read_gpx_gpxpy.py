"""Cross-check: read_gpx against gpxpy (the slow, whole-document reference) and against the
values a random GPX document was generated from (Hypothesis)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import gpxpy
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gps_ingest.gpx import read_gpx

T_MIN_S = 946_684_800  # 2000-01-01
T_MAX_S = 1_893_456_000  # 2030-01-01


@dataclass(frozen=True)
class Pt:
    lat: float
    lon: float
    time_s: int
    ele: float | None
    speed: float | None


@dataclass(frozen=True)
class Trk:
    name: str | None
    segments: tuple[tuple[Pt, ...], ...]


@dataclass(frozen=True)
class Doc:
    version: str
    indent: str
    tracks: tuple[Trk, ...]
    waypoints: tuple[tuple[str, Pt], ...]


coord = st.integers(-10**7, 10**7).map(lambda i: i / 10**5)  # 5 decimals: exact round trip
points = st.builds(
    Pt,
    lat=coord.map(lambda v: v * 0.9),
    lon=coord.map(lambda v: v * 1.8),
    time_s=st.integers(T_MIN_S, T_MAX_S),
    ele=st.none() | st.integers(-500, 9000).map(float),
    speed=st.none() | st.integers(0, 4000).map(lambda i: i / 100),
)
names = st.none() | st.text(alphabet="abcé &<>'\"-123", min_size=1, max_size=12)
tracks = st.builds(Trk, name=names,
                   segments=st.lists(st.lists(points, max_size=5).map(tuple), min_size=1,
                                     max_size=3).map(tuple))
docs = st.builds(
    Doc,
    version=st.sampled_from(["1.0", "1.1"]),
    indent=st.sampled_from(["", "\n", "\n\t\t"]),
    tracks=st.lists(tracks, min_size=1, max_size=3).map(tuple),
    waypoints=st.lists(st.tuples(st.text(alphabet="xyzé& ", min_size=1, max_size=8)
                                 .filter(str.strip), points), max_size=3).map(tuple),
).filter(lambda d: d.waypoints or any(p for t in d.tracks for s in t.segments for p in s))


def iso(time_s: int) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(doc: Doc) -> str:
    ns = f"http://www.topografix.com/GPX/{doc.version.replace('.', '/')}"
    i = doc.indent

    def body(p: Pt) -> str:
        out = f"{i}<ele>{p.ele}</ele>" if p.ele is not None else ""
        out += f"{i}<time>{iso(p.time_s)}</time>"
        if p.speed is not None:
            out += (f"{i}<speed>{p.speed}</speed>" if doc.version == "1.0"
                    else f"{i}<extensions><speed>{p.speed}</speed></extensions>")
        return out

    parts = [f'<?xml version="1.0" encoding="UTF-8"?>{i}<gpx version="{doc.version}" '
             f'creator="hypothesis" xmlns="{ns}">']
    for name, p in doc.waypoints:
        parts.append(f'{i}<wpt lat="{p.lat}" lon="{p.lon}">{body(p)}'
                     f"<name>{escape(name)}</name></wpt>")
    for t in doc.tracks:
        parts.append(f"{i}<trk>")
        if t.name is not None:
            parts.append(f"<name>{escape(t.name)}</name>")
        for seg in t.segments:
            parts.append(f"{i}<trkseg>")
            parts += [f'{i}<trkpt lat="{p.lat}" lon="{p.lon}">{body(p)}</trkpt>' for p in seg]
            parts.append("</trkseg>")
        parts.append("</trk>")
    parts.append(f"{i}</gpx>")
    return "".join(parts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs)
def test_random_documents_match_truth_and_gpxpy(doc: Doc) -> None:
    text = render(doc)
    ts = read_gpx(io.BytesIO(text.encode()), source="random.gpx")
    truth = [(k, p) for k, t in enumerate(doc.tracks) for s in t.segments for p in s]
    fx = ts.fixes
    # against the generating values
    assert len(fx) == len(truth)
    assert ts.rejections == []
    np.testing.assert_array_equal(fx.trace_index, [k for k, _ in truth])
    np.testing.assert_array_equal(fx.lat, [p.lat for _, p in truth])
    np.testing.assert_array_equal(fx.lon, [p.lon for _, p in truth])
    np.testing.assert_array_equal(fx.time_ms, [p.time_s * 1000 for _, p in truth])
    np.testing.assert_allclose(
        fx.speed_mps, [np.nan if p.speed is None else p.speed for _, p in truth], rtol=1e-6)
    assert len(ts.traces) == len(doc.tracks)
    unnamed = sum(1 for t in doc.tracks if not (t.name or "").strip())
    for k, (meta, trk) in enumerate(zip(ts.traces, doc.tracks, strict=True)):
        label = (trk.name or "").strip() or ("random" if unnamed == 1 else
                                             f"random track-{k + 1}")
        assert meta.trace_key == label or meta.trace_key.startswith(f"{label}#")
    assert [s.name for s in ts.field_stops] == [n.strip() for n, _ in doc.waypoints]
    assert [s.time_ms for s in ts.field_stops] == [p.time_s * 1000 for _, p in doc.waypoints]

    # against gpxpy, which builds the whole document
    ref = gpxpy.parse(text)
    ref_points = [p for t in ref.tracks for s in t.segments for p in s.points]
    assert len(ref_points) == len(fx)
    np.testing.assert_array_equal(fx.lat, [p.latitude for p in ref_points])
    np.testing.assert_array_equal(fx.lon, [p.longitude for p in ref_points])
    np.testing.assert_array_equal(
        fx.time_ms, [round(p.time.timestamp() * 1000) for p in ref_points])
    np.testing.assert_allclose(
        fx.altitude_m, [np.nan if p.elevation is None else p.elevation for p in ref_points])
    assert [(w.name or "").strip() for w in ref.waypoints] == [s.name for s in ts.field_stops]
