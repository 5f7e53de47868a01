"""Trip segments -> stop sequences -> route patterns -> routes with two directions.

A segment *serves* a stop when one of its fixes comes within ``match_radius_m`` of it while
travelling in the stop's direction (a pass-by counts, not only a dwell: informal vehicles
skip stops nobody asks for). Sequences are grouped greedily by their longest common
subsequence (LCS), which tolerates missed stops and partial rides; each group's stop order
is the topological order of the directed graph of observed stop-to-stop moves (networkx),
keeping stops that enough of the rides covering that stretch served. Stops that rides
visit in differing orders (a vehicle turning at a terminus past two or three stops, noise
between close stops) form small strongly connected components of that graph (Tarjan 1972);
each is ordered by its stops' mean relative position in the rides. A ride does not cover
a stretch it recorded nothing on (a gap of minutes).

References
----------
Hirschberg, D. S. (1977). Algorithms for the longest common subsequence problem. JACM 24(4).
Tarjan, R. (1972). Depth-first search and linear graph algorithms. SIAM J. Comput. 1(2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numba
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

__all__ = [
    "MAX_LOCAL_CYCLE",
    "TERMINUS_WAIT_S",
    "PatternGroup",
    "SegmentVisits",
    "infer_patterns",
    "lcs_length",
    "match_segments_to_stops",
    "pair_directions",
    "recording_gaps",
]


#: A segment that starts or ends standing this long (s) within reach of one place is at a
#: terminus: minibuses wait there to fill up (minutes; Behrens et al. 2016, ch. 5), while
#: a rider boarding mid-route waits what is left of one dwell (10-60 s, half on average).
#: Cleaning keeps only the last (first) minute of a long wait (``parked``), and the vehicle
#: leaves the reach a sampling step or so before that minute ends, so a cleaned terminus
#: wait shows as 45-60 s: the threshold must lie below the minute kept.
TERMINUS_WAIT_S = 45.0

#: Rides may visit up to this many stops (or a quarter of the pattern's stops, if more) in
#: differing orders and the stops are still ordered by their mean position; a larger
#: strongly connected group of stops is a loop route, which keeps the longest ride's order.
MAX_LOCAL_CYCLE = 4


@dataclass(frozen=True, slots=True)
class SegmentVisits:
    """The stops one segment served, in order.

    ``stop`` indexes the stop arrays; ``center_ms`` is the UTC instant (ms) of the closest
    approach (or of the dwell's middle); ``dwell_s`` the time spent stopped there (s);
    ``fix`` the global index of the closest fix.
    """

    stop: NDArray[np.int64]
    center_ms: NDArray[np.int64]
    dwell_s: NDArray[np.float64]
    fix: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.stop)


def fix_headings(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                 bounds: NDArray[np.int64], span: int = 5,
                 min_move_m: float = 20.0) -> NDArray[np.float64]:
    """Direction of travel (deg) at every fix from the fixes ``span`` before and after.

    The window is clipped at segment ends. Where the vehicle moved less than ``min_move_m``
    (m; GPS noise makes a standing phone "move" several metres) it keeps
    the heading it arrived with (or leaves with); NaN only for a segment that never moves.
    """
    n = len(x_m)
    idx = np.arange(n)
    seg = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    lo = np.maximum(idx - span, bounds[seg])
    hi = np.minimum(idx + span, bounds[seg + 1] - 1)
    dx, dy = x_m[hi] - x_m[lo], y_m[hi] - y_m[lo]
    h = np.degrees(np.arctan2(dx, dy)) % 360.0
    moving = dx * dx + dy * dy >= min_move_m * min_move_m
    # a stopped vehicle keeps the heading it arrived with (else the one it leaves with)
    last = np.where(moving, idx, -1)
    np.maximum.accumulate(last, out=last)
    ok = last >= bounds[seg]
    nxt = np.where(moving, idx, n)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1]
    ok_next = nxt < bounds[seg + 1]
    out = np.full(n, np.nan)
    out[ok] = h[last[ok]]
    fill = ~ok & ok_next
    out[fill] = h[nxt[fill]]
    return out


def densify(x_m: NDArray[np.float64], y_m: NDArray[np.float64], time_ms: NDArray[np.int64],
            bounds: NDArray[np.int64], *, step_m: float = 10.0, max_gap_s: float = 120.0,
            ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                       NDArray[np.int64], NDArray[np.int64]]:
    """Points every ``step_m`` or closer along each segment's path (linear in time too).

    Returns ``(x_m, y_m, time_ms, bounds, pos)`` of the dense path, where ``pos[i]`` is the
    dense index of original fix ``i``. Steps longer than ``max_gap_s`` are not filled.
    """
    n = len(x_m)
    step = np.hypot(np.diff(x_m), np.diff(y_m))
    same_seg = np.ones(max(n - 1, 0), bool)
    inner = bounds[1:-1]
    same_seg[inner[(inner > 0) & (inner < n)] - 1] = False
    fill = same_seg & (np.diff(time_ms) <= max_gap_s * 1000)
    parts = np.where(fill, np.maximum(np.ceil(step / step_m), 1), 1).astype(np.int64)
    count = np.concatenate([parts, [1]]) if n else np.zeros(0, np.int64)
    pos = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    src = np.repeat(np.arange(n), count)
    frac = (np.arange(len(src)) - pos[src]) / count[src]
    nxt = np.minimum(src + 1, n - 1)
    dx = x_m[src] + frac * (x_m[nxt] - x_m[src])
    dy = y_m[src] + frac * (y_m[nxt] - y_m[src])
    dt = (time_ms[src] + frac * (time_ms[nxt] - time_ms[src])).astype(np.int64)
    dbounds = np.concatenate([pos, [len(src)]])[np.minimum(bounds, n)]
    return dx, dy, dt, dbounds.astype(np.int64), pos


def match_segments_to_stops(
    x_m: NDArray[np.float64],
    y_m: NDArray[np.float64],
    time_ms: NDArray[np.int64],
    bounds: NDArray[np.int64],
    stop_x_m: NDArray[np.float64],
    stop_y_m: NDArray[np.float64],
    stop_heading_deg: NDArray[np.float64],
    dwell_fix_ranges: Sequence[tuple[int, int, int, float, float]] = (),
    *,
    radius_m: float = 30.0,
    max_heading_diff_deg: float = 60.0,
    repeat_window_s: float = 180.0,
    densify_step_m: float = 10.0,
    densify_max_gap_s: float = 120.0,
    terminus_m: float = 0.0,
) -> list[SegmentVisits]:
    """The stops every segment served, in time order.

    Parameters
    ----------
    x_m, y_m, time_ms
        All fixes (local metres, UTC ms), segment after segment.
    bounds
        Segment ``s`` is ``[bounds[s], bounds[s + 1])``.
    stop_x_m, stop_y_m, stop_heading_deg
        The stops (heading NaN: any direction).
    dwell_fix_ranges
        ``(stop, first_fix, last_fix, dwell_s, middle_ms)`` of detected dwells, to credit
        dwell time: each goes to the visit of its stop, in its segment, nearest in time
        (within ``repeat_window_s``; see :func:`_credit_dwells`). A visit with a dwell is
        timed at the dwell's middle, a pass-by at the instant the vehicle was abeam of the
        stop (interpolated between two fixes).
    radius_m
        A fix this close (m) to a stop serves it.
    max_heading_diff_deg
        Largest difference between the fix's and the stop's direction of travel.
    repeat_window_s
        A stop seen again within this time (s) is the same visit (noise near two stops).
    densify_step_m, densify_max_gap_s
        The path between two fixes is matched too, as points this far apart (m), unless
        the fixes are more than ``densify_max_gap_s`` (s) apart (a gap: unknown path).
    terminus_m
        Where a segment starts or ends waiting (its points until it first moves, or after
        it last comes, farther than this (m) from its first or last point, if that lasts
        :data:`TERMINUS_WAIT_S` or more), a point with no direction-compatible stop in
        reach serves the nearest stop of any direction: a vehicle turns round at a
        terminus, and the terminus stop, clustered with the heading of the direction that
        arrives there, is the first stop of the direction that leaves. 0 turns this off.
    """
    n_seg = len(bounds) - 1
    if len(stop_x_m) == 0 or len(x_m) == 0:
        empty = SegmentVisits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                              np.zeros(0, np.int64))
        return [empty] * n_seg
    # match on the path, not only on the fixes: a vehicle sampled every 15 s moves ~100 m
    # between fixes and may pass a stop with no fix near it
    dx, dy, dt, dbounds, pos = densify(x_m, y_m, time_ms, bounds, step_m=densify_step_m,
                                       max_gap_s=densify_max_gap_s)
    heading = fix_headings(dx, dy, dbounds)
    k = min(4, len(stop_x_m))
    dist, nb = cKDTree(np.c_[stop_x_m, stop_y_m]).query(
        np.c_[dx, dy], k=k, distance_upper_bound=radius_m, workers=-1)
    dist, nb = dist.reshape(len(dx), k), nb.reshape(len(dx), k)
    loose = _terminus_points(dx, dy, dt, dbounds, terminus_m)
    seg, stop, center, dwell, dfix, t_first, t_last = _match_kernel(
        dist, nb, heading, loose, np.asarray(stop_heading_deg, float), dt, dbounds,
        float(max_heading_diff_deg), int(repeat_window_s * 1000), dx, dy,
        np.asarray(stop_x_m, float), np.asarray(stop_y_m, float))
    if len(dwell_fix_ranges):
        rng = np.array([(a, b) for _, a, b, _, _ in dwell_fix_ranges], np.int64)
        _credit_dwells(seg, stop, center, dwell, t_first, t_last,
                       np.array([d[0] for d in dwell_fix_ranges], np.int64),
                       np.searchsorted(bounds, rng[:, 0], side="right") - 1,
                       np.asarray(time_ms, np.int64)[rng[:, 0]],
                       np.asarray(time_ms, np.int64)[rng[:, 1]],
                       np.array([d[3] for d in dwell_fix_ranges], float),
                       np.array([d[4] for d in dwell_fix_ranges], float),
                       int(repeat_window_s * 1000))
    fix = np.searchsorted(pos, dfix, side="right") - 1  # the fix at or before the point
    cuts = np.searchsorted(seg, np.arange(n_seg + 1))
    return [SegmentVisits(stop[a:b], center[a:b], dwell[a:b], fix[a:b])
            for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True)]


def _terminus_points(x: NDArray[np.float64], y: NDArray[np.float64], t: NDArray[np.int64],
                     bounds: NDArray[np.int64], reach_m: float,
                     min_wait_s: float = TERMINUS_WAIT_S) -> NDArray[np.bool_]:
    """Points of each segment before it first leaves, or after it last enters, the disc
    of radius ``reach_m`` (m) around its first (last) point, where it stays there at least
    ``min_wait_s`` (s): a vehicle waiting at a terminus, not a rider boarding mid-route."""
    out = np.zeros(len(x), bool)
    if reach_m <= 0:
        return out
    wait_ms = min_wait_s * 1000
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b <= a:
            continue
        far = np.flatnonzero(np.hypot(x[a:b] - x[a], y[a:b] - y[a]) > reach_m)
        end = a + (int(far[0]) if len(far) else b - a)
        if t[end - 1] - t[a] >= wait_ms:
            out[a:end] = True
        far = np.flatnonzero(np.hypot(x[a:b] - x[b - 1], y[a:b] - y[b - 1]) > reach_m)
        start = a + (int(far[-1]) + 1 if len(far) else 0)
        if t[b - 1] - t[start] >= wait_ms:
            out[start:b] = True
    return out


@numba.njit(cache=True)
def _credit_dwells(seg: NDArray[np.int64], stop: NDArray[np.int64], center: NDArray[np.int64],
                   dwell: NDArray[np.float64], t_first: NDArray[np.int64],
                   t_last: NDArray[np.int64], d_stop: NDArray[np.int64],
                   d_seg: NDArray[np.int64], d_t0: NDArray[np.int64], d_t1: NDArray[np.int64],
                   d_s: NDArray[np.float64], d_mid: NDArray[np.float64],
                   max_gap_ms: int) -> None:  # pragma: no cover - jit
    """Credit every dwell to the visit of its stop, in its segment, nearest in time.

    A dwell is matched by time, not by position: GPS noise of 5-25 m scatters a standing
    vehicle's fixes so that some fall outside the match radius or nearer another stop,
    yet the visit (the vehicle passing within the radius) is there. The dwell counts when
    its fixes' time span lies within ``max_gap_ms`` of the visit's span; the visit is then
    timed at the middle of its longest dwell (kept inside its neighbours' times so the
    visits stay in time order).
    """
    n = len(seg)
    best_s = np.zeros(n)
    for d in range(len(d_stop)):
        s = d_stop[d]
        if s < 0:
            continue
        lo = np.searchsorted(seg, d_seg[d])
        hi = np.searchsorted(seg, d_seg[d] + 1)
        pick, pick_gap = -1, max_gap_ms + 1
        for v in range(lo, hi):
            if stop[v] != s:
                continue
            gap = max(0, max(d_t0[d] - t_last[v], t_first[v] - d_t1[d]))
            if gap < pick_gap:
                pick, pick_gap = v, gap
        if pick < 0:
            continue
        dwell[pick] += d_s[d]
        if d_s[d] > best_s[pick]:
            best_s[pick] = d_s[d]
            mid = np.int64(d_mid[d])
            if pick > lo and seg[pick - 1] == seg[pick]:
                mid = max(mid, center[pick - 1] + 1)
            if pick + 1 < hi:
                mid = min(mid, center[pick + 1] - 1)
            center[pick] = mid


@numba.njit(cache=True)
def _match_kernel(dist: NDArray[np.float64], nb: NDArray[np.int64],
                  heading: NDArray[np.float64], loose: NDArray[np.bool_],
                  stop_heading: NDArray[np.float64],
                  t: NDArray[np.int64], bounds: NDArray[np.int64], max_diff: float,
                  repeat_ms: int, x: NDArray[np.float64], y: NDArray[np.float64],
                  sx: NDArray[np.float64], sy: NDArray[np.float64]
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                             NDArray[np.float64], NDArray[np.int64], NDArray[np.int64],
                             NDArray[np.int64]]:  # pragma: no cover - jit
    n, k = nb.shape
    nstop = len(stop_heading)
    # 1. the nearest direction-compatible stop of every fix; at a terminus (``loose``)
    #    the nearest stop of any direction when no compatible one is in reach
    sof = np.full(n, -1, np.int64)
    dof = np.full(n, np.inf)
    for i in range(n):
        for j in range(k):
            s = nb[i, j]
            if s >= nstop:
                break
            h, hs = heading[i], stop_heading[s]
            if h == h and hs == hs:
                d = abs(h - hs) % 360.0
                if min(d, 360.0 - d) > max_diff:
                    continue
            sof[i] = s
            dof[i] = dist[i, j]
            break
        if sof[i] < 0 and loose[i] and nb[i, 0] < nstop:
            sof[i] = nb[i, 0]
            dof[i] = dist[i, 0]
    # 2. runs of one stop -> visits timed when the vehicle was abeam of the stop; a stop
    #    seen again within repeat_ms among the last two visits is the same visit (noise
    #    between two close stops)
    cap = n // 2 + 16
    o_seg = np.empty(cap, np.int64)
    o_stop = np.empty(cap, np.int64)
    o_center = np.empty(cap, np.int64)
    o_fix = np.empty(cap, np.int64)
    o_first = np.empty(cap, np.int64)
    o_last = np.empty(cap, np.int64)
    o_best = np.empty(cap, np.float64)
    m = 0
    for sg in range(len(bounds) - 1):
        first = m
        i = bounds[sg]
        e = bounds[sg + 1]
        while i < e:
            s = sof[i]
            if s < 0:
                i += 1
                continue
            j = i
            best_i, best_d = i, np.inf
            while j < e and sof[j] == s:
                if dof[j] < best_d:
                    best_d, best_i = dof[j], j
                j += 1
            when = _abeam_ms(x, y, t, best_i, bounds[sg], e, sx[s], sy[s])
            merged = False
            for back in range(1, 3):
                q = m - back
                if q < first:
                    break
                if o_stop[q] == s and t[i] - o_last[q] <= repeat_ms:
                    m = q + 1
                    o_last[q] = t[j - 1]
                    if o_best[q] > best_d:
                        o_center[q], o_fix[q], o_best[q] = when, best_i, best_d
                    merged = True
                    break
            if not merged:
                o_seg[m], o_stop[m], o_center[m] = sg, s, when
                o_fix[m], o_first[m], o_last[m], o_best[m] = best_i, t[i], t[j - 1], best_d
                m += 1
            i = j
    return (o_seg[:m], o_stop[:m], o_center[:m], np.zeros(m), o_fix[:m], o_first[:m],
            o_last[:m])


@numba.njit(cache=True)
def _abeam_ms(x: NDArray[np.float64], y: NDArray[np.float64], t: NDArray[np.int64], i: int,
              lo: int, hi: int, px: float, py: float) -> np.int64:  # pragma: no cover - jit
    """UTC ms at which the path through fix ``i`` passes abeam of point ``(px, py)``."""
    for a in (i - 1, i):
        b = a + 1
        if a < lo or b >= hi:
            continue
        dx, dy = x[b] - x[a], y[b] - y[a]
        d2 = dx * dx + dy * dy
        if d2 <= 0.0:
            continue
        u = ((px - x[a]) * dx + (py - y[a]) * dy) / d2
        if 0.0 <= u <= 1.0:
            return np.int64(t[a] + u * (t[b] - t[a]))
    return t[i]


@numba.njit(cache=True)
def lcs_length(a: NDArray[np.int64], b: NDArray[np.int64]) -> int:  # pragma: no cover - jit
    """Length of the longest common subsequence of two integer sequences."""
    m = len(b)
    prev = np.zeros(m + 1, np.int64)
    cur = np.zeros(m + 1, np.int64)
    for i in range(len(a)):
        for j in range(m):
            if a[i] == b[j]:
                cur[j + 1] = prev[j] + 1
            else:
                cur[j + 1] = max(cur[j], prev[j + 1])
        prev, cur = cur, prev
    return int(prev[m])


@dataclass(frozen=True, slots=True)
class PatternGroup:
    """Segments that ride the same stops in the same order, and that order (stop indices)."""

    stops: tuple[int, ...]
    members: tuple[int, ...]


def _consensus(seqs: list[NDArray[np.int64]], min_share: float,
               blind: list[NDArray[np.bool_]] | None = None) -> tuple[int, ...]:
    """The stop order of a group of rides, keeping the stops enough rides served.

    A stop stays when the rides serving it are at least ``min_share`` of the rides that
    cover it (their first and last stop enclose it in the order). ``blind[r][k]`` is True
    when ride ``r`` recorded nothing for minutes between its visits ``k - 1`` and ``k``: it
    does not cover the stops ordered between those two.
    """
    g: nx.DiGraph = nx.DiGraph()
    rides: dict[int, int] = {}
    pos_sum: dict[int, float] = {}
    seen: dict[int, int] = {}
    for seq in seqs:
        for i, s in enumerate(seq.tolist()):
            seen[s] = seen.get(s, 0) + 1
            pos_sum[s] = pos_sum.get(s, 0.0) + i / max(len(seq) - 1, 1)
            g.add_node(s)
        for s in set(seq.tolist()):
            rides[s] = rides.get(s, 0) + 1
        g.add_edges_from((u, v) for u, v in zip(seq[:-1].tolist(), seq[1:].tolist(),
                                                 strict=True) if u != v)
    mean = {s: pos_sum[s] / seen[s] for s in seen}
    comp = nx.condensation(g)  # strongly connected components, as a DAG
    members: dict[int, set[int]] = nx.get_node_attributes(comp, "members")
    if max(len(m) for m in members.values()) > max(MAX_LOCAL_CYCLE, len(seen) // 4):
        longest = max(seqs, key=lambda q: (len(q), tuple(q.tolist())))
        return tuple(longest.tolist())
    order = [s for c in nx.lexicographical_topological_sort(
                 comp, key=lambda c: min((mean[s], s) for s in members[c]))
             for s in sorted(members[c], key=lambda s: (mean[s], s))]
    rank = {s: i for i, s in enumerate(order)}
    cover = np.zeros(len(order))
    for q, seq in enumerate(seqs):
        r = [rank[s] for s in seq.tolist()]
        cover[min(r):max(r) + 1] += 1
        if blind is not None:
            for k in np.flatnonzero(blind[q]).tolist():
                lo, hi = sorted((r[k - 1], r[k]))
                cover[lo + 1:hi] -= 1
    return tuple(s for s in order if rides[s] >= min_share * cover[rank[s]])


def recording_gaps(time_ms: NDArray[np.int64], bounds: NDArray[np.int64],
                   max_gap_s: float = 120.0) -> NDArray[np.int64]:
    """Indices of the fixes after which a segment recorded nothing for over ``max_gap_s``
    (s), sorted. :func:`match_segments_to_stops` does not fill such gaps (its
    ``densify_max_gap_s``), so the stops there cannot be seen served by that ride."""
    gap = np.diff(np.asarray(time_ms, np.float64)) > max_gap_s * 1000.0
    ends = np.asarray(bounds, np.int64)[1:-1] - 1  # from one segment to the next
    gap[ends[(ends >= 0) & (ends < len(gap))]] = False
    return np.flatnonzero(gap).astype(np.int64)


def infer_patterns(
    visits: Sequence[SegmentVisits],
    group_key: Sequence[str],
    *,
    min_similarity: float = 0.6,
    min_stops: int = 2,
    min_share: float = 0.4,
    gap_fixes: NDArray[np.int64] | None = None,
) -> list[PatternGroup]:
    """Group segments into patterns.

    Parameters
    ----------
    visits
        Each segment's served stops.
    group_key
        Segments are only grouped with segments of the same key (e.g. the route name the
        field team gave; ``""`` when unknown).
    min_similarity
        A segment joins a pattern when its LCS with the pattern's reference sequence covers
        this share of the segment's stops (partial rides join the full pattern).
    min_stops
        Segments serving fewer stops join no pattern.
    min_share
        A stop stays in the pattern when at least this share of the rides covering that
        stretch served it.
    gap_fixes
        Sorted global indices of the fixes followed by a recording gap
        (:func:`recording_gaps`; ``visits[i].fix`` indexes the same fixes): a ride does not
        cover the stops it passed unrecorded. None: every ride covers its whole stretch.

    Returns
    -------
    list of PatternGroup
        Deterministic: ordered by first member.
    """
    order = sorted((i for i, v in enumerate(visits) if len(v) >= min_stops),
                   key=lambda i: (group_key[i], -len(visits[i]), i))
    refs: list[tuple[str, NDArray[np.int64], set[int], list[int]]] = []
    for i in order:
        seq = visits[i].stop
        sset = set(seq.tolist())
        best, best_score = -1, 0.0
        for r, (key, ref, rset, _) in enumerate(refs):
            if key != group_key[i] or len(sset & rset) < min_similarity * len(seq):
                continue
            score = lcs_length(seq, ref) / len(seq)
            if score >= min_similarity and score > best_score:
                best, best_score = r, score
        if best < 0:
            refs.append((group_key[i], seq, sset, [i]))
        else:
            refs[best][3].append(i)
    groups = []
    for _, _, _, members in refs:
        blind = None
        if gap_fixes is not None:
            blind = [np.r_[False, np.diff(np.searchsorted(gap_fixes, visits[m].fix)) > 0]
                     for m in members]
        stops = _consensus([visits[m].stop for m in members], min_share, blind)
        if len(stops) >= min_stops:
            groups.append(PatternGroup(stops=stops, members=tuple(sorted(members))))
    return sorted(groups, key=lambda g: g.members)


def pair_directions(
    groups: Sequence[PatternGroup],
    group_key: Sequence[str],
    stop_x_m: NDArray[np.float64],
    stop_y_m: NDArray[np.float64],
    *,
    max_end_gap_m: float = 400.0,
) -> list[tuple[int, int | None]]:
    """Pair patterns that run the same way in opposite directions into routes.

    Two patterns pair when they share a route key and each one's first stop lies near the
    other's last stop (within ``max_end_gap_m`` or 15 % of the pattern's extent).

    Returns
    -------
    list of (direction-0 group, direction-1 group or None)
        Direction 0 is the better supported pattern of the pair.
    """
    def ends(g: PatternGroup) -> tuple[float, float, float, float]:
        a, b = g.stops[0], g.stops[-1]
        return float(stop_x_m[a]), float(stop_y_m[a]), float(stop_x_m[b]), float(stop_y_m[b])

    keys = [group_key[g.members[0]] for g in groups]
    cand: list[tuple[float, int, int]] = []
    for i, gi in enumerate(groups):
        ax, ay, bx, by = ends(gi)
        extent = math.hypot(bx - ax, by - ay)
        for j in range(i + 1, len(groups)):
            if keys[j] != keys[i]:
                continue
            cx, cy, dx, dy = ends(groups[j])
            gap = max(math.hypot(ax - dx, ay - dy), math.hypot(bx - cx, by - cy))
            if gap <= max(max_end_gap_m, 0.15 * extent):
                cand.append((gap, i, j))
    used: set[int] = set()
    pairs: list[tuple[int, int | None]] = []
    for _, i, j in sorted(cand):
        if i in used or j in used:
            continue
        used |= {i, j}
        if len(groups[j].members) > len(groups[i].members):
            i, j = j, i
        pairs.append((i, j))
    pairs.extend((i, None) for i in range(len(groups)) if i not in used)
    return sorted(pairs, key=lambda p: p[0])
