"""Builder end to end on synthetic rides with known truth (tier 2) and on bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gtfs_out.independent import run_gtfs_guru
from gtfs_out.write import feed_bytes, write_feed
from tests.build_synth import LAT0, LON0, Corridor, l_corridor, ride
from transit.build import BuildOptions, BuildResult, build_network
from transit.errors import BuildError, InputError
from transit.geo import LocalProjection
from transit.report import format_report
from transit.timing import parse_frequencies
from transit.traces import TripSegment

T0_MS = 1_704_171_600_000  # 2024-01-02 05:00 UTC = 08:00 in Nairobi (am_peak)
TZ = "Africa/Nairobi"


def _rides(corridor: Corridor, n: int = 4, *, route: str | None = "7", gap_ms: int = 420_000,
           noise_m: float = 5.0, step_s: float = 1.0, prefix: str = "",
           proj: LocalProjection | None = None) -> list[TripSegment]:
    segs = []
    for d in (0, 1):
        for k in range(n):
            seg, _ = ride(corridor, d, start_ms=T0_MS + k * gap_ms + d * 1_800_000,
                          trace_key=f"{prefix}{d}-{k}", route_name=route, seed=100 * d + k,
                          skip=frozenset({k + 2}), noise_m=noise_m, step_s=step_s, proj=proj)
            segs.append(seg)
    return segs


@pytest.fixture(scope="module")
def corridor() -> Corridor:
    return l_corridor()


@pytest.fixture(scope="module")
def built(corridor: Corridor) -> BuildResult:
    return build_network(_rides(corridor), BuildOptions(timezone=TZ))


def test_01_one_route_two_directions_every_stop_found(corridor: Corridor,
                                                      built: BuildResult) -> None:
    net = built.network
    assert len(net.routes) == 1
    assert net.routes[0].route_short_name == "7"
    assert sorted(p.direction_id for p in net.patterns) == [0, 1]
    proj = LocalProjection(LAT0, LON0)
    bx, by = proj.forward([s.stop_lat for s in net.stops], [s.stop_lon for s in net.stops])
    for d, pattern in enumerate(sorted(net.patterns, key=lambda p: p.direction_id)):
        tx, ty = corridor.stops(pattern.direction_id)
        by_id = {s.stop_id: i for i, s in enumerate(net.stops)}
        px = bx[[by_id[s] for s in pattern.stop_ids]]
        py = by[[by_id[s] for s in pattern.stop_ids]]
        # same number of stops, in riding order, each within 10 m of the truth
        assert len(pattern.stop_ids) == len(tx), d
        assert np.max(np.hypot(px - tx, py - ty)) < 10.0
    assert len(net.stops) == 2 * len(corridor.stops_along_m)


def test_02_run_times_and_dwells_match_the_simulated_vehicle(built: BuildResult) -> None:
    # rides: 8 m/s between stops 400 m apart -> 50 s; 25 s dwell where served
    am = [t for p in built.network.patterns for t in p.timings if t.band == "am_peak"]
    runs = np.array([r for t in am for r in t.run_times_s[1:-1]])
    assert np.median(runs) == pytest.approx(50, abs=3)
    dwell = np.array([d for t in am for d in t.dwell_s[1:-1]])
    assert np.median(dwell) == pytest.approx(25, abs=3)
    assert all(t.n_observations == 4 for t in am)


def test_03_headways_observed_when_vehicles_follow_each_other(built: BuildResult) -> None:
    # 4 vehicles 7 min apart on the same morning: observed headway 420 s in am_peak
    for p in built.network.patterns:
        am = next(t for t in p.timings if t.band == "am_peak")
        assert (am.headway_source, am.headway_s) == ("observed", 420)
        midday = next(t for t in p.timings if t.band == "midday")
        assert midday.headway_source == "assumed"


def test_04_shape_passes_every_stop_within_20_m(built: BuildResult) -> None:
    from shapely import LineString, Point

    proj = LocalProjection(LAT0, LON0)
    stops = {s.stop_id: s for s in built.network.stops}
    shapes = {s.shape_id: s for s in built.network.shapes}
    for p in built.network.patterns:
        sh = shapes[str(p.shape_id)]
        line = LineString(np.c_[proj.forward(sh.lat, sh.lon)])
        for sid in p.stop_ids:
            x, y = proj.forward([stops[sid].stop_lat], [stops[sid].stop_lon])
            assert line.distance(Point(x[0], y[0])) <= 20.0


def test_05_same_input_same_feed_bytes_and_report(corridor: Corridor,
                                                  built: BuildResult) -> None:
    again = build_network(list(reversed(_rides(corridor))), BuildOptions(timezone=TZ))
    assert feed_bytes(again.network) == feed_bytes(built.network)
    assert json.dumps(again.report, sort_keys=True) == json.dumps(built.report, sort_keys=True)


def test_06_report_names_evidence_and_what_was_assumed(built: BuildResult) -> None:
    rep = built.report
    assert rep["summary"]["routes"] == 1
    route = rep["routes"][0]
    assert route["support_traces"] == 8
    assert {p["support_traces"] for p in route["patterns"]} == {4}
    assert "am_peak" in route["patterns"][0]["bands_observed"]
    assert any("headway in midday" in a for a in route["patterns"][0]["assumed"])
    assert rep["needs_another_ride"][0]["route_short_name"] == "7"  # other bands not ridden
    assert all(s["support_traces"] >= 3 for s in rep["stops"])
    json.dumps(rep)  # JSON-able
    assert "need another ride" in format_report(rep)


def test_07_feed_validates_with_zero_errors(built: BuildResult, tmp_path: Path) -> None:
    path = write_feed(built.network, tmp_path / "feed.zip")
    errors = [f for f in run_gtfs_guru(path) if f.severity == "error"]
    assert errors == []


def test_08_single_trace_gives_a_one_direction_route_reported_as_thin(
        corridor: Corridor) -> None:
    seg, _ = ride(corridor, 0, start_ms=T0_MS, trace_key="only", seed=5)
    res = build_network([seg], BuildOptions(timezone=TZ))
    assert len(res.network.routes) == 1
    assert len(res.network.patterns) == 1  # the other direction is not invented
    reasons = res.report["needs_another_ride"][0]["reasons"]
    assert any("1 ride" in r for r in reasons)
    assert any("only one direction" in r for r in reasons)


def test_09_traces_without_dwells_are_a_clear_error(corridor: Corridor) -> None:
    seg, _ = ride(corridor, 0, start_ms=T0_MS, trace_key="nonstop", seed=5,
                  skip=frozenset(range(20)))
    with pytest.raises(BuildError, match="no route could be inferred"):
        build_network([seg], BuildOptions(timezone=TZ))
    with pytest.raises(BuildError, match="no trip segments"):
        build_network([], BuildOptions(timezone=TZ))


def test_10_two_cities_build_as_two_regions_never_one_route(corridor: Corridor) -> None:
    nairobi = _rides(corridor, 2)
    far = LocalProjection(5.3364, -4.0267)  # Abidjan
    abidjan = _rides(corridor, 2, prefix="abj", proj=far)
    res = build_network(nairobi + abidjan, BuildOptions(timezone=TZ))
    assert res.report["summary"]["regions"] == 2
    assert len(res.network.routes) == 2
    lat_of = {s.stop_id: s.stop_lat for s in res.network.stops}
    for p in res.network.patterns:
        lats = np.array([lat_of[s] for s in p.stop_ids])
        assert np.all(lats < 0) or np.all(lats > 0)  # each pattern stays in one city


def test_11_frequencies_given_are_used_and_unknown_routes_refused(corridor: Corridor) -> None:
    segs = _rides(corridor, 1)
    opts = BuildOptions(timezone=TZ)
    rows = tuple(parse_frequencies("route,band,headway_s\n7,midday,480\n", opts.bands))
    res = build_network(segs, replace(opts, frequencies=rows))
    mid = [t for p in res.network.patterns for t in p.timings if t.band == "midday"]
    assert {(t.headway_s, t.headway_source) for t in mid} == {(480, "given")}
    bad = tuple(parse_frequencies("route,band,headway_s\n99X,midday,480\n", opts.bands))
    with pytest.raises(InputError, match="99X"):
        build_network(segs, replace(opts, frequencies=bad))


def test_12_sparse_noisy_sampling_still_recovers_the_stops(corridor: Corridor) -> None:
    # one fix every 5 s with 12 m noise: every true stop still within 20 m of a built one
    res = build_network(_rides(corridor, 4, noise_m=12.0, step_s=5.0),
                        BuildOptions(timezone=TZ))
    proj = LocalProjection(LAT0, LON0)
    bx, by = proj.forward([s.stop_lat for s in res.network.stops],
                          [s.stop_lon for s in res.network.stops])
    for d in (0, 1):
        tx, ty = corridor.stops(d)
        dist = np.hypot(bx[None, :] - tx[:, None], by[None, :] - ty[:, None]).min(axis=1)
        assert np.all(dist < 20.0)


def test_13_stop_most_rides_slow_at_but_one_dwells_at_is_kept(corridor: Corridor) -> None:
    # Per direction, ride 0 dwells 25 s at every stop; rides 1-2 halt only 3 s there (too
    # short for a dwell, but their reported speed drops to 0): every stop has one dwelling
    # trace, so only the slow-pass rule (min_slow_share) keeps it.
    segs = []
    for d in (0, 1):
        for k in range(3):
            seg, _ = ride(corridor, d, start_ms=T0_MS + k * 420_000 + d * 1_800_000,
                          trace_key=f"{d}-{k}", seed=10 * d + k, noise_m=3.0,
                          dwell_s=25.0 if k == 0 else 3.0)
            segs.append(seg)
    kept = build_network(segs, BuildOptions(timezone=TZ))
    assert len(kept.network.stops) == 2 * len(corridor.stops_along_m)
    with pytest.raises(BuildError, match="no ride served two stops"):
        build_network(segs, BuildOptions(timezone=TZ, min_slow_share=None))
