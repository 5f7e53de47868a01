"""Range RAPTOR over a departure window with a lean kernel: one origin to every stop, or
to one destination.

The same search as :func:`transit.raptor.run_raptor` without journey tracking, in two
modes compiled from one kernel: one-to-all with a maximum trip duration (what
accessibility and isochrones ask, thousands of times per run; :func:`range_durations`),
and to one destination with Dijkstra lower bounds and a walk-only upper bound (the
samples of a door-to-door journey; :func:`range_arrivals_to_destination`). The
destination mode's branches sit behind ``bounds is not None``, so numba compiles the
one-to-all specialisation without them. Both leave out what the general kernel carries
for other features:

* a headway window's vehicles are listed once per Monte Carlo draw
  (:func:`vehicles_for_draw`: first-stop departures ``start + offset + k*headway < end``,
  sorted per pattern), so boarding is a galloping search down from the vehicle already
  boarded, as for scheduled trips, instead of a division per window;
* the first boarding on a pattern gallops from the vehicle boarded there last time, not
  a binary search over the day;
* stop, pattern, position and transfer indices are read as unsigned integers, so numba
  indexes without the wrap-around of negative indices (measured: 17 % of the kernel);
* each departure writes its travel times (durations, UNREACHED beyond the maximum
  duration) straight into the caller's row, or its arrival at the destination;
* a stop is listed for the next round when ``improved_at`` first takes the round's
  number (no flags to set and clear), and where a test is a coin toss (which marked
  position extends a pattern's scan, which walk improves a label) the loop stores
  without branching (measured: 9 % of the one-to-all kernel, 8 % of the destination one);
* a pattern's scan alternates a loop that looks for a vehicle to board at the marked
  positions and one that rides it, rather than testing which case it is at every stop
  (6 % and 7 %);
* one-to-all walks put the stops they improve on a list, listed for the next round
  after the walks: a loop that small keeps its counters in registers (5 %);
* one-to-all over evenly spaced departures of headway service that repeats with a short
  period (:func:`periodic_departures`), a departure whose search would repeat the one a
  period later takes its durations instead of searching (on Nairobi about 9 in 10).

Every label is the one :func:`transit.raptor.run_raptor` sets (same rounds, same pruning,
same vehicle skipping); ``tests/test_router_range.py`` (one-to-all) and
``tests/test_router_range_destination.py`` (destination) check it on random feeds and on
Nairobi.

References
----------
D. Delling, T. Pajor, R. F. Werneck, "Round-Based Public Transit Routing", ALENEX 2012
(range RAPTOR, section 4).
M. Conway, A. Byrd, M. van der Linden, Transportation Research Record 2653, 2017.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.raptor import RaptorState
from transit.timetable import UNREACHED, Timetable

__all__ = ["periodic_departures", "range_arrivals_to_destination", "range_durations",
           "vehicles_for_draw"]


@njit(cache=True, nogil=True)
def vehicles_for_draw(freq_ptr: NDArray[np.int32], start_s: NDArray[np.int32],
                      end_s: NDArray[np.int32], headway_s: NDArray[np.int32],
                      offsets_s: NDArray[np.int32]
                      ) -> tuple[NDArray[np.int32], NDArray[np.int32]]:  # pragma: no cover
    """First-stop departures (clock s) of every headway-based vehicle under one draw.

    Returns ``(ptr, dep_s)``: the vehicles of pattern ``p`` leave the first stop at
    ``dep_s[ptr[p]:ptr[p+1]]``, sorted; a window ``e`` runs vehicles at
    ``start_s[e] + offsets_s[e] + k*headway_s[e]`` while that is before ``end_s[e]``
    (scheduled patterns have none).
    """
    n_patterns = freq_ptr.shape[0] - 1
    ptr = np.zeros(n_patterns + 1, np.int32)
    total = 0
    for p in range(n_patterns):
        for e in range(freq_ptr[p], freq_ptr[p + 1]):
            first = start_s[e] + offsets_s[e]
            if first < end_s[e]:
                total += (end_s[e] - first + headway_s[e] - 1) // headway_s[e]
        ptr[p + 1] = total
    dep_s = np.empty(total, np.int32)
    for p in range(n_patterns):
        k = ptr[p]
        for e in range(freq_ptr[p], freq_ptr[p + 1]):
            t = start_s[e] + offsets_s[e]
            while t < end_s[e]:
                dep_s[k] = t
                k += 1
                t += headway_s[e]
        dep_s[ptr[p]:ptr[p + 1]] = np.sort(dep_s[ptr[p]:ptr[p + 1]])
    return ptr, dep_s


def _vehicles(tt: Timetable, state: RaptorState, offsets_s: NDArray[np.int32]
              ) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """The draw's vehicles, kept in ``state`` for the last draws seen (all origins of an
    accessibility run share the same few draws)."""
    offsets_s = np.ascontiguousarray(offsets_s, np.int32)
    key = offsets_s.tobytes()
    found = state.draw_vehicles.get(key)
    if found is None:
        if len(state.draw_vehicles) >= 64:
            state.draw_vehicles.clear()
        found = vehicles_for_draw(tt.pattern_freq_ptr, tt.freq_start_s, tt.freq_end_s,
                                  tt.freq_headway_s, offsets_s)
        state.draw_vehicles[key] = found
    return found


#: Time spans of the stop -> pattern lists are widened to whole quarters of an hour, so
#: queries at nearby times share one list (a wider span keeps more patterns: still exact).
SPAN_STEP_S = 900


@njit(cache=True)
def boarding_spans(pattern_stop_ptr: NDArray[np.int32], is_freq: NDArray[np.uint8],
                   trip_ptr: NDArray[np.int32], time_ptr: NDArray[np.int32],
                   dep_s: NDArray[np.int32], freq_ptr: NDArray[np.int32],
                   start_s: NDArray[np.int32], end_s: NDArray[np.int32]
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover
    """Earliest and latest clock time (s) at which any vehicle of each pattern leaves any
    of its stops, whatever the draw: a scheduled pattern's departures; a headway pattern's
    windows ``[start, end)`` (its vehicles leave the first stop in them) plus the
    template's departures relative to the first stop."""
    n_patterns = pattern_stop_ptr.shape[0] - 1
    lo = np.full(n_patterns, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n_patterns, np.iinfo(np.int64).min, np.int64)
    for p in range(n_patterns):
        n = pattern_stop_ptr[p + 1] - pattern_stop_ptr[p]
        m = 1 if is_freq[p] else trip_ptr[p + 1] - trip_ptr[p]
        d_lo = np.iinfo(np.int64).max
        d_hi = np.iinfo(np.int64).min
        for k in range(time_ptr[p], time_ptr[p] + n * m):
            d = int(dep_s[k])
            if d < d_lo:
                d_lo = d
            if d > d_hi:
                d_hi = d
        if is_freq[p]:
            for e in range(freq_ptr[p], freq_ptr[p + 1]):
                lo[p] = min(lo[p], start_s[e] + d_lo)
                hi[p] = max(hi[p], end_s[e] - 1 + d_hi)
        elif m > 0:
            lo[p] = d_lo
            hi[p] = d_hi
    return lo, hi


@njit(cache=True)
def _period(pattern_stop_ptr, pattern_stops, is_freq, time_ptr, dep_s, freq_ptr, start_s,  # type: ignore[no-untyped-def]
            end_s, headway_s, offsets_s, span_lo, span_hi, first_s, last_s, horizon_s,
            step_s, n_stops):  # pragma: no cover
    """How searches departing from ``first_s`` to ``last_s`` (labels up to ``horizon_s``
    after) repeat under one draw: ``(period, from_s, stops, late_s)``, period 0 when they
    do not.

    A search from ``t`` boards vehicles at ``t`` or later and uses them only up to
    ``t + horizon_s``. A headway window runs a vehicle every ``headway`` s from
    ``start + offset`` while before ``end``. For each pattern, the window running its
    latest vehicles that matter must run until after ``last_s + horizon_s`` (else
    ``period`` is 0); ``period`` is the least common multiple of those windows' headways
    (and ``step_s``). The search from ``t + period`` then rides the vehicles of the one from
    ``t`` shifted by the period, plus the shifted copies of vehicles that do not run (they
    would have left before their window's first vehicle), minus none, provided that
    ``t >= from_s``: no scheduled trip leaves a stop between ``t`` and ``last_s +
    horizon_s``, and no vehicle of another window of a pattern matters from ``t`` on. The
    copies that do not run matter only where the search from ``t + period`` reaches a stop
    in time to board one: ``late_s[j]`` is the latest departure from stop ``stops[j]`` of
    a vehicle that does not run (sorted latest first), so the copy leaves it at
    ``late_s[j] + period`` at the latest.
    """
    period = np.int64(step_s)
    t_hi = np.int64(last_s) + horizon_s
    from_s = np.int64(first_s)
    none = np.iinfo(np.int64).min
    late = np.full(n_stops, none, np.int64)
    for p in range(pattern_stop_ptr.shape[0] - 1):
        if not is_freq[p]:
            if span_lo[p] <= t_hi and span_hi[p] >= from_s:
                from_s = span_hi[p] + 1
            continue
        sp = pattern_stop_ptr[p]
        n = pattern_stop_ptr[p + 1] - sp
        if n < 2:
            continue
        d_min = np.int64(np.iinfo(np.int64).max)
        d_board = np.int64(none)              # latest boarding offset (not the last stop)
        for i in range(n):
            d = np.int64(dep_s[time_ptr[p] + i])
            if d < d_min:
                d_min = d
            if i < n - 1 and d > d_board:
                d_board = d
        f_lo = first_s - d_board
        f_hi = t_hi - d_min
        top = -1                              # the window running the latest vehicles
        for e in range(freq_ptr[p], freq_ptr[p + 1]):
            first = np.int64(start_s[e]) + offsets_s[e]
            if first < end_s[e] and first <= f_hi and end_s[e] > f_lo and (
                    top < 0 or first > np.int64(start_s[top]) + offsets_s[top]):
                top = e
        if top < 0:
            continue                          # no vehicle of it can matter
        if end_s[top] <= f_hi:
            return 0, 0, np.zeros(0, np.uint32), np.zeros(0, np.int64)
        for e in range(freq_ptr[p], freq_ptr[p + 1]):
            first = np.int64(start_s[e]) + offsets_s[e]
            if e == top or first >= end_s[e] or first > f_hi or end_s[e] <= f_lo:
                continue
            last = first + (end_s[e] - 1 - first) // headway_s[e] * headway_s[e]
            from_s = max(from_s, last + d_board + 1)
        first = np.int64(start_s[top]) + offsets_s[top]
        missing = first - headway_s[top]     # the latest vehicle that does not run
        if missing + d_board >= first_s:
            for i in range(n - 1):
                s = pattern_stops[sp + i]
                late[s] = max(late[s], missing + dep_s[time_ptr[p] + i])
        a, b = period, np.int64(headway_s[top])
        while b:
            a, b = b, a % b
        period = period // a * headway_s[top]
    if from_s + period > last_s:
        return 0, 0, np.zeros(0, np.uint32), np.zeros(0, np.int64)
    stops = np.flatnonzero(late >= from_s)
    stops = stops[np.argsort(-late[stops], kind="mergesort")]
    return period, from_s, stops.astype(np.uint32), late[stops]


#: How one draw's searches over a window repeat (:func:`periodic_departures`).
Repeats = tuple[int, int, NDArray[np.uint32], NDArray[np.int64]]


def _spans(tt: Timetable, state: RaptorState) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """:func:`boarding_spans` of the timetable, computed on first use and kept in ``state``."""
    if state.spans is None:
        state.spans = boarding_spans(tt.pattern_stop_ptr, tt.pattern_is_frequency,
                                     tt.pattern_trip_ptr, tt.pattern_time_ptr, tt.trip_dep_s,
                                     tt.pattern_freq_ptr, tt.freq_start_s, tt.freq_end_s)
    return state.spans


def periodic_departures(tt: Timetable, state: RaptorState, departures_s: NDArray[np.int32],
                        offsets_s: NDArray[np.int32], max_duration_s: int | None
                        ) -> Repeats | None:
    """How the searches from ``departures_s`` (evenly spaced, increasing) repeat under one
    draw, for :func:`range_durations`: ``(k, first, stops, late_s)``, or None when they
    do not (see :func:`_period`). Kept in ``state`` per draw and window.

    Departure ``i >= first`` can take the durations of departure ``i + k`` instead of
    searching when the search from ``i + k`` reached every stop ``stops[j]`` later than
    ``late_s[j]`` plus the period (or not within the maximum duration) wherever
    ``late_s[j]`` is not before departure ``i``: the two searches then ride the same
    vehicles, shifted by the period, and a search's labels are the earliest arrivals,
    whatever labels it keeps from later departures (unless a search stops at the limit
    of rides: the caller checks ``state.range_rounds``).
    """
    n = departures_s.shape[0]
    if max_duration_s is None or n < 2:
        return None
    step = int(departures_s[1]) - int(departures_s[0])
    if step <= 0 or np.any(np.diff(departures_s.astype(np.int64)) != step):
        return None
    offsets_s = np.ascontiguousarray(offsets_s, np.int32)
    key = (offsets_s.tobytes(), int(departures_s[0]), int(departures_s[-1]), step,
           int(max_duration_s))
    if key not in state.periods:
        period, from_s, stops, late = _period(
            tt.pattern_stop_ptr, tt.pattern_stops, tt.pattern_is_frequency,
            tt.pattern_time_ptr, tt.trip_dep_s, tt.pattern_freq_ptr, tt.freq_start_s,
            tt.freq_end_s, tt.freq_headway_s, offsets_s, *_spans(tt, state),
            int(departures_s[0]), int(departures_s[-1]), int(max_duration_s), step, tt.n_stops)
        found: Repeats | None = None
        if period > 0 and period // step < n:
            found = (int(period // step), int(np.searchsorted(departures_s, from_s)), stops,
                     late)
        if len(state.periods) >= 64:
            state.periods.clear()
        state.periods[key] = found
    return state.periods[key]


def _span_patterns(tt: Timetable, state: RaptorState, first_s: int, last_s: int | None
                   ) -> tuple[NDArray[np.uint32], NDArray[np.uint32], NDArray[np.int32]]:
    """The stop -> (pattern, position) lists without the patterns that run no vehicle
    between ``first_s`` and ``last_s`` (clock s; None: no end), kept in ``state``.

    A search whose labels all lie in that span (departures from ``first_s``; nothing after
    ``last_s`` matters: the maximum duration or the walk-only time caps it) boards no such
    pattern, so leaving them out changes no label. A feed with one template trip per time
    band (what the builder writes) has most of its patterns idle at any one time.
    """
    lo_key = first_s // SPAN_STEP_S
    hi_key = -1 if last_s is None else -(-last_s // SPAN_STEP_S)
    found = state.span_patterns.get((lo_key, hi_key))
    if found is None:
        lo, hi = _spans(tt, state)
        running = hi >= lo_key * SPAN_STEP_S
        if hi_key >= 0:
            running &= lo <= hi_key * SPAN_STEP_S
        u = state.unsigned
        if running.all():
            found = (u["stop_pattern_ptr"], u["stop_pattern"], tt.stop_pattern_pos)
        else:
            keep = running[tt.stop_pattern]
            ptr = np.concatenate([[0], np.cumsum(keep)])[tt.stop_pattern_ptr]
            found = (np.ascontiguousarray(ptr, np.uint32),
                     np.ascontiguousarray(u["stop_pattern"][keep]),
                     np.ascontiguousarray(tt.stop_pattern_pos[keep]))
        if len(state.span_patterns) >= 16:
            state.span_patterns.clear()
        state.span_patterns[(lo_key, hi_key)] = found
    return found


def _unsigned(a: NDArray[np.int32]) -> NDArray[np.uint32]:
    """The same non-negative int32 indices read as uint32 (a view, no copy)."""
    return np.ascontiguousarray(a, np.int32).view(np.uint32)


def range_durations(tt: Timetable, state: RaptorState, access_stops: NDArray[np.int32],
                    access_s: NDArray[np.int32], departures_s: NDArray[np.int32],
                    offsets_s: NDArray[np.int32], out: NDArray[np.int32],
                    max_duration_s: int | None = None, repeats: Repeats | None = None
                    ) -> NDArray[np.int64]:
    """Travel time (s) from an origin to every stop for each departure of one draw.

    Parameters
    ----------
    tt, state
        The timetable and scratch space sized for it.
    access_stops, access_s
        Stops the origin reaches on foot and the walks (s) to them.
    departures_s
        Departure clock times (s), in any order; run latest first with labels kept.
    offsets_s
        Start offset (s) of every frequency window, ``tt.n_freq_entries`` values.
    out
        ``(len(departures_s), n_stops)`` int32, receives the duration from each departure
        to every stop (UNREACHED when not reached within ``max_duration_s``): the earliest
        arrival of :func:`transit.raptor.run_raptor` minus the departure.
    max_duration_s
        Longest travel time of interest (s); None searches without limit.
    repeats
        :func:`periodic_departures` for these departures and draw: a departure whose
        search would repeat a later one's takes its durations instead of searching.

    Returns
    -------
    NDArray[np.int64]
        Per departure, the row of ``out`` that holds its durations (its own, unless it
        took a later departure's).
    """
    row_of = np.empty(len(departures_s), np.int64)
    _run(tt, state, access_stops, access_s, departures_s, offsets_s,
         int(UNREACHED) if max_duration_s is None else max_duration_s, out, _NO_STOPS,
         _NO_TIMES, None, int(UNREACHED), _NO_TIMES, repeats, row_of)
    return row_of


def range_arrivals_to_destination(tt: Timetable, state: RaptorState,
                                  access_stops: NDArray[np.int32], access_s: NDArray[np.int32],
                                  egress_stops: NDArray[np.int32], egress_s: NDArray[np.int32],
                                  departures_s: NDArray[np.int32], offsets_s: NDArray[np.int32],
                                  bounds_s: NDArray[np.int32], upper_s: int
                                  ) -> NDArray[np.int32]:
    """Arrival clock time (s) at one destination for each departure of one draw.

    What :func:`transit.raptor.run_raptor` returns for these arguments with ``bounds_s``
    and ``upper_s`` (same pruning, same answers), from the lean kernel.

    Parameters
    ----------
    tt, state
        The timetable and scratch space sized for it.
    access_stops, access_s
        Stops the origin reaches on foot and the walks (s) to them.
    egress_stops, egress_s
        Stops from which the destination is reached on foot and those walks (s).
    departures_s
        Departure clock times (s), in any order; run latest first with labels kept.
    offsets_s
        Start offset (s) of every frequency window, ``tt.n_freq_entries`` values.
    bounds_s
        Lower bound (s) from every stop to the destination
        (:func:`transit.lower_bound.destination_bounds` for these egress walks).
    upper_s
        A travel time (s) the caller has without transit (walking the whole way): labels
        that cannot beat ``departure + upper_s`` are pruned.

    Returns
    -------
    NDArray[np.int32]
        Per departure, in the given order: the arrival, UNREACHED when none, or an upper
        bound from ``upper_s`` or a later departure where that is not beaten (as
        :func:`transit.raptor.run_raptor`).
    """
    arrive = np.full(len(departures_s), UNREACHED, np.int32)
    _run(tt, state, access_stops, access_s, departures_s, offsets_s, int(UNREACHED), _NO_ROWS,
         egress_stops, egress_s, np.asarray(bounds_s, np.int32),
         min(int(upper_s), int(UNREACHED)), arrive, None, _NO_ROW_OF)
    return arrive


_NO_STOPS = np.zeros(0, np.int32)
_NO_TIMES = np.zeros(0, np.int32)
_NO_ROWS = np.zeros((0, 0), np.int32)
_NO_ROW_OF = np.zeros(0, np.int64)
_NO_LATE = (np.zeros(0, np.uint32), np.zeros(0, np.int64))


def _run(tt: Timetable, state: RaptorState, access_stops: NDArray[np.int32],
         access_s: NDArray[np.int32], departures_s: NDArray[np.int32],
         offsets_s: NDArray[np.int32], max_duration_s: int, out: NDArray[np.int32],
         egress_stops: NDArray[np.int32], egress_s: NDArray[np.int32],
         bounds_s: NDArray[np.int32] | None, upper_s: int, dest_out: NDArray[np.int32],
         repeats: Repeats | None, row_of: NDArray[np.int64]) -> None:
    """Call the kernel: one-to-all (``bounds_s`` None) or to one destination."""
    k, first, late_stops, late_s = (0, 0, *_NO_LATE) if repeats is None else repeats
    deps = np.asarray(departures_s, np.int32)
    order = np.argsort(-deps.astype(np.int64), kind="stable").astype(np.int32)
    veh_ptr, veh_dep = _vehicles(tt, state, offsets_s)
    u = state.unsigned
    horizon = min(max_duration_s, upper_s if bounds_s is not None else int(UNREACHED))
    sp_ptr, sp_pattern, sp_pos = _span_patterns(
        tt, state, int(deps.min()),
        None if horizon >= int(UNREACHED) else int(deps.max()) + horizon)
    _search_all(u["pattern_stop_ptr"], u["pattern_stops"], tt.pattern_board_ok,
                tt.pattern_alight_ok, tt.pattern_is_frequency, tt.pattern_trip_ptr,
                tt.pattern_time_ptr, tt.trip_dep_s, tt.trip_arr_s, veh_ptr, veh_dep,
                sp_ptr, sp_pattern, sp_pos,
                u["transfer_ptr"], u["transfer_stop"], tt.transfer_s,
                _unsigned(access_stops), np.asarray(access_s, np.int32), deps, order,
                state.best_s, state.best_ride_s, state.ride_marked,
                state.pattern_from, state.pattern_to, u["pattern_queue"], u["mark_list"],
                u["ride_list"], state.improved_at, state.epoch, state.arrivals_rise,
                state.ridden_vehicle, state.ridden_pos, np.int32(max_duration_s),
                state.max_rides + 1, out, state.vehicle_hint,
                _unsigned(egress_stops), np.asarray(egress_s, np.int32), state.egress_s,
                bounds_s, np.int32(upper_s), dest_out, u["walk_list"], state.range_rounds,
                k, first, late_stops, late_s, row_of)


@njit(cache=True, nogil=True)
def _search_all(pattern_stop_ptr, pattern_stops, board_ok, alight_ok, is_freq, trip_ptr,  # type: ignore[no-untyped-def]
                time_ptr, dep_s, arr_s, veh_ptr, veh_dep, stop_pattern_ptr, stop_pattern,
                stop_pattern_pos, transfer_ptr, transfer_stop, transfer_s, access_stops,
                access_s, departures, order, best, best_ride, ride_marked,
                pattern_from, pattern_to, pattern_queue, mark_list, ride_list, improved_at,
                epoch, arrivals_rise, ridden_vehicle, ridden_pos, max_duration, max_rounds,
                out, vehicle_hint, egress_stops, egress_s, egress_by_stop, bounds, upper,
                dest_out, walk_list, rounds_used, period_k, read_from, late_stops, late_s,
                row_of):  # pragma: no cover
    """:func:`transit.raptor._search` for range queries (see the module docstring); the
    comments there explain each rule, which this keeps as it is.

    One-to-all when ``bounds`` is None (numba compiles that specialisation without the
    destination branches, each behind ``bounds is not None``): durations to every stop go
    to ``out``. Otherwise to one destination, pruned as ``_search`` prunes with per-stop
    bounds and an upper bound (``upper``, s): arrivals at the destination go to
    ``dest_out`` and ``out`` is not touched. ``rounds_used[0]`` receives the most rounds a
    departure took, or ``max_rounds`` when one stopped at that limit with labels still
    improving. One-to-all with ``period_k`` > 0 (departures evenly spaced, increasing: see
    :func:`periodic_departures`): a departure from index ``read_from`` on whose search
    would repeat the one ``period_k`` later takes its durations; ``row_of`` receives the
    row of ``out`` holding each departure's durations.
    """
    inf = 2147483647
    best[:] = inf
    best_ride[:] = inf
    ridden_pos[:] = inf
    rounds_used[0] = 0
    n_stops = best.shape[0]
    min_egress = inf
    dest_best = inf
    if epoch[0] == 0:     # improved_at is 0 where never improved: rounds count from 1
        epoch[0] = 1
    if bounds is not None:
        for j in range(egress_stops.shape[0]):
            s = egress_stops[j]
            if egress_s[j] < egress_by_stop[s]:
                egress_by_stop[s] = egress_s[j]
            if egress_s[j] < min_egress:
                min_egress = egress_s[j]
        if min_egress == inf:
            min_egress = 0
    n_dep = departures.shape[0]
    for d in range(order.shape[0]):
        di = order[d]
        t_dep = departures[di]
        if bounds is None:
            row_of[di] = di
            if period_k > 0 and read_from <= di < n_dep - period_k:
                # The search one period later rode the same vehicles shifted by the
                # period, and the copies of vehicles that do not run from here: it repeats
                # this one unless it reached a stop in time to board such a copy.
                src = row_of[di + period_k]
                later = out[src]
                repeat = True
                for j in range(late_stops.shape[0]):
                    if late_s[j] < t_dep:
                        break
                    v = later[late_stops[j]]
                    if v != inf and np.int64(v) <= late_s[j] - t_dep:
                        repeat = False
                        break
                if repeat:
                    row_of[di] = src
                    continue
        if bounds is not None and upper != inf and np.int64(t_dep) + upper < dest_best:
            dest_best = np.int64(t_dep) + upper
        cap = np.int64(inf) if max_duration == inf else np.int64(t_dep) + max_duration
        round0 = epoch[0]
        epoch[0] += max_rounds
        n_marked = 0
        for j in range(access_stops.shape[0]):
            s = access_stops[j]
            t = t_dep + access_s[j]
            if t < best[s] and t <= cap:
                best[s] = t
                n_marked = _improve(s, round0, improved_at, mark_list, n_marked)
                if bounds is not None:
                    dest_best = _reach_destination(t, s, dest_best, egress_by_stop)
        k = 0
        while n_marked > 0 and k + 1 < max_rounds:
            k += 1
            # Patterns through the marked stops, from the earliest marked position (a
            # marked stop's label is within the cap: it was set so). Branch-free: whether
            # a pattern is new or a position extends its range is a coin toss, and a
            # mispredicted branch costs more than the stores (pattern_queue has a spare
            # slot for the write that does not count).
            n_queue = 0
            for j in range(n_marked):
                s = mark_list[j]
                if bounds is not None and _hopeless(best[s], s, dest_best, min_egress, bounds):
                    continue
                for q in range(stop_pattern_ptr[s], stop_pattern_ptr[s + np.uint32(1)]):
                    p = stop_pattern[q]
                    pos = stop_pattern_pos[q]
                    f = pattern_from[p]
                    new = f < 0
                    pattern_queue[np.uint64(n_queue)] = p
                    n_queue += new
                    pattern_from[p] = pos if new or pos < f else f
                    to = pattern_to[p]
                    pattern_to[p] = pos if pos > to else to
            n_marked = 0
            n_ride = 0
            # A pattern's scan alternates two loops: looking for a vehicle at the marked
            # positions (none boarded yet, or a stale one, which reaches nothing new), and
            # riding one (alight everywhere, board an earlier vehicle where a label allows
            # it); each tests only what its case needs. Boarding is tried where the label
            # improved since the previous round (rk1 or later).
            rk1 = round0 + k - 1
            for qi in range(n_queue):
                p = pattern_queue[qi]
                i = int(pattern_from[p])
                i_last = int(pattern_to[p])
                pattern_from[p] = -1
                pattern_to[p] = -1
                rises = arrivals_rise[p] == 1
                sp = pattern_stop_ptr[p]
                # int64 (int() would keep numba's uint64, and i < n would compare floats)
                n = np.int64(pattern_stop_ptr[p + np.uint32(1)] - sp)
                base = time_ptr[p]
                base_u = np.uint64(base)
                m = trip_ptr[p + np.uint32(1)] - trip_ptr[p]
                freq = is_freq[p] == 1
                v_lo = veh_ptr[p]
                v_hi = veh_ptr[p + np.uint32(1)]
                trip = -1       # scheduled: trip within the pattern
                veh = -1        # frequency: index in veh_dep
                t0 = inf        # frequency: first-stop departure of the boarded vehicle
                board_pos = -1
                stale = False   # the boarded vehicle was ridden from here or earlier
                while True:
                    # Look for a vehicle to board, up to the last marked position.
                    fresh = False
                    while i <= i_last:
                        iu = np.uint64(i)
                        at = sp + iu
                        s = pattern_stops[at]
                        if board_ok[at] == 1 and i != n - 1 and improved_at[s] >= rk1:
                            t_prev = best[s]
                            if freq:
                                need = t_prev - dep_s[base_u + iu]
                                if board_pos < 0 or need <= t0:
                                    if board_pos >= 0:   # gallop down from the boarded one
                                        hi = veh
                                        lo, top = _gallop_down(veh_dep, 0, veh, v_lo, need)
                                    else:
                                        # Gallop from the vehicle last boarded on this pattern
                                        # (labels move little from one departure to the next).
                                        hi = v_hi
                                        h = vehicle_hint[p]
                                        if h < v_lo or h >= hi:
                                            lo = v_lo
                                            top = hi
                                        elif veh_dep[h] >= need:
                                            lo, top = _gallop_down(veh_dep, 0, h, v_lo, need)
                                        else:
                                            lo = h + 1
                                            step = 1
                                            while lo + step < hi and veh_dep[lo + step - 1] < need:
                                                lo += step
                                                step <<= 1
                                            top = min(lo + step, hi)
                                    lo = _first_at_or_after(veh_dep, 0, lo, top, need)
                                    if lo < hi and veh_dep[lo] < t0:
                                        veh = lo
                                        vehicle_hint[p] = lo
                                        t0 = veh_dep[lo]
                                        board_pos = i
                                        stale = ridden_vehicle[p] == t0 and ridden_pos[p] <= i
                            else:
                                row = base + i * m
                                if board_pos < 0 or t_prev <= dep_s[row + trip]:
                                    lo = 0
                                    if board_pos >= 0:
                                        hi = trip
                                        lo, top = _gallop_down(dep_s, row, trip, 0, t_prev)
                                    else:
                                        hi = m
                                        top = m
                                    lo = _first_at_or_after(dep_s, row, lo, top, t_prev)
                                    if lo < hi:
                                        trip = lo
                                        board_pos = i
                                        stale = ridden_vehicle[p] == lo and ridden_pos[p] <= i
                        i += 1
                        if board_pos >= 0 and not stale:
                            fresh = True
                            break
                    if not fresh:
                        break
                    # Ride the vehicle, until it turns stale, the pattern ends or its
                    # arrivals pass the cap.
                    while i < n:
                        iu = np.uint64(i)
                        at = sp + iu
                        s = pattern_stops[at]
                        a = t0 + arr_s[base_u + iu] if freq else arr_s[base + i * m + trip]
                        if i > i_last and rises:
                            if a > cap:
                                break
                            if bounds is not None and a + min_egress >= dest_best:
                                break
                        if alight_ok[at] == 1 and a < best_ride[s] \
                                and a <= cap and not (bounds is not None and (
                                    a + min_egress >= dest_best or _hopeless(
                                        a, s, dest_best, min_egress, bounds))):
                            best_ride[s] = a
                            n_ride = _mark(s, ride_marked, ride_list, n_ride)
                            if a < best[s]:
                                best[s] = a
                                n_marked = _improve(s, round0 + k, improved_at, mark_list,
                                                    n_marked)
                                if bounds is not None:
                                    dest_best = _reach_destination(a, s, dest_best,
                                                                   egress_by_stop)
                        if board_ok[at] == 1 and i != n - 1 and improved_at[s] >= rk1:
                            t_prev = best[s]
                            if freq:
                                need = t_prev - dep_s[base_u + iu]
                                if need <= t0:    # gallop down from the boarded vehicle
                                    lo, top = _gallop_down(veh_dep, 0, veh, v_lo, need)
                                    lo = _first_at_or_after(veh_dep, 0, lo, top, need)
                                    if lo < veh and veh_dep[lo] < t0:
                                        veh = lo
                                        vehicle_hint[p] = lo
                                        t0 = veh_dep[lo]
                                        board_pos = i
                                        stale = ridden_vehicle[p] == t0 and ridden_pos[p] <= i
                            else:
                                row = base + i * m
                                if t_prev <= dep_s[row + trip]:
                                    lo, top = _gallop_down(dep_s, row, trip, 0, t_prev)
                                    lo = _first_at_or_after(dep_s, row, lo, top, t_prev)
                                    if lo < trip:
                                        trip = lo
                                        board_pos = i
                                        stale = ridden_vehicle[p] == lo and ridden_pos[p] <= i
                        i += 1
                        if stale:
                            break
                    if not stale:
                        break
                if board_pos >= 0 and not stale:
                    ridden_vehicle[p] = t0 if freq else trip
                    ridden_pos[p] = board_pos
            # Walking transfers from the stops a vehicle reached, shortest walks first.
            n_walk = 0
            for j in range(n_ride):
                s = ride_list[j]
                ride_marked[s] = 0
                t_ride = best_ride[s]
                # One second of slack for the rounding of walk times (see _search).
                if bounds is not None and _hopeless(t_ride - 1, s, dest_best, 0, bounds):
                    continue
                q_end = transfer_ptr[s + np.uint32(1)]
                if bounds is None:
                    # Branch-free, as above: one walk in nine improves, at random. The
                    # improved stops go to walk_list (spare slot: one entry per walk and a
                    # write that does not count), listed for the next round below: a loop
                    # this small keeps its counters in registers.
                    for q in range(transfer_ptr[s], q_end):
                        t = t_ride + transfer_s[q]
                        if t > cap:
                            break
                        s2 = transfer_stop[q]
                        old = best[s2]
                        better = t < old
                        best[s2] = t if better else old
                        walk_list[np.uint64(n_walk)] = s2
                        n_walk += better
                    continue
                for q in range(transfer_ptr[s], q_end):
                    t = t_ride + transfer_s[q]
                    if t > cap:
                        break
                    if bounds is not None and t + min_egress >= dest_best:
                        break
                    s2 = transfer_stop[q]
                    if t < best[s2] and not (bounds is not None and _hopeless(
                            t, s2, dest_best, min_egress, bounds)):
                        best[s2] = t
                        n_marked = _improve(s2, round0 + k, improved_at, mark_list, n_marked)
                        if bounds is not None:
                            dest_best = _reach_destination(t, s2, dest_best, egress_by_stop)
            # One-to-all: list the stops the walks improved, in the order they first did
            # (as the destination mode lists them).
            rk = round0 + k
            for j in range(n_walk):
                s2 = walk_list[j]
                was = improved_at[s2]
                mark_list[np.uint64(n_marked)] = s2
                n_marked += was != rk
                improved_at[s2] = rk
        if n_marked > 0:
            rounds_used[0] = max_rounds
        elif k > rounds_used[0]:
            rounds_used[0] = k
        if bounds is not None:
            dest_out[di] = dest_best
        else:
            # Durations; a label kept from a later departure may lie beyond the cap.
            lim = cap if cap < inf else inf - 1
            row_out = out[di]
            for s in range(n_stops):
                v = best[s]
                row_out[s] = v - t_dep if v <= lim else inf
    if bounds is not None:
        for j in range(egress_stops.shape[0]):
            egress_by_stop[egress_stops[j]] = inf


@njit(cache=True, nogil=True, inline="always")
def _gallop_down(dep, base, top, lo_limit, need):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Galloping search (steps 1, 2, 4, ...) down from index ``top`` of the sorted
    ``dep[base + lo_limit:base + ...]``: returns ``(lo, top)`` such that the first index at or
    after which ``dep[base + i] >= need`` lies in ``[lo, top]``."""
    step = 1
    while top - step >= lo_limit and dep[base + top - step] >= need:
        top -= step
        step <<= 1
    return max(top - step + 1, lo_limit), top


@njit(cache=True, nogil=True, inline="always")
def _first_at_or_after(dep, base, lo, top, need):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Binary search: the first ``i`` in ``[lo, top)`` with ``dep[base + i] >= need`` (``top``
    when none), for sorted departures."""
    while lo < top:
        mid = (lo + top) >> 1
        if dep[base + mid] < need:
            lo = mid + 1
        else:
            top = mid
    return lo


@njit(cache=True, nogil=True, inline="always")
def _mark(s, flags, listed, n):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Put stop ``s`` on the list ``listed[:n]`` of stops to visit next (``flags`` keeps it
    there once); returns the list's new length."""
    if flags[s] == 0:
        flags[s] = 1
        listed[np.uint64(n)] = s
        return n + 1
    return n


@njit(cache=True, nogil=True, inline="always")
def _improve(s, rk, improved_at, listed, n):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Record that stop ``s`` improved in round ``rk`` (a number no other round of the
    state has) and put it on the list ``listed[:n]`` of stops to visit next, once: it is on
    the list iff ``improved_at[s] == rk``. Returns the list's new length."""
    if improved_at[s] != rk:
        improved_at[s] = rk
        listed[np.uint64(n)] = s
        return n + 1
    return n


@njit(cache=True, nogil=True)
def _hopeless(t, s, dest_best, min_egress, bounds):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Whether a label ``t`` (clock s) at stop ``s`` can no longer beat the destination
    label ``dest_best``: the shortest egress walk or the stop's lower bound ``bounds[s]``
    (s, :func:`transit.lower_bound.destination_bounds`) reaches it too late."""
    if dest_best == 2147483647:   # no destination label yet: nothing is hopeless
        return False
    return t + min_egress >= dest_best or t + bounds[s] >= dest_best


@njit(cache=True, nogil=True)
def _reach_destination(t, s, dest_best, egress_by_stop):  # type: ignore[no-untyped-def]  # pragma: no cover
    """The destination label after a label ``t`` (clock s) at stop ``s``: its walk to the
    destination ``egress_by_stop[s]`` (UNREACHED when none) if that arrives earlier."""
    e = egress_by_stop[s]
    if e != 2147483647 and t + e < dest_best:
        return t + e
    return dest_best
