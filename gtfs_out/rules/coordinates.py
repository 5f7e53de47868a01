"""Stop and shape coordinates are numbers in range and not (0, 0)."""

from __future__ import annotations

import numpy as np

from gtfs_out.findings import Finding
from gtfs_out.read import GtfsTables
from gtfs_out.rules._common import column, row_label, to_float

_FILES = (("stops", "stop_id", "stop_lat", "stop_lon"),
          ("shapes", "shape_id", "shape_pt_lat", "shape_pt_lon"))


def check(feed: GtfsTables) -> list[Finding]:
    """Errors for unparsable, out-of-range and null-island points (stops without a
    location, e.g. generic nodes, may leave them empty)."""
    out: list[Finding] = []
    for name, id_col, lat_col, lon_col in _FILES:
        frame = feed.get(name)
        if frame is None or lat_col not in frame.columns or lon_col not in frame.columns:
            continue
        lat, lon = to_float(frame[lat_col]), to_float(frame[lon_col])
        ids = column(frame, id_col).to_numpy()
        lat_txt, lon_txt = frame[lat_col].astype(str).to_numpy(), frame[lon_col].to_numpy()
        blank = (np.char.strip(lat_txt.astype(str)) == "") & (
            np.char.strip(lon_txt.astype(str)) == "")
        bad = ~blank & (~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90)
                        | (np.abs(lon) > 180))
        near_origin = ~bad & ~blank & (np.abs(lat) < 1e-6) & (np.abs(lon) < 1e-6)
        for i in np.flatnonzero(bad)[:50]:
            out.append(Finding("invalid_coordinates", "error", f"{name}.txt",
                               ids[i] or row_label(int(i)), f"{lat_col},{lon_col}",
                               f"{lat_txt[i]},{lon_txt[i]}",
                               "latitude must be in [-90, 90] and longitude in [-180, 180]"))
        for i in np.flatnonzero(near_origin)[:50]:
            out.append(Finding("point_near_origin", "error", f"{name}.txt",
                               ids[i] or row_label(int(i)), f"{lat_col},{lon_col}",
                               f"{lat_txt[i]},{lon_txt[i]}",
                               "point at (0, 0): the phone or editor had no position"))
    return out
