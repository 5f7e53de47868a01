"""What /journeys does around the router kernel gives the answers it gave before.

* Dijkstra bounds cut off at the walk-only time (``destination_bounds(max_s=)``) are the
  full bounds with those over the cut-off read as UNREACHED, and the searches pruned by
  them return the same arrivals and the same itinerary as with the full bounds (random
  small feeds and Nairobi pairs, both kernels).
* The area check from the timetable's kept bounding box
  (:func:`transit.one_to_all.check_in_area`) accepts and refuses exactly what the check
  computing the box from the stops for every query did, with the same message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_router_reference import DAY, draw_trip_query, small_feeds
from transit import journeys
from transit.errors import InputError
from transit.lower_bound import destination_bounds
from transit.one_to_all import (
    _outside_message,
    access_for_point,
    check_in_area,
    departure_times,
    draw_offsets,
    travel_times_to_destination,
)
from transit.raptor import RaptorState, run_raptor
from transit.timetable import UNREACHED, Timetable, build_timetable
from transit.walk import haversine_m, walk_s_for_m


def _same_with_cut_bounds(tt: Timetable, origin: tuple[float, float],
                          destination: tuple[float, float], deps: np.ndarray,
                          offsets: np.ndarray, extra_walk_s: int = 0) -> None:
    """Bounds cut at the walk-only time prune both kernels as the full bounds do."""
    state = RaptorState(tt)
    access = access_for_point(tt, *origin)
    egress = access_for_point(tt, *destination)
    walk_m = float(haversine_m(origin[0], origin[1], destination[0], destination[1]))
    upper = int(walk_s_for_m(walk_m, tt.walk)) + extra_walk_s
    full = destination_bounds(state.reverse_graph(), tt.n_stops, *egress)
    cut = destination_bounds(state.reverse_graph(), tt.n_stops, *egress, max_s=upper)
    assert np.array_equal(cut, np.where(full > upper, UNREACHED, full))
    want = travel_times_to_destination(tt, state, access, egress, deps, offsets, upper,
                                       destination=destination, bounds_s=full)
    got = travel_times_to_destination(tt, state, access, egress, deps, offsets, upper,
                                      destination=destination, bounds_s=cut)
    assert np.array_equal(got, want)
    for d in range(offsets.shape[0]):       # the tracked search of the itinerary
        one = deps[d % deps.size:d % deps.size + 1]
        legs = []
        for bounds in (full, cut):
            arrive = run_raptor(tt, state, *access, *egress, one, offsets[d], track=True,
                                destination=destination, bounds_s=bounds, upper_s=upper)
            legs.append((arrive.tolist(), journeys.rebuild_legs(tt, state, access, egress,
                                                                origin, destination)))
        assert legs[0] == legs[1]


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=small_feeds(), data=st.data())
def test_cut_bounds_prune_as_the_full_ones_on_random_feeds(tables: dict[str, pd.DataFrame],
                                                           data: st.DataObject) -> None:
    tt, o, d, deps, offsets = draw_trip_query(tables, data)
    # 0: the walk-only time itself; > 0: a looser upper bound, so a looser cut-off
    _same_with_cut_bounds(tt, o, d, deps, offsets,
                          data.draw(st.sampled_from([0, 0, 60, 10**6])))


@pytest.mark.slow
def test_cut_bounds_prune_as_the_full_ones_on_nairobi(shared_data: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Nairobi stop pairs as /journeys asks them (thirty at random, twenty within 2 km,
    where the cut-off drops most stops); plan_journey's whole answer too."""
    from gtfs_out.read import read_feed

    tt = build_timetable(read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip"),
                         dt.date(2019, 11, 5))
    offsets = draw_offsets(tt, 5, 0)
    deps = departure_times(7 * 3600 + 1800, 3600)
    rng = np.random.default_rng(11)
    pairs = [((float(tt.stop_lat[a]), float(tt.stop_lon[a])),
              (float(tt.stop_lat[b]), float(tt.stop_lon[b])))
             for a, b in rng.integers(0, tt.n_stops, (30, 2))]
    while len(pairs) < 50:
        a, b = rng.integers(0, tt.n_stops, 2)
        o, d = (float(tt.stop_lat[a]), float(tt.stop_lon[a])), (float(tt.stop_lat[b]),
                                                                  float(tt.stop_lon[b]))
        if 500 < float(haversine_m(*o, *d)) < 2000:
            pairs.append((o, d))
    state = RaptorState(tt)
    got = [journeys.plan_journey(tt, o, d, deps[0], state=state, offsets_s=offsets)
           for o, d in pairs]
    for o, d in pairs[:5] + pairs[30:40]:
        _same_with_cut_bounds(tt, o, d, deps, offsets)

    def full_bounds(*args: object, max_s: int | None = None) -> np.ndarray:
        return destination_bounds(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(journeys, "destination_bounds", full_bounds)
    want = [journeys.plan_journey(tt, o, d, deps[0], state=state, offsets_s=offsets)
            for o, d in pairs]
    assert [r.as_dict() for r in got] == [r.as_dict() for r in want]
    assert all(np.array_equal(g.samples_s, w.samples_s) for g, w in zip(got, want, strict=True))
    assert sum(len(r.itinerary) > 1 for r in got) > 30     # most ride


def _outcome(check: object, tt: Timetable, lat: float, lon: float) -> str | None:
    try:
        check(tt, lat, lon, what="origin")  # type: ignore[operator]
    except InputError as exc:
        return str(exc)
    return None


def _check_from_the_stops(tt: Timetable, lat: float, lon: float, what: str) -> None:
    """The area check as it was, with the box computed from the stops for every query."""
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{what} ({lat}, {lon}) is not a WGS84 coordinate",
                         fix="give LAT,LON in degrees, e.g. -1.2921,36.8219")
    pad_deg = tt.walk.max_access_m / 111_000.0
    pad_lon = pad_deg / max(np.cos(np.radians(lat)), 1e-6)
    if not (tt.stop_lat.min() - pad_deg <= lat <= tt.stop_lat.max() + pad_deg
            and tt.stop_lon.min() - pad_lon <= lon <= tt.stop_lon.max() + pad_lon):
        raise InputError(f"{what} ({lat}, {lon}) is outside the feed's area; nearest stops: "
                         f"{_outside_message(tt, lat, lon)}",
                         fix="check the order (LAT,LON) and the feed")


def test_area_check_from_the_kept_box_is_the_full_check() -> None:
    from tests.test_router_features import feed

    stops = """
        stop_id,stop_name,stop_lat,stop_lon
        A,Alpha,-1.30,36.80
        B,Bravo,-1.25,36.83
        D,Delta,-1.20,36.90
    """
    tables = feed(stops=stops, trips="route_id,service_id,trip_id\nR1,ALL,T1", stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:00:00,07:00:00,A,1
        T1,07:10:00,07:11:00,B,2
        T1,07:30:00,07:30:00,D,3
    """)
    tt = build_timetable(tables, DAY)
    lat0, lat1 = float(tt.stop_lat.min()), float(tt.stop_lat.max())
    lon0, lon1 = float(tt.stop_lon.min()), float(tt.stop_lon.max())
    pad = tt.walk.max_access_m / 111_000.0
    rng = np.random.default_rng(0)
    points = list(zip(rng.uniform(lat0 - 3 * pad, lat1 + 3 * pad, 3000),
                      rng.uniform(lon0 - 3 * pad, lon1 + 3 * pad, 3000), strict=True))
    # the box's edges, exactly and one step either side
    for lat in (lat0 - pad, lat1 + pad):
        points += [(np.nextafter(lat, -90), lon0), (lat, lon0), (np.nextafter(lat, 90), lon0)]
    for lat in (lat0, lat1):
        wide = pad / max(np.cos(np.radians(lat)), 1e-6)
        for lon in (lon0 - wide, lon1 + wide):
            points += [(lat, np.nextafter(lon, -180)), (lat, lon), (lat, np.nextafter(lon, 180))]
    points += [(float("nan"), lon0), (lat0, float("inf")), (91.0, lon0), (lat0, 181.0)]
    outcomes = set()
    for lat, lon in points:
        want = _outcome(_check_from_the_stops, tt, float(lat), float(lon))
        assert _outcome(check_in_area, tt, float(lat), float(lon)) == want
        outcomes.add(want is None)
    assert outcomes == {True, False}

