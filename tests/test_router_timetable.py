"""Walking arithmetic and the timetable's structure (read-only arrays, FIFO patterns)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.router_reference import tables_from_text
from transit.errors import InputError
from transit.timetable import build_timetable
from transit.walk import EARTH_RADIUS_M, WalkParams, build_transfers, haversine_m, walk_s_for_m

DAY = dt.date(2024, 1, 10)


def test_walk_arithmetic() -> None:
    # A degree of latitude is 2*pi*R/360 metres on the sphere.
    assert float(haversine_m(0.0, 0.0, 1.0, 0.0)) == pytest.approx(2 * np.pi * EARTH_RADIUS_M
                                                                    / 360, rel=1e-12)
    # 1,200 m at 1.2 m/s with a 1.3 detour: 1,300 s.
    assert int(walk_s_for_m(1200.0, WalkParams())) == 1300
    assert int(walk_s_for_m(1200.0, WalkParams(detour_factor=1.0, speed_mps=1.0))) == 1200
    with pytest.raises(InputError, match="speed_mps must be positive"):
        WalkParams(speed_mps=0)


def test_transfers_equal_brute_force() -> None:
    rng = np.random.default_rng(4)
    lat = -1.3 + rng.random(300) * 0.03
    lon = 36.8 + rng.random(300) * 0.03
    walk = WalkParams(max_transfer_m=400)
    ptr, stop, secs = build_transfers(lat, lon, walk)
    for s in range(300):
        d = haversine_m(lat[s], lon[s], lat, lon)
        want = {int(j) for j in np.flatnonzero(d <= 400) if j != s}
        got = stop[ptr[s]:ptr[s + 1]]
        assert set(got.tolist()) == want
        assert np.all(np.diff(secs[ptr[s]:ptr[s + 1]]) >= 0)       # shortest walk first
        assert np.array_equal(secs[ptr[s]:ptr[s + 1]], walk_s_for_m(d[got], walk))


FEED = {
    "agency": "agency_id,agency_name,agency_url,agency_timezone\nA,A,http://a,UTC",
    "calendar": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                "start_date,end_date\nALL,1,1,1,1,1,1,1,20240101,20240131",
    "stops": "stop_id,stop_name,stop_lat,stop_lon\nA,A,0,0\nB,B,0,0.05\nC,C,0,0.1",
    "routes": "route_id,route_short_name,route_type\nR,R,3",
}


def test_overtaking_trips_get_separate_patterns_and_arrays_are_read_only() -> None:
    tables = tables_from_text({**FEED, "trips": "route_id,service_id,trip_id\nR,ALL,SLOW\n"
                               "R,ALL,FAST\nR,ALL,LATE", "stop_times": """
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        SLOW,07:00:00,07:00:00,A,1
        SLOW,08:00:00,08:00:00,C,2
        FAST,07:10:00,07:10:00,A,1
        FAST,07:30:00,07:30:00,C,2
        LATE,07:20:00,07:20:00,A,1
        LATE,08:10:00,08:10:00,C,2
    """})
    tt = build_timetable(tables, DAY)
    # FAST overtakes SLOW: two patterns, each first-in first-out.
    assert tt.n_patterns == 2
    for p in range(tt.n_patterns):
        m = tt.pattern_trip_ptr[p + 1] - tt.pattern_trip_ptr[p]
        n = tt.pattern_stop_ptr[p + 1] - tt.pattern_stop_ptr[p]
        dep = tt.trip_dep_s[tt.pattern_time_ptr[p]:tt.pattern_time_ptr[p] + n * m].reshape(n, m)
        arr = tt.trip_arr_s[tt.pattern_time_ptr[p]:tt.pattern_time_ptr[p] + n * m].reshape(n, m)
        assert np.all(np.diff(dep, axis=1) >= 0)
        assert np.all(np.diff(arr, axis=1) >= 0)
    assert sorted(tt.trip_ids) == ["FAST", "LATE", "SLOW"]
    for array in tt.arrays().values():
        assert not array.flags.writeable
        assert array.flags.c_contiguous
    with pytest.raises(ValueError, match="read-only"):
        tt.trip_dep_s[0] = 0


def test_exact_times_windows_expand_and_inexact_stay_windows() -> None:
    base = {**FEED, "trips": "route_id,service_id,trip_id\nR,ALL,F",
            "stop_times": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "F,05:00:00,05:00:00,A,1\nF,05:20:00,05:20:00,C,2"}
    exact = tables_from_text({**base, "frequencies": "trip_id,start_time,end_time,headway_secs,"
                              "exact_times\nF,07:00:00,08:00:00,900,1"})
    tt = build_timetable(exact, DAY)
    assert tt.n_freq_entries == 0
    assert len(tt.trip_ids) == 4                 # 07:00, 07:15, 07:30, 07:45
    assert tt.trip_dep_s[:4].tolist() == [25200, 26100, 27000, 27900]
    inexact = tables_from_text({**base, "frequencies": "trip_id,start_time,end_time,"
                                "headway_secs\nF,07:00:00,08:00:00,900"})
    tt = build_timetable(inexact, DAY)
    assert (tt.n_freq_entries, int(tt.freq_headway_s[0])) == (1, 900)
    assert tt.trip_arr_s.tolist() == [0, 1200]   # template times, relative
    assert len(build_timetable(inexact, DAY, frequencies="expand").trip_ids) == 4


def test_trips_with_backward_times_are_dropped_and_reported() -> None:
    tables = tables_from_text({**FEED, "trips": "route_id,service_id,trip_id\nR,ALL,OK\nR,ALL,BAD",
                               "stop_times": "trip_id,arrival_time,departure_time,stop_id,"
                               "stop_sequence\nOK,07:00:00,07:00:00,A,1\nOK,07:10:00,07:10:00,"
                               "B,2\nBAD,23:55:00,23:55:00,A,1\nBAD,00:05:00,00:05:00,B,2"})
    tt = build_timetable(tables, DAY)
    assert tt.trip_ids == ("OK",)
    assert tt.dropped_trips == (("BAD", "times go backwards along the trip"),)


@pytest.mark.slow
def test_nairobi_timetable(shared_data) -> None:
    from gtfs_out.read import read_feed

    feed = read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip")
    tt = build_timetable(feed, dt.date(2019, 11, 5))
    assert (tt.n_patterns, tt.n_freq_entries) == (272, 792)
    # 4,284 stops minus 11 stations that no trip uses.
    assert tt.n_stops == 4273
    expanded = build_timetable(feed, dt.date(2019, 11, 5), frequencies="expand")
    assert len(expanded.trip_ids) == 34_856
    assert expanded.trip_dep_s.size == 967_370
    with pytest.raises(InputError, match=r"pick a service date: 2019-01-01\.\.2020-12-31"):
        build_timetable(feed, dt.date(2021, 3, 1))
    assert isinstance(feed["stops"], pd.DataFrame)
