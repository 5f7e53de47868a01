"""The lean one-to-all range kernel (transit/range_raptor.py) against the general one.

Every duration must equal the general kernel's earliest arrival (``run_raptor`` over the
same window, labels kept) minus the departure, UNREACHED beyond the maximum duration: on
random small feeds (Hypothesis, scheduled and headway-based trips) and on Nairobi.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import router_reference as ref
from tests.test_router_reference import DAY, small_feeds
from transit.one_to_all import (
    access_for_point,
    departure_times,
    draw_offsets,
    travel_times_to_stops,
)
from transit.range_raptor import range_durations, vehicles_for_draw
from transit.raptor import RaptorState, run_raptor
from transit.timetable import UNREACHED, Timetable, build_timetable


def _general(tt: Timetable, access: tuple[np.ndarray, np.ndarray], deps: np.ndarray,
             offsets: np.ndarray, longest: int | None) -> np.ndarray:
    """Durations from the general kernel (clock labels minus the departure)."""
    clock = np.empty((deps.size, tt.n_stops), np.int32)
    empty = np.zeros(0, np.int32)
    run_raptor(tt, RaptorState(tt), *access, empty, empty, deps, offsets, clock,
               max_duration_s=longest)
    dur = clock.astype(np.int64) - deps[:, None]
    limit = int(UNREACHED) if longest is None else longest
    return np.where((clock != UNREACHED) & (dur <= limit), dur, UNREACHED).astype(np.int32)


def test_vehicles_for_draw_lists_each_window_from_its_offset() -> None:
    # Pattern 0: windows [100, 400) every 100 s with offset 50 (150, 250, 350) and
    # [0, 120) every 60 s with offset 10 (10, 70), listed out of order; pattern 1 is
    # scheduled (no window); pattern 2: [1000, 1010) with offset 20 runs no vehicle.
    ptr = np.array([0, 2, 2, 3], np.int32)
    start = np.array([100, 0, 1000], np.int32)
    end = np.array([400, 120, 1010], np.int32)
    headway = np.array([100, 60, 30], np.int32)
    offsets = np.array([50, 10, 20], np.int32)
    v_ptr, v_dep = vehicles_for_draw(ptr, start, end, headway, offsets)
    assert v_ptr.tolist() == [0, 5, 5, 5]
    assert v_dep.tolist() == [10, 70, 150, 250, 350]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=small_feeds(), data=st.data())
def test_random_feeds_equal_the_general_kernel(tables: dict[str, pd.DataFrame],
                                               data: st.DataObject) -> None:
    tt = build_timetable(tables, DAY)
    coords = ref.stop_coords(tables)
    o = data.draw(st.sampled_from(sorted(coords)))
    access = access_for_point(tt, *coords[o])
    deps = departure_times(data.draw(st.integers(5 * 3600, 9 * 3600)),
                           data.draw(st.sampled_from([0, 300, 1200])))
    longest = data.draw(st.sampled_from([None, 0, 600, 3600]))
    offsets = draw_offsets(tt, 3, data.draw(st.integers(0, 2**16)))
    state = RaptorState(tt)
    for d in range(offsets.shape[0]):
        got = np.empty((deps.size, tt.n_stops), np.int32)
        range_durations(tt, state, *access, deps, offsets[d], got, longest)
        assert np.array_equal(got, _general(tt, access, deps, offsets[d], longest))
    # The stop-major layout (each draw's rows turned into columns) holds the same times.
    args = (tt, state, *coords[o], int(deps[0]), 60 * deps.size if deps.size > 1 else 0)
    by_sample = travel_times_to_stops(*args, offsets_s=offsets, max_duration_s=longest)
    by_stop = travel_times_to_stops(*args, offsets_s=offsets, max_duration_s=longest,
                                    stop_major=True)
    assert np.array_equal(by_stop, by_sample.T)


@pytest.mark.slow
def test_nairobi_origins_equal_the_general_kernel(shared_data) -> None:
    """Ten Nairobi origins, 60-minute window x 2 draws, capped at 60 minutes and not."""
    from gtfs_out.read import read_feed

    tt = build_timetable(read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip"),
                         dt.date(2019, 11, 5))
    state = RaptorState(tt)
    offsets = draw_offsets(tt, 2, 3)
    deps = departure_times(7 * 3600, 3600)
    rng = np.random.default_rng(2)
    for a in rng.integers(0, tt.n_stops, 10):
        access = access_for_point(tt, float(tt.stop_lat[a]) + 0.003,
                                  float(tt.stop_lon[a]) - 0.002)
        for d in range(2):
            for longest in (3600, None):
                got = np.empty((deps.size, tt.n_stops), np.int32)
                range_durations(tt, state, *access, deps, offsets[d], got, longest)
                assert np.array_equal(got, _general(tt, access, deps, offsets[d], longest))


def test_patterns_idle_in_the_search_span_are_left_out_and_change_nothing() -> None:
    # R1: one scheduled trip 07:00-07:30 A-B-D; R2: headway template A-M-D (20 min) run
    # 17:00-19:00 only; R3: headway template A-E-D (25 min) run 07:00-08:00.
    from tests.test_router_features import DAY as FDAY
    from tests.test_router_features import coords, feed
    from transit.range_raptor import _span_patterns, boarding_spans

    tables = feed(trips="route_id,service_id,trip_id\nR1,ALL,T1\nR2,ALL,F2\nR3,ALL,F3",
                  stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:00:00,07:00:00,A,1
        T1,07:10:00,07:11:00,B,2
        T1,07:30:00,07:30:00,D,3
        F2,06:00:00,06:00:00,A,1
        F2,06:10:00,06:10:00,M,2
        F2,06:20:00,06:20:00,D,3
        F3,06:00:00,06:00:00,A,1
        F3,06:05:00,06:05:00,E,2
        F3,06:25:00,06:25:00,D,3
    """, frequencies="""
        trip_id,start_time,end_time,headway_secs
        F2,17:00:00,19:00:00,600
        F3,07:00:00,08:00:00,900
    """)
    tt = build_timetable(tables, FDAY)
    lo, hi = boarding_spans(tt.pattern_stop_ptr, tt.pattern_is_frequency,
                            tt.pattern_trip_ptr, tt.pattern_time_ptr, tt.trip_dep_s,
                            tt.pattern_freq_ptr, tt.freq_start_s, tt.freq_end_s)
    spans = sorted(zip(lo.tolist(), hi.tolist(), strict=True))
    h = 3600
    # a vehicle leaves some stop of: R1 07:00-07:30 (the last stop's departure is listed),
    # R3 07:00 to 07:59:59 + 25 min, R2 17:00 to 18:59:59 + 20 min
    assert spans == [(7 * h, 7 * h + 1800), (7 * h, 8 * h - 1 + 1500),
                     (17 * h, 19 * h - 1 + 1200)]
    state = RaptorState(tt)
    morning = _span_patterns(tt, state, 7 * h, 8 * h + 1800)
    anytime = _span_patterns(tt, state, 7 * h, None)
    assert np.diff(morning[0].astype(np.int64)).sum() == tt.stop_pattern.size - 3
    assert np.diff(anytime[0].astype(np.int64)).sum() == tt.stop_pattern.size
    # the searches give the general kernel's durations, capped and uncapped
    access = access_for_point(tt, *coords("A"))
    deps = departure_times(6 * h + 50 * 60, 1800)
    offsets = draw_offsets(tt, 2, 7)
    for longest in (3600, None):
        for d in range(2):
            got = np.empty((deps.size, tt.n_stops), np.int32)
            range_durations(tt, state, *access, deps, offsets[d], got, longest)
            assert np.array_equal(got, _general(tt, access, deps, offsets[d], longest))


def _two_routes(frequencies: str, scheduled: str = "") -> Timetable:
    """R2: A-M-D every headway (template 20 min); R3: A-E-B (template 25 min); R1 an
    optional scheduled trip A-B-D."""
    from tests.test_router_features import DAY as FDAY
    from tests.test_router_features import feed

    trips = "route_id,service_id,trip_id\nR2,ALL,F2\nR3,ALL,F3" + (
        "\nR1,ALL,T1" if scheduled else "")
    return build_timetable(feed(trips=trips, stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        F2,06:00:00,06:00:00,A,1
        F2,06:10:00,06:10:00,M,2
        F2,06:20:00,06:20:00,D,3
        F3,06:00:00,06:00:00,A,1
        F3,06:05:00,06:05:00,E,2
        F3,06:25:00,06:25:00,B,3
    """ + scheduled, frequencies="trip_id,start_time,end_time,headway_secs\n" + frequencies),
        FDAY)


def _read_and_searched(tt: Timetable, deps: np.ndarray, offsets: np.ndarray,
                       longest: int) -> list[list[int]]:
    """Per draw, the departures searched when searches may repeat; checks that every
    departure's durations equal those of searching every departure (and of the general
    kernel)."""
    from tests.test_router_features import coords
    from transit.range_raptor import periodic_departures

    access = access_for_point(tt, *coords("A"))
    state = RaptorState(tt)
    searched = []
    for d in range(offsets.shape[0]):
        repeats = periodic_departures(tt, state, deps, offsets[d], longest)
        assert repeats is not None
        rows = np.full((deps.size, tt.n_stops), -1, np.int32)
        row_of = range_durations(tt, state, *access, deps, offsets[d], rows, longest,
                                 repeats)
        want = _general(tt, access, deps, offsets[d], longest)
        assert np.array_equal(rows[row_of], want)
        searched.append([i for i in range(deps.size) if row_of[i] == i])
    return searched


def test_searches_that_repeat_a_later_one_take_its_durations() -> None:
    # One window each, 06:00-10:00, every 5 and 10 minutes: departures 07:00-07:59 capped
    # at 60 minutes repeat every 10 minutes (every vehicle a search can ride runs: the
    # first left by 06:10 and is boarded at most 10 minutes from its first stop), so only
    # the last ten are searched.
    tt = _two_routes("F2,06:00:00,10:00:00,300\nF3,06:00:00,10:00:00,600")
    deps = departure_times(7 * 3600, 3600)
    for searched in _read_and_searched(tt, deps, draw_offsets(tt, 3, 5), 3600):
        assert searched == list(range(50, 60))
    # R2 starts at 07:20: a search from t (07:00-07:15) reaches A at once, in time for
    # R2's vehicle that would have left at 07:15, which the search from t + 10 min rides
    # shifted (07:25): those are searched. From 07:16 on, the only stop where a vehicle
    # that does not run would have been (M, 07:25) is reached too late to board its copy.
    tt = _two_routes("F2,07:20:00,10:00:00,300\nF3,06:00:00,10:00:00,600")
    offsets = np.zeros((1, 2), np.int32)
    assert _read_and_searched(tt, deps, offsets, 3600) == [
        list(range(16)) + list(range(50, 60))]


def test_searches_do_not_repeat_where_the_service_changes_within_the_span() -> None:
    from transit.range_raptor import periodic_departures

    deps = departure_times(7 * 3600, 3600)
    offsets = np.zeros(2, np.int32)
    # a window ends before the last departure's cap (08:59)
    tt = _two_routes("F2,06:00:00,08:30:00,300\nF3,06:00:00,10:00:00,600")
    assert periodic_departures(tt, RaptorState(tt), deps, offsets, 3600) is None
    # no cap: the searches' span has no end
    tt = _two_routes("F2,06:00:00,10:00:00,300\nF3,06:00:00,10:00:00,600")
    assert periodic_departures(tt, RaptorState(tt), deps, offsets, None) is None
    # a scheduled trip leaving stops up to 07:45: only departures after it repeat
    tt = _two_routes("F2,06:00:00,10:00:00,300\nF3,06:00:00,10:00:00,600", """
        T1,07:20:00,07:20:00,A,1
        T1,07:25:00,07:30:00,B,2
        T1,07:45:00,07:45:00,D,3
    """)
    assert _read_and_searched(tt, deps, offsets[None], 3600) == [
        list(range(46)) + list(range(50, 60))]


@pytest.mark.slow
def test_nairobi_searches_that_repeat_give_the_same_durations(shared_data) -> None:
    """Twelve Nairobi origins, 07:00-07:59 x 3 draws capped at 60 minutes: departures whose
    search would repeat a later one's take its durations, and the stop-major samples equal
    those of searching every departure."""
    from gtfs_out.read import read_feed
    from transit.one_to_all import durations_by_stop

    tt = build_timetable(read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip"),
                         dt.date(2019, 11, 5))
    state = RaptorState(tt)
    offsets = draw_offsets(tt, 3, 0)
    deps = departure_times(7 * 3600, 3600)
    n = tt.n_stops
    rows = np.empty((deps.size, n), np.int32)
    rng = np.random.default_rng(4)
    read = 0
    for a in rng.integers(0, n, 12):
        access = access_for_point(tt, float(tt.stop_lat[a]) + 0.002,
                                  float(tt.stop_lon[a]) + 0.002)
        got = []
        for periodic in (True, False):
            by_stop = np.empty((n, deps.size * 3), np.int32)
            fastest, slowest = np.empty(n, np.int32), np.empty(n, np.int32)
            durations_by_stop(tt, state, *access, deps, offsets, 3600, rows, by_stop,
                              fastest, slowest, periodic=periodic)
            by_stop[fastest == UNREACHED] = UNREACHED
            got.append((by_stop, fastest, slowest))
        for x, y in zip(*got, strict=True):
            assert np.array_equal(x, y)
        from transit.range_raptor import periodic_departures
        repeats = periodic_departures(tt, state, deps, offsets[0], 3600)
        row_of = range_durations(tt, state, *access, deps, offsets[0], rows, 3600, repeats)
        read += int((row_of != np.arange(deps.size)).sum())
    assert read > 12 * 30      # most departures repeat a later one
