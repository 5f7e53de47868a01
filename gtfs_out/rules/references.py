"""Foreign keys resolve: trips -> routes/shapes/services, stop_times -> trips/stops..."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column

#: (child file, child column, parent file, parent column)
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("routes", "agency_id", "agency", "agency_id"),
    ("trips", "route_id", "routes", "route_id"),
    ("trips", "shape_id", "shapes", "shape_id"),
    ("stop_times", "trip_id", "trips", "trip_id"),
    ("stop_times", "stop_id", "stops", "stop_id"),
    ("frequencies", "trip_id", "trips", "trip_id"),
)


def check(feed: GtfsTables) -> list[Finding]:
    """An error for every distinct child value with no parent row."""
    out: list[Finding] = []
    for child, col, parent, pcol in REFERENCES:
        cframe, pframe = feed.get(child), feed.get(parent)
        if cframe is None or col not in cframe.columns:
            continue
        values = set(column(cframe, col)) - {""}
        known = set(column(pframe, pcol)) if pframe is not None else set()
        for value in sorted(values - known)[:50]:
            out.append(Finding("foreign_key_violation", "error", f"{child}.txt", value, col,
                               value, f"{col} {value!r} is not in {parent}.txt"))
    trips = feed.get("trips")
    if trips is not None and "service_id" in trips.columns:
        services: set[str] = set()
        for name in ("calendar", "calendar_dates"):
            frame = feed.get(name)
            if frame is not None:
                services |= set(column(frame, "service_id"))
        for value in sorted(set(trips["service_id"]) - services - {""})[:50]:
            out.append(Finding("foreign_key_violation", "error", "trips.txt", value,
                               "service_id", value,
                               f"service_id {value!r} is in neither calendar file"))
    return out
