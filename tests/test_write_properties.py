"""Property tests: any network the model allows becomes a feed that validates clean,
reads back, and writes back to the same bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtfs_out.independent import run_gtfs_guru
from gtfs_out.network_read import read_network
from gtfs_out.validate import validate_feed
from gtfs_out.write import feed_bytes, write_feed
from transit.model import DEFAULT_TIME_BANDS, BandTiming, Network, Pattern, Route, Shape, Stop

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    n_stops = draw(st.integers(2, 7))
    stops = tuple(
        Stop(stop_id=f"s{i}", stop_name=draw(_TEXT),
             stop_lat=-1.3 + draw(st.floats(-0.02, 0.02)),
             stop_lon=36.8 + draw(st.floats(-0.02, 0.02)))
        for i in range(n_stops))
    patterns, shapes = [], []
    for k in range(draw(st.integers(1, 3))):
        seq = draw(st.lists(st.integers(0, n_stops - 1), min_size=2, max_size=6))
        n = len(seq)
        bands = draw(st.lists(st.sampled_from(DEFAULT_TIME_BANDS), min_size=1, max_size=3,
                              unique=True))
        timings = tuple(
            BandTiming(band=b.name, start_s=b.start_s, end_s=b.end_s,
                       run_times_s=tuple(draw(st.lists(st.integers(0, 900), min_size=n - 1,
                                                       max_size=n - 1))),
                       dwell_s=tuple(draw(st.lists(st.integers(0, 120), min_size=n,
                                                   max_size=n))),
                       headway_s=draw(st.integers(60, 3600)))
            for b in bands)
        jitter = draw(st.floats(-1e-5, 1e-5))
        shapes.append(Shape(f"sh{k}", tuple(stops[i].stop_lat + jitter for i in seq),
                            tuple(stops[i].stop_lon for i in seq)))
        patterns.append(Pattern(pattern_id=f"p{k}", route_id=f"r{k % 2}", direction_id=k % 2,
                                stop_ids=tuple(f"s{i}" for i in seq), shape_id=f"sh{k}",
                                timings=timings))
    routes = tuple(Route(route_id=f"r{j}", route_short_name=draw(_TEXT),
                         route_long_name=draw(_TEXT),
                         continuous_pickup=draw(st.sampled_from([None, 0, 1])))
                   for j in range(2))
    return Network(agency_name=draw(_TEXT), agency_url="", agency_timezone="Africa/Nairobi",
                   stops=stops, routes=routes, patterns=tuple(patterns), shapes=tuple(shapes),
                   start_date="20260101", end_date="20261231", feed_version=draw(_TEXT))


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_any_network_writes_a_clean_feed_that_round_trips(network: Network) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_feed(network, Path(tmp) / "feed.zip")
        own_errors = [f for f in validate_feed(path) if f.severity == "error"]
        assert own_errors == []
        guru_errors = [f for f in run_gtfs_guru(path, date="2026-03-03")
                       if f.severity == "error"]
        assert guru_errors == []
        assert feed_bytes(read_network(path)) == path.read_bytes()
