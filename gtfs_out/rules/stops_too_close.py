"""Distinct stops that sit on top of each other (likely one stop split in two)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, local_xy_m, to_float

#: Closer than this, two stop ids are almost surely the same place (metres). Stops on
#: opposite sides of a road are usually 10-30 m apart and are not flagged.
TOO_CLOSE_M = 3.0


def check(feed: GtfsTables) -> list[Finding]:
    """A warning per pair of stops closer than :data:`TOO_CLOSE_M`."""
    stops = feed.get("stops")
    if stops is None or stops.empty or "stop_lat" not in stops.columns:
        return []
    lat, lon = to_float(column(stops, "stop_lat")), to_float(column(stops, "stop_lon"))
    ok = np.isfinite(lat) & np.isfinite(lon) & (column(stops, "location_type").isin(
        ["", "0"]).to_numpy())
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return []
    x, y = local_xy_m(lat[idx], lon[idx], float(np.median(lat[idx])),
                      float(np.median(lon[idx])))
    pairs = sorted(cKDTree(np.column_stack([x, y])).query_pairs(TOO_CLOSE_M))
    ids = column(stops, "stop_id").to_numpy()
    out: list[Finding] = []
    for a, b in pairs[:200]:
        ia, ib = sorted((ids[idx[a]], ids[idx[b]]))
        d = float(np.hypot(x[a] - x[b], y[a] - y[b]))
        out.append(Finding("stops_too_close", "warning", "stops.txt", ia, "stop_id", ib,
                           f"stops {ia} and {ib} are {d:.1f} m apart; merge them if they are "
                           "one stop"))
    return sorted(out, key=Finding.sort_key)
