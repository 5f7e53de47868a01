"""Load the real Abidjan traces (../shared/data/abidjan-gps-traces) as trip segments.

A fast, bench-only loader: pandas reads the 2.5 M trackpoints, fixes are split into trip
segments at gaps over ``gap_s``; the ``line`` column of traces.csv becomes the route name.
Field-marked waypoints are attached only when asked (the accuracy benchmark must not give
them to the builder); ``Arrêt`` waypoints are the ground truth it scores against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from transit.build import BuildOptions
from transit.traces import FieldStop, TraceMeta, TripSegment

__all__ = ["BUILD_OPTIONS", "arret_waypoints", "load_segments"]

#: How every benchmark builds the Abidjan traces: their timezone, and the field-marked
#: stops withheld (the accuracy benchmark scores against them).
BUILD_OPTIONS = BuildOptions(timezone="Africa/Abidjan", use_field_stops=False)


def _is_arret(names: pd.Series) -> pd.Series:
    low = names.fillna("").str.strip().str.lower()
    return low.str.startswith("arrêt") | low.str.startswith("arret")


def arret_waypoints(folder: Path, *, sample: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude (degrees) of the hand-marked ``Arrêt`` stop waypoints."""
    wp = pd.read_csv(folder / ("sample_waypoints.csv" if sample else "waypoints.csv"))
    wp = wp[_is_arret(wp["name"])]
    return wp["lat"].to_numpy(float), wp["lon"].to_numpy(float)


def load_segments(
    folder: Path,
    *,
    sample: bool = False,
    with_field_stops: bool = False,
    gap_s: float = 300.0,
) -> list[TripSegment]:
    """Trip segments of every trace (or of the 4-trace sample), in trace then time order."""
    points = folder / ("sample_trackpoints.csv" if sample else "trackpoints.zip")
    tp = pd.read_csv(points, usecols=["trace_id", "time_utc", "lat", "lon", "speed_mps"])
    tp["time_ms"] = (pd.to_datetime(tp["time_utc"], utc=True, format="ISO8601")
                     .dt.as_unit("ms").astype("int64"))
    tp = tp.sort_values(["trace_id", "time_ms"], kind="stable")
    tp = tp[~tp.duplicated(["trace_id", "time_ms"])]
    meta = pd.read_csv(folder / "traces.csv", dtype={"line": str})
    line_for_trace = dict(zip(meta["trace_id"], meta["line"], strict=True))
    collector_for_trace = dict(zip(meta["trace_id"], meta["collector_id"], strict=True))
    mode_for_trace = dict(zip(meta["trace_id"], meta["mode_guess"], strict=True))
    stops_for_trace: dict[int, list[FieldStop]] = {}
    if with_field_stops:
        wp = pd.read_csv(folder / ("sample_waypoints.csv" if sample else "waypoints.csv"))
        wp["time_ms"] = (pd.to_datetime(wp["time_utc"], utc=True, format="ISO8601")
                         .dt.as_unit("ms").astype("int64"))
        for row in wp.itertuples(index=False):
            stops_for_trace.setdefault(int(row.trace_id), []).append(FieldStop(
                trace_key=str(row.trace_id), lat=float(row.lat), lon=float(row.lon),
                time_ms=int(row.time_ms),
                name=None if pd.isna(row.name) else str(row.name)))
    trace = tp["trace_id"].to_numpy(np.int64)
    t = tp["time_ms"].to_numpy(np.int64)
    lat = tp["lat"].to_numpy(np.float64)
    lon = tp["lon"].to_numpy(np.float64)
    speed = tp["speed_mps"].to_numpy(np.float32)
    cut = np.flatnonzero((np.diff(trace) != 0) | (np.diff(t) > gap_s * 1000)) + 1
    bounds = np.concatenate([[0], cut, [len(t)]])
    segments: list[TripSegment] = []
    seg_no: dict[int, int] = {}
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b - a < 30:
            continue
        tid = int(trace[a])
        no = seg_no.get(tid, 0)
        seg_no[tid] = no + 1
        t0, t1 = int(t[a]), int(t[b - 1])
        marked = tuple(s for s in stops_for_trace.get(tid, [])
                       if s.time_ms is not None and t0 <= s.time_ms <= t1)
        segments.append(TripSegment(
            trace=TraceMeta(trace_key=str(tid), device_id=str(collector_for_trace.get(tid)),
                            route_name=line_for_trace.get(tid),
                            vehicle_type=mode_for_trace.get(tid)),
            segment=no, time_ms=t[a:b], lat=lat[a:b], lon=lon[a:b], speed_mps=speed[a:b],
            field_stops=marked))
    return segments
