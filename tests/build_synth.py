"""Synthetic rides with known truth for the builder's tests.

A corridor of straight legs in a local plane around (lat0, lon0); stops every ~400 m on
each side of the road (direction 0 on the right of travel, direction 1 on the other side,
``side_m`` apart); a vehicle rides at ``speed_mps``, dwells ``dwell_s`` at every stop it
serves and is sampled every ``step_s`` with Gaussian noise of ``noise_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from transit.geo import LocalProjection
from transit.traces import TraceMeta, TripSegment

LAT0, LON0 = -1.2864, 36.8172  # Nairobi CBD


@dataclass(frozen=True)
class Corridor:
    """A polyline road (m) and the along-distance (m) of its stops."""

    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    stops_along_m: NDArray[np.float64]
    side_m: float = 6.0

    @property
    def length_m(self) -> float:
        return float(np.hypot(np.diff(self.x_m), np.diff(self.y_m)).sum())

    def point_at(self, along_m: NDArray[np.float64], direction: int
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Position at ``along_m`` from the direction's start, on its side of the road."""
        seg = np.hypot(np.diff(self.x_m), np.diff(self.y_m))
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        a = along_m if direction == 0 else cum[-1] - along_m
        x = np.interp(a, cum, self.x_m)
        y = np.interp(a, cum, self.y_m)
        i = np.clip(np.searchsorted(cum, a, side="right") - 1, 0, len(seg) - 1)
        ux, uy = np.diff(self.x_m)[i] / seg[i], np.diff(self.y_m)[i] / seg[i]
        # each direction keeps to its right of the road centre line, side_m / 2 off it;
        # the right-hand normal of the road's own direction is (uy, -ux)
        off = (self.side_m / 2) * (1.0 if direction == 0 else -1.0)
        return x + off * uy, y - off * ux

    def stops(self, direction: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The stop positions of one direction, in riding order."""
        along = self.stops_along_m if direction == 0 else np.sort(
            self.length_m - self.stops_along_m)
        return self.point_at(along, direction)


def l_corridor(length_m: float = 4000.0, spacing_m: float = 400.0) -> Corridor:
    """An L-shaped road: east, then north; stops every ``spacing_m`` from 100 m."""
    half = length_m / 2
    return Corridor(np.array([0.0, half, half]), np.array([0.0, 0.0, half]),
                    np.arange(100.0, length_m - 50.0, spacing_m))


def ride(corridor: Corridor, direction: int, *, start_ms: int, trace_key: str,
         route_name: str | None = "7", speed_mps: float = 8.0, dwell_s: float = 25.0,
         step_s: float = 1.0, noise_m: float = 5.0, skip: frozenset[int] = frozenset(),
         seed: int = 0, proj: LocalProjection | None = None, device_id: str | None = None,
         ) -> tuple[TripSegment, NDArray[np.float64]]:
    """One ride; returns the segment and the true UTC ms at which it reached each stop."""
    rng = np.random.default_rng(seed)
    proj = proj or LocalProjection(LAT0, LON0)
    along_stops = corridor.stops_along_m if direction == 0 else np.sort(
        corridor.length_m - corridor.stops_along_m)
    # time at each along-distance: piecewise, with dwells
    t_events = [0.0]
    a_events = [0.0]
    arrive = []
    t = 0.0
    a_prev = 0.0
    for k, a in enumerate(along_stops):
        t += (a - a_prev) / speed_mps
        arrive.append(t)
        t_events.append(t)
        a_events.append(a)
        if k not in skip:
            t += dwell_s
            t_events.append(t)
            a_events.append(a)
        a_prev = a
    t += (corridor.length_m - a_prev) / speed_mps
    t_events.append(t)
    a_events.append(corridor.length_m)
    ts = np.arange(0.0, t, step_s)
    along = np.interp(ts, t_events, a_events)
    x, y = corridor.point_at(along, direction)
    x = x + rng.normal(0, noise_m, len(x))
    y = y + rng.normal(0, noise_m, len(y))
    lat, lon = proj.inverse(x, y)
    speed = np.gradient(along, ts).astype(np.float32) if len(ts) > 1 else np.zeros(1, np.float32)
    seg = TripSegment(
        trace=TraceMeta(trace_key=trace_key, device_id=device_id or trace_key,
                        route_name=route_name),
        segment=0, time_ms=(start_ms + ts * 1000).astype(np.int64), lat=lat, lon=lon,
        speed_mps=speed)
    return seg, start_ms + np.array(arrive) * 1000
