"""The lean range kernel in destination mode (transit/range_raptor.py) against the general one.

Every arrival at the destination must equal what ``run_raptor`` returns with the same
Dijkstra bounds and walk-only upper bound (same pruning, so the same values, upper bounds
included): on random small feeds (Hypothesis, scheduled and headway-based trips) and on
Nairobi stop pairs. The lean kernel's state is shared between queries, as in the service.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_router_reference import draw_trip_query, small_feeds
from transit.lower_bound import destination_bounds
from transit.one_to_all import access_for_point, departure_times, draw_offsets
from transit.range_raptor import range_arrivals_to_destination, range_durations
from transit.raptor import RaptorState, run_raptor
from transit.timetable import Timetable, build_timetable
from transit.walk import haversine_m, walk_s_for_m


def _check_pair(tt: Timetable, lean: RaptorState, general: RaptorState,
                origin: tuple[float, float], destination: tuple[float, float],
                deps: np.ndarray, offsets: np.ndarray, extra_walk_s: int = 0) -> int:
    """Compare both kernels for one pair over every draw; the number of arrivals found."""
    access = access_for_point(tt, *origin)
    egress = access_for_point(tt, *destination)
    walk_m = float(haversine_m(origin[0], origin[1], destination[0], destination[1]))
    upper = int(walk_s_for_m(walk_m, tt.walk)) + extra_walk_s
    bounds = destination_bounds(general.reverse_graph(), tt.n_stops, *egress)
    found = 0
    for d in range(offsets.shape[0]):
        want = run_raptor(tt, general, *access, *egress, deps, offsets[d],
                          destination=destination, bounds_s=bounds, upper_s=upper)
        got = range_arrivals_to_destination(tt, lean, *access, *egress, deps, offsets[d],
                                            bounds, upper)
        assert np.array_equal(got, want)
        found += int(np.sum(want.astype(np.int64) - deps < upper))
    return found


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=small_feeds(), data=st.data())
def test_random_feeds_equal_the_general_kernel(tables: dict[str, pd.DataFrame],
                                               data: st.DataObject) -> None:
    tt, o, d, deps, offsets = draw_trip_query(tables, data)
    # A huge walk-only time: the upper bound does not prune, the destination label does.
    extra = data.draw(st.sampled_from([0, 0, 10**6]))
    lean = RaptorState(tt)
    _check_pair(tt, lean, RaptorState(tt), o, d, deps, offsets, extra)
    # The same scratch space then serves one-to-all searches unchanged.
    got = np.empty((deps.size, tt.n_stops), np.int32)
    range_durations(tt, lean, *access_for_point(tt, *o), deps, offsets[0], got)
    want = np.empty_like(got)
    range_durations(tt, RaptorState(tt), *access_for_point(tt, *o), deps, offsets[0], want)
    assert np.array_equal(got, want)


@pytest.mark.slow
def test_nairobi_pairs_equal_the_general_kernel(shared_data) -> None:
    """Forty random Nairobi stop pairs, 07:30 + 60 minutes x 5 draws, as /journeys asks."""
    from gtfs_out.read import read_feed

    tt = build_timetable(read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip"),
                         dt.date(2019, 11, 5))
    lean, general = RaptorState(tt), RaptorState(tt)
    offsets = draw_offsets(tt, 5, 0)
    deps = departure_times(7 * 3600 + 1800, 3600)
    rng = np.random.default_rng(6)
    found = 0
    for a, b in rng.integers(0, tt.n_stops, (40, 2)):
        found += _check_pair(tt, lean, general, (float(tt.stop_lat[a]), float(tt.stop_lon[a])),
                             (float(tt.stop_lat[b]), float(tt.stop_lon[b])), deps, offsets)
    assert found > 40 * 5 * deps.size // 2     # most samples ride (not a walk-only test)
