"""Where a pattern's stops sit along its shape, in a local metric plane (for simulation
and evaluation).

A local equirectangular plane around the shape's mean position (exact to ~0.1 % within
50 km, plenty for one city); stops are projected on the shape in order, so a shape that
passes a stop twice (loops, out-and-back) gets the pass that keeps the sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from transit.model import Pattern, Shape, Stop

__all__ = ["EARTH_RADIUS_M", "PatternGeometry", "Plane", "build_pattern_geometry",
           "locate_ordered", "project_ordered"]

EARTH_RADIUS_M = 6_371_008.8
#: A later pass of the shape is taken only when it is this much closer to the stop (m).
PASS_TOLERANCE_M = 15.0


@dataclass(frozen=True, slots=True)
class Plane:
    """Equirectangular metres around ``(lat0, lon0)`` degrees."""

    lat0: float
    lon0: float

    @property
    def _k(self) -> tuple[float, float]:
        m_per_deg = np.pi / 180 * EARTH_RADIUS_M
        return m_per_deg * float(np.cos(np.radians(self.lat0))), m_per_deg

    def to_xy(self, lat: NDArray[np.float64], lon: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Degrees to metres east/north of the origin."""
        kx, ky = self._k
        return (np.asarray(lon) - self.lon0) * kx, (np.asarray(lat) - self.lat0) * ky

    def to_latlon(self, x: NDArray[np.float64], y: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Metres east/north back to (lat, lon) degrees."""
        kx, ky = self._k
        return self.lat0 + np.asarray(y) / ky, self.lon0 + np.asarray(x) / kx


@dataclass(frozen=True, slots=True)
class PatternGeometry:
    """A pattern on its shape: shape vertices (m), cumulative length ``shape_s`` (m),
    stop positions along it ``stop_s`` (m, non-decreasing) and their offsets from the
    shape ``stop_offset_m``."""

    plane: Plane
    shape_x: NDArray[np.float64]
    shape_y: NDArray[np.float64]
    shape_s: NDArray[np.float64]
    stop_s: NDArray[np.float64]
    stop_offset_m: NDArray[np.float64]

    def to_latlon(self, x: NDArray[np.float64], y: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Plane metres to degrees."""
        return self.plane.to_latlon(x, y)

    def point_at(self, s_m: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                          NDArray[np.float64]]:
        """(lat, lon) of the points ``s_m`` metres along the shape."""
        return self.to_latlon(np.interp(s_m, self.shape_s, self.shape_x),
                              np.interp(s_m, self.shape_s, self.shape_y))


@numba.njit(cache=True)
def _locate(px: NDArray[np.float64], py: NDArray[np.float64], sx: NDArray[np.float64],
            sy: NDArray[np.float64], tolerance_m: float
            ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    n_seg = px.shape[0] - 1
    cum = np.zeros(n_seg + 1)
    for k in range(n_seg):
        cum[k + 1] = cum[k] + np.hypot(px[k + 1] - px[k], py[k + 1] - py[k])
    seg = np.zeros(sx.shape[0], dtype=np.int64)
    frac = np.zeros(sx.shape[0])
    offset = np.zeros(sx.shape[0])
    t_k = np.zeros(n_seg)
    d_k = np.zeros(n_seg)
    prev = 0.0
    first = 0
    for i in range(sx.shape[0]):
        best = np.inf
        for k in range(first, n_seg):
            dx, dy = px[k + 1] - px[k], py[k + 1] - py[k]
            l2 = max(dx * dx + dy * dy, 1e-12)
            t = min(1.0, max(0.0, ((sx[i] - px[k]) * dx + (sy[i] - py[k]) * dy) / l2))
            t_k[k] = t
            d_k[k] = np.hypot(px[k] + t * dx - sx[i], py[k] + t * dy - sy[i])
            if cum[k] + t * (cum[k + 1] - cum[k]) >= prev - 1e-6 and d_k[k] < best:
                best = d_k[k]
        if best == np.inf:
            if i > 0:
                seg[i], frac[i] = seg[i - 1], frac[i - 1]
            else:
                seg[i], frac[i] = n_seg - 1, 1.0
            offset[i] = np.hypot(px[-1] - sx[i], py[-1] - sy[i])
            continue
        # the earliest admissible pass within the tolerance of the best one
        for k in range(first, n_seg):
            along = cum[k] + t_k[k] * (cum[k + 1] - cum[k])
            if along >= prev - 1e-6 and d_k[k] <= best + tolerance_m:
                seg[i], frac[i], offset[i] = k, t_k[k], d_k[k]
                prev = max(prev, along)
                first = k
                break
    return seg, frac, offset


def locate_ordered(px: NDArray[np.float64], py: NDArray[np.float64],
                   sx: NDArray[np.float64], sy: NDArray[np.float64]
                   ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Locate points ``(sx, sy)`` in order on the polyline ``(px, py)`` (metres).

    Returns, per point, the index of the polyline segment it falls on, the fraction
    along that segment (0..1) and its distance from the line (m). Each point takes the
    earliest pass at or after the previous point that is within
    :data:`PASS_TOLERANCE_M` of its nearest admissible pass, so positions never go back.
    """
    if len(px) < 2:
        raise ValueError("a polyline needs two points")
    return _locate(np.ascontiguousarray(px, dtype=np.float64),
                   np.ascontiguousarray(py, dtype=np.float64),
                   np.ascontiguousarray(sx, dtype=np.float64),
                   np.ascontiguousarray(sy, dtype=np.float64), PASS_TOLERANCE_M)


def project_ordered(px: NDArray[np.float64], py: NDArray[np.float64],
                    sx: NDArray[np.float64], sy: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Project points ``(sx, sy)`` in order onto the polyline ``(px, py)``
    (see :func:`locate_ordered`).

    Returns the cumulative vertex distances, each point's distance along the line
    (non-decreasing) and its distance from the line, all metres.
    """
    seg_len = np.hypot(np.diff(px), np.diff(py))
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    seg, frac, offset = locate_ordered(px, py, sx, sy)
    along = np.maximum.accumulate(cum[seg] + frac * seg_len[seg]) if len(seg) else cum[:0]
    return cum, along, offset


def build_pattern_geometry(pattern: Pattern, stops: Mapping[str, Stop],
                           shape: Shape) -> PatternGeometry:
    """The pattern's stops placed on its shape (see :func:`project_ordered`)."""
    lat, lon = np.asarray(shape.lat, float), np.asarray(shape.lon, float)
    keep = np.concatenate([[True], (np.diff(lat) != 0) | (np.diff(lon) != 0)])
    lat, lon = lat[keep], lon[keep]
    plane = Plane(float(lat.mean()), float(lon.mean()))
    px, py = plane.to_xy(lat, lon)
    slat = np.array([stops[s].stop_lat for s in pattern.stop_ids])
    slon = np.array([stops[s].stop_lon for s in pattern.stop_ids])
    sx, sy = plane.to_xy(slat, slon)
    if len(px) < 2:
        px, py = np.append(px, sx[-1]), np.append(py, sy[-1])
    cum, along, offset = project_ordered(px, py, sx, sy)
    return PatternGeometry(plane, px, py, cum, along, offset)
