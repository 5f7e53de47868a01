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
