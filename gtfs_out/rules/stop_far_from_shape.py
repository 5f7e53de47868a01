"""Stops served by a trip lie near that trip's shape.

The builder promises every stop within :data:`NEAR_M` of its pattern's shape (info when
not); beyond :data:`FAR_M` a rider's map would show the stop off the road (warning; the
same threshold as gtfs-validator's ``stop_too_far_from_shape``).
"""

from __future__ import annotations

import numpy as np
import shapely

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, local_xy_m, to_float

NEAR_M = 20.0
FAR_M = 100.0


def check(feed: GtfsTables) -> list[Finding]:
    """A warning per (shape, stop) farther than :data:`FAR_M`, info beyond :data:`NEAR_M`."""
    st, trips = feed.get("stop_times"), feed.get("trips")
    stops, shapes = feed.get("stops"), feed.get("shapes")
    if st is None or trips is None or stops is None or shapes is None or shapes.empty:
        return []
    if "shape_id" not in trips.columns or "stop_lat" not in stops.columns:
        return []
    lat0 = float(np.nanmedian(to_float(column(stops, "stop_lat"))))
    lon0 = float(np.nanmedian(to_float(column(stops, "stop_lon"))))
    shp = shapes.assign(_seq=to_float(column(shapes, "shape_pt_sequence")),
                        _lat=to_float(column(shapes, "shape_pt_lat")),
                        _lon=to_float(column(shapes, "shape_pt_lon")))
    lines: dict[str, shapely.LineString] = {}
    for shape_id, pts in shp.sort_values(["shape_id", "_seq"]).groupby("shape_id"):
        x, y = local_xy_m(pts["_lat"].to_numpy(), pts["_lon"].to_numpy(), lat0, lon0)
        if len(x) >= 2 and np.all(np.isfinite(x)) and np.all(np.isfinite(y)):
            lines[str(shape_id)] = shapely.LineString(np.column_stack([x, y]))
    sx, sy = local_xy_m(to_float(column(stops, "stop_lat")), to_float(column(stops, "stop_lon")),
                        lat0, lon0)
    stop_xy = dict(zip(column(stops, "stop_id"), zip(sx, sy, strict=True), strict=True))
    shape_for_trip = dict(zip(column(trips, "trip_id"), column(trips, "shape_id"), strict=True))
    pairs = {(shape_for_trip.get(t, ""), s) for t, s in zip(
        column(st, "trip_id"), column(st, "stop_id"), strict=True)}
    out: list[Finding] = []
    for shape_id, stop_id in sorted(pairs):
        line, xy = lines.get(shape_id), stop_xy.get(stop_id)
        if line is None or xy is None or not np.all(np.isfinite(xy)):
            continue
        d = float(line.distance(shapely.Point(xy)))
        if d > FAR_M:
            out.append(Finding("stop_too_far_from_shape", "warning", "stops.txt", stop_id,
                               "shape_id", shape_id,
                               f"stop is {d:.0f} m from shape {shape_id}"))
        elif d > NEAR_M:
            out.append(Finding("stop_off_shape", "info", "stops.txt", stop_id, "shape_id",
                               shape_id, f"stop is {d:.0f} m from shape {shape_id}"))
    return out
