"""Pattern shapes from the traces themselves: a robust central line, no street map needed.

The ride that served most of the pattern's stops is the reference. Its single-fix GPS
jumps (a fix far off the line through its neighbours where the path turns back on itself,
fast enough to pass the cleaner's speed test) are dropped first; it is then resampled every
``step_m``; each resampled point moves to the median of itself and the nearest fix of every
other ride within ``max_offset_m`` (a per-point median is robust to the GPS jumps of the
other rides). The line is then simplified (Douglas & Peucker 1973) and every stop farther
than ``stop_tolerance_m`` from it is inserted where it projects, so all stops lie on the
shape.

References
----------
Douglas, D. H., Peucker, T. K. (1973). Algorithms for the reduction of the number of points
required to represent a digitized line or its caricature. Cartographica 10(2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from shapely import LineString, distance, line_locate_point, points

from transit._stats import nanmedian_cols

__all__ = ["drop_spikes", "estimate_shape", "resample_line"]


def resample_line(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                  step_m: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points every ``step_m`` metres along a polyline (both ends kept)."""
    seg = np.hypot(np.diff(x_m), np.diff(y_m))
    along = np.concatenate([[0.0], np.cumsum(seg)])
    if along[-1] <= 0:
        return x_m[:1].copy(), y_m[:1].copy()
    at = np.append(np.arange(0.0, along[-1], step_m), along[-1])
    return np.interp(at, along, x_m), np.interp(at, along, y_m)


def estimate_shape(
    rides: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]],
    stop_x_m: NDArray[np.float64],
    stop_y_m: NDArray[np.float64],
    *,
    step_m: float = 10.0,
    max_offset_m: float = 40.0,
    simplify_m: float = 3.0,
    stop_tolerance_m: float = 20.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The central line of a pattern, in local metres.

    Parameters
    ----------
    rides
        Fix positions ``(x_m, y_m)`` of each ride, clipped to the pattern's first and last
        served stop; the first ride is the reference.
    stop_x_m, stop_y_m
        The pattern's stops in order.
    step_m, max_offset_m, simplify_m, stop_tolerance_m
        Resampling step, farthest fix of another ride that counts, Douglas-Peucker
        tolerance and the largest allowed stop-to-shape distance (all metres).

    Returns
    -------
    x_m, y_m
        The shape, from the first stop to the last, every stop within ``stop_tolerance_m``.
    """
    rx, ry = drop_spikes(*rides[0], max_offset_m)
    if len(rx) < 2:
        rx, ry = stop_x_m.copy(), stop_y_m.copy()
    px, py = resample_line(rx, ry, step_m)
    stack_x, stack_y = [px[:, None]], [py[:, None]]
    for ox, oy in rides[1:]:
        if len(ox) == 0:
            continue
        d, j = cKDTree(np.c_[ox, oy]).query(np.c_[px, py], distance_upper_bound=max_offset_m)
        near = np.isfinite(d)
        jj = np.minimum(j, len(ox) - 1)
        stack_x.append(np.where(near, ox[jj], np.nan)[:, None])
        stack_y.append(np.where(near, oy[jj], np.nan)[:, None])
    cx = nanmedian_cols(np.hstack(stack_x).T)
    cy = nanmedian_cols(np.hstack(stack_y).T)
    # start and end exactly at the terminal stops
    cx = np.concatenate([[stop_x_m[0]], cx, [stop_x_m[-1]]])
    cy = np.concatenate([[stop_y_m[0]], cy, [stop_y_m[-1]]])
    line = LineString(np.c_[cx, cy]).simplify(simplify_m, preserve_topology=False)
    coords = np.asarray(line.coords)
    if len(coords) < 2:
        coords = np.c_[stop_x_m, stop_y_m][[0, -1]]
    return _insert_far_stops(coords, stop_x_m, stop_y_m, stop_tolerance_m)


def drop_spikes(x_m: NDArray[np.float64], y_m: NDArray[np.float64], reach_m: float,
                max_turn_back_cos: float = -0.5,
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A ride's fixes without its single-fix spikes.

    A fix is a spike when both its steps are longer than ``reach_m`` (m), it lies farther
    than ``reach_m`` from the line through its two neighbours, and the path turns back
    there (the cosine of the angle between its two steps below ``max_turn_back_cos``: more
    than 120 degrees). A vehicle does not drive out and back within one sampling step; a
    corner (90 degrees) is kept however far it sticks out.
    """
    if len(x_m) < 3:
        return x_m, y_m
    ax, ay = x_m[1:-1] - x_m[:-2], y_m[1:-1] - y_m[:-2]
    bx, by = x_m[2:] - x_m[1:-1], y_m[2:] - y_m[1:-1]
    cx, cy = x_m[2:] - x_m[:-2], y_m[2:] - y_m[:-2]
    la, lb, lc = np.hypot(ax, ay), np.hypot(bx, by), np.hypot(cx, cy)
    long_steps = np.minimum(la, lb) > reach_m  # so la, lb > 0 below
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(lc > 0, np.abs(ax * cy - ay * cx) / lc, la)
        turn_back = (ax * bx + ay * by) / (la * lb) < max_turn_back_cos
    spike = long_steps & (off > reach_m) & turn_back
    keep = np.concatenate([[True], ~spike, [True]])
    return x_m[keep], y_m[keep]


def _insert_far_stops(coords: NDArray[np.float64], sx: NDArray[np.float64],
                      sy: NDArray[np.float64], tol_m: float) -> tuple[NDArray[np.float64],
                                                                     NDArray[np.float64]]:
    """Insert stops farther than ``tol_m`` into the line where they project.

    Inserting a stop bends the line and can move it away from a stop nearby, so this
    repeats; stops still too far after a few rounds get a spur (projection, stop,
    projection), which leaves the rest of the line as it is.
    """
    pts = points(np.c_[sx, sy])
    for attempt in range(6):
        line = LineString(coords)
        far = np.asarray(distance(line, pts), float) > tol_m * 0.9
        if not far.any():
            break
        at_far = np.asarray(line_locate_point(line, pts[far]), float)
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
        if attempt < 5:
            extra = np.c_[sx[far], sy[far]]
            at_extra = at_far
            rank = np.zeros(len(at_far))
        else:
            proj = np.asarray([line.interpolate(a).coords[0] for a in at_far.tolist()])
            extra = np.vstack([proj, np.c_[sx[far], sy[far]], proj])
            at_extra = np.tile(at_far, 3)
            rank = np.repeat([1.0, 2.0, 3.0], len(at_far))
        at = np.concatenate([along, at_extra])
        xy = np.vstack([coords, extra])
        # stable: an inserted point goes after the vertex at the same distance
        key = np.concatenate([np.zeros(len(along)), rank + 1])
        coords = xy[np.lexsort((key, at))]
        keep = np.concatenate([[True], np.hypot(*np.diff(coords, axis=0).T) > 1e-6])
        coords = coords[keep]
    return coords[:, 0].copy(), coords[:, 1].copy()
