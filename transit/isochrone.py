"""Isochrones: the area reachable from an origin within each time threshold.

For each threshold ``T`` the area is the union of walking discs: around every stop reached
in ``t < T`` (a percentile over the samples of a window and its draws, p50 by default) a
disc of radius ``min((T - t) * speed / detour, max_access_m)``, plus the disc the origin
reaches on foot alone. Discs are drawn in an azimuthal equidistant projection centred on
the origin (distances from the centre are true), then returned in WGS84.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from transit.errors import InputError
from transit.timetable import UNREACHED, Timetable

__all__ = ["build_isochrones", "isochrone_features", "stop_percentile_s"]


def stop_percentile_s(samples_s: NDArray[np.int32], percentile: float = 50) -> NDArray[np.int32]:
    """Per-stop percentile (s) of ``(n_samples, n_stops)`` travel times.

    Unreached samples count as infinitely long (UNREACHED when they reach the percentile).
    """
    if not 0 <= percentile <= 100:
        raise InputError(f"percentile {percentile}", fix="give a percentile from 0 to 100")
    values = np.percentile(samples_s, percentile, axis=0, method="inverted_cdf")
    return np.asarray(values, dtype=np.int64).clip(max=int(UNREACHED)).astype(np.int32)


def build_isochrones(tt: Timetable, origin_lat: float, origin_lon: float,
                     stop_time_s: NDArray[np.int32], minutes: Sequence[int],
                     quad_segs: int = 8) -> list[tuple[int, shapely.Geometry]]:
    """One (multi)polygon per threshold in ``minutes``, WGS84 lon/lat, ascending.

    ``stop_time_s`` is a travel time per stop (s), e.g. from :func:`stop_percentile_s`.
    """
    if not minutes or any(m <= 0 for m in minutes):
        raise InputError(f"thresholds {list(minutes)}",
                         fix="give positive minutes, e.g. 15,30,45,60")
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={origin_lat} +lon_0={origin_lon} +datum=WGS84 "
                          "+units=m")
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    back = Transformer.from_crs(aeqd, "EPSG:4326", always_xy=True)
    x, y = fwd.transform(tt.stop_lon, tt.stop_lat)
    speed = tt.walk.speed_mps / tt.walk.detour_factor
    out: list[tuple[int, shapely.Geometry]] = []
    for limit in sorted({int(m) for m in minutes}):
        limit_s = limit * 60
        left_s = limit_s - stop_time_s.astype(np.int64)
        ok = (stop_time_s != UNREACHED) & (left_s > 0)
        radius = np.minimum(left_s[ok] * speed, tt.walk.max_access_m)
        discs = shapely.buffer(shapely.points(x[ok], y[ok]), radius, quad_segs=quad_segs)
        origin = shapely.buffer(shapely.points(0.0, 0.0), limit_s * speed, quad_segs=quad_segs)
        area = shapely.union_all(np.concatenate([discs, [origin]]))
        wgs = shapely.transform(area, lambda xy: np.column_stack(back.transform(xy[:, 0],
                                                                                 xy[:, 1])))
        out.append((limit, shapely.set_precision(wgs, 1e-6)))
    return out


def isochrone_features(isochrones: list[tuple[int, shapely.Geometry]],
                       properties: dict[str, object]) -> dict[str, object]:
    """A GeoJSON FeatureCollection, one feature per threshold (``minutes`` property)."""
    features = []
    for limit, geom in isochrones:
        features.append({"type": "Feature",
                         "properties": {"minutes": limit, **properties},
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}
