"""Clean positionfixes with flags, never silent deletion.

Every fix that a rule drops or alters keeps a :class:`transit.traces.Reason` code in
``fixes.reason``; nothing is removed from the arrays, so the store keeps the evidence and
the summary counts each reason. The rules, in the order they apply:

1. ``out_of_range`` (|lat| > 90 or |lon| > 180) and ``null_island`` (exactly 0, 0).
2. ``week_rollover`` (kept, altered): a time before ``min_plausible`` that lands in the
   plausible range when shifted by a multiple of 1024 GPS weeks (the 10-bit week counter
   of old receivers wraps every 19.6 years; 1999-08-22 and 2019-04-07 were rollovers).
3. ``time_implausible``: still before ``min_plausible`` or after ``now + 1 day``.
4. ``outside_campaign``: outside the declared campaign window, when one is given.
5. ``poor_accuracy``: reported horizontal accuracy worse than ``max_accuracy_m``.
6. Per trace, in file order: ``duplicate`` (same time and position as the last kept fix)
   and ``out_of_order`` (not later than the last kept fix: the clock stepped back).
7. ``jump``: the implied-speed "sandwich" test: a fix reached from its predecessor
   faster than ``max_speed_mps`` and further than ``min_jump_m``, where going straight
   from the predecessor to a later fix is plausible again; bursts of up to five
   consecutive outliers go together. Repeated until no more fixes drop.
8. Trip segments: a gap over ``max_gap_s`` starts a new segment.
9. ``parked``: at each end of a segment, the time a vehicle sat within ``park_radius_m``
   of where it started (or ended) beyond ``park_keep_s`` (the first/last ``park_keep_s``
   of the wait is kept, so the terminal still shows as a dwell); applies when the wait
   exceeds ``park_min_s``.
10. ``short_segment``: segments under ``min_segment_fixes`` fixes, ``min_segment_s`` or
    ``min_segment_m`` of extent are not usable as trips.

The per-trace rules run in a numba-compiled loop over the fixes sorted by trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from transit.traces import Reason, TraceSet

__all__ = ["GPS_WEEK_ROLLOVER_MS", "CleanOptions", "clean_traceset"]

#: 1024 GPS weeks in milliseconds.
GPS_WEEK_ROLLOVER_MS = 1024 * 7 * 86_400 * 1000
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class CleanOptions:
    """Thresholds of the cleaning rules (see the module docstring); units in the names.

    ``min_plausible_ms`` defaults to 2005-01-01 UTC: no phone trace logger predates it,
    and week-rollover dates (1999-2004 for the 2019 rollover) fall before it.
    ``now_ms`` defaults to the wall clock at cleaning time.
    """

    max_accuracy_m: float = 50.0
    max_speed_mps: float = 40.0
    min_jump_m: float = 60.0
    max_gap_s: float = 300.0
    park_radius_m: float = 40.0
    park_min_s: float = 180.0
    park_keep_s: float = 60.0
    min_segment_fixes: int = 10
    min_segment_s: float = 60.0
    min_segment_m: float = 200.0
    min_plausible_ms: int = 1_104_537_600_000  # 2005-01-01T00:00:00Z
    now_ms: int | None = None
    campaign_start_ms: int | None = None
    campaign_end_ms: int | None = None


def clean_traceset(ts: TraceSet, options: CleanOptions = CleanOptions()) -> TraceSet:
    """Flag the fixes of ``ts`` in place (``reason``, ``segment``, corrected ``time_ms``).

    Returns ``ts`` for chaining. Fixes already carrying a non-OK reason are left as they
    are. Idempotent: cleaning a cleaned set changes nothing.
    """
    fx = ts.fixes
    n = len(fx)
    if n == 0:
        return ts
    reason = fx.reason.copy()
    fresh = reason == Reason.OK
    lat, lon = fx.lat, fx.lon
    bad_range = ~(np.abs(lat) <= 90) | ~(np.abs(lon) <= 180)
    reason[fresh & bad_range] = Reason.OUT_OF_RANGE
    reason[fresh & ~bad_range & (lat == 0) & (lon == 0)] = Reason.NULL_ISLAND

    now_ms = options.now_ms if options.now_ms is not None else int(time.time() * 1000)
    max_ms = now_ms + 86_400_000
    lo = options.campaign_start_ms if options.campaign_start_ms is not None \
        else options.min_plausible_ms
    time_ms = fx.time_ms.copy()
    early = (reason == Reason.OK) & (time_ms < options.min_plausible_ms)
    if early.any():
        for k in (1, 2, 3):
            shifted = time_ms + k * GPS_WEEK_ROLLOVER_MS
            fix = early & (shifted >= lo) & (shifted <= max_ms)
            time_ms[fix] = shifted[fix]
            reason[fix] = Reason.WEEK_ROLLOVER
            early &= ~fix
    usable = (reason == Reason.OK) | (reason == Reason.WEEK_ROLLOVER)
    implausible = usable & ((time_ms < options.min_plausible_ms) | (time_ms > max_ms))
    reason[implausible] = Reason.TIME_IMPLAUSIBLE
    usable &= ~implausible
    if options.campaign_start_ms is not None or options.campaign_end_ms is not None:
        start = options.campaign_start_ms if options.campaign_start_ms is not None else -2**62
        end = options.campaign_end_ms if options.campaign_end_ms is not None else 2**62
        outside = usable & ((time_ms < start) | (time_ms > end))
        reason[outside] = Reason.OUTSIDE_CAMPAIGN
        usable &= ~outside
    poor = usable & (fx.accuracy_m > options.max_accuracy_m)  # NaN compares False
    reason[poor] = Reason.POOR_ACCURACY

    order = np.argsort(fx.trace_index, kind="stable")
    segment = np.full(n, -1, np.int32)
    reason_sorted = reason[order]
    segment_sorted = segment[order]
    _per_trace(
        fx.trace_index[order], time_ms[order], lat[order], lon[order], reason_sorted,
        segment_sorted, options.max_speed_mps, options.min_jump_m, options.max_gap_s * 1000,
        options.park_radius_m, options.park_min_s * 1000, options.park_keep_s * 1000,
        options.min_segment_fixes, options.min_segment_s * 1000, options.min_segment_m)
    reason[order] = reason_sorted
    segment[order] = segment_sorted
    fx.reason = reason
    fx.segment = segment
    fx.time_ms = time_ms
    return ts


# --- compiled per-trace rules -------------------------------------------------------------

_OK = int(Reason.OK)
_ROLL = int(Reason.WEEK_ROLLOVER)
_DUP = int(Reason.DUPLICATE)
_ORDER = int(Reason.OUT_OF_ORDER)
_JUMP = int(Reason.JUMP)
_PARKED = int(Reason.PARKED)
_SHORT = int(Reason.SHORT_SEGMENT)
#: Longest run of consecutive outliers the sandwich test removes as one burst.
_MAX_BURST = 5


@numba.njit(cache=True)
def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(min(1.0, a)))


@numba.njit(cache=True)
def _is_kept(code: int) -> bool:
    return code in (_OK, _ROLL)


@numba.njit(cache=True)
def _per_trace(trace: NDArray[np.int32], t: NDArray[np.int64], lat: NDArray[np.float64],
               lon: NDArray[np.float64], reason: NDArray[np.int16], segment: NDArray[np.int32],
               max_speed: float, min_jump_m: float, max_gap_ms: float, park_r: float,
               park_min_ms: float, park_keep_ms: float, min_fixes: int, min_ms: float,
               min_m: float) -> None:
    n = len(t)
    start = 0
    while start < n:
        end = start
        while end < n and trace[end] == trace[start]:
            end += 1
        _one_trace(t, lat, lon, reason, segment, start, end, max_speed, min_jump_m, max_gap_ms,
                   park_r, park_min_ms, park_keep_ms, min_fixes, min_ms, min_m)
        start = end


@numba.njit(cache=True)
def _one_trace(t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64],
               reason: NDArray[np.int16], segment: NDArray[np.int32], a: int, b: int,
               max_speed: float, min_jump_m: float, max_gap_ms: float, park_r: float,
               park_min_ms: float, park_keep_ms: float, min_fixes: int, min_ms: float,
               min_m: float) -> None:
    # 6. duplicates and clock steps backwards, in file order
    last = -1
    for i in range(a, b):
        if not _is_kept(reason[i]):
            continue
        if last >= 0:
            if t[i] == t[last] and lat[i] == lat[last] and lon[i] == lon[last]:
                reason[i] = _DUP
                continue
            if t[i] <= t[last]:
                reason[i] = _ORDER
                continue
        last = i
    # 7. sandwich jumps (single fixes and bursts of up to _MAX_BURST), until stable
    while _drop_jumps(t, lat, lon, reason, a, b, max_speed, min_jump_m):
        pass
    # 8. segments at long gaps
    seg = -1
    last = -1
    for i in range(a, b):
        if not _is_kept(reason[i]):
            continue
        if last < 0 or t[i] - t[last] > max_gap_ms:
            seg += 1
        segment[i] = seg
        last = i
    # 9-10. per segment: parked ends, then too-short segments
    for s in range(seg + 1):
        first = -1
        final = -1
        for i in range(a, b):
            if segment[i] == s:
                if first < 0:
                    first = i
                final = i
        _trim_parked(t, lat, lon, reason, segment, s, first, final + 1, park_r, park_min_ms,
                     park_keep_ms)
        _drop_short(t, lat, lon, reason, segment, s, first, final + 1, min_fixes, min_ms, min_m)
    # renumber surviving segments 0..k
    new = -1
    old = -1
    for i in range(a, b):
        if segment[i] >= 0:
            if segment[i] != old:
                old = segment[i]
                new += 1
            segment[i] = new


@numba.njit(cache=True)
def _next_kept(reason: NDArray[np.int16], i: int, b: int) -> int:
    i += 1
    while i < b and not _is_kept(reason[i]):
        i += 1
    return i if i < b else -1


@numba.njit(cache=True)
def _speed(t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64], i: int,
           j: int) -> float:
    """Implied speed from fix i to fix j (m/s), elapsed time floored at one second."""
    return _dist_m(lat[i], lon[i], lat[j], lon[j]) / max(abs(t[j] - t[i]) / 1000.0, 1.0)


@numba.njit(cache=True)
def _drop_jumps(t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64],
                reason: NDArray[np.int16], a: int, b: int, max_speed: float,
                min_jump_m: float) -> bool:
    """One pass of the sandwich test; True when some fix was flagged.

    A fix ``cur`` reached implausibly fast (and far) from ``prev`` starts a suspected
    burst; the burst ends at the first later fix ``j`` (within _MAX_BURST) that is
    plausible from ``prev`` and far from ``cur``: ``cur .. j-1`` are jumps. The first
    fix of a trace is a jump when leaving it is implausible but the next step is not.
    """
    changed = False
    prev = -1
    cur = _next_kept(reason, a - 1, b)
    while cur >= 0:
        nxt = _next_kept(reason, cur, b)
        if prev < 0:
            if nxt >= 0 and _speed(t, lat, lon, cur, nxt) > max_speed and \
                    _dist_m(lat[cur], lon[cur], lat[nxt], lon[nxt]) > 3 * min_jump_m:
                after = _next_kept(reason, nxt, b)
                if after >= 0 and _speed(t, lat, lon, nxt, after) <= max_speed:
                    reason[cur] = _JUMP
                    changed = True
                    cur = nxt
                    continue
        elif _speed(t, lat, lon, prev, cur) > max_speed and \
                _dist_m(lat[prev], lon[prev], lat[cur], lon[cur]) > min_jump_m:
            j = nxt
            steps = 0
            while j >= 0 and steps < _MAX_BURST:
                if _speed(t, lat, lon, prev, j) <= max_speed and \
                        _dist_m(lat[cur], lon[cur], lat[j], lon[j]) > min_jump_m:
                    break
                j = _next_kept(reason, j, b)
                steps += 1
            if j >= 0 and steps < _MAX_BURST:
                k = cur
                while k != j:
                    reason[k] = _JUMP
                    k = _next_kept(reason, k, b)
                changed = True
                cur = j
                continue
            if j < 0 and steps < _MAX_BURST:  # the trace ends inside the burst
                k = cur
                while k >= 0:
                    reason[k] = _JUMP
                    k = _next_kept(reason, k, b)
                return True
        prev = cur
        cur = nxt
    return changed


@numba.njit(cache=True)
def _trim_parked(t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64],
                 reason: NDArray[np.int16], segment: NDArray[np.int32], s: int, a: int, b: int,
                 park_r: float, park_min_ms: float, park_keep_ms: float) -> None:
    # leading: until the vehicle first leaves park_r of the first fix
    leave = -1
    for i in range(a, b):
        if segment[i] == s and _dist_m(lat[a], lon[a], lat[i], lon[i]) > park_r:
            leave = i
            break
    if leave > a and t[leave] - t[a] > park_min_ms:
        cut = t[leave] - park_keep_ms
        for i in range(a, leave):
            if segment[i] == s and t[i] < cut:
                reason[i] = _PARKED
                segment[i] = -1
    # trailing: from the last time the vehicle was beyond park_r of the last fix
    arrive = -1
    for i in range(b - 1, a - 1, -1):
        if segment[i] == s and _dist_m(lat[b - 1], lon[b - 1], lat[i], lon[i]) > park_r:
            arrive = i
            break
    if 0 <= arrive < b - 1 and t[b - 1] - t[arrive] > park_min_ms:
        cut = t[arrive] + park_keep_ms
        for i in range(arrive + 1, b):
            if segment[i] == s and t[i] > cut:
                reason[i] = _PARKED
                segment[i] = -1


@numba.njit(cache=True)
def _drop_short(t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64],
                reason: NDArray[np.int16], segment: NDArray[np.int32], s: int, a: int, b: int,
                min_fixes: int, min_ms: float, min_m: float) -> None:
    count = 0
    first = -1
    last = -1
    extent = 0.0
    for i in range(a, b):
        if segment[i] != s:
            continue
        count += 1
        if first < 0:
            first = i
        last = i
        extent = max(extent, _dist_m(lat[first], lon[first], lat[i], lon[i]))
    if count == 0:
        return
    if count < min_fixes or t[last] - t[first] < min_ms or extent < min_m:
        for i in range(a, b):
            if segment[i] == s:
                reason[i] = _SHORT
                segment[i] = -1
