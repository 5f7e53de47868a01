"""Primary keys are unique (``stop_id``, ``(trip_id, stop_sequence)``...)."""

from __future__ import annotations

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables

#: Primary key columns per file.
KEYS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id",),
    "stops": ("stop_id",),
    "routes": ("route_id",),
    "trips": ("trip_id",),
    "stop_times": ("trip_id", "stop_sequence"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id", "date"),
    "frequencies": ("trip_id", "start_time"),
    "shapes": ("shape_id", "shape_pt_sequence"),
}


def check(feed: GtfsTables) -> list[Finding]:
    """One error per repeated key value."""
    out: list[Finding] = []
    for name, cols in KEYS.items():
        frame = feed.get(name)
        if frame is None or not all(c in frame.columns for c in cols) or frame.empty:
            continue
        dup = frame[frame.duplicated(list(cols), keep="first")]
        for _, row in dup.head(50).iterrows():
            value = ",".join(str(row[c]) for c in cols)
            out.append(Finding("duplicate_key", "error", f"{name}.txt", value, "+".join(cols),
                               value, f"{'+'.join(cols)} {value} appears more than once"))
    return out
