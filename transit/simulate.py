"""Ride simulated vehicles along a network's shapes and record phone-like traces.

Pure and seeded: :func:`simulate_rides` takes a :class:`~transit.model.Network` (usually a
real feed read back with ``gtfs_out.network_read``) and returns traces plus the ground
truth (:mod:`transit.sim_truth`). Same network, config and seed give the same output.

What a ride does (all durations in seconds, distances in metres):

* the vehicle departs its terminal at a departure slot of the pattern's frequency windows
  (pairs of consecutive slots, so headways are observable), both directions;
* between stops it follows the shape; the stop-to-stop run time is the feed's run time
  times the traffic factor (:data:`BAND_FACTORS`) of the band the vehicle leaves the stop
  in, times a per-ride jitter (uniform, mean 1);
* at served stops it dwells ``dwell_s``; some intermediate stops are skipped (no halt);
  some blocks hold the vehicle mid-block (traffic, ``hold_s``) inside the run time;
* the vehicle halts at the stop's projection on the shape (the truth stop position);
* the phone samples every ``sampling_s`` (per device), with AR(1)-correlated noise of
  ``noise_m`` RMS, occasional jumps of hundreds of metres, gaps of minutes, parked minutes
  before and after full rides, and partial rides (boarding/alighting mid-route).

References
----------
Zandbergen, P. A. (2009). Accuracy of iPhone locations: a comparison of assisted GPS,
WiFi and cellular positioning. *Transactions in GIS* 13(s1), 5-25 (phone GPS errors of
~5-10 m median, tens of metres in urban canyons, temporally correlated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from transit.model import DEFAULT_TIME_BANDS, Network, Pattern
from transit.sim_geometry import PatternGeometry, build_pattern_geometry

__all__ = [
    "BAND_FACTORS",
    "RideTruth",
    "SimConfig",
    "SimResult",
    "SimTrace",
    "band_of",
    "simulate_rides",
]

#: Run-time multiplier per default band (peak traffic is slower).
BAND_FACTORS: dict[str, float] = {"early": 0.85, "am_peak": 1.25, "midday": 1.0,
                                  "pm_peak": 1.3, "evening": 0.95}
#: A simulated minibus never runs faster than this between stops (m/s, 72 km/h).
MAX_SPEED_MPS = 20.0


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Knobs of the simulation; ranges are ``(low, high)`` drawn uniformly."""

    rides_per_direction: int = 4
    n_devices: int = 12
    sampling_s: tuple[float, float] = (1.0, 15.0)
    noise_m: tuple[float, float] = (5.0, 25.0)
    noise_corr_s: float = 20.0
    jump_prob: float = 0.003
    jump_m: tuple[float, float] = (200.0, 800.0)
    gap_prob: float = 0.3
    gap_s: tuple[float, float] = (60.0, 300.0)
    skip_prob: float = 0.1
    dwell_s: tuple[float, float] = (10.0, 60.0)
    hold_prob: float = 0.15
    hold_s: tuple[float, float] = (20.0, 90.0)
    partial_prob: float = 0.25
    parked_s: tuple[float, float] = (60.0, 300.0)
    run_jitter: float = 0.08
    name_variant_prob: float = 0.1

    @property
    def mean_dwell_s(self) -> float:
        """Expected dwell at a served stop, seconds."""
        return (self.dwell_s[0] + self.dwell_s[1]) / 2


@dataclass(frozen=True, slots=True)
class SimTrace:
    """One phone recording. ``time_s``: clock seconds since service-day midnight (local);
    ``lat``/``lon`` WGS84 degrees; ``speed_mps`` as the phone reports it; ``accuracy_m``
    the phone's own (optimistic) accuracy estimate."""

    trace_id: str
    device_id: str
    route_name: str
    time_s: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    accuracy_m: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RideTruth:
    """What the vehicle of one trace really did; clock times in seconds since midnight."""

    trace_id: str
    pattern_id: str
    route_id: str
    direction_id: int
    band: str
    stop_ids: tuple[str, ...]
    served: tuple[bool, ...]
    arrival_s: tuple[float, ...]
    departure_s: tuple[float, ...]
    holds: tuple[tuple[float, float], ...]
    partial: bool


@dataclass(frozen=True, slots=True)
class SimResult:
    """Traces, per-ride truth and the truth network (see :mod:`transit.sim_truth`)."""

    traces: tuple[SimTrace, ...]
    rides: tuple[RideTruth, ...]
    truth: Network


def band_of(clock_s: float) -> str:
    """The default band containing ``clock_s``, else the nearest one."""
    for band in DEFAULT_TIME_BANDS:
        if band.contains(int(clock_s)):
            return band.name
    return min(DEFAULT_TIME_BANDS,
               key=lambda b: min(abs(b.start_s - clock_s), abs(b.end_s - clock_s))).name


def _departures(pattern: Pattern, k: int, rng: np.random.Generator) -> list[float]:
    """``k`` departures: pairs of consecutive slots, in distinct windows where possible."""
    windows = [t for t in pattern.timings if t.end_s > t.start_s and t.headway_s > 0]
    if not windows:
        return []
    out: list[float] = []
    offset = int(rng.integers(len(windows)))
    i = 0
    while len(out) < k:
        w = windows[(offset + i) % len(windows)]
        slots = np.arange(w.start_s, w.end_s, w.headway_s, dtype=np.float64)
        j = int(rng.integers(max(1, len(slots) - 1)))
        out.extend(float(s) for s in slots[j:j + 2])
        i += 1
    return sorted(out[:k])


@numba.njit(cache=True)
def _ar1(white: NDArray[np.float64], rho: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty_like(white)
    prev = white[0]
    out[0] = prev
    for i in range(1, white.shape[0]):
        prev = rho[i] * prev + np.sqrt(1.0 - rho[i] * rho[i]) * white[i]
        out[i] = prev
    return out


def _u(rng: np.random.Generator, span: tuple[float, float]) -> float:
    return float(rng.uniform(span[0], span[1]))


def _vehicle(geo: PatternGeometry, base_run_s: NDArray[np.float64], depart_s: float,
             cfg: SimConfig, rng: np.random.Generator
             ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                        NDArray[np.float64], NDArray[np.bool_], list[tuple[float, float]]]:
    """Keyframes (clock s, metres along shape) of one vehicle over the whole pattern,
    plus per-stop arrival/departure clocks, which stops it served, and its holds."""
    n = len(geo.stop_s)
    served = rng.random(n) >= cfg.skip_prob
    served[0] = served[-1] = True
    arr, dep = np.empty(n), np.empty(n)
    kt: list[float] = []
    ks: list[float] = []
    holds: list[tuple[float, float]] = []
    t = depart_s
    for i in range(n):
        arr[i] = t
        dwell = _u(rng, cfg.dwell_s) if served[i] else 0.0
        if i == 0:
            arr[i] = t - dwell  # the vehicle departs its terminal at the slot
        dep[i] = arr[i] + dwell
        kt += [arr[i], dep[i]]
        ks += [geo.stop_s[i], geo.stop_s[i]]
        if i == n - 1:
            break
        factor = BAND_FACTORS.get(band_of(dep[i]), 1.0)  # traffic of the current band
        run = base_run_s[i] * factor * (1 + rng.uniform(-cfg.run_jitter, cfg.run_jitter))
        length = geo.stop_s[i + 1] - geo.stop_s[i]
        if length > 150 and rng.random() < cfg.hold_prob:
            hold = min(_u(rng, cfg.hold_s), 0.5 * run)
            frac = rng.uniform(0.3, 0.7)
            moving = run - hold
            t_h = dep[i] + frac * moving
            kt += [t_h, t_h + hold]
            ks += [geo.stop_s[i] + frac * length] * 2
            holds.append((t_h, t_h + hold))
        t = dep[i] + run
    return np.asarray(kt), np.asarray(ks), arr, dep, served, holds


def _record(geo: PatternGeometry, kt: NDArray[np.float64], ks: NDArray[np.float64],
            t0: float, t1: float, cfg: SimConfig, dt_s: float, noise_m: float,
            rng: np.random.Generator) -> tuple[NDArray[np.float64], ...]:
    steps = dt_s * rng.uniform(0.95, 1.05, size=int((t1 - t0) / dt_s * 1.1) + 2)
    t = t0 + np.concatenate([[0.0], np.cumsum(steps)])
    t = t[t <= t1]
    if rng.random() < cfg.gap_prob and t1 - t0 > 3 * cfg.gap_s[1]:
        g0 = rng.uniform(t0 + cfg.gap_s[1], t1 - 2 * cfg.gap_s[1])
        t = t[(t < g0) | (t >= g0 + _u(rng, cfg.gap_s))]
    s = np.interp(t, kt, ks)
    speed = np.abs(np.interp(t + 0.5, kt, ks) - np.interp(t - 0.5, kt, ks))
    x, y = np.interp(s, geo.shape_s, geo.shape_x), np.interp(s, geo.shape_s, geo.shape_y)
    rho = np.exp(-np.diff(t, prepend=t[:1]) / cfg.noise_corr_s)
    sigma = noise_m / np.sqrt(2)
    x = x + sigma * _ar1(rng.standard_normal(t.size), rho)
    y = y + sigma * _ar1(rng.standard_normal(t.size), rho)
    jumps = rng.random(t.size) < cfg.jump_prob
    angle = rng.uniform(0, 2 * np.pi, size=int(jumps.sum()))
    dist = rng.uniform(cfg.jump_m[0], cfg.jump_m[1], size=angle.size)
    x[jumps] += dist * np.cos(angle)
    y[jumps] += dist * np.sin(angle)
    speed = np.maximum(0.0, speed + rng.normal(0, 0.3, size=t.size))
    accuracy = noise_m * rng.uniform(0.6, 1.4, size=t.size)
    lat, lon = geo.to_latlon(x, y)
    return t, lat, lon, np.round(speed, 2).astype(np.float64), np.round(accuracy, 1)


def _route_name(name: str, cfg: SimConfig, rng: np.random.Generator) -> str:
    if rng.random() >= cfg.name_variant_prob:
        return name
    return (name.lower(), f" {name}", f"{name} ")[int(rng.integers(3))]


def simulate_rides(network: Network, *, seed: int = 0, config: SimConfig | None = None,
                   pattern_ids: list[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Simulate ``config.rides_per_direction`` rides of every chosen pattern.

    Parameters
    ----------
    network
        Stops, patterns (with per-band timings and frequency windows) and shapes.
    seed
        Seed of every random draw; same seed, same result.
    config
        Fault and timing knobs (:class:`SimConfig`).
    pattern_ids
        Patterns to ride (default: all that have a shape and at least two stops).
    progress
        Called as ``progress(done, total)`` after each pattern (for a progress bar).
    """
    from transit.sim_truth import build_truth_network  # truth depends on this module

    cfg = config or SimConfig()
    stops = {s.stop_id: s for s in network.stops}
    shapes = {s.shape_id: s for s in network.shapes}
    route_names = {r.route_id: r.route_short_name or r.route_long_name for r in network.routes}
    chosen = [p for p in sorted(network.patterns, key=lambda p: p.pattern_id)
              if p.shape_id in shapes and len(p.stop_ids) >= 2 and p.timings
              and (pattern_ids is None or p.pattern_id in pattern_ids)]
    devices = []
    dev_rng = np.random.default_rng([seed, 0])
    for d in range(cfg.n_devices):
        devices.append((f"sim-phone-{d:02d}", _u(dev_rng, cfg.sampling_s),
                        _u(dev_rng, cfg.noise_m)))
    traces: list[SimTrace] = []
    rides: list[RideTruth] = []
    geos: dict[str, PatternGeometry] = {}
    for pi, pattern in enumerate(chosen):
        geo = build_pattern_geometry(pattern, stops, shapes[str(pattern.shape_id)])
        geos[pattern.pattern_id] = geo
        rng = np.random.default_rng([seed, 1, pi])
        base = pattern.timings[0].run_times_s
        base_run_s = np.maximum(np.maximum(np.asarray(base, float), 1.0),
                                np.diff(geo.stop_s) / MAX_SPEED_MPS)
        for ri, depart in enumerate(_departures(pattern, cfg.rides_per_direction, rng)):
            band = band_of(depart)
            kt, ks, arr, dep, served, holds = _vehicle(geo, base_run_s, depart, cfg, rng)
            n = len(geo.stop_s)
            i0, i1 = 0, n - 1
            partial = n >= 6 and rng.random() < cfg.partial_prob
            if partial:
                i0 = int(rng.integers(0, n // 3 + 1))
                i1 = int(rng.integers(max(i0 + 2, 2 * n // 3), n))
                served[i0] = served[i1] = True
                t0 = arr[i0] + rng.uniform(0, 1) * (dep[i0] - arr[i0])
                t1 = arr[i1] + rng.uniform(0.5, 1) * (dep[i1] - arr[i1])
            else:
                t0, t1 = arr[0] - _u(rng, cfg.parked_s), dep[-1] + _u(rng, cfg.parked_s)
            kt = np.concatenate([[min(t0, kt[0]) - 1], kt, [max(t1, kt[-1]) + 1]])
            ks = np.concatenate([[ks[0]], ks, [ks[-1]]])
            device_id, dt_s, noise_m = devices[int(rng.integers(len(devices)))]
            t, lat, lon, speed, acc = _record(geo, kt, ks, t0, t1, cfg, dt_s, noise_m, rng)
            trace_id = f"sim-{pattern.pattern_id}-{ri}"
            traces.append(SimTrace(trace_id, device_id,
                                   _route_name(route_names.get(pattern.route_id, ""), cfg, rng),
                                   t, lat, lon, speed, acc))
            span = slice(i0, i1 + 1)
            rides.append(RideTruth(
                trace_id, pattern.pattern_id, pattern.route_id, pattern.direction_id, band,
                pattern.stop_ids[span], tuple(bool(v) for v in served[span]),
                tuple(float(v) for v in arr[span]), tuple(float(v) for v in dep[span]),
                tuple((float(a), float(b)) for a, b in holds if t0 <= a <= t1), partial))
        if progress is not None:
            progress(pi + 1, len(chosen))
    truth = build_truth_network(network, chosen, geos, rides, cfg, seed)
    return SimResult(tuple(traces), tuple(rides), truth)
