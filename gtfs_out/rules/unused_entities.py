"""Entities nothing refers to: stops without stop times, unused shapes, empty routes/trips."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column


def check(feed: GtfsTables) -> list[Finding]:
    """Warnings for routes without trips, trips without stop times and unused shapes;
    info for stops no trip serves."""
    out: list[Finding] = []
    st, trips = feed.get("stop_times"), feed.get("trips")
    served = set(column(st, "stop_id")) if st is not None else set()
    timed = set(column(st, "trip_id")) if st is not None else set()
    trip_ids = set(column(trips, "trip_id")) if trips is not None else set()
    used_routes = set(column(trips, "route_id")) if trips is not None else set()
    used_shapes = set(column(trips, "shape_id")) if trips is not None else set()
    stops, routes, shapes = feed.get("stops"), feed.get("routes"), feed.get("shapes")
    if stops is not None and not stops.empty:
        platform = column(stops, "location_type").isin(["", "0"])
        for sid in sorted(set(column(stops, "stop_id")[platform]) - served)[:200]:
            out.append(Finding("unused_stop", "info", "stops.txt", sid,
                               message="no trip serves this stop"))
    if routes is not None and not routes.empty:
        for rid in sorted(set(column(routes, "route_id")) - used_routes)[:200]:
            out.append(Finding("route_without_trips", "warning", "routes.txt", rid,
                               message="the route has no trips"))
    for tid in sorted(trip_ids - timed)[:200]:
        out.append(Finding("trip_without_stop_times", "warning", "trips.txt", tid,
                           message="the trip has no stop times"))
    if shapes is not None and not shapes.empty:
        for sid in sorted(set(column(shapes, "shape_id")) - used_shapes)[:200]:
            out.append(Finding("unused_shape", "warning", "shapes.txt", sid,
                               message="no trip uses this shape"))
    return out
