"""How good is a built network? Compare it with a ground-truth network.

:func:`evaluate_network` reports

* **stops**: built stops matched one-to-one to truth stops within ``radius_m`` (greedy,
  closest pairs first) and *direction-aware*: a pair is allowed only when some direction of
  travel through the built stop is within :data:`MAX_TURN_DEG` of some direction of travel
  through the truth stop (see :func:`travel_headings`), because the stop across the road
  for the other direction is not the same stop; precision = matched / built, recall =
  matched / truth, F1. ``within_radius`` gives the same scores without the one-to-one
  constraint (a truth stop is found when a built stop of its direction lies within the
  radius; a built stop is right when it lies within the radius of a truth stop of its
  direction), the way the Abidjan stops are scored: two routes' truth stops 10-30 m apart
  that the build serves with one stop then both count as found;
* **patterns**: a truth pattern is *recovered* when some built pattern holds at least
  ``pattern_share`` of its stops in order (longest common subsequence over matched stops).
  Stops are matched *per pair of patterns*: the truth pattern's stops one-to-one to the
  built pattern's stops, closest first, within ``radius_m`` and direction-aware. The
  network-wide one-to-one matching of the stop scores is not used here: where two routes'
  truth stops lie 10-30 m apart on the same side of a street (feeds list one stage once
  per route) and the build has one stop there, that matching gives the stop to one route
  only and the other route's pattern looks incomplete although its built pattern serves
  the place within the radius; the stop scores already count the merge (one truth stop
  unmatched). Per pair it stays strict: every truth stop needs its own built stop of that
  pattern, in order. ``recovery_global_matching`` gives the figure with the network-wide
  matching;
* **shapes**: for recovered patterns, the mean distance (m) from the built shape, densified
  every :data:`DENSIFY_M` metres, to the truth shape;
* **run times**: for recovered patterns and bands present in both, every pair of
  consecutive built stops is compared with the truth time between the matched truth stops
  (runs plus the dwells of truth stops in between); the median absolute error in percent.

References
----------
Hirschberg, D. S. (1977). Algorithms for the longest common subsequence problem.
*J. ACM* 24(4), 664-675 (the dynamic programme used for pattern recovery).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray

from transit.model import Network, Pattern, Shape
from transit.sim_geometry import Plane

__all__ = ["DENSIFY_M", "MAX_TURN_DEG", "StopPairs", "evaluate_network", "lcs_length",
           "match_points", "run_time_pairs", "travel_headings"]

A = TypeVar("A")
B = TypeVar("B")

#: Spacing of the points taken along a built shape to measure its error (metres).
DENSIFY_M = 10.0

#: Largest difference (degrees) between directions of travel for two stops to be the same
#: stop. Opposite directions differ by about 180; 90 leaves room for the coarse headings of
#: :func:`travel_headings` on bends.
MAX_TURN_DEG = 90.0


def travel_headings(net: Network) -> dict[str, tuple[float, ...]]:
    """Directions of travel (degrees clockwise from north) through each stop of ``net``.

    One heading per visit of a pattern: the bearing from the previous stop of the pattern to
    the next one (from or to the stop itself at either end). A stop no pattern serves gets
    its ``heading_deg`` if set, else no heading (it is then compatible with any stop).
    """
    coslat = float(np.cos(np.radians(np.mean([s.stop_lat for s in net.stops])))) \
        if net.stops else 1.0
    xy = {s.stop_id: (s.stop_lon * coslat, s.stop_lat) for s in net.stops}
    out: dict[str, list[float]] = {s.stop_id: [] for s in net.stops}
    for p in net.patterns:
        ids = [s for s in p.stop_ids if s in xy]
        for k, sid in enumerate(ids):
            (x0, y0), (x1, y1) = xy[ids[max(k - 1, 0)]], xy[ids[min(k + 1, len(ids) - 1)]]
            if (x0, y0) != (x1, y1):
                out[sid].append(float(np.degrees(np.arctan2(x1 - x0, y1 - y0)) % 360))
    for s in net.stops:
        if not out[s.stop_id] and s.heading_deg is not None:
            out[s.stop_id].append(float(s.heading_deg))
    return {sid: tuple(h) for sid, h in out.items()}


def _same_direction(ha: tuple[float, ...], hb: tuple[float, ...], max_turn_deg: float) -> bool:
    if not ha or not hb:
        return True
    return any(abs((a - b + 180) % 360 - 180) <= max_turn_deg for a in ha for b in hb)


def match_points(ax: NDArray[np.float64], ay: NDArray[np.float64], bx: NDArray[np.float64],
                 by: NDArray[np.float64], radius_m: float,
                 a_headings: Sequence[tuple[float, ...]] | None = None,
                 b_headings: Sequence[tuple[float, ...]] | None = None,
                 max_turn_deg: float = MAX_TURN_DEG,
                 one_to_one: bool = True) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(i, j, distance_m)`` of points a and b within ``radius_m``,
    closest pairs first (ties broken by index, so the result is deterministic); with
    ``one_to_one=False``, every pair within the radius, closest first.

    With ``a_headings`` and ``b_headings`` (directions of travel per point, degrees; an
    empty tuple means unknown), a pair is allowed only when some heading of ``i`` is within
    ``max_turn_deg`` of some heading of ``j``.
    """
    if len(ax) == 0 or len(bx) == 0:
        return []
    cell = radius_m
    buckets: dict[tuple[int, int], list[int]] = {}
    for j, key in enumerate(zip(np.floor(bx / cell).astype(int), np.floor(by / cell).astype(int),
                                strict=True)):
        buckets.setdefault(key, []).append(j)
    pairs: list[tuple[float, int, int]] = []
    for i, (cx, cy) in enumerate(zip(np.floor(ax / cell).astype(int),
                                     np.floor(ay / cell).astype(int), strict=True)):
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for j in buckets.get((gx, gy), ()):
                    d = float(np.hypot(ax[i] - bx[j], ay[i] - by[j]))
                    if d <= radius_m and (
                            a_headings is None or b_headings is None
                            or _same_direction(a_headings[i], b_headings[j], max_turn_deg)):
                        pairs.append((d, i, j))
    pairs.sort()
    if not one_to_one:
        return [(i, j, d) for d, i, j in pairs]
    return _greedy_one_to_one(pairs)


def _greedy_one_to_one(pairs: Sequence[tuple[float, A, B]]) -> list[tuple[A, B, float]]:
    """``(a, b, distance)`` taken from pairs in the given (closest-first) order, each ``a``
    and each ``b`` at most once."""
    used_a: set[A] = set()
    used_b: set[B] = set()
    out = []
    for d, a, b in pairs:
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            out.append((a, b, d))
    return out


def lcs_length(a: Sequence[object], b: Sequence[object]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (None never matches)."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x is not None and x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _lcs_pairs(a: Sequence[object], b: Sequence[object]) -> list[tuple[int, int]]:
    """Index pairs of one longest common subsequence (for run-time comparison)."""
    n, m = len(a), len(b)
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(n):
        for j in range(m):
            table[i + 1, j + 1] = (table[i, j] + 1 if a[i] is not None and a[i] == b[j]
                                   else max(table[i, j + 1], table[i + 1, j]))
    pairs = []
    i, j = n, m
    while i and j:
        if a[i - 1] is not None and a[i - 1] == b[j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif table[i - 1, j] >= table[i, j - 1]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


class StopPairs:
    """The direction-compatible (truth, built) stop pairs of two networks within a radius.

    Built once per evaluation: ``near`` holds every pair ``(truth index, built index,
    distance_m)``, closest first; the network-wide one-to-one matching of the stop scores
    and the per-pattern matching of pattern recovery are both taken from it.
    """

    def __init__(self, built: Network, truth: Network, radius_m: float) -> None:
        self.built = built
        self.truth = truth
        lat = [s.stop_lat for s in (*truth.stops, *built.stops)]
        lon = [s.stop_lon for s in (*truth.stops, *built.stops)]
        self.plane = Plane(float(np.median(lat)) if lat else 0.0,
                           float(np.median(lon)) if lon else 0.0)
        bx, by = self.plane.to_xy(np.array([s.stop_lat for s in built.stops]),
                                  np.array([s.stop_lon for s in built.stops]))
        tx, ty = self.plane.to_xy(np.array([s.stop_lat for s in truth.stops]),
                                  np.array([s.stop_lon for s in truth.stops]))
        th, bh = travel_headings(truth), travel_headings(built)
        self.near = match_points(tx, ty, bx, by, radius_m,
                                 [th[s.stop_id] for s in truth.stops],
                                 [bh[s.stop_id] for s in built.stops], one_to_one=False)
        self._t_index = {s.stop_id: i for i, s in enumerate(truth.stops)}
        self._near_of: dict[int, list[tuple[float, str]]] = {}
        for i, j, d in self.near:
            self._near_of.setdefault(i, []).append((d, built.stops[j].stop_id))

    def global_matches(self) -> list[tuple[int, int, float]]:
        """Network-wide one-to-one matches ``(truth index, built index, distance_m)``."""
        return _greedy_one_to_one([(d, i, j) for i, j, d in self.near])

    def reachable(self, truth_stop: str) -> set[str]:
        """Built stops paired with a truth stop."""
        return {b for _, b in self._near_of.get(self._t_index[truth_stop], ())}

    def in_pattern(self, truth_stops: Sequence[str],
                   built_stops: Sequence[str]) -> list[str | None]:
        """A truth pattern's stops matched one-to-one to the stops of one built pattern
        (closest pairs first); None where a stop has no match."""
        allowed = set(built_stops)
        pairs = sorted((d, k, b) for k, s in enumerate(truth_stops)
                       for d, b in self._near_of.get(self._t_index[s], ()) if b in allowed)
        out: list[str | None] = [None] * len(truth_stops)
        for k, b, _ in _greedy_one_to_one(pairs):
            out[k] = b
        return out


def _densify(shape: Shape, plane: Plane) -> NDArray[np.float64]:
    x, y = plane.to_xy(np.asarray(shape.lat, float), np.asarray(shape.lon, float))
    if len(x) < 2:
        return np.column_stack([x, y])
    line = shapely.LineString(np.column_stack([x, y]))
    dist = np.append(np.arange(0.0, line.length, DENSIFY_M), line.length)
    return shapely.get_coordinates(shapely.line_interpolate_point(line, dist))


def _shape_error_m(built: Shape, truth: Shape, plane: Plane) -> float:
    pts = _densify(built, plane)
    tx, ty = plane.to_xy(np.asarray(truth.lat, float), np.asarray(truth.lon, float))
    line = shapely.LineString(np.column_stack([tx, ty]))
    return float(np.mean(shapely.distance(shapely.points(pts), line)))


def run_time_pairs(bp: Pattern, tp: Pattern,
                   pairs: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """``(band, built s, truth s)`` of every pair of consecutive built stops matched to
    truth stops ``pairs`` (``(truth index, built index)``, in order), bands present in
    both: the truth time is the runs plus the dwells of the truth stops in between."""
    truth_by_band = {t.band: t for t in tp.timings}
    out = []
    for bt in bp.timings:
        tt = truth_by_band.get(bt.band)
        if tt is None:
            continue
        for (ti0, bi0), (ti1, bi1) in itertools.pairwise(pairs):
            if bi1 != bi0 + 1:
                continue  # the built pattern has an unmatched stop between them
            truth_s = sum(tt.run_times_s[ti0:ti1]) + sum(tt.dwell_s[ti0 + 1:ti1])
            out.append((bt.band, bt.run_times_s[bi0], truth_s))
    return out


def _run_errors(bp: Pattern, tp: Pattern,
                pairs: list[tuple[int, int]]) -> list[tuple[str, float]]:
    """``(band, percent error)`` of built run times against truth, bands present in both."""
    return [(band, abs(built_s - truth_s) / truth_s * 100)
            for band, built_s, truth_s in run_time_pairs(bp, tp, pairs) if truth_s > 0]


def evaluate_network(built: Network, truth: Network, *, radius_m: float = 30.0,
                     pattern_share: float = 0.9) -> dict[str, Any]:
    """Stop, pattern, shape and run-time accuracy of ``built`` against ``truth``.

    Returns a JSON-ready dict: ``stops`` (n_built, n_truth, matched, precision, recall,
    f1, median_distance_m, and ``within_radius``: precision, recall and F1 without the
    one-to-one constraint, as the Abidjan stops are scored), ``patterns`` (n_truth,
    recovered, recovery, recovery_global_matching, per-pattern details), ``shapes`` (n,
    mean_error_m, median_error_m), ``run_times`` (n_pairs, median_error_pct,
    median_error_pct_by_band) and ``radius_m``/``pattern_share``.
    """
    sp = StopPairs(built, truth, radius_m)
    plane = sp.plane
    matches = sp.global_matches()
    built_for_truth = {truth.stops[i].stop_id: built.stops[j].stop_id for i, j, _ in matches}
    n_b, n_t, n_m = len(built.stops), len(truth.stops), len(matches)
    precision = n_m / n_b if n_b else 0.0
    recall = n_m / n_t if n_t else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # the same within the radius but not one-to-one (as the Abidjan figures are scored):
    # a truth stop is found when some built stop of its direction lies within the radius
    found = len({i for i, _, _ in sp.near})
    placed = len({j for _, j, _ in sp.near})
    p_near = placed / n_b if n_b else 0.0
    r_near = found / n_t if n_t else 0.0
    f1_near = 2 * p_near * r_near / (p_near + r_near) if p_near + r_near else 0.0

    built_shapes = {s.shape_id: s for s in built.shapes}
    truth_shapes = {s.shape_id: s for s in truth.shapes}
    details = []
    shape_errors: list[float] = []
    run_errors: list[tuple[str, float]] = []
    n_global = 0
    for tp in sorted(truth.patterns, key=lambda p: p.pattern_id):
        glob = [built_for_truth.get(s) for s in tp.stop_ids]
        reach = set().union(*(sp.reachable(s) for s in tp.stop_ids))
        best: tuple[float, int, Pattern, list[str | None]] | None = None
        best_global = 0.0
        for bp in built.patterns:
            if len(reach.intersection(bp.stop_ids)) < 0.5 * pattern_share * len(glob):
                continue
            mapped = sp.in_pattern(tp.stop_ids, bp.stop_ids)
            share = lcs_length(mapped, bp.stop_ids) / len(mapped)
            best_global = max(best_global, lcs_length(glob, bp.stop_ids) / len(glob))
            rank = (share, -abs(len(bp.stop_ids) - len(mapped)))
            if best is None or rank > (best[0], best[1]):
                best = (share, rank[1], bp, mapped)
        n_global += best_global >= pattern_share
        row: dict[str, Any] = {"truth_pattern": tp.pattern_id, "route_id": tp.route_id,
                               "direction_id": tp.direction_id, "n_stops": len(glob),
                               "built_pattern": None, "share": 0.0, "recovered": False,
                               "share_global_matching": round(best_global, 4)}
        if best is not None:
            share, _, bp, mapped = best
            row.update(built_pattern=bp.pattern_id, share=round(share, 4),
                       recovered=share >= pattern_share)
            if share >= pattern_share:
                if bp.shape_id in built_shapes and tp.shape_id in truth_shapes:
                    err = _shape_error_m(built_shapes[str(bp.shape_id)],
                                         truth_shapes[str(tp.shape_id)], plane)
                    shape_errors.append(err)
                    row["shape_error_m"] = round(err, 2)
                run_errors.extend(_run_errors(bp, tp, _lcs_pairs(mapped, bp.stop_ids)))
        details.append(row)
    n_rec = sum(1 for d in details if d["recovered"])
    dist = [d for _, _, d in matches]
    return {
        "radius_m": radius_m,
        "pattern_share": pattern_share,
        "stops": {"n_built": n_b, "n_truth": n_t, "matched": n_m, "precision": precision,
                  "recall": recall, "f1": f1,
                  "within_radius": {"precision": p_near, "recall": r_near, "f1": f1_near},
                  "median_distance_m": float(np.median(dist)) if dist else None},
        "patterns": {"n_truth": len(details), "recovered": n_rec,
                     "recovery": n_rec / len(details) if details else 0.0,
                     "recovery_global_matching": n_global / len(details) if details else 0.0,
                     "details": details},
        "shapes": {"n": len(shape_errors),
                   "mean_error_m": float(np.mean(shape_errors)) if shape_errors else None,
                   "median_error_m": float(np.median(shape_errors)) if shape_errors else None},
        "run_times": {"n_pairs": len(run_errors),
                      "median_error_pct": float(np.median([e for _, e in run_errors]))
                      if run_errors else None,
                      "median_error_pct_by_band": {
                          band: float(np.median([e for b, e in run_errors if b == band]))
                          for band in sorted({b for b, _ in run_errors})}},
    }
