"""TransitWand detection and the compiled helpers: sniffing heads, the point walker and the
float32 -> decimal conversion, each against a slow reference (numbering continues
tests/test_read_transitwand.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps_ingest.proto import transitwand_pb2 as pb
from gps_ingest.transitwand import _points_from_messages, decode_transitwand, sniff_transitwand
from gps_ingest.transitwand_points import float32_degrees, route_points
from tests.transitwand_factory import GEOJSON, GPX, NAIROBI_START_MS, TEXT_CSV
from transit.errors import FormatError

T0 = NAIROBI_START_MS


def _fixture(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / "transitwand" / name).read_bytes()


# --- sniffing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["upload_two_routes.pb", "route_10001.pb",
                                  "routes_concatenated.pb"])
def test_19_sniff_accepts_captures_and_their_heads(fixtures_dir: Path, name: str) -> None:
    data = _fixture(fixtures_dir, name)
    for size in (24, 40, 64, 100, len(data)):
        assert sniff_transitwand(data[:size]), size


def test_20_sniff_refuses_other_formats() -> None:
    osm_pbf = b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18\x8c\x01"
    gtfs_zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(30)
    gtfs_rt = b"\x0a\x0d\x0a\x032.0\x10\x00\x18\xd0\xa6\xe8\xee\x05\x12\x10\x0a\x02v1"
    for head in (b"", b"\x08\x00", TEXT_CSV, GPX, GEOJSON, osm_pbf, gtfs_zip, gtfs_rt,
                 "lat;lon\n5,2;-3,9\n".encode("utf-16")):
        assert not sniff_transitwand(head), head[:20]


def test_21_sniff_refuses_random_bytes() -> None:
    rng = np.random.default_rng(21)
    claimed = [size for size in rng.integers(1, 600, 3_000).tolist()
               if sniff_transitwand(rng.bytes(size))]
    assert claimed == []


@pytest.mark.shared
def test_29_real_files_of_other_formats_are_neither_sniffed_nor_read(shared_data: Path) -> None:
    paths = sorted(p for p in shared_data.rglob("*") if p.is_file()
                   and p.suffix in {".csv", ".zip", ".geojson", ".md"})
    assert len(paths) >= 10
    for path in paths:
        with path.open("rb") as f:
            head = f.read(4096)
        assert not sniff_transitwand(head), path
        with pytest.raises(FormatError):
            decode_transitwand(head, source=path.name)


# --- the compiled point walker and float conversion against slow references ---------------

_int32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=80, deadline=None)
@given(points=st.lists(st.tuples(st.floats(width=32), st.floats(width=32),
                                 st.one_of(st.none(), _int32)), max_size=40),
       name=st.one_of(st.none(), st.text(max_size=10)), n_stops=st.integers(0, 3))
def test_25_compiled_point_walker_matches_the_protobuf_runtime(
        points: list[tuple[float, float, int | None]], name: str | None, n_stops: int) -> None:
    msg = pb.Upload.Route(start_time=T0)
    if name is not None:
        msg.route_name = name
    for lat, lon, offset in points:
        p = msg.point.add(lat=lat, lon=lon)
        if offset is not None:
            p.timeoffset = offset
    for j in range(n_stops):
        msg.stop.add(lat=1.0, lon=2.0, arrivalTimeoffset=j, board=j)
    data = msg.SerializeToString()
    got = route_points(np.frombuffer(data, np.uint8), 0, len(data))
    assert got is not None
    want = _points_from_messages(msg)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        assert np.array_equal(g, w, equal_nan=True)


@settings(max_examples=200, deadline=None)
@given(degrees=st.lists(st.one_of(st.floats(-1000, 1000, width=32), st.just(float("nan"))),
                        max_size=50),
       anything=st.lists(st.floats(width=32, allow_nan=False), max_size=20))
def test_27_float32_degrees_are_the_shortest_round_trip_decimals(
        degrees: list[float], anything: list[float]) -> None:
    x = np.array(degrees, np.float32)
    assert np.array_equal(float32_degrees(x), x.astype(str).astype(np.float64), equal_nan=True)
    y = np.array(anything, np.float32)  # far outside degrees: still the same float32
    assert np.array_equal(float32_degrees(y).astype(np.float32), y)
