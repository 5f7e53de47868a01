"""Journeys from one place to another: a travel-time distribution and a readable itinerary.

:func:`plan_journey` samples every departure minute of a window under several Monte Carlo
draws of the headway offsets (see :mod:`transit.one_to_all`), reports percentiles of the
door-to-door travel time, and rebuilds one representative journey (the median sample) as
legs: walk to a stop, board a route ("every N min" for headway-based service), alight,
walk on. Walking the whole way is always a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from transit.access import percentile_rank
from transit.lower_bound import destination_bounds
from transit.one_to_all import (
    access_for_point,
    check_in_area,
    departure_times,
    draw_offsets,
    travel_times_to_destination,
)
from transit.raptor import RaptorState, run_raptor
from transit.timetable import UNREACHED, Timetable
from transit.walk import haversine_m, walk_s_for_m

__all__ = ["PERCENTILES", "JourneyResult", "Leg", "clock_text", "percentiles_s", "plan_journey"]

#: Percentiles reported for every travel-time distribution.
PERCENTILES = (10, 25, 50, 75, 90)
#: Samples (departure minutes x draws) from which a query computes Dijkstra bounds.
_BOUNDS_FROM_SAMPLES = 20


def clock_text(clock_s: int) -> str:
    """``HH:MM:SS`` for a clock time in seconds (hours may exceed 23, e.g. ``25:10:00``)."""
    sign = "-" if clock_s < 0 else ""
    v = abs(int(clock_s))
    return f"{sign}{v // 3600:02d}:{v % 3600 // 60:02d}:{v % 60:02d}"


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a journey. Clock times in seconds since service-day midnight.

    ``headway_s`` is set for headway-based service (the rider waits for "the next one").
    ``from_stop``/``to_stop`` are GTFS stop_ids, or ``""`` for the origin/destination.
    """

    kind: Literal["walk", "ride"]
    from_stop: str
    from_name: str
    to_stop: str
    to_name: str
    depart_s: int
    arrive_s: int
    route: str = ""
    trip_id: str = ""
    headway_s: int | None = None
    distance_m: float = 0.0

    def text(self) -> str:
        """A readable sentence for the CLI."""
        if self.kind == "walk":
            minutes = (self.arrive_s - self.depart_s) / 60
            return (f"walk {self.distance_m:.0f} m ({minutes:.1f} min) from {self.from_name} "
                    f"to {self.to_name}")
        when = (f"every {self.headway_s / 60:g} min" if self.headway_s
                else f"departs {clock_text(self.depart_s)}")
        return (f"board route {self.route} at {self.from_name} ({when}, this one at "
                f"{clock_text(self.depart_s)}), alight at {self.to_name} "
                f"{clock_text(self.arrive_s)}")

    def line(self) -> str:
        """A compact one-line form for tests, e.g. ``R1 A 08:00:00 -> B 08:10:00``."""
        a = self.from_stop or "origin"
        b = self.to_stop or "destination"
        if self.kind == "walk":
            return f"walk {a}->{b} {self.arrive_s - self.depart_s}s"
        return f"{self.route} {a} {clock_text(self.depart_s)} -> {b} {clock_text(self.arrive_s)}"

    def as_dict(self) -> dict[str, object]:
        """The leg as JSON-ready data."""
        out: dict[str, object] = {
            "kind": self.kind, "from_stop_id": self.from_stop, "from_name": self.from_name,
            "to_stop_id": self.to_stop, "to_name": self.to_name,
            "depart": clock_text(self.depart_s), "arrive": clock_text(self.arrive_s),
            "duration_s": self.arrive_s - self.depart_s, "text": self.text(),
        }
        if self.kind == "ride":
            out.update(route=self.route, trip_id=self.trip_id, headway_s=self.headway_s)
        else:
            out["distance_m"] = round(self.distance_m, 1)
        return out


@dataclass(frozen=True)
class JourneyResult:
    """A travel-time distribution (s) and one representative journey.

    ``samples_s`` holds one door-to-door travel time per (draw, departure minute);
    ``itinerary`` is the journey of the median sample; ``transfers`` its vehicle changes.
    """

    travel_time_s: dict[str, int]
    samples_s: NDArray[np.int32]
    transfers: int
    itinerary: tuple[Leg, ...]
    walk_only_s: int
    depart_s: int
    window_s: int
    draws: int

    def line(self) -> str:
        """The representative journey as one line (legs joined by ``" | "``)."""
        return " | ".join(leg.line() for leg in self.itinerary)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: ``travel_time_s``, ``transfers``, ``itinerary`` and the query."""
        return {
            "travel_time_s": self.travel_time_s,
            "transfers": self.transfers,
            "itinerary": [leg.as_dict() for leg in self.itinerary],
            "walk_only_s": self.walk_only_s,
            "samples": int(self.samples_s.size),
            "depart": clock_text(self.depart_s),
            "window_s": self.window_s,
            "draws": self.draws,
        }


def percentiles_s(samples_s: NDArray[np.int32],
                  percentiles: tuple[int, ...] = PERCENTILES) -> dict[str, int]:
    """Percentiles of travel times (s) as ``{"p10": ..}``: sample values (inverted CDF)."""
    if samples_s.size == 0:
        return {f"p{q}": int(UNREACHED) for q in percentiles}
    # The same values as numpy.percentile(..., method="inverted_cdf"), by rank: one
    # partial sort instead of numpy's general quantile machinery (a tenth of the cost).
    ranks = [percentile_rank(samples_s.size, q) for q in percentiles]
    values = np.partition(samples_s, ranks)[ranks]
    return {f"p{q}": int(v) for q, v in zip(percentiles, values, strict=True)}


def plan_journey(tt: Timetable, origin: tuple[float, float], destination: tuple[float, float],
                 depart_s: int, *, window_s: int = 3600, draws: int = 5, seed: int = 0,
                 state: RaptorState | None = None,
                 offsets_s: NDArray[np.int32] | None = None) -> JourneyResult:
    """Door-to-door travel times from ``origin`` to ``destination`` (``(lat, lon)``).

    Parameters
    ----------
    tt
        Timetable of the service day.
    origin, destination
        WGS84 ``(lat, lon)`` degrees; each must lie in the feed's area.
    depart_s
        First departure, clock seconds (``25:10`` = 90,600 is allowed).
    window_s
        Departures every minute over this many seconds (0: one departure).
    draws, seed
        Monte Carlo draws of headway offsets and their seed (same seed, same answer).
    state
        Reusable scratch space; a new one when None.
    offsets_s
        The draws ``draw_offsets(tt, draws, seed)`` when the caller keeps them between
        queries (drawing them costs about 0.1 ms on a large feed); ``draws`` and ``seed``
        are then ignored.

    Raises
    ------
    InputError
        When a point lies outside the feed's area (the message names the nearest stops).
    """
    check_in_area(tt, *origin, what="origin")
    check_in_area(tt, *destination, what="destination")
    state = state or RaptorState(tt)
    offsets = draw_offsets(tt, draws, seed) if offsets_s is None else offsets_s
    deps = departure_times(depart_s, window_s)
    access = access_for_point(tt, *origin)
    egress = access_for_point(tt, *destination)
    walk_m = float(haversine_m(origin[0], origin[1], destination[0], destination[1]))
    walk_only_s = int(walk_s_for_m(walk_m, tt.walk))
    # Many searches to one destination: one backward Dijkstra for tighter pruning bounds
    # than the straight line pays for itself (it costs about two single searches).
    # Bounds over the walk-only time prune no more than UNREACHED does (see
    # destination_bounds), so the Dijkstra stops there.
    bounds = (destination_bounds(state.reverse_graph(), tt.n_stops, *egress,
                                 max_s=walk_only_s)
              if offsets.shape[0] * deps.size >= _BOUNDS_FROM_SAMPLES else None)
    samples = travel_times_to_destination(tt, state, access, egress, deps, offsets,
                                          walk_only_s, destination=destination,
                                          bounds_s=bounds)
    stats = percentiles_s(samples)
    pick = int(np.flatnonzero(samples == stats["p50"])[0])
    d, minute = divmod(pick, deps.size)
    walk_leg = Leg("walk", "", "origin", "", "destination", int(deps[minute]),
                   int(deps[minute]) + walk_only_s, distance_m=walk_m)
    legs: tuple[Leg, ...] = (walk_leg,)
    if samples[pick] < walk_only_s:
        run_raptor(tt, state, *access, *egress, deps[minute:minute + 1], offsets[d],
                   track=True, destination=destination, bounds_s=bounds,
                   upper_s=walk_only_s)
        legs = rebuild_legs(tt, state, access, egress, origin, destination)
    rides = sum(1 for leg in legs if leg.kind == "ride")
    return JourneyResult(stats, samples, max(rides - 1, 0), legs, walk_only_s, depart_s,
                         window_s, int(offsets.shape[0]))


def rebuild_legs(tt: Timetable, state: RaptorState,
                 access: tuple[NDArray[np.int32], NDArray[np.int32]],
                 egress: tuple[NDArray[np.int32], NDArray[np.int32]],
                 origin: tuple[float, float], destination: tuple[float, float],
                 ) -> tuple[Leg, ...]:
    """The journey found by the last single-departure ``track=True`` search, as legs."""
    stop, k = int(state.info[1]), int(state.info[2])
    if stop < 0:
        return ()

    def name(s: int) -> str:
        return tt.stop_names[s]

    def dist(s: int, lat: float, lon: float) -> float:
        return float(haversine_m(tt.stop_lat[s], tt.stop_lon[s], lat, lon))

    legs: list[Leg] = []
    end_s = int(state.arr_s[k, stop])
    e_walk = int(egress[1][np.flatnonzero(egress[0] == stop)].min())
    legs.append(Leg("walk", tt.stop_ids[stop], name(stop), "", "destination", end_s,
                    end_s + e_walk, distance_m=dist(stop, *destination)))
    s = stop
    while k > 0:
        w = int(state.walk_from[k, s])
        if w >= 0:
            legs.append(Leg("walk", tt.stop_ids[w], name(w), tt.stop_ids[s], name(s),
                            int(state.ride_s[k, w]), int(state.arr_s[k, s]),
                            distance_m=dist(w, tt.stop_lat[s], tt.stop_lon[s])))
            s = w
        legs.append(_ride_leg(tt, state, k, s))
        k -= 1
        p = int(state.par_pattern[k + 1, s])
        s = int(tt.pattern_stops[tt.pattern_stop_ptr[p] + state.par_board_pos[k + 1, s]])
    a_walk = int(access[1][np.flatnonzero(access[0] == s)].min())
    start_s = int(state.arr_s[0, s])
    legs.append(Leg("walk", "", "origin", tt.stop_ids[s], name(s), start_s - a_walk, start_s,
                    distance_m=dist(s, *origin)))
    legs.reverse()
    return tuple(leg for leg in legs if not (leg.kind == "walk" and leg.depart_s == leg.arrive_s
                                             and leg.distance_m < 1.0))


def _ride_leg(tt: Timetable, state: RaptorState, k: int, s: int) -> Leg:
    p = int(state.par_pattern[k, s])
    pos = int(state.par_board_pos[k, s])
    vehicle = int(state.par_vehicle[k, s])
    sp = int(tt.pattern_stop_ptr[p])
    board = int(tt.pattern_stops[sp + pos])
    base = int(tt.pattern_time_ptr[p])
    first_trip = int(tt.pattern_trip_ptr[p])
    if tt.pattern_is_frequency[p]:
        depart = vehicle + int(tt.trip_dep_s[base + pos])
        headway: int | None = int(tt.freq_headway_s[state.par_entry[k, s]])
        trip_id = tt.trip_ids[first_trip]
    else:
        m = int(tt.pattern_trip_ptr[p + 1]) - first_trip
        depart = int(tt.trip_dep_s[base + pos * m + vehicle])
        headway = None
        trip_id = tt.trip_ids[first_trip + vehicle]
    return Leg("ride", tt.stop_ids[board], tt.stop_names[board], tt.stop_ids[s],
               tt.stop_names[s], depart, int(state.ride_s[k, s]),
               route=tt.route_name_for_pattern(p), trip_id=trip_id, headway_s=headway)
