"""Builder, steps 3-5: stop sequences, patterns, directions, shapes, run times, headways."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from transit.errors import InputError
from transit.model import DEFAULT_TIME_BANDS
from transit.patterns import (
    SegmentVisits,
    infer_patterns,
    lcs_length,
    match_segments_to_stops,
    pair_directions,
    recording_gaps,
)
from transit.run_times import (
    PatternRuns,
    estimate_band_factors,
    estimate_run_times,
    observe_runs,
)
from transit.shapes import drop_spikes, estimate_shape
from transit.timing import (
    band_for_clock,
    estimate_headways,
    given_headway,
    halts_at_passbys,
    local_clock,
    parse_frequencies,
    ride_times,
    stopped_edges_ms,
)


def _v(*stops: int) -> SegmentVisits:
    n = len(stops)
    return SegmentVisits(np.array(stops, np.int64), np.arange(n, dtype=np.int64) * 60_000,
                         np.zeros(n), np.arange(n, dtype=np.int64))


def test_01_lcs_lengths() -> None:
    assert lcs_length(np.array([1, 2, 3, 4]), np.array([1, 3, 4])) == 3
    assert lcs_length(np.array([1, 2, 3]), np.array([3, 2, 1])) == 1
    assert lcs_length(np.array([5]), np.array([6])) == 0


def test_02_pass_by_counts_and_heading_is_respected() -> None:
    # a vehicle drives east along y=0 at 10 m/s; stop A (heading east) at x=200, y=10 is
    # served by passing; stop B at x=400 faces west (other side of the road): not served
    x = np.arange(0.0, 600.0, 10.0)
    y = np.zeros_like(x)
    t = (np.arange(len(x)) * 1000).astype(np.int64)
    visits = match_segments_to_stops(
        x, y, t, np.array([0, len(x)], np.int64), np.array([200.0, 400.0]),
        np.array([10.0, 10.0]), np.array([90.0, 270.0]))
    assert visits[0].stop.tolist() == [0]
    assert visits[0].center_ms.tolist() == [20_000]  # closest approach at x=200 m


def test_03_partial_ride_and_missed_stop_join_the_full_pattern() -> None:
    visits = [_v(1, 2, 3, 4, 5, 6), _v(1, 2, 4, 5, 6), _v(3, 4, 5, 6), _v(1, 2, 3, 4, 5, 6)]
    groups = infer_patterns(visits, ["7"] * 4)
    assert len(groups) == 1
    assert groups[0].stops == (1, 2, 3, 4, 5, 6)
    assert groups[0].members == (0, 1, 2, 3)


def test_03b_stops_seen_in_both_orders_are_ordered_by_mean_position() -> None:
    # rides 0 and 2 serve 1 then 2, ride 1 serves 2 then 1 (a vehicle turning at the
    # terminus): 1 and 2 form a cycle. The longest ride (2) also served a stray stop 9 that
    # the two other rides covering that stretch did not: it is not part of the pattern
    visits = [_v(1, 2, 3, 4, 5, 6), _v(2, 1, 3, 4, 5, 6), _v(1, 2, 3, 4, 9, 5, 6)]
    groups = infer_patterns(visits, ["7"] * 3)
    assert [(g.stops, g.members) for g in groups] == [((1, 2, 3, 4, 5, 6), (0, 1, 2))]


def test_03c_a_loop_route_keeps_the_order_of_its_longest_ride() -> None:
    # every stop is in one cycle (the route comes back to stop 1): no local reordering
    visits = [_v(1, 2, 3, 4, 5, 1), _v(1, 2, 3, 4, 5, 1), _v(2, 3, 4, 5)]
    groups = infer_patterns(visits, ["7"] * 3)
    assert [g.stops for g in groups] == [(1, 2, 3, 4, 5, 1)]


def test_03d_a_ride_does_not_cover_the_stretch_it_recorded_nothing_on() -> None:
    # stop 3 is served by ride 0 only; ride 1 passed it during a recording gap (after its
    # fix 11), ride 2 passed it recording and did not serve it: 1 of 2 covering rides
    def v(stops: list[int], first_fix: int) -> SegmentVisits:
        n = len(stops)
        return SegmentVisits(np.array(stops, np.int64), np.arange(n, dtype=np.int64) * 60_000,
                             np.zeros(n), first_fix + np.arange(n, dtype=np.int64))

    visits = [v([1, 2, 3, 4, 5], 0), v([1, 2, 4, 5], 10), v([1, 2, 4, 5], 20)]
    plain = infer_patterns(visits, ["7"] * 3)
    assert [g.stops for g in plain] == [(1, 2, 4, 5)]  # 1 of 3 covering rides
    gaps = infer_patterns(visits, ["7"] * 3, gap_fixes=np.array([11], np.int64))
    assert [g.stops for g in gaps] == [(1, 2, 3, 4, 5)]


def test_03e_recording_gaps_are_long_steps_inside_a_segment() -> None:
    t = np.array([0, 10_000, 200_000, 210_000, 400_000, 410_000], np.int64)
    bounds = np.array([0, 4, 6], np.int64)  # the 190 s from fix 3 to 4 is a new segment
    assert recording_gaps(t, bounds).tolist() == [1]
    assert recording_gaps(t, bounds, max_gap_s=300.0).tolist() == []


def test_04_route_names_keep_patterns_apart_and_variants_split() -> None:
    visits = [_v(1, 2, 3, 4), _v(1, 2, 3, 4), _v(1, 2, 3, 4), _v(10, 11, 12, 13)]
    groups = infer_patterns(visits, ["7", "7", "8", "7"])
    assert sorted(g.members for g in groups) == [(0, 1), (2,), (3,)]


def test_05_opposite_directions_pair_into_one_route() -> None:
    sx = np.array([0.0, 1000.0, 2000.0, 2000.0, 1000.0, 0.0, 9000.0, 9500.0])
    sy = np.array([0.0, 0.0, 0.0, 8.0, 8.0, 8.0, 0.0, 0.0])
    visits = [_v(0, 1, 2), _v(0, 1, 2), _v(3, 4, 5), _v(6, 7)]
    groups = infer_patterns(visits, [""] * 4)
    pairs = pair_directions(groups, [""] * 4, sx, sy)
    by_stops = {groups[a].stops: (groups[b].stops if b is not None else None)
                for a, b in pairs}
    assert by_stops == {(0, 1, 2): (3, 4, 5), (6, 7): None}  # better supported is dir 0


def test_06_shape_is_the_central_line_and_holds_every_stop() -> None:
    rng = np.random.default_rng(3)
    rides = []
    for _ in range(5):
        x = np.arange(0.0, 2000.0, 8.0)
        rides.append((x, rng.normal(0.0, 8.0, len(x))))
    rides[2][1][100:105] += 300.0  # a GPS jump on one ride
    sx, sy = np.array([0.0, 1000.0, 1990.0]), np.array([0.0, 25.0, 0.0])
    shx, shy = estimate_shape(rides, sx, sy)
    inner = (shx > 50) & (shx < 1950)
    assert np.abs(shy[inner]).mean() < 5.0  # median of 5 rides: near the true line y=0
    from shapely import LineString, Point
    line = LineString(np.c_[shx, shy])
    assert max(line.distance(Point(a, b)) for a, b in zip(sx, sy, strict=True)) <= 20.0


def test_06b_a_jump_of_the_reference_ride_stays_out_of_the_shape() -> None:
    # the reference ride (most stops served) is sampled every 100 m and one fix jumped
    # 300 m off the road (slower than the cleaner's 40 m/s); the other rides pass the jump
    # more than 40 m away, so they cannot outvote it: it is dropped as a spike
    x = np.arange(0.0, 2000.0, 100.0)
    ref_y = np.zeros_like(x)
    ref_y[7] = 300.0
    other = np.arange(0.0, 2000.0, 10.0)
    rides = [(x, ref_y), (other, np.full(len(other), 3.0)), (other, np.full(len(other), -3.0))]
    sx, sy = np.array([0.0, 1000.0, 1900.0]), np.array([0.0, 0.0, 0.0])
    _, shy = estimate_shape(rides, sx, sy)
    assert np.abs(shy).max() < 10.0
    # a corner that sticks out as far is a corner: kept
    cx, cy = np.array([0.0, 100.0, 200.0, 200.0]), np.array([0.0, 0.0, 100.0, 200.0])
    assert drop_spikes(cx, cy, 40.0)[0].tolist() == cx.tolist()
    assert drop_spikes(x, ref_y, 40.0)[0].tolist() == np.delete(x, 7).tolist()


def test_07_ride_times_interpolate_missed_stops_by_distance() -> None:
    v = SegmentVisits(np.array([10, 12], np.int64), np.array([0, 100_000], np.int64),
                      np.zeros(2), np.zeros(2, np.int64))
    rt = ride_times([10, 11, 12], v, np.array([0.0, 300.0, 1000.0]))
    assert rt.center_ms.tolist() == [0.0, 30_000.0, 100_000.0]
    assert rt.observed.tolist() == [True, False, True]


AM_MS = (7 * 3600 + 1800) * 1000  # 07:30 UTC on 1970-01-01


def test_08_run_times_per_band_are_medians_and_empty_bands_borrow() -> None:
    along = np.array([0.0, 400.0, 800.0])
    rides = []
    for run in (50, 60, 70):
        v = SegmentVisits(np.array([0, 1, 2], np.int64),
                          AM_MS + np.array([0, (run + 10) * 1000, (2 * run + 20) * 1000],
                                           np.int64),
                          np.array([0.0, 20.0, 0.0]), np.zeros(3, np.int64))
        rides.append(ride_times([0, 1, 2], v, along))
    out = estimate_run_times(rides, along, DEFAULT_TIME_BANDS, "UTC")
    runs, dwell, n_obs, estimated = out["am_peak"]
    # the middle stop's 20 s dwell is centred at run + 10 s: arrival after `run` s, and
    # the second stretch also takes `run` s; medians of 50, 60, 70
    assert runs == (60, 60)
    assert dwell == (0, 20, 0)
    assert (n_obs, estimated) == (3, False)
    assert out["evening"][0] == (60, 60)
    assert out["evening"][2:] == (0, True)  # no ride in the evening: borrowed, estimated


def _runs(base_s: NDArray[np.float64], ride_bands: list[int],
          factors: NDArray[np.float64], rng: np.random.Generator,
          jitter: float = 0.0) -> PatternRuns:
    """Rides of one pattern: every stretch takes base x the factor of the ride's band."""
    n = len(base_s) + 1
    rb = np.array(ride_bands)
    runs = base_s[None, :] * factors[rb][:, None] * rng.uniform(1 - jitter, 1 + jitter,
                                                                (len(rb), n - 1))
    band = np.repeat(rb[:, None], n - 1, axis=1).astype(np.int64)
    stop_band = np.repeat(rb[:, None], n, axis=1).astype(np.int64)
    return PatternRuns(runs, band, np.full((len(rb), n), 20.0), stop_band,
                       np.full(n - 1, 300.0), np.full(n - 1, 15.0))


def test_08b_band_of_a_stretch_is_the_band_the_vehicle_leaves_the_stop_in() -> None:
    # one ride leaves stop 0 at 08:58 (am_peak) and stop 1 at 09:08 (midday)
    t0 = (8 * 3600 + 58 * 60) * 1000
    v = SegmentVisits(np.array([0, 1, 2], np.int64),
                      np.array([t0, t0 + 590_000, t0 + 1_200_000], np.int64),
                      np.array([0.0, 20.0, 0.0]), np.zeros(3, np.int64))
    runs = observe_runs([ride_times([0, 1, 2], v, np.array([0.0, 3000.0, 6000.0]))],
                        np.array([0.0, 3000.0, 6000.0]), DEFAULT_TIME_BANDS, "UTC")
    names = [b.name for b in DEFAULT_TIME_BANDS]
    assert [names[k] for k in runs.band[0]] == ["am_peak", "midday"]
    assert runs.runs_s[0].tolist() == [580.0, 600.0]


def test_08c_band_factors_are_pooled_over_patterns_with_arithmetic_truth() -> None:
    # 30 patterns, each ridden twice in each of two bands (different pairs), no noise:
    # the pooled factors are the true ones (relative to midday), whatever the pairs
    true = np.array([0.85, 1.25, 1.0, 1.3, 0.95])
    rng = np.random.default_rng(1)
    pats = []
    for _ in range(30):
        a, b = rng.choice(5, 2, replace=False)
        pats.append(_runs(rng.uniform(30, 120, 12), [a, a, b, b], true, rng))
    fac, profiles = estimate_band_factors(pats, 5)
    assert fac.pooled / fac.pooled[2] == pytest.approx(true, rel=1e-6)
    assert fac.between_sd == pytest.approx(np.zeros(5), abs=1e-6)
    # profile x factor gives back every ride's run time
    for q, p in enumerate(pats):
        est = profiles[q][None, :] * fac.factor[q][p.band]
        assert est == pytest.approx(p.runs_s, rel=1e-6)


def test_08d_a_sparse_band_shrinks_to_the_pooled_factor_a_rich_one_keeps_its_own() -> None:
    rng = np.random.default_rng(2)
    common = np.array([1.0, 1.2, 1.0, 1.0, 1.0])
    pats = [_runs(rng.uniform(40, 90, 15), [1, 2, 1, 2], common, rng, jitter=0.08)
            for _ in range(20)]
    # six patterns whose peak is really 1.6 x midday, seen on many stretches and rides
    # (the spread between patterns is robust: one odd pattern alone would be pooled)...
    slow = np.array([1.0, 1.6, 1.0, 1.0, 1.0])
    pats += [_runs(rng.uniform(40, 90, 40), [1] * 6 + [2] * 6, slow, rng, jitter=0.08)
             for _ in range(6)]
    # ...and one ridden once in the peak on two stretches only, with a noisy ratio
    sparse = _runs(rng.uniform(40, 90, 3), [2, 2, 1], common, rng, jitter=0.08)
    sparse.runs_s[2, :2] *= 1.3
    sparse.band[2, 2] = -1
    sparse.runs_s[2, 2] = np.nan
    pats.append(sparse)
    fac, _ = estimate_band_factors(pats, 5)
    ratio = fac.factor[:, 1] / fac.factor[:, 2]
    # the pooled peak factor is the (log) mean over patterns: 20 at 1.2, 6 at 1.6
    pooled = np.exp((20 * np.log(1.2) + 6 * np.log(1.6)) / 26)
    assert fac.pooled[1] / fac.pooled[2] == pytest.approx(pooled, abs=0.04)
    assert ratio[20] == pytest.approx(1.6, abs=0.08)  # own evidence outweighs the pool
    assert fac.weight[20, 1] > 0.8
    # two stretches of one ride: less weight than the rich pattern, pulled toward the pool
    assert fac.weight[26, 1] < fac.weight[20, 1] - 0.2
    assert 1.2 < ratio[26] < 1.3 * 1.2 - 0.05


def test_08e_a_dwell_starts_after_its_last_approach_fix_still_moving() -> None:
    # fixes every 10 s; fix 1 is inside the dwell radius but reports 8 m/s (approaching):
    # the vehicle stopped between fix 1 and fix 2, so the dwell starts 5 s before fix 2;
    # fix 5 is the last stopped one; the second dwell has no speeds (NaN): kept as found
    t = np.arange(0, 100_000, 10_000, dtype=np.int64)
    v = np.array([9.0, 8.0, 0.1, 0.0, 0.2, 0.1, 7.5, 9.0, np.nan, np.nan], np.float32)
    start, end = stopped_edges_ms(np.array([1, 8]), np.array([5, 9]),
                                  np.array([5_000, 75_000]), np.array([55_000, 90_000]),
                                  t, v, 2.5, 10.0)
    assert start.tolist() == [15_000, 75_000]
    assert end.tolist() == [55_000, 90_000]
    # moving fixes at both edges, half gaps capped at 3 s
    start, end = stopped_edges_ms(np.array([1]), np.array([6]), np.array([5_000]),
                                  np.array([65_000]), t, v, 2.5, 3.0)
    assert (start.tolist(), end.tolist()) == ([17_000], [53_000])


def test_08f_a_pass_by_at_a_standing_vehicle_gets_the_halt_as_its_dwell() -> None:
    # fixes every 10 s; the vehicle stands (speed ~0) at fixes 3-5: the halt runs from
    # 25 s to 55 s (half intervals), so the pass-by timed at fix 4 gets a 30 s dwell
    # centred at 40 s; the pass-by at fix 8 (moving) keeps its abeam instant
    t = np.arange(0, 100_000, 10_000, dtype=np.int64)
    v = np.array([8.0, 8.0, 8.0, 0.2, 0.0, 0.4, 8.0, 8.0, 8.0, 8.0], np.float32)
    vis = SegmentVisits(np.array([7, 9], np.int64), np.array([41_000, 80_000], np.int64),
                        np.zeros(2), np.array([4, 8], np.int64))
    out = halts_at_passbys([vis], t, v, np.array([0, 10], np.int64), 0.8, 10.0)[0]
    assert out.dwell_s.tolist() == [30.0, 0.0]
    assert out.center_ms.tolist() == [40_000, 80_000]
    assert vis.dwell_s.tolist() == [0.0, 0.0]  # the input is not changed


def test_09_headways_need_several_vehicles_the_same_day() -> None:
    deps = [("20240102", 7 * 3600, "a"), ("20240102", 7 * 3600 + 600, "b"),
            ("20240102", 7 * 3600 + 1320, "c"), ("20240103", 7 * 3600 + 100, "a")]
    assert estimate_headways(deps, DEFAULT_TIME_BANDS) == {"am_peak": (660, 2)}
    assert estimate_headways(deps[:2], DEFAULT_TIME_BANDS) == {}


def test_10_local_clock_and_bands() -> None:
    # 2024-01-02 04:30 UTC is 07:30 in Nairobi (UTC+3)
    day, clock = local_clock(1704169800000, "Africa/Nairobi")
    assert (day, clock) == ("20240102", 7 * 3600 + 1800)
    assert band_for_clock(clock, DEFAULT_TIME_BANDS) == "am_peak"
    assert band_for_clock(23 * 3600, DEFAULT_TIME_BANDS) == "evening"  # nearest band


def test_11_frequencies_csv_by_band_and_by_period() -> None:
    rows = parse_frequencies("route,band,headway_s\n7,am_peak,300\n", DEFAULT_TIME_BANDS)
    assert (rows[0].route, rows[0].start_s, rows[0].headway_s) == ("7", 7 * 3600, 300)
    rows = parse_frequencies("route,start_time,end_time,headway_s\n7,06:00,08:00,600\n"
                             "7,08:00,09:00,300\n", DEFAULT_TIME_BANDS)
    am = next(b for b in DEFAULT_TIME_BANDS if b.name == "am_peak")
    assert given_headway(rows, am) == 450  # 1 h at 600 s and 1 h at 300 s


@pytest.mark.parametrize(("text", "message"), [
    ("line,headway\n7,300\n", "columns"),
    ("route,band,headway_s\n7,rush,300\n", "unknown band"),
    ("route,band,headway_s\n7,am_peak,-5\n", "line 2"),
    ("route,start_time,end_time,headway_s\n7,9h,10h,300\n", "bad time"),
])
def test_12_bad_frequencies_say_where_and_how(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_frequencies(text, DEFAULT_TIME_BANDS)


def test_13_densify_fills_the_path_but_not_gaps_or_segment_joins() -> None:
    from transit.patterns import densify

    # segment 0: 0 -> 100 m in 10 s, then a 300 s gap to 130 m; segment 1: one fix
    x = np.array([0.0, 100.0, 130.0, 500.0])
    y = np.zeros(4)
    t = np.array([0, 10_000, 310_000, 320_000], np.int64)
    dx, _, dt, dbounds, pos = densify(x, y, t, np.array([0, 3, 4], np.int64), step_m=25.0)
    assert dx.tolist() == [0.0, 25.0, 50.0, 75.0, 100.0, 130.0, 500.0]
    assert dt.tolist() == [0, 2500, 5000, 7500, 10_000, 310_000, 320_000]
    assert pos.tolist() == [0, 4, 5, 6]
    assert dbounds.tolist() == [0, 6, 7]


def test_14_sparse_fixes_still_serve_the_stop_they_pass() -> None:
    # fixes 120 m apart (15 s at 8 m/s): none within 30 m of the stop at x=60 m, y=5 m
    x = np.array([0.0, 120.0, 240.0])
    visits = match_segments_to_stops(
        x, np.zeros(3), np.array([0, 15_000, 30_000], np.int64), np.array([0, 3], np.int64),
        np.array([60.0]), np.array([5.0]), np.array([90.0]))
    assert visits[0].stop.tolist() == [0]
    assert visits[0].center_ms.tolist() == [7_500]  # abeam of the stop half-way


def test_14b_a_dwell_is_credited_by_time_when_its_fixes_stray_out_of_reach() -> None:
    # eastward at 10 m/s, halt at x=200 from t=20 s to t=50 s; during the halt GPS noise
    # puts the fixes 40 m north of the stop (out of the 30 m reach), so the only points
    # that serve the stop are on the approach and the way out; the dwell (fixes 3-5, 30 s,
    # middle 35 s) still belongs to that visit and times it
    x = np.array([0.0, 100.0, 190.0, 200.0, 200.0, 200.0, 210.0, 300.0, 400.0])
    y = np.array([0.0, 0.0, 0.0, 40.0, 40.0, 40.0, 0.0, 0.0, 0.0])
    t = np.array([0, 10, 19, 20, 35, 50, 51, 60, 70], np.int64) * 1000
    visits = match_segments_to_stops(
        x, y, t, np.array([0, 9], np.int64), np.array([200.0]), np.array([0.0]),
        np.array([90.0]), [(0, 3, 5, 30.0, 35_000.0)], densify_step_m=1000.0)
    assert visits[0].stop.tolist() == [0]
    assert visits[0].dwell_s.tolist() == [30.0]
    assert visits[0].center_ms.tolist() == [35_000]
    # a dwell of another stop, or far in time, is not credited
    other = match_segments_to_stops(
        x, y, t, np.array([0, 9], np.int64), np.array([200.0, 900.0]), np.array([0.0, 0.0]),
        np.array([90.0, 90.0]), [(1, 3, 5, 30.0, 35_000.0)], densify_step_m=1000.0)
    assert other[0].dwell_s.tolist() == [0.0]


@pytest.mark.parametrize(("wait_s", "served"), [(90.0, [0, 1]), (50.0, [0, 1]), (30.0, [1])])
def test_14c_a_vehicle_waiting_at_a_terminus_serves_its_stop_of_the_other_direction(
        wait_s: float, served: list[int]) -> None:
    # stop 0 at x=0 was clustered from arrivals heading west (270 deg); this segment
    # waits there, then leaves east past stop 1 (heading 90 deg). Waiting 90 s, or the
    # 50-odd s cleaning leaves of a long wait (it keeps the last minute), it is at a
    # terminus and serves stop 0; waiting 30 s (a rider boarding mid-route) it does not
    n_wait = int(wait_s // 10)
    x = np.concatenate([np.full(n_wait, 2.0), np.arange(10.0, 400.0, 10.0)])
    t = np.concatenate([np.arange(n_wait) * 10_000,
                        n_wait * 10_000 + np.arange(39) * 1_000]).astype(np.int64)
    visits = match_segments_to_stops(
        x, np.zeros(len(x)), t, np.array([0, len(x)], np.int64), np.array([0.0, 300.0]),
        np.array([5.0, 5.0]), np.array([270.0, 90.0]), terminus_m=30.0)
    assert visits[0].stop.tolist() == served
    # off by default
    plain = match_segments_to_stops(
        x, np.zeros(len(x)), t, np.array([0, len(x)], np.int64), np.array([0.0, 300.0]),
        np.array([5.0, 5.0]), np.array([270.0, 90.0]))
    assert plain[0].stop.tolist() == [1]


@pytest.mark.parametrize("seed", range(5))
def test_15_every_stop_ends_within_20_m_even_when_far_off_the_rides(seed: int) -> None:
    # stops scattered up to 60 m either side of a zigzag ride, some close together: the
    # insertions bend the line, yet every stop ends up within 20 m of the shape
    from shapely import LineString, Point

    rng = np.random.default_rng(seed)
    x = np.arange(0.0, 1500.0, 10.0)
    y = 30.0 * np.sin(x / 200.0)
    sx = np.sort(rng.uniform(0.0, 1500.0, 25))
    sy = 30.0 * np.sin(sx / 200.0) + rng.uniform(-60.0, 60.0, 25)
    shx, shy = estimate_shape([(x, y)], sx, sy)
    line = LineString(np.c_[shx, shy])
    assert max(line.distance(Point(a, b)) for a, b in zip(sx, sy, strict=True)) <= 20.0


def test_route_names_as_typed_are_one_route() -> None:
    from transit.region import route_key

    assert route_key("33SB") == route_key(" 33sb ") == route_key("33SB ") == "33sb"
    assert route_key("Line  18 B") == route_key("line 18 b")
    assert route_key(None) == route_key("") == ""
