"""The ground truth of a simulation as a :class:`~transit.model.Network`.

* stops: every stop at which at least one simulated vehicle halted, placed where the
  vehicles halted (its projection on the shape, averaged over the patterns serving it);
  stops closer than :data:`MERGE_M` with the same heading are merged (no one can tell
  them apart from traces);
* patterns: per ridden pattern, its stops that at least one of its rides served, in order;
* shapes: the feed shapes the vehicles followed;
* timings, per default band in which a ride of the pattern left a stop (and that the
  pattern's frequency windows touch): run times between consecutive truth stops (the
  feed's run times times :data:`BAND_FACTORS`, the expected value of every ride's jittered
  time), the mean dwell, the feed's headway. Bands no ride saw have no truth.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from transit.model import DEFAULT_TIME_BANDS, BandTiming, Network, Pattern, Stop
from transit.sim_geometry import PatternGeometry, Plane
from transit.simulate import BAND_FACTORS, MAX_SPEED_MPS, RideTruth, SimConfig, band_of

__all__ = ["build_truth_network"]


def _truth_timings(pattern: Pattern, keep: list[int], base_run_s: np.ndarray,
                   cfg: SimConfig, ridden: set[str]) -> tuple[BandTiming, ...]:
    out = []
    for band in DEFAULT_TIME_BANDS:
        if band.name not in ridden:
            continue
        windows = [t for t in pattern.timings if t.start_s < band.end_s and band.start_s < t.end_s]
        if not windows:
            continue
        start = max(band.start_s, min(t.start_s for t in windows))
        end = min(band.end_s, max(t.end_s for t in windows))
        mid = (start + end) / 2
        headway = min(windows, key=lambda t: 0 if t.start_s <= mid < t.end_s else 1).headway_s
        factor = BAND_FACTORS.get(band.name, 1.0)
        runs = tuple(round(float(base_run_s[a:b].sum()) * factor)
                     for a, b in itertools.pairwise(keep))
        dwell = round(cfg.mean_dwell_s)
        out.append(BandTiming(band=band.name, start_s=start, end_s=end, run_times_s=runs,
                              dwell_s=tuple(dwell for _ in keep), headway_s=headway,
                              headway_source="given", n_observations=0,
                              times_estimated=False))
    return tuple(out)


#: Truth stops closer than this (m) with headings within :data:`MERGE_HEADING_DEG` are one
#: physical stop (feeds often list a stop twice, once per route); they are merged. 10 m is
#: about one minibus length plus a gap: vehicles halt a car length either side of the usual
#: place, and the simulated phones' noise is 5-25 m RMS, so halts of two feed stops closer
#: than that cannot be told apart from traces (going from 5 to 10 m merges 13 of the 1107
#: truth stops of the 25-route Nairobi simulation, seed 0).
MERGE_M = 10.0
MERGE_HEADING_DEG = 60.0


def _heading_deg(geo: PatternGeometry, s_m: np.ndarray) -> np.ndarray:
    """Direction of travel (degrees clockwise from north) along the shape at ``s_m``."""
    x0, y0 = (np.interp(s_m - 5, geo.shape_s, v) for v in (geo.shape_x, geo.shape_y))
    x1, y1 = (np.interp(s_m + 5, geo.shape_s, v) for v in (geo.shape_x, geo.shape_y))
    return np.degrees(np.arctan2(x1 - x0, y1 - y0)) % 360


def _merge_groups(ids: list[str], x: np.ndarray, y: np.ndarray,
                  heading: np.ndarray) -> dict[str, str]:
    """stop_id -> representative (smallest id of its group of indistinguishable stops)."""
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip((x // MERGE_M).astype(int), (y // MERGE_M).astype(int),
                                strict=True)):
        cells[key].append(i)
    for (cx, cy), members in sorted(cells.items()):
        near = [j for gx in (cx - 1, cx, cx + 1) for gy in (cy - 1, cy, cy + 1)
                for j in cells.get((gx, gy), ())]
        for i in members:
            for j in near:
                turn = abs((heading[i] - heading[j] + 180) % 360 - 180)
                if j > i and np.hypot(x[i] - x[j], y[i] - y[j]) < MERGE_M \
                        and turn < MERGE_HEADING_DEG:
                    parent[max(find(i), find(j))] = min(find(i), find(j))
    return {sid: ids[find(i)] for i, sid in enumerate(ids)}


def build_truth_network(network: Network, patterns: Sequence[Pattern],
                        geos: dict[str, PatternGeometry], rides: Sequence[RideTruth],
                        cfg: SimConfig, seed: int) -> Network:
    """Truth network of a simulation (see the module docstring)."""
    served_by: dict[str, set[str]] = defaultdict(set)
    ridden: dict[str, set[str]] = defaultdict(set)
    for ride in rides:
        ridden[ride.pattern_id].update(band_of(t) for t in ride.departure_s[:-1])
        served_by[ride.pattern_id].update(s for s, ok in zip(ride.stop_ids, ride.served,
                                                             strict=True) if ok)
    seen: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    kept: list[tuple[Pattern, list[int]]] = []
    for pattern in patterns:
        geo = geos[pattern.pattern_id]
        keep = [i for i, s in enumerate(pattern.stop_ids) if s in served_by[pattern.pattern_id]]
        if len(keep) < 2:
            continue
        lat, lon = geo.point_at(geo.stop_s[keep])
        heading = _heading_deg(geo, geo.stop_s[keep])
        for i, la, lo, h in zip(keep, lat, lon, heading, strict=True):
            seen[pattern.stop_ids[i]].append((float(la), float(lo), float(h)))
        kept.append((pattern, keep))
    ids = sorted(seen)
    lat = np.array([np.mean([p[0] for p in seen[s]]) for s in ids])
    lon = np.array([np.mean([p[1] for p in seen[s]]) for s in ids])
    heading = np.array([float(np.degrees(np.arctan2(
        np.mean(np.sin(np.radians([p[2] for p in seen[s]]))),
        np.mean(np.cos(np.radians([p[2] for p in seen[s]])))))) % 360 for s in ids])
    plane = Plane(float(lat.mean()), float(lon.mean())) if ids else Plane(0.0, 0.0)
    x, y = plane.to_xy(lat, lon)
    rep = _merge_groups(ids, x, y, heading)
    truth_patterns = []
    for pattern, keep in kept:
        keep = [i for n, i in enumerate(keep)
                if n == 0 or rep[pattern.stop_ids[i]] != rep[pattern.stop_ids[keep[n - 1]]]]
        if len(keep) < 2:
            continue
        geo = geos[pattern.pattern_id]
        base = np.maximum(np.maximum(np.asarray(pattern.timings[0].run_times_s, float), 1.0),
                          np.diff(geo.stop_s) / MAX_SPEED_MPS)
        truth_patterns.append(replace(
            pattern, stop_ids=tuple(rep[pattern.stop_ids[i]] for i in keep),
            timings=_truth_timings(pattern, keep, base, cfg, ridden[pattern.pattern_id]),
            support_traces=sum(r.pattern_id == pattern.pattern_id for r in rides)))
    feed_stops = {s.stop_id: s for s in network.stops}
    members: dict[str, list[int]] = defaultdict(list)
    for i, sid in enumerate(ids):
        members[rep[sid]].append(i)
    stops = tuple(
        Stop(stop_id=sid, stop_name=feed_stops[sid].stop_name,
             stop_lat=float(lat[idx].mean()), stop_lon=float(lon[idx].mean()),
             heading_deg=round(float(heading[idx[0]]), 1), name_source="feed")
        for sid, idx in sorted(members.items()))
    used_routes = {p.route_id for p in truth_patterns}
    used_shapes = {p.shape_id for p in truth_patterns}
    return replace(
        network, stops=stops, routes=tuple(r for r in network.routes if r.route_id in used_routes),
        patterns=tuple(truth_patterns),
        shapes=tuple(s for s in network.shapes if s.shape_id in used_shapes),
        feed_version=f"simulation-truth-seed-{seed}",
        feed_publisher_name=network.feed_publisher_name or network.agency_name)
