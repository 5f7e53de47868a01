"""Abidjan "satellite" stops: can the rides' own dwells tell a queue from a stop? A diagnostic.

Run with ``.venv/bin/python -m bench.build.satellites [--store]``. It builds the 762 Abidjan
traces exactly as ``python -m bench.build`` does (field stops withheld) and records, read-only,
what the builder computed on the way (the dwells and stop candidates of
:func:`transit.stops.cluster_stops`, the traffic filter's verdict, the local plane). Each
emitted stop is then classed against the truth, only to look: *hit* (within 30 m of an
Abidjan-feed stop), *satellite* (beyond 30 m, its nearest feed stop matched by another built
stop) or *other miss*. It prints

* **what the misses are**: for every stop beyond 30 m of the feed, whether a feed stop of its
  direction (heading from the previous to the next stop of the feed's trips) lies within
  75 m and is already matched by a built stop of that direction (a *duplicate*: what a
  queue rule can remove), lies within 75 m unmatched (an *offset* stop), or only feed
  stops of the other direction lie within 75 m, or none;
* **per-stop features** and how well each one alone separates hits from the rest (ROC AUC;
  0.5 is chance): support, passing traces, regularity (support / passing), median dwell,
  share of passing traces that slow to 2 m/s (:func:`transit.stops.slow_passes`),
  time-of-day spread of the dwells, distance to the nearest same-direction stop, support
  relative to the strongest same-direction stop within ``--max-m``, distance to the nearest
  stop of the opposite direction (stops come in pairs across the road), the **co-occurrence**:
  the share of the rides dwelling at the stop that also dwell, in the same pass (within
  ``--window-s``), at a same-direction stop within ``--max-m`` that is at least as strong,
  and its per-dwell form, the share of the stop's dwells that are their ride's only dwell
  within 200 m and ``--window-s`` (a ride in a queue or in stop-and-go traffic dwells
  several times in a short stretch);
* **the queue rule** (a minibus stops at the back of a queue, creeps on and stops again at the
  stop, so the same ride dwells at both places in one pass): strongest stop first, a stop is
  dropped when at least ``theta`` of its dwelling rides also dwell at a kept same-direction
  stop within ``max_m`` of at least ``1 / rho`` times its support (``downstream``: only a
  stop ahead in the direction of travel absorbs it). Recall of the ``Arrêt`` waypoints and
  precision against the feed for a grid of settings, applied to the emitted stops (applied
  inside the builder instead, to the kept candidates before patterns are inferred, seven of
  these settings gave recall and precision within 0.005 of these on the ``--store`` build);
* **a bound for any rule on these features**: a gradient-boosted classifier fitted on the
  truth itself (5-fold cross-validation over 2 km blocks), and the recall and precision of
  keeping the stops it scores above a threshold.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.build.diagnose import recording_projection
from bench.common import SHARED_DATA

#: Settings of the queue rule tried: (max_m, theta, rho, downstream).
GRID = tuple((m, t, r, d) for d in (False, True) for m in (60.0, 100.0, 150.0)
             for t in (0.5, 0.7, 0.9) for r in (0.5, 1.0))


@contextmanager
def _capture(log: dict[str, Any]) -> Iterator[None]:
    """Record the region's dwells, candidates, traffic verdict and plane while it builds."""
    import transit.region as region

    orig_cluster, orig_keep, orig_proj = (region.cluster_stops, region._keep_candidates,
                                          region.LocalProjection)
    projection = recording_projection(log)

    def cluster(dwells: Any, trace_of_seg: Any, *args: Any, **kw: Any) -> Any:
        out = orig_cluster(dwells, trace_of_seg, *args, **kw)
        log.update(dwells=dwells, trace_of_seg=np.array(trace_of_seg), cand=out)
        return out

    def keep(cand: Any, passing: Any, options: Any, x: Any, y: Any, speed: Any, bounds: Any,
             trace_of_seg: Any) -> Any:
        out = orig_keep(cand, passing, options, x, y, speed, bounds, trace_of_seg)
        log.update(keep=np.array(out), passing=np.array(passing), fixes=(x, y, speed, bounds))
        return out

    region.cluster_stops, region._keep_candidates = cluster, keep  # type: ignore[assignment]
    region.LocalProjection = projection
    try:
        yield
    finally:
        region.cluster_stops, region._keep_candidates = orig_cluster, orig_keep  # type: ignore[assignment]
        region.LocalProjection = orig_proj  # type: ignore[misc]


@dataclass
class Emitted:
    """The emitted stops in the builder's plane, their candidates' evidence and truth class."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    heading: NDArray[np.float64]
    support: NDArray[np.int64]
    hit: NDArray[np.bool_]
    satellite: NDArray[np.bool_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    features: dict[str, NDArray[np.float64]]
    pairs: NDArray[np.float64]  # (stop, other, distance m, along m, rides, co-dwelling rides)
    miss_kind: tuple[str, ...] = ()  # per stop, "" for a hit (see :func:`miss_kinds`)


def _same_direction(h1: float, h2: float, max_deg: float = 45.0) -> bool:
    if not (np.isfinite(h1) and np.isfinite(h2)):
        return False
    d = abs(h1 - h2) % 360.0
    return min(d, 360.0 - d) <= max_deg


def emitted_stops(network: Any, log: dict[str, Any], *, max_m: float,
                  window_s: float) -> Emitted:
    """Features, same-direction pairs and truth class of every emitted stop."""
    from scipy.spatial import cKDTree

    from bench.build.baseline import ABIDJAN_GTFS, read_gtfs_stop_coords
    from transit.stops import slow_passes

    proj, cand, dw, keep = log["projection"], log["cand"], log["dwells"], log["keep"]
    lat = np.array([s.stop_lat for s in network.stops])
    lon = np.array([s.stop_lon for s in network.stops])
    x, y = proj.forward(lat, lon)
    kept = np.flatnonzero(keep)
    dist, j = cKDTree(np.c_[cand.x_m[kept], cand.y_m[kept]]).query(np.c_[x, y])
    if float(dist.max()) > 1.0:
        raise RuntimeError("an emitted stop is not at a kept candidate")
    cidx = kept[j]
    n = len(cidx)
    stop_of_cand = np.full(len(cand), -1, np.int64)
    stop_of_cand[cidx] = np.arange(n)
    heading = np.asarray(cand.heading_deg[cidx], float)
    support = np.asarray(cand.support_traces[cidx], np.int64)
    # the dwells of each emitted stop, per segment: (start, end) instants
    dwelt: list[dict[int, list[tuple[int, int]]]] = [defaultdict(list) for _ in range(n)]
    owner = stop_of_cand[cand.label]
    for d in np.flatnonzero(owner >= 0).tolist():
        dwelt[owner[d]][int(dw.segment[d])].append((int(dw.start_ms[d]), int(dw.end_ms[d])))
    window = window_s * 1000.0

    def co_dwelling(a: int, b: int) -> int:
        return sum(1 for s, mine in dwelt[a].items() if s in dwelt[b] and any(
            max(s1, s2) - min(e1, e2) <= window for s1, e1 in mine for s2, e2 in dwelt[b][s]))

    rows = []
    for a, b in cKDTree(np.c_[x, y]).query_pairs(max_m, output_type="ndarray").tolist():
        if not _same_direction(heading[a], heading[b]):
            continue
        for p, q in ((a, b), (b, a)):
            h = np.radians(heading[p])
            along = (x[q] - x[p]) * np.sin(h) + (y[q] - y[p]) * np.cos(h)
            rows.append((p, q, float(np.hypot(x[q] - x[p], y[q] - y[p])), float(along),
                         len(dwelt[p]), co_dwelling(p, q)))
    pairs = np.array(rows, float).reshape(-1, 6)
    p, q = pairs[:, 0].astype(int), pairs[:, 1].astype(int)
    share = pairs[:, 5] / np.maximum(pairs[:, 4], 1)
    stronger = support[q] >= support[p]
    co = np.zeros(n)
    np.maximum.at(co, p[stronger], share[stronger])
    nearest = np.full(n, 1000.0)
    np.minimum.at(nearest, p, pairs[:, 2])
    relative = np.ones(n)
    np.minimum.at(relative, p, support[p] / np.maximum(support[q], 1))
    fx, fy, spd, bounds = log["fixes"]
    passing_slow, slowed = slow_passes(fx, fy, spd, bounds, log["trace_of_seg"], x, y, heading)
    # per dwell: other dwells of its segment within 200 m and the window (queue, stop-and-go)
    order = np.lexsort((dw.start_ms, dw.segment))
    seg_o, t_o = dw.segment[order], dw.start_ms[order]
    lone = np.ones(len(order), bool)
    for k in range(1, len(order)):
        m = k - 1
        while m >= 0 and seg_o[m] == seg_o[k] and t_o[k] - t_o[m] <= window:
            a, b = order[k], order[m]
            if np.hypot(dw.x_m[a] - dw.x_m[b], dw.y_m[a] - dw.y_m[b]) < 200.0:
                lone[k] = lone[m] = False
            m -= 1
    alone = np.empty(len(order), bool)
    alone[order] = lone
    mine = owner >= 0
    isolated = (np.bincount(owner[mine], alone[mine].astype(float), n)
                / np.maximum(np.bincount(owner[mine], minlength=n), 1))
    opposite = np.full(n, 200.0)
    tree = cKDTree(np.c_[x, y])
    for a, b in tree.query_pairs(200.0, output_type="ndarray").tolist():
        if np.isfinite(heading[a]) and np.isfinite(heading[b]) and not _same_direction(
                heading[a], heading[b], 135.0):
            d_ab = float(np.hypot(x[a] - x[b], y[a] - y[b]))
            opposite[a], opposite[b] = min(opposite[a], d_ab), min(opposite[b], d_ab)
    hours = [np.array([st / 3.6e6 % 24 for v in dwelt[s].values() for st, _ in v])
             for s in range(n)]
    passing = np.asarray(log["passing"][cidx], float)
    features = {
        "support": support.astype(float), "passing": passing,
        "regularity": support / np.maximum(passing, 1),
        "median_dwell_s": np.asarray(cand.median_dwell_s[cidx], float),
        "slow_share": slowed / np.maximum(passing_slow, 1),
        "hour_iqr": np.array([float(np.subtract(*np.quantile(h, [0.75, 0.25]))) if len(h)
                              else 0.0 for h in hours]),
        "nearest_same_dir_m": nearest, "support_vs_neighbours": relative,
        "opposite_stop_m": opposite, "co_dwelling_share": co, "isolated_dwell_share": isolated,
    }
    feed = read_gtfs_stop_coords(ABIDJAN_GTFS)
    feed_x, feed_y = proj.forward(feed[:, 0], feed[:, 1])
    d_feed, near = cKDTree(np.c_[feed_x, feed_y]).query(np.c_[x, y])
    hit = d_feed <= 30.0
    satellite = ~hit & np.isin(near, near[hit])
    return Emitted(x=x, y=y, heading=heading, support=support, hit=hit, satellite=satellite,
                   lat=lat, lon=lon, features=features, pairs=pairs,
                   miss_kind=miss_kinds(x, y, heading, proj))


def _feed_stops(proj: Any) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                    list[list[float]]]:
    """The feed's stops in the plane and the headings (deg) its trips pass each one with."""
    import zipfile

    import pandas as pd

    from bench.build.baseline import ABIDJAN_GTFS

    with zipfile.ZipFile(ABIDJAN_GTFS) as zf:
        with zf.open("stops.txt") as fh:
            stops = pd.read_csv(fh, dtype={"stop_id": str})
        with zf.open("stop_times.txt") as fh:
            times = pd.read_csv(fh, dtype={"stop_id": str, "trip_id": str},
                                usecols=["trip_id", "stop_id", "stop_sequence"])
    fx, fy = proj.forward(stops["stop_lat"].to_numpy(float), stops["stop_lon"].to_numpy(float))
    row = {sid: k for k, sid in enumerate(stops["stop_id"])}
    headings: list[list[float]] = [[] for _ in range(len(stops))]
    for _, trip in times.sort_values(["trip_id", "stop_sequence"]).groupby("trip_id"):
        ids = [row[s] for s in trip["stop_id"]]
        for k, s in enumerate(ids):
            a, b = ids[max(k - 1, 0)], ids[min(k + 1, len(ids) - 1)]
            if (fx[a], fy[a]) != (fx[b], fy[b]):
                headings[s].append(float(np.degrees(np.arctan2(fx[b] - fx[a],
                                                               fy[b] - fy[a])) % 360.0))
    return fx, fy, headings


def miss_kinds(x: NDArray[np.float64], y: NDArray[np.float64], heading: NDArray[np.float64],
               proj: Any, *, radius_m: float = 30.0, near_m: float = 75.0) -> tuple[str, ...]:
    """Per built stop: "" when a feed stop lies within ``radius_m``, else what lies near."""
    from scipy.spatial import cKDTree

    fx, fy, fh = _feed_stops(proj)
    tree = cKDTree(np.c_[fx, fy])

    def own_direction(i: int, j: int) -> bool:
        return not np.isfinite(heading[i]) or any(_same_direction(heading[i], h, 60.0)
                                                  for h in fh[j])

    def nearby(i: int, r: float) -> list[int]:
        hits = tree.query_ball_point([x[i], y[i]], r)
        return sorted(hits, key=lambda j: (float(np.hypot(fx[j] - x[i], fy[j] - y[i])), j))

    matched = set()
    for i in range(len(x)):
        own = [j for j in nearby(i, radius_m) if own_direction(i, j)]
        if own:
            matched.add(own[0])
    out = []
    for i in range(len(x)):
        if nearby(i, radius_m):
            out.append("")
            continue
        close = nearby(i, near_m)
        own = [j for j in close if own_direction(i, j)]
        out.append(("duplicate" if own[0] in matched else "offset") if own
                   else "other direction only" if close else "none")
    return tuple(out)


def queue_rule(e: Emitted, *, max_m: float, theta: float, rho: float,
               downstream: bool) -> NDArray[np.bool_]:
    """Stops kept by the queue rule (see the module docstring), strongest first."""
    n = len(e.x)
    p, q = e.pairs[:, 0].astype(int), e.pairs[:, 1].astype(int)
    share = e.pairs[:, 5] / np.maximum(e.pairs[:, 4], 1)
    ok = ((e.pairs[:, 2] <= max_m) & (share >= theta) & (e.support[p] <= rho * e.support[q])
          & ((e.pairs[:, 3] > 0) | (not downstream)))
    absorbers: dict[int, list[int]] = defaultdict(list)
    for k in np.flatnonzero(ok).tolist():
        absorbers[int(p[k])].append(int(q[k]))
    keep = np.ones(n, bool)
    seen = np.zeros(n, bool)
    for s in np.lexsort((np.arange(n), -e.support)).tolist():
        keep[s] = not any(seen[o] and keep[o] for o in absorbers[s])
        seen[s] = True
    return keep


def _score(e: Emitted, keep: NDArray[np.bool_]) -> tuple[float, float]:
    from bench.build.baseline import evaluate_abidjan

    ev = evaluate_abidjan(list(zip(e.lat[keep], e.lon[keep], strict=True)))
    return ev["recall"], ev["precision"]


def classifier_bound(e: Emitted) -> NDArray[np.float64]:
    """Out-of-fold probability that each stop is a hit, from all features (spatial CV)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    feats = np.log1p(np.clip(np.c_[tuple(e.features.values())], 0, None))
    blocks = (np.floor(e.x / 2000) * 1000 + np.floor(e.y / 2000)).astype(int)
    prob = np.zeros(len(e.x))
    for train, test in GroupKFold(5).split(feats, e.hit, blocks):
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
                                               early_stopping=False, random_state=0)
        prob[test] = model.fit(feats[train], e.hit[train]).predict_proba(feats[test])[:, 1]
    return prob


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--store``, ``--max-m``, ``--window-s``."""
    from sklearn.metrics import roc_auc_score

    p = argparse.ArgumentParser(prog="python -m bench.build.satellites",
                                description=(__doc__ or "").split("\n")[0])
    p.add_argument("--store", action="store_true", help="load from the SQLite store")
    p.add_argument("--max-m", type=float, default=150.0,
                   help="farthest same-direction neighbour looked at (m)")
    p.add_argument("--window-s", type=float, default=180.0,
                   help="two dwells of one ride this close in time (s) are one pass")
    args = p.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"no shared data at {SHARED_DATA}", file=sys.stderr)
        return 2
    from bench.build.__main__ import abidjan_segments
    from bench.build.abidjan import BUILD_OPTIONS
    from transit.build import build_network

    segments, _ = abidjan_segments(store=args.store)
    log: dict[str, Any] = {}
    with _capture(log):
        res = build_network(segments, BUILD_OPTIONS)
    e = emitted_stops(res.network, log, max_m=args.max_m, window_s=args.window_s)
    other = ~e.hit & ~e.satellite
    r0, p0 = _score(e, np.ones(len(e.x), bool))
    print(f"Abidjan: {len(e.x)} stops emitted: {int(e.hit.sum())} hits, "
          f"{int(e.satellite.sum())} satellites, {int(other.sum())} other misses; "
          f"recall {r0:.3f}, precision {p0:.3f}")
    print("\nstops beyond 30 m of the feed, by what feed stops lie within 75 m "
          "(satellites / other misses):")
    for kind in ("duplicate", "offset", "other direction only", "none"):
        mine = np.array([k == kind for k in e.miss_kind])
        print(f"  {kind:<22} {int((mine & e.satellite).sum()):5d} / {int((mine & other).sum()):5d}")
    print(f"\n{'feature':<24}{'AUC hit/rest':>13}{'AUC hit/sat':>12}   median hit / sat / other")
    for name, v in e.features.items():
        both = e.hit | e.satellite
        print(f"{name:<24}{roc_auc_score(e.hit, v):>13.3f}"
              f"{roc_auc_score(e.hit[both], v[both]):>12.3f}   "
              f"{np.median(v[e.hit]):7.2f} {np.median(v[e.satellite]):7.2f} "
              f"{np.median(v[other]):7.2f}")
    print(f"\nqueue rule (max_m, theta, rho, downstream): recall, precision, stops, dropped "
          f"hits / satellites / other (co-dwelling within {args.window_s:.0f} s)")
    for max_m, theta, rho, down in GRID:
        if max_m > args.max_m:
            continue
        keep = queue_rule(e, max_m=max_m, theta=theta, rho=rho, downstream=down)
        r, pr = _score(e, keep)
        print(f"  {max_m:4.0f} m  {theta:.1f}  {rho:.2f}  {'down' if down else 'any ':<5}"
              f"  {r:.3f}  {pr:.3f}  {int(keep.sum()):5d}  {int((~keep & e.hit).sum()):4d} / "
              f"{int((~keep & e.satellite).sum()):4d} / {int((~keep & other).sum()):4d}")
    print("\nper-dwell form: keep a stop when at least this share of its dwells are their "
          "ride's only dwell within 200 m (same window)")
    for t in (0.01, 0.1, 0.2, 0.3):
        keep = e.features["isolated_dwell_share"] >= t
        r, pr = _score(e, keep)
        print(f"  >= {t:.2f}: recall {r:.3f}, precision {pr:.3f}, {int(keep.sum())} stops")
    prob = classifier_bound(e)
    print("\nbound: gradient boosting on all features, fitted on the truth (spatial 5-fold CV)")
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        r, pr = _score(e, prob >= t)
        print(f"  keep p(hit) >= {t:.1f}: recall {r:.3f}, precision {pr:.3f}, "
              f"{int((prob >= t).sum())} stops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
