"""Dwells (stay points) from trip segments, and stops from the dwells of many traces.

Dwell detection follows the stay-point idea of Li et al. (2008) as trackintel implements it
(a window grows while its fixes stay within a distance of the window's centroid; the window
is a stay point when it lasts long enough), with thresholds for minibuses rather than
people: ~25 m and ~10 s instead of 200 m and 20 min. Field-marked stops (GPX waypoints,
TransitWand stops, OSMTracker buttons) become dwells too, flagged as strong evidence.

Stops are DBSCAN clusters (Ester et al. 1996) of dwell positions in a local plane, with the
direction of travel as two extra coordinates so that the two sides of a road stay apart.
Close parts of one stop are then merged (60 m, same direction), and the merged clusters are
checked against the phones' position noise (:mod:`transit.stop_split`): a cluster whose
dwells form two groups along the road is split into two stops (stops 15-40 m apart), and a
two-trace cluster whose dwells scatter more than the noise allows is traffic, not a stop.

References
----------
Li, Q., Zheng, Y., Xie, X., Chen, Y., Liu, W., Ma, W.-Y. (2008). Mining user similarity
based on location history. ACM SIGSPATIAL GIS '08.
Ester, M., Kriegel, H.-P., Sander, J., Xu, X. (1996). A density-based algorithm for
discovering clusters in large spatial databases with noise. KDD-96.
Martin, H., Hong, Y., Wiedemann, N., Bucher, D., Raubal, M. (2023). Trackintel: An
open-source Python library for human mobility analysis. CEUS 101, 101938.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN

from transit.stop_split import break_scattered, dwell_noise_m, split_along_track

__all__ = [
    "GENERIC_STOP_NAMES",
    "DwellOptions",
    "Dwells",
    "StopCandidates",
    "cluster_stops",
    "detect_dwells",
    "merge_close_stops",
    "slow_passes",
]

#: Field-marker texts that say "a stop is here" without naming it (lower case).
GENERIC_STOP_NAMES = frozenset({
    "", "arrêt", "arret", "arrêt de bus", "arret de bus", "arrêt :arrêt", "stop", "bus stop",
    "vide", "mi-plein", "plein", "surchargé", "surcharge", "terminus", "annulé",
    "photographie", "waypoint", "wpt",
})


@dataclass(frozen=True, slots=True)
class DwellOptions:
    """Thresholds of dwell detection and stop clustering.

    Attributes
    ----------
    radius_m
        A dwell's fixes stay within this distance (m) of their centroid.
    min_duration_s
        Shortest dwell (s): minibuses stop 10-30 s to board; below this it is traffic noise.
    max_speed_mps
        Fixes reporting a higher speed (m/s) end a dwell (ignored where speed is NaN).
    stopped_speed_mps
        Fixes reporting at most this speed (m/s) are stopped: a run of them is a dwell even
        when GPS noise scatters its positions (phones measure speed by Doppler, not by
        differencing positions).
    max_half_gap_s
        A sparse run of stopped fixes lasts up to this long (s) before and after them.
    heading_reach_m
        The direction of travel is measured between fixes this far (m) before and after.
    cluster_eps_m
        DBSCAN neighbourhood (m) for dwells of one stop.
    merge_radius_m
        Clusters closer than this (m) with the same direction are joined (minibuses stop
        a few car lengths either side of the usual place; 0 turns merging off). Joined
        clusters whose dwells form two groups along the road are split again (see
        ``split_min_m``), so the radius can be generous: 60 m gathers the parts of one stop
        without merging real neighbours.
    heading_scale_m
        Weight (m) of the unit heading vector in clustering: opposite directions end up
        ``2 * heading_scale_m`` apart, perpendicular ones ``1.41 *`` that.
    min_support
        Fewest distinct traces that must dwell at a place for it to be a stop where more
        traces than that pass it (traffic holds are usually one trace only).
    split_min_m
        A cluster whose dwells form two groups along the direction of travel, with group
        means at least this far apart (m), is two stops (0 turns splitting off).
    split_min_z
        ... and only when that distance is at least this many standard errors of the
        difference of the two groups' means (dwells weighted by their device's noise), and
        each group has ``min_support`` traces.
    scatter_max_chi2
        A cluster dwelt at by at most ``scatter_max_traces`` traces whose dwells are more
        scattered than their phones' noise allows (reduced chi-square above this) is not
        one place, it is traffic held at different spots: its dwells are left as
        one-dwell candidates (0 turns this off). Only used with splitting on.
    scatter_max_traces
        See ``scatter_max_chi2``.
    """

    radius_m: float = 25.0
    min_duration_s: float = 10.0
    max_speed_mps: float = 2.5
    stopped_speed_mps: float = 0.8
    max_half_gap_s: float = 10.0
    heading_reach_m: float = 40.0
    cluster_eps_m: float = 20.0
    merge_radius_m: float = 60.0
    heading_scale_m: float = 15.0
    min_support: int = 2
    split_min_m: float = 15.0
    split_min_z: float = 5.0
    scatter_max_chi2: float = 5.0
    scatter_max_traces: int = 2


@dataclass(frozen=True, slots=True)
class Dwells:
    """Columnar dwells; all arrays have one row per dwell.

    ``segment`` indexes the caller's segment list; ``x_m``/``y_m`` are local-plane metres;
    ``start_ms``/``end_ms`` UTC instants; ``heading_deg`` the direction of travel (NaN when
    unknown); ``field`` marks field-marked stops; ``name`` the field name or ``""``.
    """

    segment: NDArray[np.int32]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    start_ms: NDArray[np.int64]
    end_ms: NDArray[np.int64]
    heading_deg: NDArray[np.float64]
    field: NDArray[np.bool_]
    name: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.segment)


@numba.njit(cache=True)
def _staypoints(x: NDArray[np.float64], y: NDArray[np.float64], t: NDArray[np.int64],
                v: NDArray[np.float32], bounds: NDArray[np.int64], radius: float,
                min_ms: int, max_v: float) -> NDArray[np.int64]:  # pragma: no cover - jit
    n = len(x)
    out = np.empty((n // 2 + 1, 3), np.int64)
    k = 0
    r2 = radius * radius
    trim2 = r2 / 4.0
    for s in range(len(bounds) - 1):
        i, e = bounds[s], bounds[s + 1]
        while i < e:
            sx, sy, m = x[i], y[i], 1
            j = i + 1
            while j < e:
                if v[j] == v[j] and v[j] > max_v:
                    break
                cx, cy = sx / m, sy / m
                if (x[j] - cx) ** 2 + (y[j] - cy) ** 2 > r2:
                    break
                sx += x[j]
                sy += y[j]
                m += 1
                j += 1
            if t[j - 1] - t[i] >= min_ms:
                # trim the approach and the departure: fixes still moving at the edges
                cx, cy = sx / m, sy / m
                a, b = i, j - 1
                while a < b and (x[a] - cx) ** 2 + (y[a] - cy) ** 2 > trim2:
                    a += 1
                while b > a and (x[b] - cx) ** 2 + (y[b] - cy) ** 2 > trim2:
                    b -= 1
                out[k, 0] = s
                out[k, 1] = a
                out[k, 2] = b
                k += 1
                i = j
            else:
                i += 1
    return out[:k]


@numba.njit(cache=True)
def _headings(x: NDArray[np.float64], y: NDArray[np.float64], lo: NDArray[np.int64],
              hi: NDArray[np.int64], first: NDArray[np.int64], last: NDArray[np.int64],
              reach: float) -> NDArray[np.float64]:  # pragma: no cover - jit
    out = np.full(len(first), np.nan)
    r2 = reach * reach
    for d in range(len(first)):
        a, b = first[d], last[d]
        ax, ay = x[a], y[a]
        p = a
        while p > lo[d] and (x[p] - ax) ** 2 + (y[p] - ay) ** 2 < r2:
            p -= 1
        bx, by = x[b], y[b]
        q = b
        while q < hi[d] - 1 and (x[q] - bx) ** 2 + (y[q] - by) ** 2 < r2:
            q += 1
        dx, dy = x[q] - x[p], y[q] - y[p]
        if dx * dx + dy * dy >= r2:
            out[d] = np.degrees(np.arctan2(dx, dy)) % 360.0
    return out


def detect_dwells(
    x_m: NDArray[np.float64],
    y_m: NDArray[np.float64],
    time_ms: NDArray[np.int64],
    speed_mps: NDArray[np.float32],
    bounds: NDArray[np.int64],
    options: DwellOptions = DwellOptions(),
) -> tuple[Dwells, NDArray[np.int64], NDArray[np.int64]]:
    """Find dwells in concatenated trip segments.

    Parameters
    ----------
    x_m, y_m
        Local-plane positions (m) of all fixes, segment after segment, each in time order.
    time_ms
        UTC instants (ms).
    speed_mps
        Reported speed (m/s), NaN where absent.
    bounds
        Segment ``s`` is ``[bounds[s], bounds[s + 1])``.
    options
        Thresholds.

    Returns
    -------
    dwells, first_fix, last_fix
        The dwells (``field`` all False) and the index of each dwell's first and last fix.
        A dwell is found on the whole window, then its edges are trimmed to the fixes within
        ``radius_m / 2`` of its centroid, so the approach does not count as dwell time.
        Runs of fixes reporting a stopped speed are dwells too; overlapping detections of
        the two kinds are merged.
    """
    b64 = bounds.astype(np.int64)
    pos = _staypoints(x_m, y_m, time_ms, speed_mps, b64, float(options.radius_m),
                      int(options.min_duration_s * 1000), float(options.max_speed_mps))
    spd = _speed_runs(time_ms, speed_mps, b64, float(options.stopped_speed_mps),
                      int(options.min_duration_s * 1000), int(options.max_half_gap_s * 1000))
    # union of both detections, never across a segment boundary
    n = len(x_m)
    mark = np.zeros(n + 1, np.int64)
    for raw in (pos, spd):
        np.add.at(mark, raw[:, 1], 1)
        np.add.at(mark, raw[:, 2] + 1, -1)
    inside = np.cumsum(mark[:n]) > 0
    seg_start = np.zeros(n, bool)
    seg_start[b64[:-1][b64[:-1] < n]] = True
    prev_in = np.concatenate([[False], inside[:-1]])
    next_in = np.concatenate([inside[1:], [False]])
    seg_end = np.zeros(n, bool)
    seg_end[b64[1:][b64[1:] > 0] - 1] = True
    first = np.flatnonzero(inside & (~prev_in | seg_start))
    last = np.flatnonzero(inside & (~next_in | seg_end))
    seg = np.searchsorted(b64, first, side="right") - 1
    csum_x = np.concatenate([[0.0], np.cumsum(x_m)])
    csum_y = np.concatenate([[0.0], np.cumsum(y_m)])
    m = (last - first + 1).astype(float)
    heading = _headings(x_m, y_m, b64[seg], b64[seg + 1], first, last,
                        float(options.heading_reach_m))
    # the vehicle stopped, on average, half a sampling interval before its first stopped
    # fix and left half an interval after its last one
    half = options.max_half_gap_s * 1000
    lead = np.where(first > b64[seg], np.minimum((time_ms[first] - time_ms[first - 1]) / 2,
                                                 half), 0).astype(np.int64)
    nxt = np.minimum(last + 1, n - 1)
    trail = np.where(last + 1 < b64[seg + 1],
                     np.minimum((time_ms[nxt] - time_ms[last]) / 2, half), 0).astype(np.int64)
    start = time_ms[first] - lead
    end = time_ms[last] + trail
    dwells = Dwells(
        segment=seg.astype(np.int32),
        x_m=(csum_x[last + 1] - csum_x[first]) / np.maximum(m, 1),
        y_m=(csum_y[last + 1] - csum_y[first]) / np.maximum(m, 1),
        start_ms=start.astype(np.int64), end_ms=end.astype(np.int64), heading_deg=heading,
        field=np.zeros(len(seg), bool), name=("",) * len(seg))
    return dwells, first, last


@numba.njit(cache=True)
def _speed_runs(t: NDArray[np.int64], v: NDArray[np.float32], bounds: NDArray[np.int64],
                stopped: float, min_ms: int, half_gap_ms: int) -> NDArray[np.int64]:
    # pragma: no cover - jit
    out = np.empty((len(t) // 2 + 1, 3), np.int64)
    k = 0
    for s in range(len(bounds) - 1):
        i, e = bounds[s], bounds[s + 1]
        while i < e:
            if not (v[i] <= stopped):  # NaN or moving
                i += 1
                continue
            j = i
            while j + 1 < e and v[j + 1] <= stopped:
                j += 1
            dur = t[j] - t[i]
            if i > bounds[s]:
                dur += min((t[i] - t[i - 1]) // 2, half_gap_ms)
            if j + 1 < e:
                dur += min((t[j + 1] - t[j]) // 2, half_gap_ms)
            if dur >= min_ms:
                out[k, 0] = s
                out[k, 1] = i
                out[k, 2] = j
                k += 1
            i = j + 1
    return out[:k]


def concat_dwells(parts: list[Dwells]) -> Dwells:
    """Concatenate dwells (segment indices taken as they are)."""
    return Dwells(
        segment=np.concatenate([p.segment for p in parts]).astype(np.int32),
        x_m=np.concatenate([p.x_m for p in parts]),
        y_m=np.concatenate([p.y_m for p in parts]),
        start_ms=np.concatenate([p.start_ms for p in parts]).astype(np.int64),
        end_ms=np.concatenate([p.end_ms for p in parts]).astype(np.int64),
        heading_deg=np.concatenate([p.heading_deg for p in parts]),
        field=np.concatenate([p.field for p in parts]).astype(bool),
        name=tuple(n for p in parts for n in p.name))


@dataclass(frozen=True, slots=True)
class StopCandidates:
    """Clusters of dwells: possible stops, before the traffic filter.

    ``label`` maps every dwell to its candidate (-1: none). Per candidate: position (m),
    mean heading (deg, NaN unknown), distinct traces and devices that dwelt there, number
    of dwells, median dwell (s), whether a field-marked stop is in it, and its field name.
    """

    label: NDArray[np.int64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    heading_deg: NDArray[np.float64]
    support_traces: NDArray[np.int64]
    support_devices: NDArray[np.int64]
    n_dwells: NDArray[np.int64]
    median_dwell_s: NDArray[np.float64]
    field: NDArray[np.bool_]
    name: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.x_m)


def _heading_features(heading_deg: NDArray[np.float64], scale_m: float) -> NDArray[np.float64]:
    h = np.radians(heading_deg)
    f = np.c_[np.sin(h), np.cos(h)] * scale_m
    f[~np.isfinite(f)] = 0.0  # unknown heading sits between the two sides
    return f


def _cluster_by_place_and_heading(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                                  heading_deg: NDArray[np.float64], trace: NDArray[np.int64],
                                  eps_m: float, scale_m: float) -> NDArray[np.int64]:
    """DBSCAN (``min_samples=1``) labels of dwells by position and heading.

    A dwell without a heading (its segment starts or ends there) sits ``scale_m`` from both
    directions at its place, so it joins the stops on both sides of the road. Where the
    segments of several traces start or end (a terminus, where vehicles turn round) that is
    right; a single trace ending mid-route (a partial ride) would chain two stops apart: such
    a lone heading-less dwell joins the cluster of the nearest other dwell within ``eps_m``.
    """
    n = len(x_m)
    unknown = np.flatnonzero(~np.isfinite(heading_deg))
    lone = np.zeros(n, bool)
    if len(unknown):
        grp = DBSCAN(eps=eps_m, min_samples=1).fit_predict(np.c_[x_m[unknown], y_m[unknown]])
        for g in np.unique(grp).tolist():
            members = unknown[grp == g]
            if len(np.unique(trace[members])) < 2:
                lone[members] = True
    raw = np.full(n, -1, np.int64)
    rest = np.flatnonzero(~lone)
    if len(rest):
        feats = np.c_[x_m[rest], y_m[rest], _heading_features(heading_deg[rest], scale_m)]
        raw[rest] = DBSCAN(eps=eps_m, min_samples=1).fit_predict(feats)
    alone = np.flatnonzero(lone)
    if len(alone) and len(rest):
        d, j = cKDTree(np.c_[x_m[rest], y_m[rest]]).query(
            np.c_[x_m[alone], y_m[alone]], distance_upper_bound=eps_m)
        near = np.isfinite(d)
        raw[alone[near]] = raw[rest[j[near]]]
        alone = alone[~near]
    if len(alone):
        raw[alone] = int(raw.max()) + 1 + DBSCAN(eps=eps_m, min_samples=1).fit_predict(
            np.c_[x_m[alone], y_m[alone]])
    return np.unique(raw, return_inverse=True)[1].astype(np.int64)


def cluster_stops(
    dwells: Dwells,
    trace_of_segment: NDArray[np.int64],
    device_of_segment: NDArray[np.int64],
    options: DwellOptions = DwellOptions(),
) -> StopCandidates:
    """Cluster dwells into stop candidates, per direction of travel.

    Parameters
    ----------
    dwells
        Dwells of all segments of one region.
    trace_of_segment, device_of_segment
        Integer trace and device number of every segment (support counts distinct ones).
    options
        ``cluster_eps_m`` and ``heading_scale_m`` are used.

    Returns
    -------
    StopCandidates
        In a deterministic order (by y, then x, of their positions).
    """
    n = len(dwells)
    if n == 0:
        e = np.zeros(0)
        ei = np.zeros(0, np.int64)
        return StopCandidates(np.zeros(0, np.int64), e, e, e, ei, ei, ei, e,
                              np.zeros(0, bool), ())
    raw = _cluster_by_place_and_heading(dwells.x_m, dwells.y_m, dwells.heading_deg,
                                        trace_of_segment[dwells.segment],
                                        options.cluster_eps_m, options.heading_scale_m)
    if options.merge_radius_m > 0:
        # one stop split by queueing or by noise: its parts join the best-supported part
        k0 = int(raw.max()) + 1
        cnt = np.bincount(raw, minlength=k0)
        mx = np.bincount(raw, dwells.x_m, k0) / cnt
        my = np.bincount(raw, dwells.y_m, k0) / cnt
        hsin = np.bincount(raw, np.nan_to_num(np.sin(np.radians(dwells.heading_deg))), k0)
        hcos = np.bincount(raw, np.nan_to_num(np.cos(np.radians(dwells.heading_deg))), k0)
        mh = np.where(np.hypot(hsin, hcos) > 0,
                      np.degrees(np.arctan2(hsin, hcos)) % 360.0, np.nan)
        bonus = np.bincount(raw, dwells.field.astype(float), k0) > 0
        parent = merge_close_stops(mx, my, mh, (cnt + 1000 * bonus).astype(np.int64),
                                   radius_m=options.merge_radius_m)
        _, raw = np.unique(parent[raw], return_inverse=True)
    if options.split_min_m > 0:
        sigma = dwell_noise_m(dwells.x_m, dwells.y_m, raw, device_of_segment[dwells.segment])
        raw = split_along_track(dwells.x_m, dwells.y_m, dwells.heading_deg, raw,
                                trace_of_segment[dwells.segment], sigma,
                                min_m=options.split_min_m, min_z=options.split_min_z,
                                min_traces=options.min_support)
        if options.scatter_max_chi2 > 0:
            raw = break_scattered(dwells.x_m, dwells.y_m, raw,
                                  trace_of_segment[dwells.segment], sigma,
                                  max_chi2=options.scatter_max_chi2,
                                  max_traces=options.scatter_max_traces)
    k = int(raw.max()) + 1
    cx = np.bincount(raw, dwells.x_m, k) / np.bincount(raw, minlength=k)
    cy = np.bincount(raw, dwells.y_m, k) / np.bincount(raw, minlength=k)
    order = np.lexsort((cx, cy))
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    label = rank[raw]
    dur_s = (dwells.end_ms - dwells.start_ms) / 1000.0
    segs = dwells.segment
    df = pd.DataFrame({"c": label, "x": dwells.x_m, "y": dwells.y_m, "d": dur_s,
                       "t": trace_of_segment[segs], "v": device_of_segment[segs],
                       "hs": np.sin(np.radians(dwells.heading_deg)),
                       "hc": np.cos(np.radians(dwells.heading_deg))})
    g = df.groupby("c", sort=True)
    xs = np.array(g["x"].median().to_numpy(float))  # writable copies (pandas copy-on-write)
    ys = np.array(g["y"].median().to_numpy(float))
    hsum_s, hsum_c = g["hs"].sum().to_numpy(float), g["hc"].sum().to_numpy(float)
    hs = np.array(np.degrees(np.arctan2(hsum_s, hsum_c)) % 360.0)
    hs[g["hs"].count().to_numpy() == 0] = np.nan
    st = np.asarray(g["t"].nunique().to_numpy(), np.int64)
    sd = np.asarray(g["v"].nunique().to_numpy(), np.int64)
    nd = np.asarray(g.size().to_numpy(), np.int64)
    md = g["d"].median().to_numpy(float)
    fl = np.bincount(label, weights=dwells.field.astype(float), minlength=k) > 0
    names = [""] * k
    for c in np.flatnonzero(fl).tolist():
        members = np.flatnonzero((label == c) & dwells.field)
        all_m = np.flatnonzero(label == c)
        wt = np.where(dwells.field[all_m], 3.0, 1.0)  # a marked position outweighs dwells
        xs[c] = float(np.average(dwells.x_m[all_m], weights=wt))
        ys[c] = float(np.average(dwells.y_m[all_m], weights=wt))
        named = Counter(dwells.name[i] for i in members.tolist()
                        if dwells.name[i].strip().lower() not in GENERIC_STOP_NAMES)
        names[c] = min(named.items(), key=lambda kv: (-kv[1], kv[0]))[0] if named else ""
    return StopCandidates(
        label=label, x_m=xs, y_m=ys, heading_deg=hs, support_traces=st, support_devices=sd,
        n_dwells=nd, median_dwell_s=md, field=np.asarray(fl, bool), name=tuple(names))


def merge_close_stops(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                      heading_deg: NDArray[np.float64], weight: NDArray[np.int64], *,
                      radius_m: float = 40.0, max_heading_diff_deg: float = 45.0,
                      ) -> NDArray[np.int64]:
    """Greedy merge of near-duplicate stops: the heaviest absorbs its close neighbours.

    Candidates with ``weight < 0`` take no part (their parent is -1). A candidate joins the
    heaviest already accepted one within ``radius_m`` (m) whose heading differs by at most
    ``max_heading_diff_deg`` (unknown headings match any); ties go to the lower index.

    Returns
    -------
    parent
        Index of the candidate each one merges into (itself when it stays a stop).
    """
    n = len(x_m)
    parent = np.full(n, -1, np.int64)
    live = np.flatnonzero(weight >= 0)
    if len(live) == 0:
        return parent
    tree = cKDTree(np.c_[x_m[live], y_m[live]])
    order = live[np.lexsort((live, -weight[live]))]
    for c in order.tolist():
        if parent[c] >= 0:
            continue
        parent[c] = c
        for j in tree.query_ball_point([x_m[c], y_m[c]], r=radius_m):
            o = int(live[j])
            if parent[o] >= 0:
                continue
            h1, h2 = heading_deg[c], heading_deg[o]
            if np.isfinite(h1) and np.isfinite(h2):
                d = abs(h1 - h2) % 360.0
                if min(d, 360.0 - d) > max_heading_diff_deg:
                    continue
            parent[o] = c
    return parent


def slow_passes(
    x_m: NDArray[np.float64],
    y_m: NDArray[np.float64],
    speed_mps: NDArray[np.float32],
    bounds: NDArray[np.int64],
    trace_of_segment: NDArray[np.int64],
    stop_x_m: NDArray[np.float64],
    stop_y_m: NDArray[np.float64],
    stop_heading_deg: NDArray[np.float64],
    *,
    radius_m: float = 30.0,
    max_turn_deg: float = 60.0,
    slow_mps: float = 2.0,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """How many traces pass each place, and how many of them slow down there.

    Evidence for a stop beyond full dwells: with 1-15 s sampling a short halt often leaves
    one stopped fix, or none at all, so only one ride of several shows a dwell, yet most
    rides report a low speed near the stop (the speed profile's minimum). Per place, every
    trace with a fix reporting a speed within ``radius_m`` (m) whose direction of travel
    (towards the next fix of its segment) is within ``max_turn_deg`` of the place's heading
    (NaN heading: any direction) passes it; it slows there when the lowest such speed is at
    most ``slow_mps`` (m/s). Fixes without a reported speed (NaN) count for nothing.

    Parameters
    ----------
    x_m, y_m, speed_mps
        All fixes (local metres, reported speed), segment after segment, in time order.
    bounds
        Segment ``s`` is ``[bounds[s], bounds[s + 1])``.
    trace_of_segment
        Integer trace number of every segment (passes count distinct traces).
    stop_x_m, stop_y_m, stop_heading_deg
        The places (stop candidates).

    Returns
    -------
    passing, slowed
        Per place: distinct traces passing with a reported speed, and how many of those
        slowed to ``slow_mps`` or less.
    """
    n_stop = len(stop_x_m)
    passing = np.zeros(n_stop, np.int64)
    slowed = np.zeros(n_stop, np.int64)
    n = len(x_m)
    if n_stop == 0 or n == 0:
        return passing, slowed
    b64 = np.asarray(bounds, np.int64)
    seg = np.searchsorted(b64, np.arange(n), side="right") - 1
    nxt = np.minimum(np.arange(n) + 1, n - 1)
    last = nxt >= b64[seg + 1]  # the last fix of a segment looks back instead
    nxt[last] = np.arange(n)[last]
    prv = np.where(last, np.maximum(np.arange(n) - 1, b64[seg]), np.arange(n))
    heading = np.degrees(np.arctan2(x_m[nxt] - x_m[prv], y_m[nxt] - y_m[prv])) % 360.0
    moved = (nxt != prv) & ((x_m[nxt] != x_m[prv]) | (y_m[nxt] != y_m[prv]))
    usable = np.flatnonzero(np.isfinite(speed_mps))
    if len(usable) == 0:
        return passing, slowed
    tree = cKDTree(np.c_[x_m[usable], y_m[usable]])
    hits = tree.query_ball_point(np.c_[stop_x_m, stop_y_m], r=radius_m)
    sizes = np.array([len(h) for h in hits], np.int64)
    if sizes.sum() == 0:
        return passing, slowed
    place = np.repeat(np.arange(n_stop), sizes)
    fix = usable[np.concatenate([np.asarray(h, np.int64) for h in hits])]
    turn = np.abs((heading[fix] - stop_heading_deg[place] + 180.0) % 360.0 - 180.0)
    # a fix that did not move (stopped, same position) has no direction: it passes any way
    ok = ~np.isfinite(stop_heading_deg[place]) | ~moved[fix] | (turn <= max_turn_deg)
    place, fix = place[ok], fix[ok]
    trace = np.asarray(trace_of_segment, np.int64)[seg[fix]]
    key = place * (int(trace.max()) + 1) + trace
    uniq, inv = np.unique(key, return_inverse=True)
    low = np.full(len(uniq), np.inf)
    np.minimum.at(low, inv, speed_mps[fix].astype(np.float64))
    owner = uniq // (int(trace.max()) + 1)
    passing += np.bincount(owner, minlength=n_stop)
    slowed += np.bincount(owner[low <= slow_mps], minlength=n_stop)
    return passing, slowed
