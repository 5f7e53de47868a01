"""Lower bounds on the time still needed to reach a destination, for pruning a search.

A journey from stop ``s`` to the destination rides pattern hops and walks transfers, then
walks the egress. Dropping everything that only makes it slower - waiting for a vehicle,
dwell times, the rule that walks are not chained - leaves a static graph: one node per
stop, an edge per pattern hop weighted by the fastest vehicle over it, an edge per walking
transfer weighted by the walk. The shortest path from ``s`` to the destination in that
graph never exceeds the true remaining time, so a label that arrives at ``s`` at ``t`` with
``t + bound[s]`` no earlier than the best arrival found so far can be dropped (the A*
idea: P. E. Hart, N. J. Nilsson, B. Raphael, IEEE Trans. SSC 4(2), 1968; used for
public transit by e.g. Bast et al., "Route Planning in Transportation Networks", 2016).

One backward Dijkstra per destination (with Dial's bucket queue) gives the bound of
every stop. It is much tighter than the straight line at the timetable's fastest speed
(about 0.64 of the true time at the origin on the Nairobi feed, against 0.39) and costs
about one plain search (0.4-0.7 ms on Nairobi), so it pays for itself on queries that run
many searches to one destination (a departure window under several Monte Carlo draws).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.timetable import UNREACHED, Timetable

__all__ = ["ReverseGraph", "destination_bounds", "reverse_graph"]


class ReverseGraph:
    """In-edges of the static graph as CSR: edges into stop ``v`` come from
    ``src[ptr[v]:ptr[v+1]]`` with weights ``weight_s`` (seconds, never negative)."""

    def __init__(self, ptr: NDArray[np.int64], src: NDArray[np.int32],
                 weight_s: NDArray[np.int32]) -> None:
        self.ptr = ptr
        self.src = src
        self.weight_s = weight_s
        self.max_weight_s = int(weight_s.max()) if weight_s.size else 0


def reverse_graph(tt: Timetable) -> ReverseGraph:
    """The static graph of ``tt`` (fastest hop per pattern, walking transfers), reversed."""
    hop_u, hop_v, hop_w = _pattern_hops(tt.pattern_stop_ptr, tt.pattern_stops,
                                        tt.pattern_is_frequency, tt.pattern_trip_ptr,
                                        tt.pattern_time_ptr, tt.trip_dep_s, tt.trip_arr_s)
    n = tt.n_stops
    t_u = np.repeat(np.arange(n, dtype=np.int64), np.diff(tt.transfer_ptr))
    u = np.concatenate([hop_u, t_u])
    v = np.concatenate([hop_v, tt.transfer_stop.astype(np.int64)])
    w = np.concatenate([hop_w, tt.transfer_s.astype(np.int64)])
    # Keep the lightest edge per (u, v): sort by head, tail, weight and take the first.
    order = np.lexsort((w, u, v))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(u.size, np.bool_)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, w = u[first], v[first], w[first]
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, v + 1, 1)
    return ReverseGraph(np.cumsum(ptr), u.astype(np.int32), w.astype(np.int32))


@njit(cache=True)
def _pattern_hops(stop_ptr: NDArray[np.int32], stops: NDArray[np.int32],
                  is_freq: NDArray[np.uint8], trip_ptr: NDArray[np.int32],
                  time_ptr: NDArray[np.int32], dep_s: NDArray[np.int32],
                  arr_s: NDArray[np.int32]
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64],
                             NDArray[np.int64]]:  # pragma: no cover
    """Every hop between consecutive stops of a pattern and its fastest vehicle (s)."""
    n_hops = 0
    for p in range(stop_ptr.shape[0] - 1):
        n_hops += max(stop_ptr[p + 1] - stop_ptr[p] - 1, 0)
    u = np.empty(n_hops, np.int64)
    v = np.empty(n_hops, np.int64)
    w = np.empty(n_hops, np.int64)
    h = 0
    for p in range(stop_ptr.shape[0] - 1):
        sp = stop_ptr[p]
        n = stop_ptr[p + 1] - sp
        m = 1 if is_freq[p] == 1 else trip_ptr[p + 1] - trip_ptr[p]
        base = time_ptr[p]
        for i in range(1, n):
            fastest = 2147483647
            for t in range(m):
                d = arr_s[base + i * m + t] - dep_s[base + (i - 1) * m + t]
                if d < fastest:
                    fastest = d
            u[h] = stops[sp + i - 1]
            v[h] = stops[sp + i]
            w[h] = max(fastest, 0)
            h += 1
    return u, v, w


def destination_bounds(graph: ReverseGraph, n_stops: int, egress_stops: NDArray[np.int32],
                       egress_s: NDArray[np.int32],
                       max_s: int | None = None) -> NDArray[np.int32]:
    """Lower bound (s) from every stop to the destination; UNREACHED where none exists.

    ``egress_stops``/``egress_s`` are the stops the destination is walked to from and those
    walks (the same arrays the search is given). With ``max_s`` the search stops once every
    bound up to ``max_s`` is final, and the stops whose bound is larger read UNREACHED too.

    For a search given ``upper_s`` (walking the whole way; see
    :func:`transit.raptor.run_raptor`), ``max_s = upper_s`` prunes exactly as the full
    bounds do: a label at a stop is no earlier than its departure ``t_dep`` (a ride's
    label is tested one second early, ``t - 1 >= t_dep - 1``), the destination label is at
    most ``t_dep + upper_s``, so a bound of ``upper_s + 1`` or more already makes every
    label at that stop hopeless, as UNREACHED does.
    """
    out = np.full(n_stops, UNREACHED, np.int32)
    limit = int(UNREACHED) if max_s is None else min(max(int(max_s), 0), int(UNREACHED))
    _dijkstra(graph.ptr, graph.src, graph.weight_s, np.asarray(egress_stops, np.int32),
              np.asarray(egress_s, np.int32), out, graph.max_weight_s, limit)
    return out


@njit(cache=True, nogil=True, inline="always")
def _push(v, d, n_buckets, head, nxt, node, label, n_entries):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Put label ``d`` of node ``v`` in its bucket as entry ``n_entries``; returns the
    new number of entries."""
    b = d % n_buckets
    node[n_entries] = v
    label[n_entries] = d
    nxt[n_entries] = head[b]
    head[b] = n_entries
    return n_entries + 1


@njit(cache=True, nogil=True)
def _dijkstra(ptr: NDArray[np.int64], src: NDArray[np.int32], weight: NDArray[np.int32],
              sources: NDArray[np.int32], source_s: NDArray[np.int32],
              dist: NDArray[np.int32], max_weight: int,
              limit: int) -> None:  # pragma: no cover
    """Multi-source Dijkstra over in-edges with Dial's bucket queue.

    Weights are whole seconds no larger than ``max_weight``, so ``max_weight + 1``
    circular buckets hold every pending label and the queue costs O(1) per operation
    (R. B. Dial, "Algorithm 360: shortest-path forest with topological ordering",
    CACM 12(11), 1969). Entries are linked lists in flat arrays; stale ones are skipped.
    Buckets are emptied in order up to ``limit`` (s): the distances up to it are then
    final, and the larger (tentative) ones are set to UNREACHED.
    """
    n_buckets = max_weight + 1
    head = np.full(n_buckets, -1, np.int32)
    cap = sources.shape[0] + src.shape[0] + 1
    nxt = np.empty(cap, np.int32)
    node = np.empty(cap, np.int32)
    label = np.empty(cap, np.int64)
    n_entries = 0
    pending = 0
    cur = np.int64(2147483647)
    for j in range(sources.shape[0]):
        s = sources[j]
        d = np.int64(source_s[j])
        if d < dist[s]:
            dist[s] = d
            n_entries = _push(s, d, n_buckets, head, nxt, node, label, n_entries)
            pending += 1
            cur = min(cur, d)
    while pending > 0 and cur <= limit:
        b = cur % n_buckets
        while head[b] != -1:          # zero-weight edges refill the bucket being emptied
            e = head[b]
            head[b] = -1
            while e != -1:
                after = nxt[e]
                pending -= 1
                v = node[e]
                d = label[e]
                if d == dist[v]:
                    for q in range(ptr[v], ptr[v + 1]):
                        u = src[q]
                        nd = d + weight[q]
                        if nd < dist[u]:
                            dist[u] = nd
                            n_entries = _push(u, nd, n_buckets, head, nxt, node, label,
                                              n_entries)
                            pending += 1
                e = after
        cur += 1
    if limit < 2147483647:   # labels over the limit may be tentative: drop them all
        for v in range(dist.shape[0]):
            if dist[v] > limit:
                dist[v] = 2147483647
