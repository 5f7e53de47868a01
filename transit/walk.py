"""Walking: access and egress legs between a coordinate and stops, transfers between stops.

Every walk is the straight-line (great-circle) distance times a detour factor, at a constant
walking speed, rounded to whole seconds. The same rule serves access (origin -> stop), egress
(stop -> destination), transfers (stop -> stop, between two rides) and the direct walk
(origin -> destination, always a candidate journey). These are the defaults of Conveyal R5
and of most accessibility studies: a 1.3 detour factor approximates the street network
(Levinson & El-Geneidy 2009 report network/Euclidean ratios of 1.2-1.4 in cities) and
1.2 m/s is a slow adult pace (Fitzpatrick et al. 2006, pedestrian design speed).

References
----------
D. Levinson and A. El-Geneidy, "The minimum circuity frontier and the journey to work",
Regional Science and Urban Economics 39(6), 2009.
K. Fitzpatrick, M. A. Brewer, S. Turner, "Another look at pedestrian walking speed",
Transportation Research Record 1982, 2006.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from transit.errors import InputError

__all__ = [
    "EARTH_RADIUS_M",
    "WalkParams",
    "build_transfers",
    "haversine_m",
    "unit_vectors",
    "walk_s_for_m",
    "walks_to_stops",
]

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class WalkParams:
    """How people walk, for every walking leg of a journey.

    Parameters
    ----------
    detour_factor
        Network distance over straight-line distance (dimensionless), default 1.3.
    speed_mps
        Walking speed, metres per second, default 1.2.
    max_access_m
        Longest straight-line walk from the origin to a first stop, and from a last stop to
        the destination, metres, default 1,000.
    max_transfer_m
        Longest straight-line walk between two stops when changing vehicles, metres,
        default 500.
    """

    detour_factor: float = 1.3
    speed_mps: float = 1.2
    max_access_m: float = 1000.0
    max_transfer_m: float = 500.0

    def __post_init__(self) -> None:
        for name in ("detour_factor", "speed_mps"):
            if not getattr(self, name) > 0:
                raise InputError(f"walking {name} must be positive, got {getattr(self, name)}",
                                 fix=f"give a {name} above zero")
        for name in ("max_access_m", "max_transfer_m"):
            if not getattr(self, name) >= 0:
                raise InputError(f"walking {name} must be zero or more, got {getattr(self, name)}",
                                 fix=f"give a {name} of zero or more metres")

    def key(self) -> str:
        """A short text that identifies these parameters (for cache keys)."""
        return (f"d{self.detour_factor:g}-v{self.speed_mps:g}-a{self.max_access_m:g}"
                f"-t{self.max_transfer_m:g}")


def haversine_m(lat1: NDArray[np.float64] | float, lon1: NDArray[np.float64] | float,
                lat2: NDArray[np.float64] | float,
                lon2: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Great-circle distance in metres between WGS84 points (degrees), vectorised."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))),
                      dtype=np.float64)


def unit_vectors(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Earth-centred unit vectors ``(n, 3)`` of WGS84 points (degrees, spherical Earth).

    The chord between two such vectors times :data:`EARTH_RADIUS_M` is never longer than
    the great-circle distance, so it gives cheap lower bounds on travel distance.
    """
    phi = np.radians(np.asarray(lat, np.float64))
    lam = np.radians(np.asarray(lon, np.float64))
    return np.ascontiguousarray(np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam),
                                          np.sin(phi)], axis=-1))


def walk_s_for_m(distance_m: NDArray[np.float64] | float, walk: WalkParams) -> NDArray[np.int32]:
    """Walking duration in whole seconds for straight-line distances in metres."""
    return np.asarray(np.rint(np.asarray(distance_m) * walk.detour_factor / walk.speed_mps),
                      dtype=np.int32)


def walks_to_stops(stop_lat: NDArray[np.float64], stop_lon: NDArray[np.float64], lat: float,
                   lon: float, walk: WalkParams,
                   max_m: float | None = None) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Stops within walking reach of a point, and the walk to each.

    Parameters
    ----------
    stop_lat, stop_lon
        Stop coordinates, WGS84 degrees.
    lat, lon
        The point, WGS84 degrees.
    walk
        Walking rules.
    max_m
        Reach in straight-line metres; ``walk.max_access_m`` when None.

    Returns
    -------
    (stops, walk_s)
        Stop indices in increasing order and the walk durations (seconds) to them.
    """
    reach_m = walk.max_access_m if max_m is None else max_m
    # A great circle is never shorter than its north-south part, so only stops within the
    # reach in latitude need the exact distance (the same function on fewer points).
    dlat_deg = np.degrees(reach_m / EARTH_RADIUS_M) * (1 + 1e-9) + 1e-12
    near = np.flatnonzero(np.abs(stop_lat - lat) <= dlat_deg)
    d_m = haversine_m(stop_lat[near], stop_lon[near], lat, lon)
    keep = d_m <= reach_m
    return near[keep].astype(np.int32), walk_s_for_m(d_m[keep], walk)


@njit(cache=True)
def _pairs_within(x_m: NDArray[np.float64], y_m: NDArray[np.float64], order: NDArray[np.int64],
                  reach_m: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    # Sweep along x: only stops whose x differ by at most the reach can be neighbours.
    n = x_m.shape[0]
    cap = 16 * n + 16
    src = np.empty(cap, np.int64)
    dst = np.empty(cap, np.int64)
    count = 0
    for a in range(n):
        i = order[a]
        for b in range(a + 1, n):
            j = order[b]
            if x_m[j] - x_m[i] > reach_m:
                break
            if abs(y_m[j] - y_m[i]) <= reach_m:
                if count + 2 > cap:
                    cap *= 2
                    src2 = np.empty(cap, np.int64)
                    dst2 = np.empty(cap, np.int64)
                    src2[:count] = src[:count]
                    dst2[:count] = dst[:count]
                    src = src2
                    dst = dst2
                src[count] = i
                dst[count] = j
                src[count + 1] = j
                dst[count + 1] = i
                count += 2
    return src[:count], dst[:count]


def build_transfers(stop_lat: NDArray[np.float64], stop_lon: NDArray[np.float64],
                    walk: WalkParams) -> tuple[NDArray[np.int32], NDArray[np.int32],
                                               NDArray[np.int32]]:
    """Walking transfers between every pair of distinct stops within ``max_transfer_m``.

    Returns
    -------
    (transfer_ptr, transfer_stop, transfer_s)
        A CSR adjacency: the transfers from stop ``s`` are
        ``transfer_stop[transfer_ptr[s]:transfer_ptr[s + 1]]`` with walk durations
        ``transfer_s`` (seconds), shortest walk first (ties by stop index), so a search
        can stop relaxing a stop's transfers at the first one too long to matter.
    """
    n = stop_lat.shape[0]
    if n == 0 or walk.max_transfer_m <= 0:
        empty = np.zeros(0, np.int32)
        return np.zeros(n + 1, np.int32), empty, empty.copy()
    lat0 = float(np.radians(np.mean(stop_lat)))
    # Equirectangular metres; widened by 1% so the sweep never drops a true neighbour.
    x_m = np.radians(stop_lon) * EARTH_RADIUS_M * np.cos(lat0)
    y_m = np.radians(stop_lat) * EARTH_RADIUS_M
    reach_m = walk.max_transfer_m * 1.01 + 1.0
    # cos(lat) varies over the area: where it is smaller than at lat0, x overstates the
    # distance, so widen the sweep by the worst ratio (the haversine filter below is exact).
    ratio = float(np.min(np.cos(np.radians(stop_lat)) / np.cos(lat0)))
    order = np.lexsort((y_m, x_m))
    src, dst = _pairs_within(x_m, y_m, order.astype(np.int64), reach_m / max(ratio, 1e-6))
    d_m = haversine_m(stop_lat[src], stop_lon[src], stop_lat[dst], stop_lon[dst])
    keep = d_m <= walk.max_transfer_m
    src, dst, d_m = src[keep], dst[keep], d_m[keep]
    walk_s = walk_s_for_m(d_m, walk)
    by = np.lexsort((dst, walk_s, src))
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, src + 1, 1)
    return (np.cumsum(ptr).astype(np.int32), dst[by].astype(np.int32), walk_s[by])
