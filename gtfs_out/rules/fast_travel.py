"""Implausibly fast travel between consecutive stops of a trip (a timing or position bug)."""

from __future__ import annotations

import numpy as np

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, haversine_m, ordered_stop_times, to_float

#: Faster than this between two stops is implausible for a minibus in a city (m/s;
#: 100 km/h).
MAX_SPEED_MPS = 100 / 3.6
#: Zero-second hops are tolerated up to this distance (rounded times), metres.
ZERO_TIME_MAX_M = 100.0


def check(feed: GtfsTables) -> list[Finding]:
    """A warning per stop-to-stop hop faster than :data:`MAX_SPEED_MPS`."""
    st, stops = feed.get("stop_times"), feed.get("stops")
    if st is None or stops is None or st.empty or "stop_lat" not in stops.columns:
        return []
    st = ordered_stop_times(st)
    pos = {sid: (la, lo) for sid, la, lo in zip(
        column(stops, "stop_id"), to_float(column(stops, "stop_lat")),
        to_float(column(stops, "stop_lon")), strict=True)}
    lat = np.array([pos.get(s, (np.nan, np.nan))[0] for s in st["stop_id"]])
    lon = np.array([pos.get(s, (np.nan, np.nan))[1] for s in st["stop_id"]])
    trip = st["trip_id"].to_numpy()
    same = trip[1:] == trip[:-1]
    dist_m = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt_s = st["_arr"].to_numpy()[1:] - st["_dep"].to_numpy()[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        fast = same & np.isfinite(dist_m) & np.isfinite(dt_s) & (
            ((dt_s > 0) & (dist_m / np.maximum(dt_s, 1e-9) > MAX_SPEED_MPS))
            | ((dt_s <= 0) & (dist_m > ZERO_TIME_MAX_M)))
    out: list[Finding] = []
    for i in np.flatnonzero(fast)[:200]:
        speed = dist_m[i] / dt_s[i] * 3.6 if dt_s[i] > 0 else float("inf")
        out.append(Finding("fast_travel_between_consecutive_stops", "warning",
                           "stop_times.txt", f"{trip[i]}#{st['stop_sequence'].iloc[i + 1]}",
                           "arrival_time", str(st["arrival_time"].iloc[i + 1]),
                           f"{dist_m[i]:.0f} m from {st['stop_id'].iloc[i]} in "
                           f"{dt_s[i]:.0f} s ({speed:.0f} km/h)"))
    return out
