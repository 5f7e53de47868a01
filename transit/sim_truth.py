"""The ground truth of a simulation as a :class:`~transit.model.Network`.

* stops: every stop at which at least one simulated vehicle halted, placed where the
  vehicles halted (its projection on the shape, averaged over the patterns serving it);
* patterns: per ridden pattern, its stops that at least one of its rides served, in order;
* shapes: the feed shapes the vehicles followed;
* timings, per default band the pattern's frequency windows touch: run times between
  consecutive truth stops (the feed's run times times :data:`BAND_FACTORS`, the expected
  value of every ride's jittered time), the mean dwell, the feed's headway.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from transit.model import DEFAULT_TIME_BANDS, BandTiming, Network, Pattern, Stop
from transit.sim_geometry import PatternGeometry
from transit.simulate import BAND_FACTORS, MAX_SPEED_MPS, RideTruth, SimConfig

__all__ = ["build_truth_network"]


def _truth_timings(pattern: Pattern, keep: list[int], base_run_s: np.ndarray,
                   cfg: SimConfig) -> tuple[BandTiming, ...]:
    out = []
    for band in DEFAULT_TIME_BANDS:
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


def build_truth_network(network: Network, patterns: Sequence[Pattern],
                        geos: dict[str, PatternGeometry], rides: Sequence[RideTruth],
                        cfg: SimConfig, seed: int) -> Network:
    """Truth network of a simulation (see the module docstring)."""
    served_by: dict[str, set[str]] = defaultdict(set)
    for ride in rides:
        served_by[ride.pattern_id].update(s for s, ok in zip(ride.stop_ids, ride.served,
                                                             strict=True) if ok)
    positions: dict[str, list[tuple[float, float]]] = defaultdict(list)
    truth_patterns = []
    for pattern in patterns:
        geo = geos[pattern.pattern_id]
        keep = [i for i, s in enumerate(pattern.stop_ids) if s in served_by[pattern.pattern_id]]
        if len(keep) < 2:
            continue
        lat, lon = geo.point_at(geo.stop_s[keep])
        for i, la, lo in zip(keep, lat, lon, strict=True):
            positions[pattern.stop_ids[i]].append((float(la), float(lo)))
        base = np.maximum(np.maximum(np.asarray(pattern.timings[0].run_times_s, float), 1.0),
                          np.diff(geo.stop_s) / MAX_SPEED_MPS)
        truth_patterns.append(replace(
            pattern, stop_ids=tuple(pattern.stop_ids[i] for i in keep),
            timings=_truth_timings(pattern, keep, base, cfg),
            support_traces=sum(r.pattern_id == pattern.pattern_id for r in rides)))
    feed_stops = {s.stop_id: s for s in network.stops}
    stops = tuple(
        Stop(stop_id=sid, stop_name=feed_stops[sid].stop_name,
             stop_lat=float(np.mean([p[0] for p in pts])),
             stop_lon=float(np.mean([p[1] for p in pts])), name_source="feed")
        for sid, pts in sorted(positions.items()))
    used_routes = {p.route_id for p in truth_patterns}
    used_shapes = {p.shape_id for p in truth_patterns}
    return replace(
        network, stops=stops, routes=tuple(r for r in network.routes if r.route_id in used_routes),
        patterns=tuple(truth_patterns),
        shapes=tuple(s for s in network.shapes if s.shape_id in used_shapes),
        feed_version=f"simulation-truth-seed-{seed}",
        feed_publisher_name=network.feed_publisher_name or network.agency_name)
