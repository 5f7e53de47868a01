"""The fast router against slow references: random small feeds (Hypothesis) and Nairobi.

Every earliest arrival must be equal to the second. The references (tests/router_reference.py)
parse the feed again in plain Python, expand headway windows with the same offsets the fast
router drew, and search with networkx Dijkstra on a time-expanded graph or a connection scan.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import router_reference as ref
from transit.lower_bound import destination_bounds
from transit.one_to_all import (
    access_for_point,
    departure_times,
    draw_offsets,
    travel_times_to_stops,
)
from transit.raptor import RaptorState, run_raptor
from transit.timetable import UNREACHED, Timetable, build_timetable

DAY = dt.date(2024, 1, 10)


def _clock(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def draw_trip_query(tables: dict[str, pd.DataFrame], data: st.DataObject
                    ) -> tuple[Timetable, tuple[float, float], tuple[float, float],
                               np.ndarray, np.ndarray]:
    """A random question on a random feed: its timetable, an origin and a destination stop
    (lat, lon), departures (one, or every minute over 10 or 60 min) and 1-4 draws."""
    tt = build_timetable(tables, DAY)
    coords = ref.stop_coords(tables)
    ids = sorted(coords)
    o = coords[data.draw(st.sampled_from(ids))]
    d = coords[data.draw(st.sampled_from(ids))]
    deps = departure_times(data.draw(st.integers(5 * 3600, 9 * 3600)),
                           data.draw(st.sampled_from([0, 600, 3600])))
    offsets = draw_offsets(tt, data.draw(st.integers(1, 4)), data.draw(st.integers(0, 999)))
    return tt, o, d, deps, offsets


@st.composite
def small_feeds(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """2-7 stops on a line 300-900 m apart (some walkable), 1-4 routes, trips and windows."""
    n_stops = draw(st.integers(2, 7))
    gaps = draw(st.lists(st.integers(300, 1500), min_size=n_stops, max_size=n_stops))
    lon = np.cumsum(gaps) / 111_195.0
    lat = [draw(st.sampled_from([0.0, 0.002, -0.003])) for _ in range(n_stops)]
    stops = pd.DataFrame({"stop_id": [f"S{i}" for i in range(n_stops)],
                          "stop_name": [f"Stop {i}" for i in range(n_stops)],
                          "stop_lat": [f"{v:.6f}" for v in lat],
                          "stop_lon": [f"{v:.6f}" for v in lon]})
    trips, times, freqs, routes = [], [], [], []
    for r in range(draw(st.integers(1, 4))):
        seq = draw(st.permutations(range(n_stops)))[:draw(st.integers(2, n_stops))]
        routes.append({"route_id": f"R{r}", "route_short_name": f"{r}", "route_type": "3"})
        for t in range(draw(st.integers(1, 3))):
            trip_id = f"R{r}T{t}"
            overnight = draw(st.booleans()) and t == 0 and r == 0
            clock = draw(st.integers(6 * 3600, 8 * 3600)) + (17 * 3600 if overnight else 0)
            trips.append({"route_id": f"R{r}", "service_id": "ALL", "trip_id": trip_id})
            for i, s in enumerate(seq):
                if i:
                    clock += draw(st.integers(1, 900))
                dwell = draw(st.integers(0, 60))
                board = draw(st.sampled_from(["0", "0", "0", "1"]))
                times.append({"trip_id": trip_id, "arrival_time": _clock(clock),
                              "departure_time": _clock(clock + dwell), "stop_id": f"S{s}",
                              "stop_sequence": str(i + 1), "pickup_type": board,
                              "drop_off_type": draw(st.sampled_from(["0", "0", "0", "1"]))})
                clock += dwell
            if draw(st.booleans()):
                start = draw(st.integers(6 * 3600, 8 * 3600))
                freqs.append({"trip_id": trip_id, "start_time": _clock(start),
                              "end_time": _clock(start + draw(st.integers(60, 5400))),
                              "headway_secs": str(draw(st.integers(60, 1800))),
                              "exact_times": draw(st.sampled_from(["0", "1"]))})
    tables = {
        "stops": stops, "routes": pd.DataFrame(routes), "trips": pd.DataFrame(trips),
        "stop_times": pd.DataFrame(times),
        "calendar": pd.DataFrame([{"service_id": "ALL", **dict.fromkeys(ref.WEEKDAYS, "1"),
                                   "start_date": "20240101", "end_date": "20240131"}]),
    }
    if freqs:
        tables["frequencies"] = pd.DataFrame(freqs)
    return tables


def _offset_fn(tt: Timetable, offsets: np.ndarray) -> ref.OffsetFn:
    table = {(tt.freq_trip_ids[e], int(tt.freq_start_s[e])): int(offsets[e])
             for e in range(tt.n_freq_entries)}
    return lambda trip_id, start_s: table.get((trip_id, start_s), 0)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=small_feeds(), data=st.data())
def test_random_feeds_match_dijkstra_and_connection_scan(tables: dict[str, pd.DataFrame],
                                                         data: st.DataObject) -> None:
    tt = build_timetable(tables, DAY)
    state = RaptorState(tt)
    offsets = draw_offsets(tt, 1, data.draw(st.integers(0, 2**16)))[0]
    vehicles = ref.expand_vehicles(tables, DAY, _offset_fn(tt, offsets))
    coords = ref.stop_coords(tables)
    walks = ref.transfers(coords, tt.walk)
    ids = sorted(coords)
    o, d = data.draw(st.sampled_from(ids)), data.draw(st.sampled_from(ids))
    depart = data.draw(st.integers(5 * 3600, 9 * 3600))
    access = ref.within(coords, *coords[o], tt.walk)
    egress = ref.within(coords, *coords[d], tt.walk)
    expected = ref.dijkstra_arrival(vehicles, walks, access, egress, depart)
    assert ref.scan_arrival(vehicles, walks, access, egress, depart) == expected
    if vehicles:
        assert ref.CompiledScan(vehicles, walks).arrival(access, egress, depart) == expected
    a_stops = np.asarray([tt.stop_for_id(s) for s in access], np.int32)
    e_stops = np.asarray([tt.stop_for_id(s) for s in egress], np.int32)
    got = run_raptor(tt, state, a_stops, np.asarray(list(access.values()), np.int32),
                     e_stops, np.asarray(list(egress.values()), np.int32),
                     np.asarray([depart], np.int32), offsets, destination=coords[d])[0]
    assert (None if got == UNREACHED else int(got)) == expected
    # Dijkstra bounds: never above the true time from any stop, and they change no answer.
    bounds = destination_bounds(state.reverse_graph(), tt.n_stops, e_stops,
                                np.asarray(list(egress.values()), np.int32))
    for s in ids:
        from_s = ref.scan_arrival(vehicles, walks, {s: 0}, egress, depart)
        if from_s is not None:
            assert bounds[tt.stop_for_id(s)] <= from_s - depart
    got = run_raptor(tt, state, a_stops, np.asarray(list(access.values()), np.int32),
                     e_stops, np.asarray(list(egress.values()), np.int32),
                     np.asarray([depart], np.int32), offsets, bounds_s=bounds)[0]
    assert (None if got == UNREACHED else int(got)) == expected
    # One-to-all from the same origin, against a scan over all stops.
    all_stops = ref.scan_times_to_stops(vehicles, walks, access, depart)
    out = np.zeros((1, tt.n_stops), np.int32)
    run_raptor(tt, state, a_stops, np.asarray(list(access.values()), np.int32),
               np.zeros(0, np.int32), np.zeros(0, np.int32), np.asarray([depart], np.int32),
               offsets, out)
    want = {tt.stop_ids[i]: all_stops.get(tt.stop_ids[i]) for i in range(tt.n_stops)}
    have = {tt.stop_ids[i]: None if v == UNREACHED else int(v) for i, v in enumerate(out[0])}
    assert have == want


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=small_feeds(), data=st.data())
def test_range_query_equals_one_search_per_minute(tables: dict[str, pd.DataFrame],
                                                  data: st.DataObject) -> None:
    """Labels kept across the minutes of a window (rRAPTOR) change no answer, and a
    maximum duration keeps every time up to it and reads UNREACHED beyond."""
    tt = build_timetable(tables, DAY)
    coords = ref.stop_coords(tables)
    o = data.draw(st.sampled_from(sorted(coords)))
    depart = data.draw(st.integers(6 * 3600, 8 * 3600))
    longest = data.draw(st.integers(0, 3 * 3600))
    state = RaptorState(tt)
    window = travel_times_to_stops(tt, state, *coords[o], depart, 600, draws=2, seed=5)
    capped = travel_times_to_stops(tt, state, *coords[o], depart, 600, draws=2, seed=5,
                                   max_duration_s=longest)
    assert np.array_equal(capped, np.where(window <= longest, window, UNREACHED))
    offsets = draw_offsets(tt, 2, 5)
    access = access_for_point(tt, *coords[o])
    single = np.zeros((1, tt.n_stops), np.int32)
    for row in range(window.shape[0]):
        d, minute = divmod(row, 10)
        dep = depart + 60 * minute
        run_raptor(tt, RaptorState(tt), *access, np.zeros(0, np.int32), np.zeros(0, np.int32),
                   np.asarray([dep], np.int32), offsets[min(d, offsets.shape[0] - 1)], single)
        expect = np.where(single[0] == UNREACHED, UNREACHED, single[0] - dep)
        assert np.array_equal(window[row], expect)


@pytest.mark.slow
def test_nairobi_sample_matches_connection_scan(shared_data) -> None:
    """Nairobi, frequencies expanded at offset 0 (gtfs-kit's expansion), 20 stop pairs."""
    from gtfs_out.read import read_feed

    feed = read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip")
    day = dt.date(2019, 11, 5)
    tt = build_timetable(feed, day)
    # Yesterday's vehicles (shifted by -24 h) all end before midnight in this feed.
    vehicles = [v for v in ref.expand_vehicles(feed.tables, day) if v.arr[-1] >= 0]
    assert len(vehicles) == 34_856
    conns = ref.connections(vehicles)
    coords = ref.stop_coords(feed.tables)
    walks = ref.transfers_numpy(coords, tt.walk)
    state = RaptorState(tt)
    offsets = np.zeros(tt.n_freq_entries, np.int32)
    rng = np.random.default_rng(11)
    ids = sorted(coords)
    agree = 0
    for _ in range(20):
        o, d = (ids[i] for i in rng.integers(0, len(ids), 2))
        depart = int(rng.integers(7 * 3600, 8 * 3600))
        access = {o: 0, **dict(walks[o])}
        egress = {d: 0}
        expected = ref.scan_arrival(vehicles, walks, access, egress, depart, conns)
        got = run_raptor(tt, state, np.asarray([tt.stop_for_id(s) for s in access], np.int32),
                         np.asarray(list(access.values()), np.int32),
                         np.asarray([tt.stop_for_id(d)], np.int32), np.zeros(1, np.int32),
                         np.asarray([depart], np.int32), offsets, destination=coords[d])[0]
        assert (None if got == UNREACHED else int(got)) == expected, (o, d, depart)
        bounds = destination_bounds(state.reverse_graph(), tt.n_stops,
                                    np.asarray([tt.stop_for_id(d)], np.int32),
                                    np.zeros(1, np.int32))
        got = run_raptor(tt, state, np.asarray([tt.stop_for_id(s) for s in access], np.int32),
                         np.asarray(list(access.values()), np.int32),
                         np.asarray([tt.stop_for_id(d)], np.int32), np.zeros(1, np.int32),
                         np.asarray([depart], np.int32), offsets, bounds_s=bounds)[0]
        assert (None if got == UNREACHED else int(got)) == expected, (o, d, depart, "bounds")
        agree += 1
    assert agree == 20


@pytest.mark.slow
def test_nairobi_windows_same_with_and_without_dijkstra_bounds(shared_data,
                                                               monkeypatch) -> None:
    """60-minute x 3-draw journeys: Dijkstra-bound pruning changes no sample."""
    from gtfs_out.read import read_feed
    from transit import journeys

    tt = build_timetable(read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip"),
                         dt.date(2019, 11, 5))
    state = RaptorState(tt)
    rng = np.random.default_rng(5)
    for _ in range(8):
        a, b = rng.integers(0, tt.n_stops, 2)
        origin = (float(tt.stop_lat[a]), float(tt.stop_lon[a]))
        dest = (float(tt.stop_lat[b]), float(tt.stop_lon[b]))
        fast = journeys.plan_journey(tt, origin, dest, 7 * 3600, draws=3, state=state)
        with monkeypatch.context() as m:
            m.setattr(journeys, "_BOUNDS_FROM_SAMPLES", 10**9)
            plain = journeys.plan_journey(tt, origin, dest, 7 * 3600, draws=3, state=state)
        assert np.array_equal(fast.samples_s, plain.samples_s)
        assert fast.itinerary[-1].arrive_s == plain.itinerary[-1].arrive_s
