"""Sampling departures and draws; one origin to every stop or point, as arrays.

A query departs at every minute of a window and, when the timetable has headway-based
patterns, under several Monte Carlo draws of their start offsets (R5's method): each
(draw, minute) pair is one sample, so every answer is a distribution. Walking the whole way
is always a candidate. Per draw the minutes run latest first with labels kept (range
RAPTOR), so a 60-minute window costs little more than one search.

The one-to-all functions (:func:`travel_times_to_stops`, :func:`travel_times_to_points`)
are what accessibility studies call once per origin; they reuse a caller-owned
:class:`~transit.raptor.RaptorState` and allocate only their output.

References
----------
M. Conway, A. Byrd, M. van der Linden, "Evidence-based transit and land use sketch planning
using interactive accessibility methods on combined schedule and headway-based networks",
Transportation Research Record 2653, 2017 (random offsets, percentiles over a window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.errors import InputError
from transit.range_raptor import (
    periodic_departures,
    range_arrivals_to_destination,
    range_durations,
)
from transit.raptor import RaptorState, run_raptor
from transit.timetable import UNREACHED, Timetable
from transit.walk import haversine_m, walk_s_for_m, walks_to_stops

__all__ = [
    "PointEgress",
    "access_for_point",
    "access_for_stop",
    "build_point_egress",
    "check_in_area",
    "departure_times",
    "draw_offsets",
    "durations_by_stop",
    "travel_times_to_destination",
    "travel_times_to_points",
    "travel_times_to_stops",
]


def departure_times(depart_s: int, window_s: int, step_s: int = 60) -> NDArray[np.int32]:
    """Departure clock times ``depart_s, depart_s + step_s, ...`` before ``depart_s + window_s``.

    A zero window gives the single departure ``depart_s``.
    """
    if window_s < 0 or step_s <= 0:
        raise InputError(f"window of {window_s} s in steps of {step_s} s",
                         fix="give a window of zero or more minutes")
    count = max(1, -(-window_s // step_s))
    return (depart_s + step_s * np.arange(count)).astype(np.int32)


def draw_offsets(tt: Timetable, draws: int, seed: int) -> NDArray[np.int32]:
    """Random start offsets ``(draws, n_freq_entries)``, each in ``[0, headway)`` seconds.

    A timetable without headway-based windows needs one draw only (its rows would all be
    equal), so it gets a single row of zeros whatever ``draws`` is.
    """
    if draws < 1:
        raise InputError(f"{draws} draws", fix="ask for at least one Monte Carlo draw")
    if tt.n_freq_entries == 0:
        return np.zeros((1, 0), np.int32)
    rng = np.random.default_rng(seed)
    unit = rng.random((draws, tt.n_freq_entries))
    return np.floor(unit * tt.freq_headway_s[None, :]).astype(np.int32)


def _outside_message(tt: Timetable, lat: float, lon: float) -> str:
    d_m = haversine_m(tt.stop_lat, tt.stop_lon, lat, lon)
    nearest = np.argsort(d_m, kind="stable")[:3]
    names = ", ".join(f"{tt.stop_ids[i]} '{tt.stop_names[i]}' {d_m[i] / 1000:.1f} km"
                      for i in nearest)
    return names


def check_in_area(tt: Timetable, lat: float, lon: float, what: str) -> None:
    """Raise :class:`InputError` when a point lies outside the feed's area.

    The area is the stops' bounding box (kept by the timetable) widened by the longest
    access walk.
    """
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{what} ({lat}, {lon}) is not a WGS84 coordinate",
                         fix="give LAT,LON in degrees, e.g. -1.2921,36.8219")
    pad_deg = tt.walk.max_access_m / 111_000.0
    pad_lon = pad_deg / max(np.cos(np.radians(lat)), 1e-6)
    lat_lo, lat_hi, lon_lo, lon_hi = tt.stop_box
    inside = (lat_lo - pad_deg <= lat <= lat_hi + pad_deg
              and lon_lo - pad_lon <= lon <= lon_hi + pad_lon)
    if not inside:
        raise InputError(f"{what} ({lat}, {lon}) is outside the feed's area; nearest stops: "
                         f"{_outside_message(tt, lat, lon)}",
                         fix="check the order (LAT,LON) and the feed")


def access_for_point(tt: Timetable, lat: float, lon: float
                     ) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Stops within ``walk.max_access_m`` of a point and the walks (s) to them."""
    return walks_to_stops(tt.stop_lat, tt.stop_lon, lat, lon, tt.walk)


def access_for_stop(tt: Timetable, stop: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Starting at a stop: the stop itself (0 s) and its walking transfers."""
    lo, hi = tt.transfer_ptr[stop], tt.transfer_ptr[stop + 1]
    stops = np.concatenate([[stop], tt.transfer_stop[lo:hi]]).astype(np.int32)
    walk_s = np.concatenate([[0], tt.transfer_s[lo:hi]]).astype(np.int32)
    return stops, walk_s


def travel_times_to_stops(tt: Timetable, state: RaptorState, origin_lat: float,
                          origin_lon: float, depart_s: int, window_s: int = 3600,
                          draws: int = 5, seed: int = 0,
                          offsets_s: NDArray[np.int32] | None = None,
                          max_duration_s: int | None = None,
                          stop_major: bool = False) -> NDArray[np.int32]:
    """Travel time (s) from a point to every stop, for every (draw, departure minute).

    Parameters
    ----------
    tt, state
        Timetable and reusable scratch space.
    origin_lat, origin_lon
        Origin, WGS84 degrees.
    depart_s, window_s
        First departure (clock s) and window length (s); one departure per minute.
    draws, seed
        Monte Carlo draws of frequency offsets and the seed that makes them repeatable.
    offsets_s
        Give ``(draws, n_freq_entries)`` offsets to share draws between origins
        (:func:`draw_offsets`); ``draws`` and ``seed`` are then ignored.
    max_duration_s
        Longest travel time of interest (R5's maximum trip duration): the search stops
        there, which makes it much cheaper, and stops reached later read UNREACHED.
    stop_major
        Return ``(n_stops, n_samples)`` instead (each stop's samples contiguous, as
        per-destination reductions read them).

    Returns
    -------
    NDArray[np.int32]
        ``(n_samples, n_stops)``, draw-major then departure order; UNREACHED where a stop
        cannot be reached (within ``max_duration_s``). Includes the access walk; walking
        the whole way is not a stop travel time (see :func:`travel_times_to_points`).
    """
    offsets = draw_offsets(tt, draws, seed) if offsets_s is None else offsets_s
    deps = departure_times(depart_s, window_s)
    access_stops, access_s = access_for_point(tt, origin_lat, origin_lon)
    n = deps.size
    if not stop_major:
        out = np.empty((offsets.shape[0] * n, tt.n_stops), np.int32)
        for d in range(offsets.shape[0]):
            rows = out[d * n:(d + 1) * n]
            row_of = _one_draw(tt, state, access_stops, access_s, deps, offsets[d], rows,
                               max_duration_s, True)
            if (row_of != np.arange(n)).any():   # some departures took another's row
                rows[:] = rows[row_of]
        return out
    by_stop = np.empty((tt.n_stops, offsets.shape[0] * n), np.int32)
    fastest = np.empty(tt.n_stops, np.int32)
    slowest = np.empty(tt.n_stops, np.int32)
    durations_by_stop(tt, state, access_stops, access_s, deps, offsets, max_duration_s,
                      np.empty((n, tt.n_stops), np.int32), by_stop, fastest, slowest)
    by_stop[fastest == UNREACHED] = UNREACHED
    return by_stop


def durations_by_stop(tt: Timetable, state: RaptorState, access_stops: NDArray[np.int32],
                      access_s: NDArray[np.int32], deps: NDArray[np.int32],
                      offsets_s: NDArray[np.int32], max_duration_s: int | None,
                      rows: NDArray[np.int32], by_stop: NDArray[np.int32],
                      fastest: NDArray[np.int32], slowest: NDArray[np.int32],
                      far_s: int = int(UNREACHED), periodic: bool = True,
                      weights: NDArray[np.int32] | None = None) -> int:
    """Stop-major travel times of one origin into the caller's buffers (reused between
    origins, as accessibility does for thousands of them).

    ``by_stop[s]`` receives stop ``s``'s samples (draw-major, then departure order, as
    :func:`travel_times_to_stops` with ``stop_major``), ``fastest[s]``/``slowest[s]`` the
    smallest and largest of them. A stop no draw reaches gets ``fastest[s] = slowest[s] =
    UNREACHED`` and its row of ``by_stop`` is left as it was: read a row only where
    ``fastest`` is reached. Only the stops a draw labelled are turned into columns (a
    draw's labels only fall as its departures run, so the stops without a label at the end
    of the draw were never reached in it): from a Nairobi origin, typically a minority.

    ``rows`` is ``(len(deps), n_stops)`` scratch space for one draw. ``far_s`` (above
    ``max_duration_s``) stands for a sample not reached in ``by_stop``: UNREACHED, or a
    smaller value to which a walk can be added in int32 without overflow (accessibility
    only compares times with thresholds up to ``max_duration_s``).

    Where a draw's headway service repeats over the searches' span, a departure whose
    search would repeat a later one's, shifted by the period, takes its durations instead
    of searching (:func:`transit.range_raptor.periodic_departures`): on Nairobi at
    07:00-07:59 capped at 60 minutes (every route every 5 minutes from 06:00 to 09:00),
    about 9 in 10 departures. ``periodic=False`` searches every departure (the same
    values).

    With ``weights`` (``len(deps) * draws`` int32), ``by_stop`` receives only the distinct
    samples, one per departure searched, and ``weights`` how many samples each stands for
    (itself and the departures that took its durations); the samples' order is then not
    that of the departures. Returns the number of columns written.
    """
    n = deps.size
    seen = np.zeros(tt.n_stops, np.bool_)
    fastest[:] = UNREACHED
    slowest[:] = UNREACHED
    col = 0
    for d in range(offsets_s.shape[0]):
        row_of = _one_draw(tt, state, access_stops, access_s, deps, offsets_s[d], rows,
                           max_duration_s, periodic)
        if weights is None:
            src = row_of
        else:
            src = np.flatnonzero(row_of == np.arange(n))
            weights[col:col + src.size] = np.bincount(row_of, minlength=n)[src]
        _rows_to_columns(rows, src, state.best_s, by_stop, col, seen, fastest, slowest, far_s)
        col += src.size
    return col


def _one_draw(tt: Timetable, state: RaptorState, access_stops: NDArray[np.int32],
              access_s: NDArray[np.int32], deps: NDArray[np.int32], offsets_s: NDArray[np.int32],
              rows: NDArray[np.int32], max_duration_s: int | None, periodic: bool
              ) -> NDArray[np.int64]:
    """One draw's range search into ``rows``; returns the row holding each departure's
    durations. With ``periodic``, a departure whose search would repeat a later one's,
    shifted by the period, takes its durations instead of searching
    (:func:`transit.range_raptor.periodic_departures`)."""
    repeats = periodic_departures(tt, state, deps, offsets_s, max_duration_s) \
        if periodic else None
    row_of = range_durations(tt, state, access_stops, access_s, deps, offsets_s, rows,
                             max_duration_s, repeats)
    if repeats is not None and state.range_rounds[0] > state.max_rides - 2:
        # A search came near the limit of rides, where labels could depend on those kept
        # from later departures: search every departure.
        row_of = range_durations(tt, state, access_stops, access_s, deps, offsets_s, rows,
                                 max_duration_s)
    return row_of


@njit(cache=True, nogil=True)
def _rows_to_columns(rows: NDArray[np.int32], src: NDArray[np.int64],
                     labels: NDArray[np.int32], out: NDArray[np.int32], col0: int,
                     seen: NDArray[np.bool_], fastest: NDArray[np.int32],
                     slowest: NDArray[np.int32], far: int) -> None:  # pragma: no cover
    """``out[s, col0 + r] = min(rows[src[r], s], far)`` for the stops labelled in this draw
    (``labels[s]`` reached), 64 at a time (a cache-sized tile), keeping each stop's
    fastest and slowest sample (UNREACHED when not reached). A stop seen in an earlier draw
    but not in this one gets ``far`` columns; one seen for the first time gets them in the
    earlier draws'."""
    inf = 2147483647
    n_rows = src.shape[0]
    n_stops = rows.shape[1]
    idx = np.empty(n_stops, np.int64)
    k = 0
    for s in range(n_stops):
        if labels[s] != inf:
            idx[k] = s
            k += 1
            if not seen[s]:
                seen[s] = True
                out[s, :col0] = far
                slowest[s] = inf if col0 > 0 else 0
        elif seen[s]:
            out[s, col0:col0 + n_rows] = far
            slowest[s] = inf
    for k0 in range(0, k, 64):
        k1 = min(k0 + 64, k)
        for r in range(n_rows):
            row = rows[src[r]]
            for j in range(k0, k1):
                out[idx[j], col0 + r] = min(row[idx[j]], far)
        for j in range(k0, k1):
            s = idx[j]
            lo = fastest[s]
            hi = slowest[s]
            for r in range(col0, col0 + n_rows):
                v = out[s, r]
                if v >= far:
                    v = inf
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
            fastest[s] = lo
            slowest[s] = hi


def travel_times_to_destination(
        tt: Timetable, state: RaptorState,
        access: tuple[NDArray[np.int32], NDArray[np.int32]],
        egress: tuple[NDArray[np.int32], NDArray[np.int32]], deps: NDArray[np.int32],
        offsets_s: NDArray[np.int32], walk_only_s: int, *,
        destination: tuple[float, float] | None = None,
        bounds_s: NDArray[np.int32] | None = None) -> NDArray[np.int32]:
    """Door-to-door travel time (s) to one destination for every (draw, departure) sample.

    Each sample is the better of the range search (one per row of ``offsets_s``, over
    ``deps``) and walking the whole way (``walk_only_s``, which also bounds the search).
    ``access``/``egress`` are (stops, walks) pairs; the egress may gather several places
    into one destination (the stop's walk to the nearest of them). ``destination`` or
    ``bounds_s`` prune the search (see :func:`transit.raptor.run_raptor`). With
    ``bounds_s`` the lean range kernel runs
    (:func:`transit.range_raptor.range_arrivals_to_destination`, the same answers).

    Returns
    -------
    NDArray[np.int32]
        ``(n_draws * n_departures,)``, draw-major then departure order.
    """
    samples = np.empty(offsets_s.shape[0] * deps.size, np.int32)
    for d in range(offsets_s.shape[0]):
        if bounds_s is not None and len(egress[0]) > 0:
            arrive = range_arrivals_to_destination(tt, state, *access, *egress, deps,
                                                   offsets_s[d], bounds_s, walk_only_s)
        else:
            arrive = run_raptor(tt, state, *access, *egress, deps, offsets_s[d],
                                destination=destination, bounds_s=bounds_s,
                                upper_s=walk_only_s)
        travel = np.where(arrive == UNREACHED, UNREACHED, arrive.astype(np.int64) - deps)
        samples[d * deps.size:(d + 1) * deps.size] = np.minimum(travel, walk_only_s)
    return samples


@dataclass(frozen=True)
class PointEgress:
    """Walks from stops to a set of destination points (CSR by point), built once.

    The walks to point ``j`` are ``stops[ptr[j]:ptr[j+1]]`` with durations ``walk_s``.
    """

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    ptr: NDArray[np.int32]
    stops: NDArray[np.int32]
    walk_s: NDArray[np.int32]


def build_point_egress(tt: Timetable, lat: NDArray[np.float64],
                       lon: NDArray[np.float64]) -> PointEgress:
    """The stops within ``walk.max_access_m`` of each point, and the walks (s) from them."""
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    ptr = [0]
    stops: list[NDArray[np.int32]] = []
    walks: list[NDArray[np.int32]] = []
    for la, lo in zip(lat, lon, strict=True):
        s, w = walks_to_stops(tt.stop_lat, tt.stop_lon, float(la), float(lo), tt.walk)
        stops.append(s)
        walks.append(w)
        ptr.append(ptr[-1] + s.size)
    return PointEgress(lat, lon, np.asarray(ptr, np.int32), _concat(stops), _concat(walks))


def _concat(parts: list[NDArray[np.int32]]) -> NDArray[np.int32]:
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)


def travel_times_to_points(tt: Timetable, stop_times_s: NDArray[np.int32],
                           egress: PointEgress, origin_lat: float,
                           origin_lon: float) -> NDArray[np.int32]:
    """Travel time (s) to each point per sample: best of stop + walk, or walking all the way.

    ``stop_times_s`` is the output of :func:`travel_times_to_stops` for the same origin.
    Returns ``(n_samples, n_points)`` int32.
    """
    direct = walk_s_for_m(haversine_m(egress.lat, egress.lon, origin_lat, origin_lon), tt.walk)
    out = np.empty((stop_times_s.shape[0], egress.lat.shape[0]), np.int32)
    _points(stop_times_s, egress.ptr, egress.stops, egress.walk_s, direct, out)
    return out


@njit(cache=True)
def _points(stop_tt: NDArray[np.int32], ptr: NDArray[np.int32], stops: NDArray[np.int32],
            walk_s: NDArray[np.int32], direct: NDArray[np.int32],
            out: NDArray[np.int32]) -> None:
    inf = 2147483647
    for r in range(stop_tt.shape[0]):
        for j in range(ptr.shape[0] - 1):
            best = direct[j]
            for q in range(ptr[j], ptr[j + 1]):
                t = stop_tt[r, stops[q]]
                if t != inf and t + walk_s[q] < best:
                    best = t + walk_s[q]
            out[r, j] = best
