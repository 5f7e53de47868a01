"""Accessibility per origin: opportunities within thresholds and the nearest of each kind.

For every origin the router gives door-to-door travel times to every stop for each sample
(a departure minute of the window under one Monte Carlo draw of headway offsets, see
:mod:`transit.one_to_all`). From those this module computes, per category of opportunity
(clinics, schools...), with ``p`` the chosen percentile over the samples (default the
median):

* **cumulative opportunities within T**: how many opportunities have a ``p``-th
  percentile travel time of at most ``T`` minutes (the cumulative-opportunity measure of
  Conveyal R5: percentile per destination, then count);
* **nearest opportunity time**: the ``p``-th percentile over samples of the time to the
  closest opportunity of the category in that sample;
* **reaches one within T**: whether that nearest time is at most ``T``;
* the **walk-only** equivalents, from walking the whole way (same walking rule as the
  router: straight line x detour factor at walking speed), which do not vary by sample.

Walking the whole way is always a candidate, so every time is finite. Travel times to an
opportunity are the best of (stop time + walk from the stop) over the stops within the
walking limit of it, exactly as :func:`transit.one_to_all.travel_times_to_points` and
:func:`transit.journeys.plan_journey` compute them; the reductions run in a compiled loop
that visits opportunities by a lower bound on their time and stops when no remaining one
can change an answer.

References
----------
M. Conway, A. Byrd, M. van der Linden, Transportation Research Record 2653, 2017
(percentiles of travel time over a departure window and Monte Carlo draws).
K. T. Geurs and B. van Wee, "Accessibility evaluation of land-use and transport
strategies: review and research directions", Journal of Transport Geography 12, 2004
(cumulative-opportunity measures).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.errors import InputError
from transit.lower_bound import destination_bounds, reverse_graph
from transit.one_to_all import (
    PointEgress,
    access_for_point,
    build_point_egress,
    departure_times,
    durations_by_stop,
    travel_times_to_destination,
)
from transit.raptor import RaptorState
from transit.timetable import DAY_S, UNREACHED, Timetable
from transit.walk import haversine_m, walk_s_for_m

__all__ = [
    "AccessSpec",
    "CategoryTarget",
    "Destinations",
    "OriginMeasures",
    "build_destinations",
    "measure_origins",
    "percentile_rank",
]


@dataclass(frozen=True)
class AccessSpec:
    """What to measure: departure window, draws, thresholds and the percentile.

    Parameters
    ----------
    depart_s
        First departure, clock seconds since service-day midnight.
    window_s
        Departures every minute over this duration (s); 0 is a single departure.
    draws, seed
        Monte Carlo draws of headway offsets and their seed (shared by every origin).
    thresholds_s
        Travel-time thresholds (durations, s), positive and increasing.
    percentile
        Percentile of the travel-time samples to report (1-100; 50 is the median).
    """

    depart_s: int
    window_s: int = 3600
    draws: int = 5
    seed: int = 0
    thresholds_s: tuple[int, ...] = (1800, 2700, 3600)
    percentile: int = 50

    def __post_init__(self) -> None:
        t = self.thresholds_s
        if not t or any(v <= 0 for v in t):
            raise InputError(f"thresholds {[v / 60 for v in t]} min must be positive",
                             where="--minutes", fix="give minutes above zero, e.g. 30,45,60")
        if list(t) != sorted(set(t)):
            raise InputError(f"thresholds {[v / 60 for v in t]} min repeat or are unsorted",
                             where="--minutes", fix="give increasing minutes, e.g. 30,45,60")
        if t[-1] > 2 * DAY_S:
            raise InputError(f"a threshold of {t[-1] / 60:g} min", where="--minutes",
                             fix="give thresholds of at most 2,880 minutes (two days)")
        if not 1 <= self.percentile <= 100:
            raise InputError(f"percentile {self.percentile}", where="--percentile",
                             fix="give a whole number from 1 to 100")
        if not 0 <= self.window_s <= DAY_S:
            raise InputError(f"a window of {self.window_s / 60:g} min", where="--window",
                             fix="give a window from 0 to 1,440 minutes (one service day)")
        if self.draws < 1:
            raise InputError(f"{self.draws} draws", where="--draws", fix="give 1 or more")

    @property
    def n_departures(self) -> int:
        """Departure minutes per draw."""
        return int(departure_times(self.depart_s, self.window_s).size)


@dataclass(frozen=True)
class CategoryTarget:
    """All locations of one category as a single destination.

    ``stops``/``walk_s``: the stops within walking reach of one of its locations and the
    shortest such walk; ``bounds_s``: lower bounds (s) from every stop to the nearest
    location (:func:`transit.lower_bound.destination_bounds`), computed once per run.
    """

    stops: NDArray[np.int32]
    walk_s: NDArray[np.int32]
    bounds_s: NDArray[np.int32]


@dataclass(frozen=True)
class Destinations:
    """Opportunities at distinct locations, by category, with their egress walks.

    ``egress`` holds the walks from stops to each *location*; ``loc_cat_ptr``/``loc_cat``/
    ``loc_count`` list, per location, the categories present there and how many
    opportunities of each (several facilities can share one address).
    """

    categories: tuple[str, ...]
    egress: PointEgress
    loc_cat_ptr: NDArray[np.int32]
    loc_cat: NDArray[np.int32]
    loc_count: NDArray[np.int32]
    totals: NDArray[np.int64]
    #: Per category, the category as one destination of a point-to-point search.
    category_targets: tuple[CategoryTarget, ...] = ()

    @property
    def n_locations(self) -> int:
        """Number of distinct opportunity locations."""
        return int(self.egress.lat.shape[0])


def build_destinations(tt: Timetable, lat: NDArray[np.float64], lon: NDArray[np.float64],
                       members: Mapping[str, NDArray[np.intp]]) -> Destinations:
    """Group opportunity points by location and category and build their egress walks once.

    Parameters
    ----------
    tt
        Timetable (its stops and walking rule).
    lat, lon
        Opportunity points, WGS84 degrees.
    members
        Category name -> indices of its points (a point may belong to several categories).
    """
    if not members:
        raise InputError("no opportunity categories", fix="give at least one opportunity file")
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    keys = np.round(np.column_stack([lat, lon]), 7)
    uniq, loc_of = np.unique(keys, axis=0, return_inverse=True)
    loc_of = loc_of.reshape(-1)
    pairs: dict[tuple[int, int], int] = {}
    totals = []
    for c, idx in enumerate(members.values()):
        idx = np.asarray(idx, np.intp)
        totals.append(idx.size)
        for loc in loc_of[idx]:
            pairs[(int(loc), c)] = pairs.get((int(loc), c), 0) + 1
    ordered = sorted(pairs.items())
    loc_arr = np.asarray([k[0] for k, _ in ordered], np.int64)
    ptr = np.zeros(uniq.shape[0] + 1, np.int64)
    np.add.at(ptr, loc_arr + 1, 1)
    egress = build_point_egress(tt, np.asarray(uniq[:, 0], np.float64),
                                np.asarray(uniq[:, 1], np.float64))
    loc_cat_ptr = np.cumsum(ptr).astype(np.int32)
    loc_cat = np.asarray([k[1] for k, _ in ordered], np.int32)
    return Destinations(tuple(members), egress, loc_cat_ptr, loc_cat,
                        np.asarray([v for _, v in ordered], np.int32),
                        np.asarray(totals, np.int64),
                        _category_targets(tt, egress, loc_cat_ptr, loc_cat, len(members)))


def _category_targets(tt: Timetable, egress: PointEgress, loc_cat_ptr: NDArray[np.int32],
                      loc_cat: NDArray[np.int32], n_cat: int) -> tuple[CategoryTarget, ...]:
    """Per category: stops near any of its locations, the shortest walk from each, and
    the Dijkstra bounds to them."""
    graph = reverse_graph(tt)
    out = []
    cat_loc = np.repeat(np.arange(loc_cat_ptr.size - 1), np.diff(loc_cat_ptr))
    for c in range(n_cat):
        best = np.full(tt.n_stops, UNREACHED, np.int64)
        for j in cat_loc[loc_cat == c]:
            lo, hi = egress.ptr[j], egress.ptr[j + 1]
            np.minimum.at(best, egress.stops[lo:hi], egress.walk_s[lo:hi])
        stops = np.flatnonzero(best < UNREACHED).astype(np.int32)
        walk_s = best[stops].astype(np.int32)
        out.append(CategoryTarget(stops, walk_s,
                                  destination_bounds(graph, tt.n_stops, stops, walk_s)))
    return tuple(out)


def percentile_rank(n_samples: int, percentile: int) -> int:
    """0-based index in sorted samples of the ``percentile`` by the inverted CDF.

    The smallest value whose empirical CDF reaches ``percentile / 100``, as
    ``numpy.percentile(..., method="inverted_cdf")`` and :func:`transit.journeys.percentiles_s`.
    """
    return max(0, -(-n_samples * percentile // 100) - 1)


@dataclass(frozen=True)
class OriginMeasures:
    """Measures per origin; shapes ``(n_origins, n_categories[, n_thresholds])``.

    ``opportunities`` and ``walk_opportunities`` are counts; ``nearest_s`` and
    ``walk_nearest_s`` durations in seconds (the percentile over samples for transit).
    ``has_access`` is False for origins with no stop within the walking limit (transit
    then equals walking).
    """

    opportunities: NDArray[np.int32]
    nearest_s: NDArray[np.int32]
    walk_opportunities: NDArray[np.int32]
    walk_nearest_s: NDArray[np.int32]
    has_access: NDArray[np.bool_]

    @classmethod
    def concat(cls, parts: Sequence[OriginMeasures]) -> OriginMeasures:
        """Stack the measures of consecutive blocks of origins."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("opportunities", "nearest_s", "walk_opportunities",
                               "walk_nearest_s", "has_access")))


def measure_origins(tt: Timetable, lat: NDArray[np.float64], lon: NDArray[np.float64],
                    dest: Destinations, spec: AccessSpec, offsets_s: NDArray[np.int32], *,
                    threads: int = 1,
                    on_progress: Callable[[int], None] | None = None) -> OriginMeasures:
    """Accessibility measures of each origin (see the module docstring for definitions).

    Parameters
    ----------
    tt
        Timetable of the service day.
    lat, lon
        Origins, WGS84 degrees.
    dest
        Opportunities (:func:`build_destinations`).
    spec
        Window, thresholds and percentile.
    offsets_s
        ``(draws, n_freq_entries)`` headway offsets shared by all origins
        (:func:`transit.one_to_all.draw_offsets`), so that any split of the origins into
        blocks gives the same numbers.
    threads
        Worker threads (the compiled loops release the GIL).
    on_progress
        Called with the number of origins just finished.
    """
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    n = lat.size
    # Small blocks: the threads finish together (buffers are per thread, not per block).
    blocks = [np.arange(a, min(a + 8, n)) for a in range(0, n, 8)]
    if threads <= 1 or len(blocks) <= 1:
        state = RaptorState(tt)
        parts = []
        for block in blocks:
            parts.append(_measure_block(tt, state, lat[block], lon[block], dest, spec,
                                        offsets_s))
            if on_progress is not None:
                on_progress(block.size)
    else:
        # Each thread takes the next block when it is free (routed origins cost far more
        # than walk-only ones, and they cluster): no thread idles while blocks remain.
        done: list[OriginMeasures | None] = [None] * len(blocks)
        next_block = iter(range(len(blocks)))
        lock = threading.Lock()

        def run(_: int) -> None:
            state = RaptorState(tt)
            while True:
                with lock:
                    b = next(next_block, -1)
                if b < 0:
                    return
                block = blocks[b]
                done[b] = _measure_block(tt, state, lat[block], lon[block], dest, spec,
                                         offsets_s)
                if on_progress is not None:
                    on_progress(block.size)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, range(threads)))
        parts = [m for m in done if m is not None]
    if not parts:
        return _empty(len(dest.categories), len(spec.thresholds_s))
    return OriginMeasures.concat(parts)


def _empty(c: int, k: int) -> OriginMeasures:
    return OriginMeasures(np.zeros((0, c, k), np.int32), np.zeros((0, c), np.int32),
                          np.zeros((0, c, k), np.int32), np.zeros((0, c), np.int32),
                          np.zeros(0, np.bool_))


def _scratch(state: RaptorState, name: str, shape: tuple[int, ...]) -> NDArray[np.int32]:
    """An int32 buffer kept in ``state`` (one per thread) and reused by every origin it
    measures: fresh megabytes per origin cost page faults."""
    found = state.scratch.get(name)
    if found is None or found.shape != shape:
        found = state.scratch[name] = np.empty(shape, np.int32)
    return found  # type: ignore[return-value]


#: A sample not reached, in the samples the reduction reads: above every threshold, and
#: small enough that a walk added to it stays within int32 (so the reduction works on
#: int32 lanes).
_FAR_S = 1 << 30


def _measure_block(tt: Timetable, state: RaptorState, lat: NDArray[np.float64],
                   lon: NDArray[np.float64], dest: Destinations, spec: AccessSpec,
                   offsets_s: NDArray[np.int32]) -> OriginMeasures:
    c, k = len(dest.categories), len(spec.thresholds_s)
    n_samples = int(offsets_s.shape[0]) * spec.n_departures
    rank = percentile_rank(n_samples, spec.percentile)
    thresholds = np.asarray(spec.thresholds_s, np.int32)
    opp = np.zeros((lat.size, c, k), np.int32)
    near = np.zeros((lat.size, c), np.int32)
    wopp = np.zeros((lat.size, c, k), np.int32)
    wnear = np.zeros((lat.size, c), np.int32)
    has = np.zeros(lat.size, np.bool_)
    times = np.empty(n_samples, np.int32)
    weights = np.empty(n_samples, np.int32)
    near_buf = np.empty((c, n_samples), np.int32)
    order = np.empty(int(np.diff(dest.egress.ptr).max(initial=0)), np.int64)
    deps = departure_times(spec.depart_s, spec.window_s)
    rows = _scratch(state, "access_rows", (deps.size, tt.n_stops))
    by_stop = _scratch(state, "access_by_stop", (tt.n_stops, n_samples))
    fastest = _scratch(state, "access_fastest", (tt.n_stops,))
    slowest = _scratch(state, "access_slowest", (tt.n_stops,))
    eg = dest.egress
    # Search no further than the largest threshold (R5's maximum trip duration): counts
    # within thresholds and nearest times up to it are then exact.
    t_max = int(thresholds[-1])
    for i in range(lat.size):
        direct = walk_s_for_m(haversine_m(eg.lat, eg.lon, lat[i], lon[i]), tt.walk)
        direct = np.asarray(direct, np.int32)
        access_stops, access_s = access_for_point(tt, float(lat[i]), float(lon[i]))
        has[i] = access_stops.size > 0
        m = n_samples
        if has[i]:
            # the distinct samples (departures that repeat a later one's search share it)
            m = durations_by_stop(tt, state, access_stops, access_s, deps, offsets_s, t_max,
                                  rows, by_stop, fastest, slowest, _FAR_S, weights=weights)
        # else no stop within reach: transit is walking (the reduction reads no stop)
        _reduce_origin(by_stop, fastest, slowest, eg.ptr, eg.stops, eg.walk_s, direct,
                       dest.loc_cat_ptr, dest.loc_cat, dest.loc_count, thresholds, rank,
                       times[:m], weights[:m], n_samples, order, near_buf[:, :m], opp[i],
                       near[i], wopp[i], wnear[i], has[i])
        # A nearest time beyond it may hide a transit journey that was cut off: search
        # again to the category as one destination (every stop near one of its
        # locations), pruned by Dijkstra bounds, for the nearest time alone.
        for c in range(len(dest.categories)):
            if has[i] and near[i, c] > t_max:
                near[i, c] = _nearest_by_search(tt, state, float(lat[i]), float(lon[i]),
                                                dest.category_targets[c], spec, offsets_s,
                                                int(wnear[i, c]), rank)
    return OriginMeasures(opp, near, wopp, wnear, has)


def _nearest_by_search(tt: Timetable, state: RaptorState, lat: float, lon: float,
                       target: CategoryTarget, spec: AccessSpec,
                       offsets_s: NDArray[np.int32], walk_nearest_s: int, rank: int) -> int:
    """Percentile over samples of the time to the nearest location of one category.

    Per sample the best of walking to the nearest location and the search's arrival at
    the category (a stop's label plus the walk from it), exactly as the reduction over
    every location computes it, but with destination pruning.
    """
    samples = travel_times_to_destination(
        tt, state, access_for_point(tt, lat, lon), (target.stops, target.walk_s),
        departure_times(spec.depart_s, spec.window_s), offsets_s, walk_nearest_s,
        bounds_s=target.bounds_s)
    return int(np.sort(samples)[rank])


@njit(cache=True, nogil=True, inline="always")
def _merge_samples(times, row, walk):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``times[r] = min(times[r], row[r] + walk)``, in int32 lanes (rows hold no more than
    ``_FAR_S``, so adding a walk cannot overflow)."""
    for r in range(times.shape[0]):
        times[r] = min(times[r], np.int32(row[r] + walk))


@njit(cache=True, nogil=True, inline="always")
def _n_within(times, weights, limit):  # type: ignore[no-untyped-def]  # pragma: no cover
    """How many samples are at most ``limit`` (``times[r]`` stands for ``weights[r]``)."""
    n = 0
    for r in range(times.shape[0]):
        n += weights[r] * (times[r] <= limit)
    return n


@njit(cache=True, nogil=True)
def _weighted_rank(values, weights, rank):  # type: ignore[no-untyped-def]  # pragma: no cover
    """The ``rank``-th smallest (0-based) of the samples, ``values[r]`` standing for
    ``weights[r]`` of them."""
    seen = 0
    for r in np.argsort(values, kind="mergesort"):
        seen += weights[r]
        if seen > rank:
            return values[r]
    return values[np.argmax(values)]


@njit(cache=True, nogil=True)
def _count_within(by_stop, fastest, q0, q1, stops, walk_s, direct, bound, upper,  # type: ignore[no-untyped-def]
                  thresholds, rank, times, weights, n_samples, order, cnt):  # pragma: no cover
    """Into ``cnt``: a location's number of samples within each threshold, exact where the
    bounds decide (0 below ``bound``, every sample at or above ``upper``) and otherwise
    exact enough to tell whether it reaches ``rank + 1``. The location's stops are merged
    fastest first (sample plus walk); the merging ends as soon as every threshold between
    the bounds has ``rank + 1`` samples within it (more stops only add samples), and
    leaves out the stops whose fastest sample plus walk is above all of them (they cannot
    add a sample within any)."""
    n_thr = thresholds.shape[0]
    hi = np.int64(-1)
    for t in range(n_thr):
        cnt[t] = n_samples if upper <= thresholds[t] else 0
        if bound <= thresholds[t] < upper:
            hi = thresholds[t]
    # Stops that can add a sample at or below the highest such threshold, fastest first.
    k = 0
    for q in range(q0, q1):
        f = fastest[stops[q]]
        if f != 2147483647 and f + np.int64(walk_s[q]) <= hi:
            key = f + np.int64(walk_s[q])
            i = k
            while i > 0 and fastest[stops[order[i - 1]]] + np.int64(walk_s[order[i - 1]]) > key:
                order[i] = order[i - 1]
                i -= 1
            order[i] = q
            k += 1
    times[:] = direct
    for i in range(k):
        q = order[i]
        _merge_samples(times, by_stop[stops[q]], walk_s[q])
        decided = True
        for t in range(n_thr):
            if bound <= thresholds[t] < upper:
                cnt[t] = _n_within(times, weights, thresholds[t])
                if cnt[t] < rank + 1:
                    decided = False
        if decided:
            return
    if k == 0:        # no stop can help: every sample is the direct walk
        for t in range(n_thr):
            if bound <= thresholds[t] < upper:
                cnt[t] = n_samples if direct <= thresholds[t] else 0


@njit(cache=True, nogil=True)
def _reduce_origin(by_stop, fastest, slowest_at, ptr, stops, walk_s, direct,  # type: ignore[no-untyped-def]
                   loc_cat_ptr, loc_cat, loc_count, thresholds, rank, times, weights,
                   n_samples, order, near, opp, nearest, wopp, wnearest, transit):
    """Per-origin reductions over samples (see the module docstring).

    ``by_stop[:, :m]`` are the origin's ``m = len(times)`` distinct samples of durations
    (s), UNREACHED where a stop is not reached, sample ``r`` standing for ``weights[r]`` of
    the ``n_samples`` (departures whose search repeats a later one's share its sample), and
    ``fastest``/``slowest_at`` each stop's smallest and largest sample
    (:func:`transit.one_to_all.durations_by_stop`); the row of a stop whose fastest sample
    is UNREACHED is never read; ``times`` and ``near`` (``(n_categories, m)``) are scratch
    space; ``order`` is scratch space for the most stops of one location. Counts within a
    threshold are weighted, percentiles taken over the weighted samples. Without
    ``transit`` (no stop within reach) none is read and the measures are the walking
    ones. Locations are visited by increasing lower
    bound (fastest sample of any stop + walk, or the direct walk) up to the largest
    threshold: counts are exact, and so is a transit nearest time at or below it; one above
    it is only known to be above (the caller searches it again).
    """
    inf = 2147483647
    m = times.shape[0]          # distinct samples; weights[r] samples each, n_samples in all
    n_loc = ptr.shape[0] - 1
    n_cat, n_thr = opp.shape
    t_max = thresholds[n_thr - 1]
    # Walking only.
    for c in range(n_cat):
        wnearest[c] = inf
        for t in range(n_thr):
            wopp[c, t] = 0
            opp[c, t] = 0
    for j in range(n_loc):
        for q in range(loc_cat_ptr[j], loc_cat_ptr[j + 1]):
            c = loc_cat[q]
            if direct[j] < wnearest[c]:
                wnearest[c] = direct[j]
            for t in range(n_thr):
                if direct[j] <= thresholds[t]:
                    wopp[c, t] += loc_count[q]
    if not transit:          # no stop within reach: every sample is the walk
        opp[:, :] = wopp
        nearest[:] = wnearest
        return
    # Transit (with walking as a candidate).
    bound = np.empty(n_loc, np.int64)
    for j in range(n_loc):
        b = np.int64(direct[j])
        for q in range(ptr[j], ptr[j + 1]):
            f = fastest[stops[q]]
            if f != inf and f + walk_s[q] < b:
                b = f + walk_s[q]
        bound[j] = b
    near[:, :] = inf
    slowest = np.full(n_cat, inf, np.int64)
    cnt = np.zeros(n_thr, np.int64)
    for j in np.argsort(bound, kind="mergesort"):
        # Every sample of this location, and of every later one, is above the largest
        # threshold: it counts for none, and can only change nearest times above the
        # largest threshold, which the caller searches again (a percentile at or below
        # it is decided by the samples at or below it, which are exact).
        if bound[j] > t_max:
            break
        # Every sample of this location is at least bound[j] and at most `upper` (its
        # direct walk, or the slowest sample via one stop).
        upper = np.int64(direct[j])
        for q in range(ptr[j], ptr[j + 1]):
            if slowest_at[stops[q]] != inf and slowest_at[stops[q]] + walk_s[q] < upper:
                upper = slowest_at[stops[q]] + walk_s[q]
        # The samples are needed for a category whose slowest nearest time so far is above
        # bound[j] (all of them), or for a threshold between the two (only enough to
        # decide its count); else the bounds decide.
        per_sample = False
        for t in range(n_thr):
            if bound[j] <= thresholds[t] < upper:
                per_sample = True
        need_near = False
        for q in range(loc_cat_ptr[j], loc_cat_ptr[j + 1]):
            if bound[j] < slowest[loc_cat[q]]:
                need_near = True
        if need_near:
            times[:] = direct[j]
            # A stop whose fastest sample plus walk is not below `upper` cannot improve
            # any sample, and one above the largest threshold only samples above it
            # (which count for none, and leave a nearest time above it, searched again);
            # an unreached sample plus a walk is above every threshold.
            useful = min(upper, t_max + 1)
            for q in range(ptr[j], ptr[j + 1]):
                s = stops[q]
                walk = walk_s[q]
                if fastest[s] == inf or fastest[s] + np.int64(walk) >= useful:
                    continue
                _merge_samples(times, by_stop[s], walk)
            for t in range(n_thr):
                cnt[t] = _n_within(times, weights, thresholds[t])
        elif per_sample:
            _count_within(by_stop, fastest, ptr[j], ptr[j + 1], stops, walk_s, direct[j],
                          bound[j], upper, thresholds, rank, times, weights, n_samples, order,
                          cnt)
        else:
            for t in range(n_thr):
                cnt[t] = n_samples if upper <= thresholds[t] else 0
        for q in range(loc_cat_ptr[j], loc_cat_ptr[j + 1]):
            c = loc_cat[q]
            if need_near and bound[j] < slowest[c]:
                worst = 0
                for r in range(m):
                    if times[r] < near[c, r]:
                        near[c, r] = times[r]
                    if near[c, r] > worst:
                        worst = near[c, r]
                slowest[c] = worst
            for t in range(n_thr):
                if cnt[t] >= rank + 1:
                    opp[c, t] += loc_count[q]
    for c in range(n_cat):
        nearest[c] = _weighted_rank(near[c], weights, rank)
