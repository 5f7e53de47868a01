"""The simulator: seeded, faithful to the feed's timing, with the phone faults it claims."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gtfs_out.network_read import read_network
from gtfs_out.simulate_io import simulate_feed
from gtfs_out.validate import validate_feed
from gtfs_out.write import write_feed
from tests.small_network import small_network
from transit.sim_geometry import EARTH_RADIUS_M
from transit.simulate import BAND_FACTORS, SimConfig, band_of, simulate_rides

#: No faults at all: every number below is arithmetic on the small network.
CLEAN = SimConfig(rides_per_direction=2, sampling_s=(5.0, 5.0), noise_m=(0.0, 0.0),
                  jump_prob=0.0, gap_prob=0.0, skip_prob=0.0, dwell_s=(30.0, 30.0),
                  hold_prob=0.0, partial_prob=0.0, parked_s=(120.0, 120.0), run_jitter=0.0,
                  name_variant_prob=0.0)
M_PER_DEG = np.pi / 180 * EARTH_RADIUS_M


def test_same_seed_same_output_other_seed_differs() -> None:
    a = simulate_rides(small_network(), seed=7)
    b = simulate_rides(small_network(), seed=7)
    c = simulate_rides(small_network(), seed=8)
    assert [t.trace_id for t in a.traces] == [t.trace_id for t in b.traces]
    for ta, tb in zip(a.traces, b.traces, strict=True):
        np.testing.assert_array_equal(ta.lat, tb.lat)
        np.testing.assert_array_equal(ta.time_s, tb.time_s)
    assert a.truth == b.truth
    assert not np.array_equal(a.traces[0].lat, c.traces[0].lat)


def test_clean_ride_follows_feed_run_times_and_dwells() -> None:
    result = simulate_rides(small_network(), seed=1, config=CLEAN)
    assert len(result.traces) == 4  # 2 rides x 2 directions
    for ride in (r for r in result.rides if r.pattern_id == "p33_0"):
        factor = BAND_FACTORS[ride.band]
        runs = np.array(ride.arrival_s[1:]) - np.array(ride.departure_s[:-1])
        np.testing.assert_allclose(runs, np.array([60, 70, 80]) * factor)
        np.testing.assert_allclose(np.array(ride.departure_s) - ride.arrival_s, 30.0)
        assert all(ride.served)


def test_clean_trace_sits_on_the_street_and_halts_at_stops() -> None:
    result = simulate_rides(small_network(), seed=1, config=CLEAN)
    trace, ride = result.traces[0], result.rides[0]
    np.testing.assert_allclose(trace.lon, 36.8, atol=1e-9)  # the street runs north-south
    assert np.allclose(np.diff(trace.time_s), 5.0, rtol=0.051)
    # parked 120 s before the terminal dwell: the first fixes sit at the first stop
    first_stop_lat = -1.3 if ride.pattern_id == "p33_0" else -1.3 + 3 * 0.0036
    assert trace.time_s[0] == pytest.approx(ride.arrival_s[0] - 120)
    np.testing.assert_allclose(trace.lat[trace.time_s < ride.departure_s[0]], first_stop_lat,
                               atol=1e-9)
    during = (trace.time_s > ride.arrival_s[1]) & (trace.time_s < ride.departure_s[1])
    assert during.sum() >= 5
    np.testing.assert_allclose(trace.speed_mps[during], 0.0, atol=1.5)


def test_rides_come_in_pairs_one_headway_apart() -> None:
    result = simulate_rides(small_network(), seed=3, config=CLEAN)
    north = sorted(r.departure_s[0] for r in result.rides if r.pattern_id == "p33_0")
    headway = {"am_peak": 300, "midday": 600}[band_of(north[0])]
    assert north[1] - north[0] == pytest.approx(headway)


def test_faults_show_up() -> None:
    cfg = SimConfig(rides_per_direction=8, jump_prob=0.02, gap_prob=1.0, gap_s=(90.0, 90.0),
                    sampling_s=(2.0, 2.0), hold_prob=1.0, skip_prob=0.5)
    net = small_network()
    long_net = replace(net, patterns=tuple(
        replace(p, timings=tuple(replace(t, run_times_s=tuple(10 * r for r in t.run_times_s))
                                 for t in p.timings)) for p in net.patterns))
    result = simulate_rides(long_net, seed=2, config=cfg)
    off_street_m = np.concatenate([np.abs(t.lon - 36.8) for t in result.traces]) * M_PER_DEG
    assert off_street_m.max() > 150  # jumps of hundreds of metres
    assert np.median(off_street_m) < 25  # ordinary noise is tens of metres at most
    gaps = np.concatenate([np.diff(t.time_s) for t in result.traces])
    assert gaps.max() >= 90
    assert any(r.holds for r in result.rides)
    assert any(not all(r.served) for r in result.rides)


def test_truth_network_is_a_clean_feed(tmp_path: Path) -> None:
    result = simulate_rides(small_network(), seed=4)
    path = write_feed(result.truth, tmp_path / "truth.zip")
    assert [f for f in validate_feed(path) if f.severity == "error"] == []
    truth = read_network(path)
    bands = {t.band for p in truth.patterns for t in p.timings}
    assert bands == {"am_peak", "midday"}
    am = next(t for t in truth.patterns[0].timings if t.band == "am_peak")
    full = truth.patterns[0].stop_ids == ("A", "B", "C", "D")
    if full:
        assert am.run_times_s == tuple(round(r * BAND_FACTORS["am_peak"]) for r in (60, 70, 80))


@pytest.mark.slow
def test_real_feed_simulation_writes_readable_traces(shared_data: Path, tmp_path: Path) -> None:
    from gps_ingest.csvfile import read_csv

    result, paths = simulate_feed(shared_data / "nairobi-gtfs" / "gtfs.zip", tmp_path,
                                  n_routes=2, rides_per_direction=2, seed=11)
    assert len(result.traces) == 8
    with paths["traces"].open("rb") as fh:
        traces = read_csv(fh, source="traces.csv")
    assert len(traces.fixes.time_ms) == sum(len(t.time_s) for t in result.traces)
    assert [f for f in validate_feed(paths["truth_feed"]) if f.severity == "error"] == []
    # truth stops are where vehicles halt: on the shape, close to the feed's stops
    feed = {s.stop_id: s for s in read_network(shared_data / "nairobi-gtfs" / "gtfs.zip").stops}
    moved_m = [np.hypot((s.stop_lat - feed[s.stop_id].stop_lat) * M_PER_DEG,
                        (s.stop_lon - feed[s.stop_id].stop_lon) * M_PER_DEG)
               for s in result.truth.stops]
    assert float(np.median(moved_m)) < 15


def test_truth_merges_indistinguishable_stops_only_in_one_direction() -> None:
    from transit.sim_truth import _merge_groups

    x, y = np.array([0.0, 2.0, 0.0, 40.0]), np.array([0.0, 0.0, 1.0, 0.0])
    heading = np.array([0.0, 10.0, 180.0, 0.0])  # c runs the other way; d is 40 m off
    rep = _merge_groups(["a", "b", "c", "d"], x, y, heading)
    assert rep == {"a": "a", "b": "a", "c": "c", "d": "d"}


def test_truth_merge_radius_is_ten_metres() -> None:
    from transit.sim_truth import _merge_groups

    x, y = np.array([0.0, 9.0, 30.0, 41.0]), np.zeros(4)
    rep = _merge_groups(["a", "b", "c", "d"], x, y, np.zeros(4))
    assert rep == {"a": "a", "b": "a", "c": "c", "d": "d"}  # 9 m apart merge, 11 m do not
