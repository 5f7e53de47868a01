"""The RAPTOR router kernel (round-based public transit routing) and its reusable state.

Round ``k`` finds the earliest arrival at every stop with at most ``k`` rides: it scans
each pattern through a stop marked in round ``k-1``, boards the earliest vehicle it can
catch and rides on, then relaxes walking transfers from the stops reached by a vehicle
(Delling, Pajor & Werneck 2012). A *range* query (rRAPTOR, same paper, section 4) runs the
departure times of a window from the latest to the earliest and keeps the labels between
runs: a journey that leaves later is still valid for an earlier departure.

Frequency-based patterns follow Conveyal R5 (Conway, Byrd & van der Linden 2017): each
headway window gets one start offset in ``[0, headway)`` per Monte Carlo draw; vehicles
then leave the first stop at ``start + offset + k*headway`` while that is before ``end``.
Scheduled trips are exact.

Two label sets are kept, as in R5: arrivals by vehicle (``ride``) and arrivals after a walk
(``arr``). Pruning a vehicle arrival only against earlier *vehicle* arrivals keeps the
walking rules exact: a transfer walk may only follow a ride (walks are not chained).

The kernel holds no transit data of its own; :class:`RaptorState` is scratch space the
caller owns and reuses across queries (no allocation per query).

References
----------
D. Delling, T. Pajor, R. F. Werneck, "Round-Based Public Transit Routing", ALENEX 2012,
and Transportation Science 49(3), 2015.
M. Conway, A. Byrd, M. van der Linden, Transportation Research Record 2653, 2017.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.lower_bound import ReverseGraph, reverse_graph
from transit.timetable import UNREACHED, Timetable
from transit.walk import EARTH_RADIUS_M

__all__ = ["DEFAULT_MAX_RIDES", "RaptorState", "run_raptor"]

#: Rounds (rides) a search may use; the search stops earlier when no stop improves.
DEFAULT_MAX_RIDES = 16

_INF = np.int32(UNREACHED)
_ONE = np.zeros(1, np.int32)                 # the order of a single departure
_NO_STOPS_OUT = np.zeros((0, 0), np.int32)   # "no per-stop output" (never written)


class RaptorState:
    """Reusable scratch space of the kernel for one timetable.

    After a single-departure search with ``track=True`` it also holds what
    :mod:`transit.journeys` needs to rebuild the journey: labels per round (``arr_s``,
    ``ride_s``) and their parents; plain searches keep only the best labels.

    Parameters
    ----------
    tt
        The timetable the state is sized for.
    max_rides
        Most rides per journey (rounds of the search).
    """

    def __init__(self, tt: Timetable, max_rides: int = DEFAULT_MAX_RIDES) -> None:
        n, rounds = tt.n_stops, max_rides + 1
        self.max_rides = max_rides
        self.n_stops = n
        self.arr_s = np.full((rounds, n), _INF, np.int32)        # best arrival, round k
        self.ride_s = np.full((rounds, n), _INF, np.int32)       # by vehicle, round k
        self.best_s = np.full(n, _INF, np.int32)
        self.best_ride_s = np.full(n, _INF, np.int32)
        self.egress_s = np.full(n, _INF, np.int32)               # walk stop -> destination
        self.walk_from = np.full((rounds, n), -1, np.int32)      # transfer parent of arr
        self.par_pattern = np.full((rounds, n), -1, np.int32)    # ride parent: pattern,
        self.par_board_pos = np.full((rounds, n), -1, np.int32)  # boarding position,
        self.par_vehicle = np.full((rounds, n), -1, np.int32)    # trip or first departure,
        self.par_entry = np.full((rounds, n), -1, np.int32)      # frequency window (or -1)
        self.marked = np.zeros(n, np.uint8)
        self.ride_marked = np.zeros(n, np.uint8)
        self.pattern_from = np.full(tt.n_patterns, -1, np.int32)
        self.pattern_queue = np.zeros(tt.n_patterns, np.int32)
        self.pattern_to = np.full(tt.n_patterns, -1, np.int32)   # last marked position
        # The last vehicle ridden to the end of each pattern's scan and where it was
        # boarded (see _search: a vehicle ridden before from no later a stop is skipped);
        # _search resets the positions to "never" at its start.
        self.ridden_vehicle = np.full(tt.n_patterns, -1, np.int32)
        self.ridden_pos = np.full(tt.n_patterns, _INF, np.int32)
        self.mark_list = np.zeros(n, np.int32)
        self.ride_list = np.zeros(n, np.int32)
        # [rounds used by the last search, destination stop, destination round,
        #  rows of arr_s/ride_s a tracked search may have written since their last reset]
        self.info = np.zeros(4, np.int32)
        self.info[0] = rounds - 1
        # When each best label last improved, as a search round number that never repeats
        # (epoch[0] counts rounds over the state's lifetime): a plain search boards only
        # at stops improved since the previous round, as stops improved earlier have had
        # every pattern through them scanned with the same label already.
        self.improved_at = np.zeros(n, np.int64)
        self.epoch = np.zeros(1, np.int64)
        self.windows_ordered = _windows_ordered(tt.pattern_freq_ptr, tt.freq_start_s,
                                                tt.freq_end_s)
        self.arrivals_rise = _arrivals_rise(tt.pattern_stop_ptr, tt.pattern_trip_ptr,
                                            tt.pattern_time_ptr, tt.pattern_is_frequency,
                                            tt.trip_arr_s)
        self._tt = tt
        self._reverse_graph: ReverseGraph | None = None
        # For transit.range_raptor: index arrays read as uint32 (views of the timetable's,
        # plus scratch lists; mark_list, pattern_queue and walk_list have a spare slot
        # for the branch-free appends), and the headway vehicles of the draws seen.
        as_u32 = {name: getattr(tt, name).view(np.uint32)
                  for name in ("pattern_stop_ptr", "pattern_stops", "stop_pattern_ptr",
                               "stop_pattern", "transfer_ptr", "transfer_stop")}
        self.unsigned: dict[str, NDArray[np.uint32]] = {
            **as_u32, "mark_list": np.zeros(n + 1, np.uint32),
            "ride_list": np.zeros(n, np.uint32),
            "pattern_queue": np.zeros(tt.n_patterns + 1, np.uint32),
            "walk_list": np.zeros(tt.transfer_s.shape[0] + 1, np.uint32)}
        self.draw_vehicles: dict[bytes, tuple[NDArray[np.int32], NDArray[np.int32]]] = {}
        # transit.range_raptor: each pattern's boarding span, and the stop -> (pattern,
        # position) lists of the patterns running in a time span, by span
        self.spans: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
        self.span_patterns: dict[tuple[int, int], tuple[NDArray[np.uint32],
                                                        NDArray[np.uint32],
                                                        NDArray[np.int32]]] = {}
        self.vehicle_hint = np.full(tt.n_patterns, -1, np.int64)   # last boarded, any draw
        # rounds the last range search took at most (max_rides + 1: stopped at the limit)
        self.range_rounds = np.zeros(1, np.int64)
        # transit.range_raptor.periodic_departures, by draw and window
        self.periods: dict[tuple[bytes, int, int, int, int],
                           tuple[int, int, NDArray[np.uint32], NDArray[np.int64]] | None] = {}
        # Buffers callers reuse from one search to the next, by name (e.g. accessibility's
        # per-origin samples: megabytes that would cost page faults if fresh each time).
        self.scratch: dict[str, NDArray[np.generic]] = {}

    def reverse_graph(self) -> ReverseGraph:
        """The timetable's static graph for destination bounds, built on first use."""
        if self._reverse_graph is None:
            self._reverse_graph = reverse_graph(self._tt)
        return self._reverse_graph


@njit(cache=True)
def _arrivals_rise(stop_ptr: NDArray[np.int32], trip_ptr: NDArray[np.int32],
                   time_ptr: NDArray[np.int32], is_freq: NDArray[np.uint8],
                   arr_s: NDArray[np.int32]) -> NDArray[np.uint8]:  # pragma: no cover
    """1 per pattern whose every vehicle arrives at each stop no earlier than at the last.

    On such a pattern a vehicle too late for the destination at one stop is too late at
    every later one, so the kernel stops scanning it there (past the last marked stop).
    Times are stop-major: vehicle ``t`` of ``m`` at position ``i`` is at
    ``time_ptr[p] + i*m + t`` (a frequency pattern has one template, ``m = 1``).
    """
    n_patterns = stop_ptr.shape[0] - 1
    rise = np.ones(n_patterns, np.uint8)
    for p in range(n_patterns):
        n = stop_ptr[p + 1] - stop_ptr[p]
        m = 1 if is_freq[p] == 1 else trip_ptr[p + 1] - trip_ptr[p]
        base = time_ptr[p]
        for i in range(1, n):
            for t in range(m):
                if arr_s[base + i * m + t] < arr_s[base + (i - 1) * m + t]:
                    rise[p] = 0
    return rise


@njit(cache=True)
def _windows_ordered(freq_ptr: NDArray[np.int32], start_s: NDArray[np.int32],
                     end_s: NDArray[np.int32]) -> NDArray[np.uint8]:  # pragma: no cover
    """1 per pattern whose headway windows are in time order and do not overlap.

    Then every vehicle of a window leaves before every vehicle of the next one, so the
    first window with a vehicle at or after a time holds the earliest such vehicle and
    the kernel stops looking there (one division per boarding instead of one per window).
    """
    ordered = np.ones(freq_ptr.shape[0] - 1, np.uint8)
    for p in range(ordered.shape[0]):
        for e in range(freq_ptr[p], freq_ptr[p + 1] - 1):
            if start_s[e + 1] < end_s[e]:   # window e+1 starts before window e has ended
                ordered[p] = 0
    return ordered


def run_raptor(tt: Timetable, state: RaptorState, access_stops: NDArray[np.int32],
               access_s: NDArray[np.int32], egress_stops: NDArray[np.int32],
               egress_s: NDArray[np.int32], departures_s: NDArray[np.int32],
               offsets_s: NDArray[np.int32],
               stops_out: NDArray[np.int32] | None = None, *,
               track: bool = False,
               destination: tuple[float, float] | None = None,
               max_duration_s: int | None = None,
               bounds_s: NDArray[np.int32] | None = None,
               upper_s: int | None = None) -> NDArray[np.int32]:
    """Earliest arrivals for departures from an origin, newest labels kept in ``state``.

    Parameters
    ----------
    tt, state
        The timetable and scratch space sized for it.
    access_stops, access_s
        Stops the origin reaches on foot and the walks (s) to them.
    egress_stops, egress_s
        Stops from which the destination is reached on foot and those walks (s); empty for
        one-to-all searches (no target pruning).
    departures_s
        Departure clock times (s since service-day midnight), in any order; each is one
        sample. They are run latest first with labels kept (range RAPTOR).
    offsets_s
        Start offset (s) of every frequency window, ``tt.n_freq_entries`` values.
    stops_out
        Optional ``(len(departures_s), n_stops)`` int32 array that receives the earliest
        arrival clock time at every stop for each departure (UNREACHED when none).
    track
        Record the parents of every label (for :func:`transit.journeys` to rebuild the
        journey of the last departure run); off for plain travel times.
    destination
        ``(lat, lon)`` of the destination, if there is one: labels that cannot reach it
        before the best arrival found so far are pruned (a lower bound from the straight
        line and the timetable's fastest move, which keeps the answer exact).
    max_duration_s
        Search no further than this long after each departure (R5's maximum trip
        duration): every arrival up to ``departure + max_duration_s`` is exact; a later
        one is either UNREACHED or an upper bound kept from a later departure of the
        range. None searches without limit.
    bounds_s
        Optional lower bound (s) from every stop to the destination
        (:func:`transit.lower_bound.destination_bounds` for these egress walks): a tighter
        pruning bound than the straight line of ``destination``, which it replaces.
    upper_s
        A travel time to the destination the caller has without transit (walking the
        whole way): labels that cannot beat ``departure + upper_s`` are pruned, and a
        departure with no faster journey returns that arrival.

    Returns
    -------
    NDArray[np.int32]
        Arrival clock time (s) at the destination per departure, in the given order; the
        walk-only journey is not included (see :mod:`transit.journeys`).
    """
    deps = np.asarray(departures_s, np.int32)
    order = _ONE if deps.size == 1 else np.argsort(-deps.astype(np.int64),
                                                    kind="stable").astype(np.int32)
    dest = np.full(deps.size, _INF, np.int32)
    out = stops_out if stops_out is not None else _NO_STOPS_OUT
    dest_xyz = np.zeros(3, np.float64)
    lb_scale_s = 0.0
    if bounds_s is not None and len(egress_stops):
        lb_scale_s = 1.0            # switches pruning on; _hopeless reads bounds_s
    elif destination is not None and math.isfinite(tt.max_speed_mps) and len(egress_stops):
        phi, lam = math.radians(destination[0]), math.radians(destination[1])
        dest_xyz[:] = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam),
                       math.sin(phi))
        # 0.999 absorbs float rounding so the bound stays below the true time.
        lb_scale_s = 0.999 * EARTH_RADIUS_M / tt.max_speed_mps
    _search(tt.pattern_stop_ptr, tt.pattern_stops, tt.pattern_board_ok, tt.pattern_alight_ok,
            tt.pattern_is_frequency, tt.pattern_trip_ptr, tt.pattern_time_ptr, tt.trip_dep_s,
            tt.trip_arr_s, tt.pattern_freq_ptr, tt.freq_start_s, tt.freq_end_s,
            tt.freq_headway_s, tt.stop_pattern_ptr, tt.stop_pattern, tt.stop_pattern_pos,
            tt.transfer_ptr, tt.transfer_stop, tt.transfer_s,
            np.asarray(access_stops, np.int32), np.asarray(access_s, np.int32),
            np.asarray(egress_stops, np.int32), np.asarray(egress_s, np.int32),
            deps, order, np.asarray(offsets_s, np.int32),
            state.arr_s, state.ride_s, state.best_s, state.best_ride_s, state.egress_s,
            state.walk_from, state.par_pattern, state.par_board_pos, state.par_vehicle,
            state.par_entry, state.marked, state.ride_marked, state.pattern_from,
            state.pattern_queue, state.mark_list, state.ride_list, state.info, dest, out, track,
            tt.stop_xyz, dest_xyz, lb_scale_s, state.windows_ordered,
            state.improved_at, state.epoch,
            state.pattern_to, state.arrivals_rise, state.ridden_vehicle, state.ridden_pos,
            _INF if max_duration_s is None else np.int32(max_duration_s),
            None if bounds_s is None else np.asarray(bounds_s, np.int32),
            _INF if upper_s is None else np.int32(min(int(upper_s), int(UNREACHED))))
    return dest


@njit(cache=True, inline="always")
def _hopeless(t: int, s: int, dest_best: int, stop_xyz: NDArray[np.float64],
              dest_xyz: NDArray[np.float64], lb_scale_s: float,
              bounds: NDArray[np.int32] | None) -> bool:
    """True when arriving at stop ``s`` at ``t`` cannot beat ``dest_best`` (A* bound).

    The bound on the time still needed is ``bounds[s]`` when the caller gave per-stop
    bounds (:mod:`transit.lower_bound`), else the chord to the destination over the
    fastest move of the timetable; comparing squares avoids a square root. ``bounds`` is
    None rather than empty when absent: numba then compiles the kernel without the branch
    (reading an array here slowed plain searches by a quarter).
    """
    if dest_best == 2147483647:   # no destination label yet: nothing is hopeless
        return False
    if bounds is not None:
        return t + bounds[s] >= dest_best
    gap = dest_best - t
    if gap <= 0:
        return True
    dx = stop_xyz[s, 0] - dest_xyz[0]
    dy = stop_xyz[s, 1] - dest_xyz[1]
    dz = stop_xyz[s, 2] - dest_xyz[2]
    return (dx * dx + dy * dy + dz * dz) * lb_scale_s * lb_scale_s >= float(gap) * float(gap)


@njit(cache=True, nogil=True)
def _search(pattern_stop_ptr, pattern_stops, board_ok, alight_ok, is_freq, trip_ptr,  # type: ignore[no-untyped-def]
            time_ptr, dep_s, arr_s, freq_ptr, freq_start, freq_end, freq_headway,
            stop_pattern_ptr, stop_pattern, stop_pattern_pos, transfer_ptr, transfer_stop,
            transfer_s, access_stops, access_s, egress_stops, egress_s, departures, order,
            offsets, arr, ride, best, best_ride, egress_by_stop, walk_from, par_pattern,
            par_board_pos, par_vehicle, par_entry, marked, ride_marked, pattern_from,
            pattern_queue, mark_list, ride_list, info, dest_out, stops_out, track, stop_xyz,
            dest_xyz, lb_scale_s, windows_ordered, improved_at, epoch, pattern_to, arrivals_rise,
            ridden_vehicle, ridden_pos, max_duration, bounds, upper):
    inf = 2147483647
    max_rounds = arr.shape[0]
    # Per-round labels are kept only when rebuilding journeys (track); plain searches
    # board from the best label so far, which is never later. Reset what was written.
    if track:
        for k in range(min(info[3] + 1, max_rounds)):
            arr[k, :] = inf
            ride[k, :] = inf
    best[:] = inf
    best_ride[:] = inf
    ridden_pos[:] = 2147483647   # labels were reset: nothing has been ridden yet
    min_egress = inf
    for j in range(egress_stops.shape[0]):
        s = egress_stops[j]
        if egress_s[j] < egress_by_stop[s]:
            egress_by_stop[s] = egress_s[j]
        if egress_s[j] < min_egress:
            min_egress = egress_s[j]
    if min_egress == inf:
        min_egress = 0
    dest_best = inf
    dest_stop = -1
    dest_round = -1
    rounds_used = 0
    for d in range(order.shape[0]):
        di = order[d]
        t_dep = departures[di]
        # An arrival the caller already has another way (walking the whole way) bounds
        # the search like a destination label does.
        if upper != inf and np.int64(t_dep) + upper < dest_best:
            dest_best = np.int64(t_dep) + upper
            dest_stop = -1
            dest_round = -1
        # Labels later than the cap are not set (an upper bound kept from a later
        # departure may still be there): every arrival up to the cap stays exact.
        cap = np.int64(inf) if max_duration == inf else np.int64(t_dep) + max_duration
        round0 = epoch[0]         # round k of this departure is round0 + k
        epoch[0] += max_rounds
        # Round 0: walk from the origin. mark_list holds the stops marked for the next round.
        n_marked = 0
        for j in range(access_stops.shape[0]):
            s = access_stops[j]
            t = t_dep + access_s[j]
            if t < best[s] and t <= cap:
                best[s] = t
                improved_at[s] = round0
                if track:
                    arr[0, s] = t
                    walk_from[0, s] = -1
                if marked[s] == 0:
                    marked[s] = 1
                    mark_list[n_marked] = s
                    n_marked += 1
                e = egress_by_stop[s]
                if e != inf and t + e < dest_best:
                    dest_best = t + e
                    dest_stop = s
                    dest_round = 0
        k = 0
        while n_marked > 0 and k + 1 < max_rounds:
            k += 1
            if k > rounds_used:
                rounds_used = k
            # Collect the patterns through marked stops, from the earliest marked position.
            n_queue = 0
            for j in range(n_marked):
                s = mark_list[j]
                marked[s] = 0
                # Skip stops the destination bound has caught up with since they improved.
                lab = arr[k - 1, s] if track else best[s]
                if lab > cap:
                    continue
                if dest_best != inf and (lab + min_egress >= dest_best or (
                        lb_scale_s > 0 and _hopeless(lab, s, dest_best, stop_xyz,
                                                     dest_xyz, lb_scale_s, bounds))):
                    continue
                for q in range(stop_pattern_ptr[s], stop_pattern_ptr[s + 1]):
                    p = stop_pattern[q]
                    pos = stop_pattern_pos[q]
                    if pattern_from[p] < 0:
                        pattern_queue[n_queue] = p
                        n_queue += 1
                        pattern_from[p] = pos
                        pattern_to[p] = pos
                    elif pos < pattern_from[p]:
                        pattern_from[p] = pos
                    elif pos > pattern_to[p]:
                        pattern_to[p] = pos
            n_marked = 0
            n_ride = 0
            # Scan the patterns.
            for qi in range(n_queue):
                p = pattern_queue[qi]
                i0 = pattern_from[p]
                i_last = pattern_to[p]
                pattern_from[p] = -1
                pattern_to[p] = -1
                rises = arrivals_rise[p] == 1
                sp = pattern_stop_ptr[p]
                n = pattern_stop_ptr[p + 1] - sp
                base = time_ptr[p]
                m = trip_ptr[p + 1] - trip_ptr[p]
                freq = is_freq[p] == 1
                trip = -1           # scheduled: trip index within the pattern
                t0 = inf            # frequency: first-stop departure of the boarded vehicle
                entry = -1
                board_pos = -1
                # A vehicle already ridden (in this search, labels kept) from this stop or
                # an earlier one has set every arrival downstream that it can: riding it
                # again improves nothing, so it only stands as the vehicle to beat.
                stale = False
                for i in range(i0, n):
                    s = pattern_stops[sp + i]
                    # Past the last stop marked in the previous round nothing new can be
                    # boarded except at stops improved in this round (the next round scans
                    # those), so without a fresh vehicle the scan is over.
                    if i > i_last and not track and (board_pos < 0 or stale):
                        break
                    # Past the last stop marked in the previous round the vehicle can only
                    # be replaced by boarding at a stop improved in this round, which the
                    # next round scans anyway: once it is too late for the destination,
                    # so is the rest of the pattern (arrivals rise along it).
                    if board_pos >= 0 and i > i_last and rises and (dest_best != inf or
                                                                    cap != inf):
                        a_here = t0 + arr_s[base + i] if freq else arr_s[base + i * m + trip]
                        if a_here + min_egress >= dest_best or a_here > cap:
                            break
                    # Alight: the boarded vehicle's arrival here.
                    if board_pos >= 0 and not stale and alight_ok[sp + i] == 1:
                        if freq:
                            a = t0 + arr_s[base + i]
                            vehicle = t0
                        else:
                            a = arr_s[base + i * m + trip]
                            vehicle = trip
                        if a < best_ride[s] and a + min_egress < dest_best and a <= cap \
                                and not (lb_scale_s > 0 and _hopeless(
                                    a, s, dest_best, stop_xyz, dest_xyz, lb_scale_s, bounds)):
                            best_ride[s] = a
                            if track:
                                ride[k, s] = a
                                par_pattern[k, s] = p
                                par_board_pos[k, s] = board_pos
                                par_vehicle[k, s] = vehicle
                                par_entry[k, s] = entry
                            if ride_marked[s] == 0:
                                ride_marked[s] = 1
                                ride_list[n_ride] = s
                                n_ride += 1
                            if a < best[s]:
                                best[s] = a
                                improved_at[s] = round0 + k
                                if track:
                                    arr[k, s] = a
                                    walk_from[k, s] = -1
                                if marked[s] == 0:
                                    marked[s] = 1
                                    mark_list[n_marked] = s
                                    n_marked += 1
                                e = egress_by_stop[s]
                                if e != inf and a + e < dest_best:
                                    dest_best = a + e
                                    dest_stop = s
                                    dest_round = k
                    # Board: an earlier vehicle, if the previous round reached this stop.
                    if board_ok[sp + i] == 0 or i == n - 1:
                        continue
                    # Any label is a real journey: a plain search boards from the best one
                    # so far (even one found earlier in this round), finding journeys
                    # sooner; a tracked one keeps to rounds so journeys can be rebuilt.
                    if track:
                        t_prev = arr[k - 1, s]
                    elif improved_at[s] >= round0 + k - 1:
                        t_prev = best[s]
                    else:
                        continue
                    if t_prev == inf:
                        continue
                    if freq:
                        rel = dep_s[base + i]
                        if board_pos >= 0 and t_prev > t0 + rel:
                            continue
                        need = t_prev - rel
                        ordered = windows_ordered[p] == 1
                        for e_idx in range(freq_ptr[p], freq_ptr[p + 1]):
                            end = freq_end[e_idx]
                            if need >= end:
                                continue
                            first = freq_start[e_idx] + offsets[e_idx]
                            if first >= t0:
                                if ordered:     # later windows leave later still
                                    break
                                continue
                            if need <= first:
                                cand = first
                            else:
                                h = freq_headway[e_idx]
                                cand = first + ((need - first + h - 1) // h) * h
                            if cand < end:
                                if cand < t0:
                                    t0 = cand
                                    entry = e_idx
                                    board_pos = i
                                    stale = not track and ridden_vehicle[p] == cand and \
                                        ridden_pos[p] <= i
                                if ordered:     # the earliest vehicle at or after need
                                    break
                    else:
                        row = base + i * m
                        lo = 0
                        if board_pos >= 0:
                            if t_prev > dep_s[row + trip]:
                                continue
                            # Gallop down from the boarded trip: an earlier one that is
                            # catchable is usually close to it, and most often there is
                            # none (one probe).
                            hi = trip
                            top = trip
                            step = 1
                            while top - step >= 0 and dep_s[row + top - step] >= t_prev:
                                top -= step
                                step <<= 1
                            lo = max(top - step + 1, 0)
                        else:
                            hi = m
                            top = m
                        while lo < top:   # first trip leaving at or after t_prev
                            mid = (lo + top) >> 1
                            if dep_s[row + mid] < t_prev:
                                lo = mid + 1
                            else:
                                top = mid
                        if lo < hi:
                            trip = lo
                            board_pos = i
                            stale = not track and ridden_vehicle[p] == lo and \
                                ridden_pos[p] <= i
                if board_pos >= 0 and not stale and not track:
                    ridden_vehicle[p] = t0 if freq else trip
                    ridden_pos[p] = board_pos
            # Walking transfers from stops reached by a vehicle in this round (shortest
            # walks first, so the first one past the destination bound ends the stop's list).
            for j in range(n_ride):
                s = ride_list[j]
                ride_marked[s] = 0
                t_ride = best_ride[s]
                # Walking is never faster than the timetable's fastest move, so when the
                # stop itself is out of the race (one second of slack for the rounding of
                # walk times) so is every stop it can walk to.
                if lb_scale_s > 0 and dest_best != inf and _hopeless(
                        t_ride - 1, s, dest_best, stop_xyz, dest_xyz, lb_scale_s, bounds):
                    continue
                for q in range(transfer_ptr[s], transfer_ptr[s + 1]):
                    t = t_ride + transfer_s[q]
                    if t + min_egress >= dest_best or t > cap:
                        break
                    s2 = transfer_stop[q]
                    if t < best[s2] and not (lb_scale_s > 0 and _hopeless(
                            t, s2, dest_best, stop_xyz, dest_xyz, lb_scale_s, bounds)):
                        best[s2] = t
                        improved_at[s2] = round0 + k
                        if track:
                            arr[k, s2] = t
                            walk_from[k, s2] = s
                        if marked[s2] == 0:
                            marked[s2] = 1
                            mark_list[n_marked] = s2
                            n_marked += 1
                        e = egress_by_stop[s2]
                        if e != inf and t + e < dest_best:
                            dest_best = t + e
                            dest_stop = s2
                            dest_round = k
        for j in range(n_marked):
            marked[mark_list[j]] = 0
        dest_out[di] = dest_best
        if stops_out.shape[0] > 0:
            stops_out[di, :] = best
    for j in range(egress_stops.shape[0]):
        egress_by_stop[egress_stops[j]] = inf
    info[0] = rounds_used
    info[1] = dest_stop
    info[2] = dest_round
    if track:
        info[3] = rounds_used
