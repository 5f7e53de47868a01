"""A hand-built network shared by the writer, validator and evaluation tests.

Four stops 400 m apart on a north-south street in Nairobi (0.0036 degrees of latitude is
400.3 m), one route "33" with two patterns (A B C D northbound, D C B A southbound), two
time bands. Every number is chosen so expected GTFS values are arithmetic.
"""

from __future__ import annotations

from dataclasses import replace

from transit.model import BandTiming, Network, Pattern, Route, Shape, Stop

LAT0 = -1.3000
LON0 = 36.8000
STEP_DEG = 0.0036  # about 400 m of latitude

STOPS = tuple(
    Stop(stop_id=sid, stop_name=name, stop_lat=LAT0 + i * STEP_DEG, stop_lon=LON0,
         support_traces=4, confidence=0.9)
    for i, (sid, name) in enumerate([("A", "Alpha Stage"), ("B", "Bravo Stage"),
                                     ("C", "Charlie Stage"), ("D", "Delta Stage")])
)

#: Band AM peak 07:00-09:00 every 300 s; midday 09:00-16:00 every 600 s.
AM = BandTiming(band="am_peak", start_s=7 * 3600, end_s=9 * 3600, run_times_s=(60, 70, 80),
                dwell_s=(0, 20, 30, 0), headway_s=300, headway_source="observed",
                n_observations=4)
MIDDAY = BandTiming(band="midday", start_s=9 * 3600, end_s=16 * 3600,
                    run_times_s=(50, 55, 65), dwell_s=(0, 15, 15, 0), headway_s=600,
                    headway_source="assumed", n_observations=2)


def _line(shape_id: str, north: bool) -> Shape:
    lats = [LAT0 + i * STEP_DEG / 4 for i in range(13)]  # a vertex every 100 m
    if not north:
        lats.reverse()
    return Shape(shape_id=shape_id, lat=tuple(lats), lon=tuple(LON0 for _ in lats))


def small_network(**changes: object) -> Network:
    """The hand-built network; keyword arguments replace Network fields."""
    north = Pattern(pattern_id="p33_0", route_id="r33", direction_id=0,
                    stop_ids=("A", "B", "C", "D"), shape_id="s33_0", timings=(AM, MIDDAY),
                    support_traces=4)
    south_timings = tuple(replace(t, run_times_s=t.run_times_s[::-1], dwell_s=t.dwell_s[::-1])
                          for t in (AM, MIDDAY))
    south = Pattern(pattern_id="p33_1", route_id="r33", direction_id=1,
                    stop_ids=("D", "C", "B", "A"), shape_id="s33_1", timings=south_timings,
                    support_traces=3)
    net = Network(
        agency_name="Test Matatu Sacco", agency_url="https://example.org/sacco",
        agency_timezone="Africa/Nairobi", stops=STOPS,
        routes=(Route(route_id="r33", route_short_name="33", route_long_name="Alpha - Delta"),),
        patterns=(north, south), shapes=(_line("s33_0", True), _line("s33_1", False)),
        start_date="20260101", end_date="20261231", feed_version="test-1",
        feed_publisher_name="Test Publisher", feed_publisher_url="https://example.org/",
        feed_lang="en")
    return replace(net, **changes)  # type: ignore[arg-type]
