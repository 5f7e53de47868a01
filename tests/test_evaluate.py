"""Evaluation metrics on hand-made differences whose effect is arithmetic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.small_network import small_network
from transit.evaluate import evaluate_network, lcs_length, match_points, travel_headings
from transit.model import Network, Shape
from transit.sim_geometry import EARTH_RADIUS_M

#: Degrees of longitude per metre at the small network's latitude (-1.3).
DEG_PER_M_LON = 1 / (np.pi / 180 * EARTH_RADIUS_M * np.cos(np.radians(-1.3)))


def _shift_stops(net: Network, east_m: float) -> Network:
    return replace(net, stops=tuple(replace(s, stop_lon=s.stop_lon + east_m * DEG_PER_M_LON)
                                    for s in net.stops))


def test_identical_networks_are_perfect() -> None:
    r = evaluate_network(small_network(), small_network())
    assert (r["stops"]["precision"], r["stops"]["recall"], r["stops"]["f1"]) == (1, 1, 1)
    assert r["patterns"]["recovery"] == 1.0
    assert r["shapes"]["mean_error_m"] == pytest.approx(0.0, abs=1e-6)
    assert r["run_times"]["median_error_pct"] == 0.0
    assert r["run_times"]["n_pairs"] == 12  # 2 patterns x 2 bands x 3 stop pairs


@pytest.mark.parametrize(("east_m", "f1"), [(20.0, 1.0), (29.0, 1.0), (31.0, 0.0)])
def test_stop_radius(east_m: float, f1: float) -> None:
    r = evaluate_network(_shift_stops(small_network(), east_m), small_network())
    assert r["stops"]["f1"] == f1


def test_missing_stop_lowers_recall_and_breaks_the_pattern() -> None:
    truth = small_network()
    built = replace(truth, stops=tuple(s for s in truth.stops if s.stop_id != "B"),
                    patterns=tuple(replace(p, stop_ids=tuple(s for s in p.stop_ids if s != "B"),
                                           timings=()) for p in truth.patterns))
    r = evaluate_network(built, truth)
    assert r["stops"]["precision"] == 1.0
    assert r["stops"]["recall"] == 0.75
    assert r["stops"]["f1"] == pytest.approx(2 * 0.75 / 1.75)
    assert r["patterns"]["recovered"] == 0  # 3 of 4 stops is below 90 %
    assert {d["share"] for d in r["patterns"]["details"]} == {0.75}


def test_lenient_share_recovers_pattern_with_a_missed_stop() -> None:
    truth = small_network()
    built = replace(truth, patterns=tuple(
        replace(p, stop_ids=tuple(s for s in p.stop_ids if s != "B"), timings=())
        for p in truth.patterns))
    r = evaluate_network(built, truth, pattern_share=0.75)
    assert r["patterns"]["recovery"] == 1.0


def test_shape_offset_is_the_mean_error() -> None:
    truth = small_network()
    built = replace(truth, shapes=tuple(
        Shape(s.shape_id, s.lat, tuple(v + 5 * DEG_PER_M_LON for v in s.lon))
        for s in truth.shapes))
    assert evaluate_network(built, truth)["shapes"]["mean_error_m"] == pytest.approx(5.0,
                                                                                     abs=0.05)


def test_run_times_ten_percent_slow() -> None:
    truth = small_network()
    built = replace(truth, patterns=tuple(
        replace(p, timings=tuple(replace(t, run_times_s=tuple(round(v * 1.1)
                                                              for v in t.run_times_s))
                                 for t in p.timings)) for p in truth.patterns))
    run_times = evaluate_network(built, truth)["run_times"]
    assert run_times["median_error_pct"] == pytest.approx(10.0, abs=1.0)
    assert set(run_times["median_error_pct_by_band"]) == {"am_peak", "midday"}


def test_run_time_across_a_missed_stop_includes_its_dwell() -> None:
    truth = small_network()
    north = truth.patterns[0]
    am = north.timings[0]  # runs 60, 70, 80; dwells 0, 20, 30, 0
    # built A C D with A->C = 60 + 20 + 70 = 150 s, exactly the truth
    built_timing = replace(am, run_times_s=(150, 80), dwell_s=(0, 30, 0))
    built = replace(truth, patterns=(replace(north, stop_ids=("A", "C", "D"),
                                             timings=(built_timing,)),))
    r = evaluate_network(built, truth, pattern_share=0.75)
    assert r["run_times"]["n_pairs"] == 2
    assert r["run_times"]["median_error_pct"] == 0.0


def test_match_points_is_one_to_one_closest_first() -> None:
    ax, ay = np.array([0.0]), np.array([0.0])
    bx, by = np.array([10.0, 4.0, 50.0]), np.array([0.0, 0.0, 0.0])
    assert match_points(ax, ay, bx, by, 30.0) == [(0, 1, 4.0)]


def test_lcs() -> None:
    assert lcs_length(["A", None, "C", "D"], ["A", "C", "X", "D"]) == 3
    assert lcs_length([], ["A"]) == 0


def _two_sided(north_east_m: float, south_east_m: float) -> Network:
    """The small network with its southbound stops on their own side of the street."""
    net = small_network()
    south = tuple(replace(s, stop_id=s.stop_id + "s",
                          stop_lon=s.stop_lon + south_east_m * DEG_PER_M_LON) for s in net.stops)
    north = tuple(replace(s, stop_lon=s.stop_lon + north_east_m * DEG_PER_M_LON)
                  for s in net.stops)
    pats = (net.patterns[0],
            replace(net.patterns[1], stop_ids=tuple(s + "s" for s in net.patterns[1].stop_ids)))
    return replace(net, stops=north + south, patterns=pats)


def test_travel_headings_follow_the_patterns() -> None:
    h = travel_headings(_two_sided(0.0, 8.0))
    assert h["A"] == pytest.approx((0.0,))
    assert h["B"] == pytest.approx((0.0,))
    assert h["Bs"] == pytest.approx((180.0,))
    assert h["As"] == pytest.approx((180.0,))
    both = travel_headings(small_network())["B"]
    assert sorted(both) == pytest.approx([0.0, 180.0])


def test_within_radius_scores_stay_direction_aware_and_count_extra_stops() -> None:
    # Built: the truth's stops plus, for each, a copy 10 m east (both within the radius).
    # One-to-one, every copy is a false stop (precision 1/2); within the radius every
    # built stop is right. Turning the copies round (the other direction) makes them wrong
    # again: 10 m away but for the other direction of travel.
    truth = _northbound_only(small_network())
    copies = tuple(replace(s, stop_id=s.stop_id + "e", stop_lon=s.stop_lon
                           + 10 * DEG_PER_M_LON) for s in truth.stops)
    p_e = replace(truth.patterns[0], pattern_id="pe", stop_ids=tuple(
        s + "e" for s in truth.patterns[0].stop_ids), timings=())
    built = replace(truth, stops=truth.stops + copies, patterns=(*truth.patterns, p_e))
    r = evaluate_network(built, truth)
    assert (r["stops"]["precision"], r["stops"]["recall"]) == (0.5, 1.0)
    assert r["stops"]["within_radius"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    backwards = replace(p_e, stop_ids=p_e.stop_ids[::-1])
    r = evaluate_network(replace(built, patterns=(*truth.patterns, backwards)), truth)
    assert r["stops"]["within_radius"]["precision"] == 0.5
    assert r["stops"]["within_radius"]["recall"] == 1.0


def test_stop_matching_is_direction_aware() -> None:
    # Truth: northbound stops on the centre line, southbound 8 m east. Built: northbound
    # 6 m east, southbound 12 m east. By distance alone the built northbound stop (2 m from
    # the truth southbound one) takes it, and the truth northbound stop gets the built
    # southbound one (12 m): both patterns break. Direction-aware: 6 m and 4 m pairs.
    r = evaluate_network(_two_sided(6.0, 12.0), _two_sided(0.0, 8.0))
    assert r["stops"]["f1"] == 1.0
    assert r["patterns"]["recovery"] == 1.0
    assert r["stops"]["median_distance_m"] == pytest.approx(5.0, abs=0.05)


def test_match_points_headings_forbid_opposite_directions() -> None:
    ax, ay = np.array([0.0]), np.array([0.0])
    bx, by = np.array([2.0, 9.0]), np.array([0.0, 0.0])
    assert match_points(ax, ay, bx, by, 30.0) == [(0, 0, 2.0)]
    got = match_points(ax, ay, bx, by, 30.0, [(10.0,)], [(190.0,), (80.0,)])
    assert got == [(0, 1, 9.0)]
    assert match_points(ax, ay, bx, by, 30.0, [(10.0,)], [(), (200.0,)]) == [(0, 0, 2.0)]
    assert match_points(ax, ay, bx, by, 30.0, [(10.0,)], [(101.0,), (200.0,)]) == []


DEG_PER_M_LAT = 1 / (np.pi / 180 * EARTH_RADIUS_M)


def _northbound_only(net: Network) -> Network:
    return replace(net, patterns=net.patterns[:1], shapes=net.shapes[:1])


def test_two_routes_stops_15_m_apart_served_by_one_built_stop_are_both_recovered() -> None:
    # Truth: route 33 stops A-D and route 44 stops A'-D' 16 m east (one stage listed once
    # per route), both northbound. Built: one pattern with one stop per stage, 6 m east.
    # The network-wide one-to-one matching gives every built stop to route 33 (6 m < 10 m),
    # so route 44 looks empty; matched per pair of patterns, its pattern is served in order
    # within 30 m: recovered. The stop scores still count the merge (recall 1/2).
    base = _northbound_only(small_network())
    other = tuple(replace(s, stop_id=s.stop_id + "'", stop_lon=s.stop_lon
                          + 16 * DEG_PER_M_LON) for s in base.stops)
    p44 = replace(base.patterns[0], pattern_id="p44_0", route_id="r44",
                  stop_ids=tuple(s + "'" for s in base.patterns[0].stop_ids))
    truth = replace(base, stops=base.stops + other, patterns=(base.patterns[0], p44))
    built = _shift_stops(base, 6.0)
    r = evaluate_network(built, truth)
    assert r["stops"]["recall"] == 0.5
    # within the radius, not one-to-one: every truth stop has a built stop 6 or 10 m away
    assert r["stops"]["within_radius"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert r["patterns"]["recovery"] == 1.0
    assert r["patterns"]["recovery_global_matching"] == 0.5
    assert r["run_times"]["median_error_pct"] == 0.0


def test_one_built_stop_cannot_stand_for_two_stops_of_the_same_pattern() -> None:
    # Truth pattern A B B2 C D with B2 15 m north of B; the built pattern has A B C D: per
    # pair of patterns each truth stop needs its own built stop, so 4 of 5 (< 90 %)
    base = _northbound_only(small_network())
    b2 = replace(base.stops[1], stop_id="B2",
                 stop_lat=base.stops[1].stop_lat + 15 * DEG_PER_M_LAT)
    am = replace(base.patterns[0].timings[0], run_times_s=(60, 2, 68, 80),
                 dwell_s=(0, 20, 20, 30, 0))
    truth = replace(base, stops=(*base.stops, b2), patterns=(replace(
        base.patterns[0], stop_ids=("A", "B", "B2", "C", "D"), timings=(am,)),))
    r = evaluate_network(base, truth)
    assert r["patterns"]["recovered"] == 0
    assert r["patterns"]["details"][0]["share"] == pytest.approx(0.8)
