"""Build one region (one city): the steps of the builder in order, in one local plane."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from shapely import LineString, line_locate_point, points

from transit.geo import LocalProjection
from transit.model import HeadwaySource, Pattern, Route, Shape, Stop
from transit.patterns import (
    PatternGroup,
    SegmentVisits,
    fix_headings,
    infer_patterns,
    match_segments_to_stops,
    pair_directions,
    recording_gaps,
)
from transit.run_times import PatternRuns, estimate_band_timings, observe_runs
from transit.shapes import estimate_shape
from transit.stops import (
    Dwells,
    StopCandidates,
    cluster_stops,
    concat_dwells,
    detect_dwells,
    slow_passes,
)
from transit.timing import (
    band_for_clock,
    band_timing,
    estimate_headways,
    given_headway,
    halts_at_passbys,
    local_clock,
    local_clocks,
    ride_times,
    stopped_edges_ms,
)
from transit.traces import TripSegment

if TYPE_CHECKING:
    from transit.build import BuildOptions

__all__ = ["RegionResult", "build_region"]


@dataclass(slots=True)
class RegionResult:
    """What one region yielded, plus the evidence the report needs."""

    region_index: int
    n_segments: int
    stops: list[Stop] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    stop_evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    pattern_evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    band_factors: dict[str, dict[str, float]] = field(default_factory=dict)



def route_key(name: str | None) -> str:
    """The grouping key of a route name as field teams type it: case and spacing ignored
    (``"33SB"``, ``"33sb"`` and ``" 33SB "`` are one route)."""
    return " ".join((name or "").split()).casefold()


def route_display_names(segments: Sequence[TripSegment], keys: Sequence[str]) -> dict[str, str]:
    """For each route key, the spelling most segments used (ties: the first in sort order)."""
    counts: dict[str, dict[str, int]] = {}
    for seg, key in zip(segments, keys, strict=True):
        if key:
            spelled = " ".join((seg.trace.route_name or "").split())
            variants = counts.setdefault(key, {})
            variants[spelled] = variants.get(spelled, 0) + 1
    return {key: min(v, key=lambda name: (-v[name], name)) for key, v in counts.items()}

def _h(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def _field_dwells(segments: Sequence[TripSegment], x: NDArray[np.float64],
                  y: NDArray[np.float64], heading: NDArray[np.float64],
                  bounds: NDArray[np.int64], proj: LocalProjection) -> Dwells:
    seg, xs, ys, ts, hs, names = [], [], [], [], [], []
    for s, sg in enumerate(segments):
        a = int(bounds[s])
        for fs in sg.field_stops:
            fx, fy = proj.forward([fs.lat], [fs.lon])
            if fs.time_ms is not None:
                k = int(np.clip(np.searchsorted(sg.time_ms, fs.time_ms), 0, len(sg) - 1))
            else:
                k = int(np.argmin(np.hypot(x[a:a + len(sg)] - fx[0], y[a:a + len(sg)] - fy[0])))
            seg.append(s)
            xs.append(float(fx[0]))
            ys.append(float(fy[0]))
            ts.append(int(fs.time_ms if fs.time_ms is not None else sg.time_ms[k]))
            hs.append(float(heading[a + k]))
            names.append(fs.name or "")
    t = np.array(ts, np.int64)
    return Dwells(segment=np.array(seg, np.int32), x_m=np.array(xs, float),
                  y_m=np.array(ys, float), start_ms=t, end_ms=t, heading_deg=np.array(hs, float),
                  field=np.ones(len(seg), bool), name=tuple(names))


def build_region(segments: Sequence[TripSegment], options: BuildOptions,
                 region_index: int = 0) -> RegionResult:
    """Run dwells -> stops -> patterns -> routes -> shapes -> timing on one region."""
    res = RegionResult(region_index=region_index, n_segments=len(segments))
    lat = np.concatenate([s.lat for s in segments])
    lon = np.concatenate([s.lon for s in segments])
    t_ms = np.concatenate([s.time_ms for s in segments]).astype(np.int64)
    speed = np.concatenate([s.speed_mps for s in segments]).astype(np.float32)
    bounds = np.concatenate([[0], np.cumsum([len(s) for s in segments])]).astype(np.int64)
    proj = LocalProjection.around(lat, lon)
    x, y = proj.forward(lat, lon)
    trace_keys = sorted({s.trace.trace_key for s in segments})
    tnum = {k: i for i, k in enumerate(trace_keys)}
    dev_keys = sorted({s.trace.device_id or s.trace.trace_key for s in segments})
    dnum = {k: i for i, k in enumerate(dev_keys)}
    trace_of_seg = np.array([tnum[s.trace.trace_key] for s in segments], np.int64)
    dev_of_seg = np.array([dnum[s.trace.device_id or s.trace.trace_key] for s in segments],
                          np.int64)

    # 1. dwells (+ field-marked stops), 2. stop candidates
    detected, first_fix, last_fix = detect_dwells(x, y, t_ms, speed, bounds, options.dwell)
    parts = [detected]
    if options.use_field_stops and any(s.field_stops for s in segments):
        parts.append(_field_dwells(segments, x, y, fix_headings(x, y, bounds), bounds, proj))
    dwells = concat_dwells(parts) if len(parts) > 1 else detected
    cand = cluster_stops(dwells, trace_of_seg, dev_of_seg, options.dwell)
    res.counts.update(dwells=len(detected), field_stops=len(dwells) - len(detected),
                      stop_candidates=len(cand))

    # traffic filter: how many traces pass each candidate in its direction
    probe = match_segments_to_stops(x, y, t_ms, bounds, cand.x_m, cand.y_m, cand.heading_deg,
                                    radius_m=options.match_radius_m)
    passing = _distinct_traces_passing(probe, trace_of_seg, len(cand))
    keep = _keep_candidates(cand, passing, options, x, y, speed, bounds, trace_of_seg)
    res.counts.update(traffic_or_unsupported=int((~keep).sum()))
    kept_idx = np.flatnonzero(keep)
    new_of_old = np.full(len(cand), -1, np.int64)
    new_of_old[kept_idx] = np.arange(len(kept_idx))
    sx, sy, sh = cand.x_m[kept_idx], cand.y_m[kept_idx], cand.heading_deg[kept_idx]
    # timing: the vehicle stopped after its last approach fix still reporting motion
    st_ms, en_ms = stopped_edges_ms(first_fix, last_fix, detected.start_ms, detected.end_ms,
                                    t_ms, speed, options.dwell.max_speed_mps,
                                    options.dwell.max_half_gap_s)
    dur_s = (en_ms - st_ms) / 1000.0
    mid_ms = (st_ms + en_ms) / 2.0
    dwell_ranges = [(int(new_of_old[cand.label[d]]), int(first_fix[d]), int(last_fix[d]),
                     float(dur_s[d]), float(mid_ms[d])) for d in range(len(detected))]

    # 3. patterns
    visits = match_segments_to_stops(x, y, t_ms, bounds, sx, sy, sh, dwell_ranges,
                                     radius_m=options.match_radius_m,
                                     terminus_m=options.match_radius_m)
    visits = halts_at_passbys(visits, t_ms, speed, bounds, options.dwell.stopped_speed_mps,
                              options.dwell.max_half_gap_s)
    keys = [route_key(s.trace.route_name) for s in segments]
    shown_name = route_display_names(segments, keys)
    groups = infer_patterns(visits, keys, gap_fixes=recording_gaps(t_ms, bounds))
    pairs = pair_directions(groups, keys, sx, sy)
    res.counts.update(segments_without_pattern=len(segments) - sum(len(g.members)
                                                                   for g in groups))
    slat, slon = proj.inverse(sx, sy)
    stop_ids = _stop_ids(slat, slon, sh)
    used: set[int] = set()
    unnamed = 0
    pending: list[_Pending] = []
    for d0, d1 in pairs:
        name = shown_name.get(keys[groups[d0].members[0]], "")
        if not name:
            unnamed += 1
        route_id = "r" + _h(region_index, name, [stop_ids[i] for i in groups[d0].stops])[:8]
        for direction, g in enumerate([groups[d0]] + ([groups[d1]] if d1 is not None else [])):
            _emit_pattern(res, pending, g, direction, route_id, segments, visits, x, y, sx,
                          sy, stop_ids, proj, options)
            used.update(g.stops)
        first, last = groups[d0].stops[0], groups[d0].stops[-1]
        res.routes.append(Route(
            route_id=route_id, route_short_name=name or route_id.upper()[:5],
            route_long_name=f"{_name(cand, kept_idx[first], slat[first], slon[first])} - "
                            f"{_name(cand, kept_idx[last], slat[last], slon[last])}",
            continuous_pickup=options.continuous_pickup,
            continuous_drop_off=options.continuous_drop_off))
    _finish_timings(res, pending, options)
    bands_of = _bands_per_candidate(dwells, cand.label, options)
    for i in sorted(used):
        c = int(kept_idx[i])
        nm = cand.name[c]
        conf = _confidence(int(cand.support_traces[c]), int(passing[c]), bool(cand.field[c]))
        res.stops.append(Stop(
            stop_id=stop_ids[i], stop_name=_name(cand, c, slat[i], slon[i]),
            stop_lat=round(float(slat[i]), 6), stop_lon=round(float(slon[i]), 6),
            support_traces=int(cand.support_traces[c]), confidence=conf,
            heading_deg=None if not np.isfinite(sh[i]) else round(float(sh[i]), 1),
            name_source="field" if nm else "generated"))
        res.stop_evidence[stop_ids[i]] = {
            "support_devices": int(cand.support_devices[c]), "passing_traces": int(passing[c]),
            "dwells": int(cand.n_dwells[c]),
            "median_dwell_s": round(float(cand.median_dwell_s[c]), 1),
            "bands_observed": bands_of.get(c, []),
            "field_marked": bool(cand.field[c])}
    return res


@dataclass(frozen=True, slots=True)
class _Pending:
    """A pattern waiting for its timings, which pool evidence over all patterns."""

    pattern: Pattern
    runs: PatternRuns
    headways: list[tuple[int, HeadwaySource]]


def _finish_timings(res: RegionResult, pending: Sequence[_Pending],
                    options: BuildOptions) -> None:
    """Band timings of every pattern of the region, with band factors pooled over all of
    them (:func:`transit.run_times.estimate_band_timings`); the factors go in the evidence."""
    timings, fac = estimate_band_timings([p.runs for p in pending], options.bands)
    names = [b.name for b in options.bands]
    for q, (item, timing) in enumerate(zip(pending, timings, strict=True)):
        bts = tuple(band_timing(band, timing[band.name], hw, src)
                    for band, (hw, src) in zip(options.bands, item.headways, strict=True))
        res.patterns.append(replace(item.pattern, timings=bts))
        res.pattern_evidence[item.pattern.pattern_id]["band_factors"] = {
            name: {"factor": round(float(fac.factor[q, k]), 3),
                   "own_stretches": int(fac.stretches[q, k]),
                   "own_weight": round(float(fac.weight[q, k]), 3)}
            for k, name in enumerate(names) if np.isfinite(fac.pooled[k])}
    res.band_factors = {
        name: {"factor": round(float(fac.pooled[k]), 3),
               "between_patterns_sd": round(float(fac.between_sd[k]), 3)}
        for k, name in enumerate(names) if np.isfinite(fac.pooled[k])}


def _bands_per_candidate(dwells: Dwells, label: NDArray[np.int64],
                         options: BuildOptions) -> dict[int, list[str]]:
    """Time bands (local clock) in which each candidate was dwelt at."""
    seen: dict[int, set[str]] = {}
    clocks = local_clocks(dwells.start_ms, options.timezone)
    band_at = {int(k): band_for_clock(int(k), options.bands) for k in np.unique(clocks)}
    for c, k in zip(label.tolist(), clocks.tolist(), strict=True):
        seen.setdefault(c, set()).add(band_at[k])
    order = {b.name: k for k, b in enumerate(options.bands)}
    return {c: sorted(v, key=order.__getitem__) for c, v in seen.items()}


def _distinct_traces_passing(visits: Sequence[SegmentVisits], trace_of_seg: NDArray[np.int64],
                             n: int) -> NDArray[np.int64]:
    pairs = {(int(c), int(trace_of_seg[s])) for s, v in enumerate(visits) for c in v.stop}
    out = np.zeros(n, np.int64)
    for c, _ in pairs:
        out[c] += 1
    return out


def _keep_candidates(cand: StopCandidates, passing: NDArray[np.int64], options: BuildOptions,
                     x: NDArray[np.float64], y: NDArray[np.float64],
                     speed: NDArray[np.float32], bounds: NDArray[np.int64],
                     trace_of_seg: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Stops among the candidates: field-marked, or dwelt at by enough of the traces passing
    in their direction; one-trace dwells where only that trace passes, or where most of the
    other traces passing (``x``..``trace_of_seg``: every fix) slow right down."""
    support = cand.support_traces
    regular = support >= options.min_regularity * np.maximum(passing, 1)
    keep = np.asarray(cand.field | ((support >= options.dwell.min_support) & regular), bool)
    if options.keep_single_pass:
        keep |= (support >= 1) & (passing <= 1)
    if options.min_slow_share is not None:
        ask = np.flatnonzero(~keep & (support == 1) & (passing >= 2))
        slow_pass, slowed = slow_passes(x, y, speed, bounds, trace_of_seg, cand.x_m[ask],
                                        cand.y_m[ask], cand.heading_deg[ask])
        keep[ask] = (slow_pass >= 2) & (slowed >= options.min_slow_share * slow_pass)
    return keep


def _confidence(support: int, passing: int, field_marked: bool) -> float:
    """Confidence in [0, 1]: grows with supporting traces and with dwell regularity."""
    reg = support / max(passing, support, 1)
    conf = (1.0 - 0.5 ** support) * (0.5 + 0.5 * reg)
    if field_marked:
        conf = max(conf, 0.9)
    return round(float(conf), 3)


def _name(cand: StopCandidates, c: int, lat: float, lon: float) -> str:
    return cand.name[c] or f"Stop near {lat:.5f}, {lon:.5f}"


def _stop_ids(lat: NDArray[np.float64], lon: NDArray[np.float64],
              heading: NDArray[np.float64]) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    for la, lo, h in zip(lat.tolist(), lon.tolist(), heading.tolist(), strict=True):
        hb = "x" if not np.isfinite(h) else str(int(((h + 22.5) % 360) // 45))
        base = "s" + _h(f"{la:.5f}", f"{lo:.5f}", hb)[:10]
        sid, k = base, 1
        while sid in seen:
            sid, k = f"{base}-{k}", k + 1
        seen.add(sid)
        ids.append(sid)
    return ids


def _emit_pattern(res: RegionResult, pending: list[_Pending], g: PatternGroup,
                  direction: int, route_id: str,
                  segments: Sequence[TripSegment], visits: Sequence[SegmentVisits],
                  x: NDArray[np.float64], y: NDArray[np.float64], sx: NDArray[np.float64],
                  sy: NDArray[np.float64], stop_ids: list[str], proj: LocalProjection,
                  options: BuildOptions) -> None:
    pid = f"{route_id}-{direction}-{_h(*[stop_ids[i] for i in g.stops])[:6]}"
    pstops = np.array(g.stops, np.int64)
    pset = set(g.stops)
    members = sorted(g.members, key=lambda m: (-sum(1 for s in visits[m].stop.tolist()
                                                    if s in pset), m))
    rides = []
    for m in members:
        v = visits[m]
        on = [f for s, f in zip(v.stop.tolist(), v.fix.tolist(), strict=True) if s in pset]
        a, b = (min(on), max(on) + 1) if on else (0, 0)
        rides.append((x[a:b], y[a:b]))
    shx, shy = estimate_shape(rides, sx[pstops], sy[pstops])
    line = LineString(np.c_[shx, shy])
    along = np.asarray(line_locate_point(line, points(np.c_[sx[pstops], sy[pstops]])), float)
    along = np.maximum.accumulate(along)
    along = along + np.arange(len(along)) * 1e-3  # strictly increasing for interpolation
    times = [ride_times(g.stops, visits[m], along) for m in g.members]
    departures: list[tuple[str, int, str]] = []
    for m, rt in zip(g.members, times, strict=True):
        ok = np.flatnonzero(np.isfinite(rt.center_ms))
        if len(ok) and ok[0] == 0:
            day, clock = local_clock(int(rt.center_ms[0]), options.timezone)
            tr = segments[m].trace
            departures.append((day, clock, tr.device_id or tr.trace_key))
    straight = np.hypot(np.diff(sx[pstops]), np.diff(sy[pstops]))
    runs = observe_runs(times, along, options.bands, options.timezone, straight_m=straight)
    observed = estimate_headways(departures, options.bands)
    route_short = route_key(segments[g.members[0]].trace.route_name)
    given_rows = [r for r in options.frequencies
                  if r.route == route_id or (route_short and route_key(r.route) == route_short)]
    headways: list[tuple[int, HeadwaySource]] = []
    for band in options.bands:
        src: HeadwaySource
        if band.name in observed:
            hw, src = observed[band.name][0], "observed"
        elif (gh := given_headway(given_rows, band)) is not None:
            hw, src = gh, "given"
        else:
            hw, src = options.default_headway_s[band.name], "assumed"
        headways.append((hw, src))
    shape_id = "sh" + pid[1:]
    slat, slon = proj.inverse(shx, shy)
    res.shapes.append(Shape(shape_id, tuple(round(v, 6) for v in slat.tolist()),
                            tuple(round(v, 6) for v in slon.tolist())))
    pending.append(_Pending(Pattern(pattern_id=pid, route_id=route_id, direction_id=direction,
                                    stop_ids=tuple(stop_ids[i] for i in g.stops),
                                    shape_id=shape_id, timings=(),
                                    support_traces=len(g.members)), runs, headways))
    metas = [segments[m].trace for m in g.members]
    res.pattern_evidence[pid] = {
        "traces": sorted({t.trace_key for t in metas}),
        "devices": sorted({t.device_id or t.trace_key for t in metas}),
        "bands_observed": [b.name for k, b in enumerate(options.bands)
                           if (runs.band == k).any()],
        "shape_length_m": round(float(line.length), 1),
        "observed_headways": {b: {"headway_s": h, "gaps": n} for b, (h, n) in observed.items()},
    }
