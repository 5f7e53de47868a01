"""Required files, columns and cells (GTFS Schedule reference, "Field definitions")."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import row_label

#: Columns that must exist and be non-empty in every row, per file.
REQUIRED: dict[str, tuple[str, ...]] = {
    "agency": ("agency_name", "agency_url", "agency_timezone"),
    "stops": ("stop_id",),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday",
                 "saturday", "sunday", "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
    "feed_info": ("feed_publisher_name", "feed_publisher_url", "feed_lang"),
}


def check(feed: GtfsTables) -> list[Finding]:
    """Missing calendar (both files), empty required files, missing required columns and
    empty required cells."""
    out: list[Finding] = []
    if "calendar" not in feed and "calendar_dates" not in feed:
        out.append(Finding("missing_required_file", "error", "calendar.txt",
                           message="a feed needs calendar.txt or calendar_dates.txt"))
    for name in ("agency", "stops", "routes", "trips", "stop_times"):
        frame = feed.get(name)
        if frame is not None and frame.empty:
            out.append(Finding("empty_file", "error", f"{name}.txt",
                               message=f"{name}.txt has no rows; a feed needs at least one"))
    for name, cols in REQUIRED.items():
        frame = feed.get(name)
        if frame is None:
            continue
        for col in cols:
            if col not in frame.columns:
                out.append(Finding("missing_required_column", "error", f"{name}.txt",
                                   field=col, message=f"{name}.txt has no {col} column"))
                continue
            empty = (frame[col].astype(str).str.strip() == "").to_numpy().nonzero()[0]
            for i in empty[:50]:
                out.append(Finding("missing_required_field", "error", f"{name}.txt",
                                   row_label(int(i)), col, "",
                                   f"{col} is empty"))
    stops = feed.get("stops")
    if stops is not None and "stop_name" not in stops.columns:
        out.append(Finding("missing_required_column", "error", "stops.txt", field="stop_name",
                           message="stops.txt has no stop_name column"))
    return out
