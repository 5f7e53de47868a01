"""Numbered tiny feeds, one router feature each, with the expected journey as one line.

Stops sit on the equator, ~1.1 km apart per 0.01 degree of longitude, so walking reach is
easy to read off: the access/egress limit is 1,000 m, transfers 500 m. Walk seconds are
``round(distance_m * 1.3 / 1.2)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.router_reference import tables_from_text
from transit.errors import InputError
from transit.gtfs_time import parse_clock_s
from transit.journeys import plan_journey
from transit.timetable import build_timetable
from transit.walk import WalkParams, haversine_m, walk_s_for_m

DAY = dt.date(2024, 1, 10)  # a Wednesday

BASE = {
    "agency": "agency_id,agency_name,agency_url,agency_timezone\nA,A,http://a,Africa/Nairobi",
    "calendar": """
        service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
        ALL,1,1,1,1,1,1,1,20240101,20240131
    """,
    "stops": """
        stop_id,stop_name,stop_lat,stop_lon
        A,Alpha,0.0,0.00
        B,Bravo,0.0,0.05
        C,Charlie,0.0018,0.05
        D,Delta,0.0,0.10
        E,Echo,0.0,0.0054
        M,Mike,0.0,0.025
    """,
    "routes": """
        route_id,route_short_name,route_type
        R1,1,3
        R2,2,3
        R3,3,3
    """,
}


def feed(**files: str) -> dict:
    return tables_from_text({**BASE, **files})


def coords(stop: str) -> tuple[float, float]:
    table = tables_from_text(BASE)["stops"].set_index("stop_id")
    return float(table.loc[stop, "stop_lat"]), float(table.loc[stop, "stop_lon"])


def walk_s(a: str, b: str) -> int:
    return int(walk_s_for_m(haversine_m(*coords(a), *coords(b)), WalkParams()))


def journey(tables: dict, a: str, b: str, depart: str, day: dt.date = DAY, **kw):
    tt = build_timetable(tables, day)
    kw.setdefault("window_s", 0)
    return plan_journey(tt, coords(a), coords(b), parse_clock_s(depart), **kw)


def test_01_scheduled_trip() -> None:
    tables = feed(trips="route_id,service_id,trip_id\nR1,ALL,T1", stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:00:00,07:00:00,A,1
        T1,07:10:00,07:11:00,B,2
        T1,07:30:00,07:30:00,D,3
    """)
    result = journey(tables, "A", "D", "06:50")
    assert result.line() == "1 A 07:00:00 -> D 07:30:00"
    assert result.travel_time_s["p50"] == 40 * 60
    assert result.transfers == 0


FREQ_TRIP = {"trips": "route_id,service_id,trip_id\nR1,ALL,F1", "stop_times": """
    trip_id,arrival_time,departure_time,stop_id,stop_sequence
    F1,06:00:00,06:00:00,A,1
    F1,06:10:00,06:10:00,B,2
    F1,06:20:00,06:20:00,D,3
"""}


def test_02_frequencies_exact_times_are_a_schedule() -> None:
    tables = feed(**FREQ_TRIP, frequencies="""
        trip_id,start_time,end_time,headway_secs,exact_times
        F1,07:00:00,08:00:00,600,1
    """)
    result = journey(tables, "A", "D", "07:05", draws=7)
    assert result.line() == "1 A 07:10:00 -> D 07:30:00"
    assert result.travel_time_s == {f"p{q}": 25 * 60 for q in (10, 25, 50, 75, 90)}
    assert result.samples_s.size == 1          # exact service needs no Monte Carlo draw
    # The last vehicle leaves at 07:50 (end_time is exclusive): 07:55 has none left.
    late = journey(tables, "A", "D", "07:55")
    assert late.line() == f"walk origin->destination {walk_s('A', 'D')}s"


def test_03_frequencies_without_exact_times_give_a_wait_distribution() -> None:
    tables = feed(**FREQ_TRIP, frequencies="""
        trip_id,start_time,end_time,headway_secs
        F1,07:00:00,08:00:00,600
    """)
    result = journey(tables, "A", "D", "07:05", draws=400, seed=3)
    ride_s, headway_s = 20 * 60, 600
    samples = result.samples_s
    assert samples.size == 400
    # Wait is uniform over [0, headway): travel in [ride, ride + headway), mean ride + h/2.
    assert samples.min() >= ride_s
    assert samples.max() < ride_s + headway_s
    assert abs(samples.mean() - (ride_s + headway_s / 2)) < 30
    assert result.travel_time_s["p10"] < result.travel_time_s["p50"] \
        < result.travel_time_s["p90"]
    assert "every 10 min" in result.itinerary[0].text()
    again = journey(tables, "A", "D", "07:05", draws=400, seed=3)
    assert np.array_equal(again.samples_s, samples)      # same seed, same answer


OVERNIGHT = {"trips": "route_id,service_id,trip_id\nR2,ALL,N1", "stop_times": """
    trip_id,arrival_time,departure_time,stop_id,stop_sequence
    N1,23:50:00,23:50:00,A,1
    N1,24:15:00,24:15:00,M,2
    N1,24:40:00,24:40:00,D,3
"""}


def test_04_overnight_trip_serves_the_next_morning() -> None:
    tables = feed(**OVERNIGHT)
    # 00:05 on the 10th: the trip that left at 23:50 on the 9th is still running.
    assert journey(tables, "M", "D", "00:05").line() == "2 M 00:15:00 -> D 00:40:00"
    # The same vehicle seen from the 9th's service day, with a time past 24:00.
    assert journey(tables, "M", "D", "24:05", day=DAY - dt.timedelta(days=1)).line() \
        == "2 M 24:15:00 -> D 24:40:00"


def test_05_calendar_dates_add_and_remove_days() -> None:
    tables = feed(
        trips="route_id,service_id,trip_id\nR1,WK,T1",
        stop_times="""
            trip_id,arrival_time,departure_time,stop_id,stop_sequence
            T1,07:00:00,07:00:00,A,1
            T1,07:30:00,07:30:00,D,2
        """,
        calendar="""
            service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
            WK,1,1,1,1,1,0,0,20240101,20240131
        """,
        calendar_dates="service_id,date,exception_type\nWK,20240110,2\nWK,20240113,1",
    )
    with pytest.raises(InputError, match=r"no service runs on 2024-01-10.*2024-01-09.*2024-01-13"):
        build_timetable(tables, DAY)
    saturday = dt.date(2024, 1, 13)
    assert journey(tables, "A", "D", "06:55", day=saturday).line() == "1 A 07:00:00 -> D 07:30:00"
    with pytest.raises(InputError, match="no service runs on 2024-01-14"):
        build_timetable(tables, dt.date(2024, 1, 14))


def test_06_walking_transfer_between_routes() -> None:
    tables = feed(trips="route_id,service_id,trip_id\nR1,ALL,T1\nR2,ALL,T2", stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:00:00,07:00:00,A,1
        T1,07:10:00,07:10:00,B,2
        T2,07:20:00,07:20:00,C,1
        T2,07:40:00,07:40:00,D,2
    """)
    result = journey(tables, "A", "D", "06:55")
    transfer = walk_s("B", "C")
    assert 0 < transfer < 7 * 60
    assert result.line() == f"1 A 07:00:00 -> B 07:10:00 | walk B->C {transfer}s | " \
                            "2 C 07:20:00 -> D 07:40:00"
    assert result.transfers == 1
    # Too short a change: the second vehicle leaves before the walk ends.
    too_soon = f"07:{10 + (transfer - 1) // 60}:{(transfer - 1) % 60:02d}"
    too_soon = f"07:{10 + (transfer - 1) // 60}:{(transfer - 1) % 60:02d}"
    tight = feed(trips="route_id,service_id,trip_id\nR1,ALL,T1\nR2,ALL,T2", stop_times=f"""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:00:00,07:00:00,A,1
        T1,07:10:00,07:10:00,B,2
        T2,{too_soon},{too_soon},C,1
        T2,07:40:00,07:40:00,D,2
    """)
    on_foot = f"walk origin->destination {walk_s('A', 'D')}s"
    on_foot = f"walk origin->destination {walk_s('A', 'D')}s"
    assert journey(tight, "A", "D", "06:55").line() == on_foot


def test_07_walking_beats_a_slow_ride() -> None:
    tables = feed(trips="route_id,service_id,trip_id\nR3,ALL,T1", stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence
        T1,07:30:00,07:30:00,A,1
        T1,07:45:00,07:45:00,E,2
    """)
    on_foot = walk_s("A", "E")
    assert on_foot < 15 * 60
    result = journey(tables, "A", "E", "07:20")
    assert result.line() == f"walk origin->destination {on_foot}s"
    assert result.travel_time_s["p50"] == on_foot
    assert result.transfers == 0


def test_08_no_pickup_means_no_boarding() -> None:
    tables = feed(trips="route_id,service_id,trip_id\nR1,ALL,T1\nR1,ALL,T2", stop_times="""
        trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type
        T1,07:00:00,07:00:00,M,1,1,0
        T1,07:10:00,07:10:00,D,2,0,0
        T2,07:30:00,07:30:00,M,1,0,0
        T2,07:40:00,07:40:00,D,2,0,0
    """)
    assert journey(tables, "M", "D", "06:55").line() == "1 M 07:30:00 -> D 07:40:00"


def test_09_bad_input_is_explained() -> None:
    tables = feed(**FREQ_TRIP)
    tt = build_timetable(tables, DAY)
    where = r"outside the feed's area; nearest stops: A 'Alpha' 55.6 km"
    with pytest.raises(InputError, match=where):
        plan_journey(tt, (0.0, -0.5), coords("D"), 7 * 3600)
    for bad in ("7h30", "07:75", "", "ab:cd"):
        with pytest.raises(InputError, match="not a clock time"):
            parse_clock_s(bad)
    assert parse_clock_s("25:10") == 25 * 3600 + 600
    assert parse_clock_s("7:05:09") == 7 * 3600 + 309


def test_10_kept_draws_give_the_same_answer() -> None:
    """A caller may keep the Monte Carlo draws between queries (the service does)."""
    from transit.one_to_all import draw_offsets

    tables = feed(**FREQ_TRIP, frequencies="""
        trip_id,start_time,end_time,headway_secs
        F1,07:00:00,08:00:00,600
    """)
    tt = build_timetable(tables, DAY)
    fresh = plan_journey(tt, coords("A"), coords("D"), 7 * 3600, window_s=1800, draws=7,
                         seed=3)
    kept = plan_journey(tt, coords("A"), coords("D"), 7 * 3600, window_s=1800,
                        offsets_s=draw_offsets(tt, 7, 3))
    assert np.array_equal(kept.samples_s, fresh.samples_s)
    assert kept.as_dict() == fresh.as_dict()


@given(st.lists(st.integers(0, 20_000), min_size=1, max_size=700), st.booleans())
@settings(max_examples=300, deadline=None)
def test_11_percentiles_are_numpys_inverted_cdf(values: list[int], unreached: bool) -> None:
    from transit.journeys import PERCENTILES, percentiles_s
    from transit.timetable import UNREACHED

    samples = np.asarray(values, np.int32)
    if unreached:
        samples[::3] = UNREACHED
    expect = np.percentile(samples.astype(np.int64), PERCENTILES, method="inverted_cdf")
    assert percentiles_s(samples) == {f"p{q}": int(v) for q, v in
                                      zip(PERCENTILES, expect, strict=True)}
