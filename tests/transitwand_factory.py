"""Build TransitWand captures the way the Android app writes them, for tests anywhere.

``make_transitwand_capture`` takes routes with *absolute* times (UTC ms) and encodes them as
the app's ``RouteCapture.seralize`` does: each point's ``timeoffset`` is the whole seconds
since the previous point (the first: since the start), truncated towards zero; each stop's
offsets are whole seconds since the previous stop's arrival. Give times at whole seconds
after ``start_ms`` and the reader must return them to the millisecond.

Usage from another test (CLI, API)::

    from tests.transitwand_factory import CapturePoint, CaptureRoute, make_transitwand_capture
    data = make_transitwand_capture([straight_route(start_ms=1_573_000_000_123, n_points=20)])

Regenerate the committed fixtures in ``tests/fixtures/transitwand/``::

    .venv/bin/python -m tests.transitwand_factory
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gps_ingest.proto import transitwand_pb2 as pb

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "transitwand"
#: 2019-11-05T05:30:12.345Z: a weekday morning in Nairobi (UTC+3 08:30).
NAIROBI_START_MS = 1_572_931_812_345


@dataclass(frozen=True)
class CapturePoint:
    """A GPS point: WGS84 degrees and the UTC instant (ms) the phone recorded it."""

    lat: float
    lon: float
    time_ms: int


@dataclass(frozen=True)
class CaptureStop:
    """A stop marked in the app: arrival/departure instants (UTC ms) and passenger counts."""

    lat: float
    lon: float
    arrival_ms: int
    departure_ms: int
    board: int = 0
    alight: int = 0


@dataclass(frozen=True)
class CaptureRoute:
    """One capture session as the app holds it before serializing."""

    start_ms: int
    points: Sequence[CapturePoint]
    stops: Sequence[CaptureStop] = ()
    name: str | None = None
    description: str | None = None
    notes: str | None = None
    vehicle_type: str | None = None
    vehicle_capacity: str | None = None


def _whole_seconds(delta_ms: int) -> int:
    """Java ``(int)(delta / 1000)``: truncation towards zero."""
    return int(delta_ms / 1000) if delta_ms >= 0 else -int(-delta_ms / 1000)


def route_message(route: CaptureRoute) -> pb.Upload.Route:
    """The ``Upload.Route`` message the app would write for ``route``."""
    msg = pb.Upload.Route(start_time=route.start_ms)
    for field, value in (("route_name", route.name), ("route_description", route.description),
                         ("route_notes", route.notes), ("vehicle_type", route.vehicle_type),
                         ("vehicle_capacity", route.vehicle_capacity)):
        if value is not None:
            setattr(msg, field, value)
    last = route.start_ms
    for p in route.points:
        msg.point.add(lat=p.lat, lon=p.lon, timeoffset=_whole_seconds(p.time_ms - last))
        last = p.time_ms
    last = route.start_ms
    for s in route.stops:
        msg.stop.add(lat=s.lat, lon=s.lon,
                     arrivalTimeoffset=_whole_seconds(s.arrival_ms - last),
                     departureTimeoffset=_whole_seconds(s.departure_ms - last),
                     board=s.board, alight=s.alight)
        last = s.arrival_ms
    return msg


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def make_transitwand_capture(
    routes: Sequence[CaptureRoute],
    *,
    layout: Literal["upload", "delimited"] = "upload",
    unit_id: int = 0,
    upload_id: int = 0,
) -> bytes:
    """Serialize routes as an ``Upload`` (what the app POSTs) or as length-delimited
    ``Route``s one after another (the phone's ``route_<id>.pb`` files, concatenated)."""
    messages = [route_message(r) for r in routes]
    if layout == "upload":
        return pb.Upload(unit_id=unit_id, upload_id=upload_id,
                         route=messages).SerializeToString()
    out = bytearray()
    for msg in messages:
        body = msg.SerializeToString()
        out += _varint(len(body)) + body
    return bytes(out)


def straight_route(
    *,
    start_ms: int = NAIROBI_START_MS,
    n_points: int = 10,
    step_s: int = 5,
    lat0: float = -1.2833,
    lon0: float = 36.8167,
    dlat: float = 0.0004,
    dlon: float = 0.0003,
    name: str | None = "Route 10001",
    n_stops: int = 0,
) -> CaptureRoute:
    """A ride along a straight line, one point every ``step_s`` seconds from the start,
    with ``n_stops`` stops at evenly spaced points (10 s dwell, counts 1..n)."""
    points = [CapturePoint(lat0 + i * dlat, lon0 + i * dlon, start_ms + (i + 1) * step_s * 1000)
              for i in range(n_points)]
    stops = []
    for j in range(n_stops):
        p = points[(j + 1) * n_points // (n_stops + 1)]
        stops.append(CaptureStop(p.lat, p.lon, p.time_ms, p.time_ms + 10_000,
                                 board=j + 1, alight=j))
    return CaptureRoute(start_ms=start_ms, points=points, stops=stops, name=name)


# Files of other formats, for tests that must refuse them.
TEXT_CSV = b"trace_id,time_utc,lat,lon\n83,2019-11-05T16:31:29Z,5.260917,-3.963747\n"
GPX = (b'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1"><trk><trkseg>'
       b'<trkpt lat="5.26" lon="-3.96"><time>2019-11-05T16:31:29Z</time></trkpt>'
       b"</trkseg></trk></gpx>\n")
GEOJSON = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
           b'{"type": "Point", "coordinates": [-3.96, 5.26]}, "properties": {}}]}')


def fixture_captures() -> dict[str, bytes]:
    """The committed fixture files, by name."""
    two = [
        CaptureRoute(
            start_ms=NAIROBI_START_MS,
            points=[CapturePoint(-1.2833, 36.8167, NAIROBI_START_MS + 4_000),
                    CapturePoint(-1.2841, 36.8175, NAIROBI_START_MS + 9_000),
                    CapturePoint(-1.2850, 36.8190, NAIROBI_START_MS + 15_000),
                    CapturePoint(-1.2862, 36.8203, NAIROBI_START_MS + 75_000)],
            stops=[CaptureStop(-1.2841, 36.8175, NAIROBI_START_MS + 9_000,
                               NAIROBI_START_MS + 40_000, board=3, alight=1),
                   CaptureStop(-1.2862, 36.8203, NAIROBI_START_MS + 75_000,
                               NAIROBI_START_MS + 95_000, board=0, alight=5)],
            name="Kencom - Kawangware 46", description="via Ngong Road",
            notes="driver friendly", vehicle_type="matatu", vehicle_capacity="14"),
        CaptureRoute(
            start_ms=NAIROBI_START_MS + 3_600_000,
            points=[CapturePoint(-1.3000, 36.7800, NAIROBI_START_MS + 3_601_000),
                    CapturePoint(-1.3005, 36.7810, NAIROBI_START_MS + 3_606_000)],
            name="Route 10002"),
    ]
    return {
        "upload_two_routes.pb": make_transitwand_capture(two, unit_id=482913, upload_id=7),
        "route_10001.pb": make_transitwand_capture(two[:1], layout="delimited"),
        "routes_concatenated.pb": make_transitwand_capture(
            [*two, straight_route(start_ms=NAIROBI_START_MS + 7_200_000, name="Route 10003",
                                  n_stops=2)], layout="delimited"),
    }


def write_fixtures(folder: Path = FIXTURE_DIR) -> list[Path]:
    """Write :func:`fixture_captures` into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in fixture_captures().items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_fixtures():
        print(written)
