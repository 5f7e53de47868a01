"""Run times, dwells and headways of a pattern, per time band of the local service day.

Every ride's time at each pattern stop is the middle of its dwell there (a dwell is
credited to the visit nearest in time; its edges are where the vehicle stopped and left,
:func:`stopped_edges_ms`) or, for a pass-by, the instant it was abeam of the stop (or
the halt it was standing in then, :func:`halts_at_passbys`); stops it did not serve get
times interpolated by distance along the shape. As in
GTFS ``stop_times``, a run time goes from the departure at one stop to the arrival at the
next, and it belongs to the band in which the vehicle *left* the stop (a ride from 08:50
to 09:40 is am_peak, then midday). A band's run time is the pattern's all-day profile times
the band's traffic factor, and band factors are pooled over all patterns of the region
(partial pooling, :func:`estimate_band_factors`): with four rides a direction a band is
often seen in one ride only. Headways come, in this order, from departures observed in
the traces (at least ``min_gaps`` gaps between distinct vehicles on the same day and
band), a frequencies table the user gives, or the documented default of
:data:`DEFAULT_HEADWAY_S` (marked ``assumed``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from transit._stats import nanmedian_cols
from transit.errors import InputError
from transit.model import BandTiming, HeadwaySource, TimeBand
from transit.patterns import SegmentVisits

__all__ = [
    "DEFAULT_HEADWAY_S",
    "DEFAULT_SPEED_MPS",
    "MAX_SPEED_MPS",
    "BandFactors",
    "FrequencyRow",
    "PatternRuns",
    "RideTimes",
    "band_for_clock",
    "band_indices",
    "estimate_band_factors",
    "estimate_band_timings",
    "estimate_headways",
    "estimate_run_times",
    "halts_at_passbys",
    "local_clock",
    "local_clocks",
    "observe_runs",
    "parse_frequencies",
    "ride_times",
    "stopped_edges_ms",
]

#: Headway (s) assumed per default band when neither the traces nor the user give one:
#: minibuses leave when full, every few minutes in the peaks (Behrens et al. 2016,
#: *Paratransit in African Cities*, ch. 5), less often early and late.
DEFAULT_HEADWAY_S: dict[str, int] = {
    "early": 900, "am_peak": 300, "midday": 600, "pm_peak": 300, "evening": 900,
}
#: Speed (m/s) assumed for a stretch no ride covered (about 18 km/h, a city-bus average).
DEFAULT_SPEED_MPS = 5.0
#: Fastest plausible stop-to-stop speed (m/s, 72 km/h): shorter run times are GPS or
#: matching noise (two close stops served within a second) and are stretched to this.
MAX_SPEED_MPS = 20.0


@dataclass(frozen=True, slots=True)
class RideTimes:
    """One ride's estimated times at every pattern stop (UTC ms; NaN outside the ride)."""

    center_ms: NDArray[np.float64]
    dwell_s: NDArray[np.float64]
    observed: NDArray[np.bool_]


def ride_times(pattern_stops: Sequence[int], visits: SegmentVisits,
               along_m: NDArray[np.float64]) -> RideTimes:
    """Times of one ride at each pattern stop: observed where served, else interpolated."""
    n = len(pattern_stops)
    center = np.full(n, np.nan)
    dwell = np.zeros(n)
    observed = np.zeros(n, bool)
    j = 0
    vs, vt, vd = visits.stop.tolist(), visits.center_ms.tolist(), visits.dwell_s.tolist()
    for i, s in enumerate(pattern_stops):  # greedy in-order match of visits to the pattern
        for k in range(j, len(vs)):
            if vs[k] == s:
                center[i], dwell[i], observed[i] = vt[k], vd[k], True
                j = k + 1
                break
    known = np.flatnonzero(observed)
    if len(known) >= 2:
        inside = np.arange(known[0], known[-1] + 1)
        t_known = center[known]
        if np.all(np.diff(t_known) >= 0) and np.all(np.diff(along_m[known]) > 0):
            center[inside] = np.interp(along_m[inside], along_m[known], t_known)
        else:
            center[:] = np.nan
            observed[:] = False
    return RideTimes(center, dwell, observed)


def stopped_edges_ms(first_fix: NDArray[np.int64], last_fix: NDArray[np.int64],
                     start_ms: NDArray[np.int64], end_ms: NDArray[np.int64],
                     time_ms: NDArray[np.int64], speed_mps: NDArray[np.float32],
                     max_speed_mps: float, max_half_gap_s: float
                     ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """When the vehicle of each dwell stopped and left (UTC ms), for run times.

    A dwell found from positions can begin (or end) with fixes inside its radius that
    still report motion (``speed_mps`` above ``max_speed_mps``: the approach); the vehicle
    stopped after the last of them, so the start moves to half-way between it and the next
    fix (at most ``max_half_gap_s`` before that fix), and likewise the end. Fixes without
    a speed (NaN) count as stopped; a dwell whose fixes all report motion keeps its edges.
    Arrival instants then match the GTFS definition (the vehicle is at the stop), and a
    run time no longer loses the approach seconds.
    """
    return _stopped_edges(np.asarray(first_fix, np.int64), np.asarray(last_fix, np.int64),
                          np.asarray(start_ms, np.int64), np.asarray(end_ms, np.int64),
                          np.asarray(time_ms, np.int64), np.asarray(speed_mps, np.float32),
                          float(max_speed_mps), int(max_half_gap_s * 1000))


@numba.njit(cache=True)
def _stopped_edges(first: NDArray[np.int64], last: NDArray[np.int64],
                   start: NDArray[np.int64], end: NDArray[np.int64], t: NDArray[np.int64],
                   v: NDArray[np.float32], max_v: float, half_ms: int
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover
    s_out = start.copy()
    e_out = end.copy()
    for d in range(len(first)):
        a, b = first[d], last[d]
        while a <= b and v[a] > max_v:
            a += 1
        while b >= a and v[b] > max_v:
            b -= 1
        if a > b:
            continue
        if a > first[d]:
            s_out[d] = t[a] - min((t[a] - t[a - 1]) // 2, half_ms)
        if b < last[d]:
            e_out[d] = t[b] + min((t[b + 1] - t[b]) // 2, half_ms)
    return s_out, e_out


def halts_at_passbys(visits: Sequence[SegmentVisits], time_ms: NDArray[np.int64],
                     speed_mps: NDArray[np.float32], bounds: NDArray[np.int64],
                     stopped_speed_mps: float, max_half_gap_s: float
                     ) -> list[SegmentVisits]:
    """Pass-bys at which the vehicle was in fact standing get that halt as their dwell.

    A visit with no dwell credited whose closest fix reports a stopped speed (at most
    ``stopped_speed_mps``; phones measure speed by Doppler) was a halt too short, too
    sparsely sampled or too noisy for dwell detection, or one whose dwell went to a
    neighbouring stop: its dwell spans the run of stopped fixes around that fix (plus half
    the intervals either side, at most ``max_half_gap_s``), centred in time, kept between
    its neighbours' times. Without this, half the halt lands in each adjacent run time.
    """
    out = []
    t = np.asarray(time_ms, np.int64)
    v = np.asarray(speed_mps, np.float32)
    half = int(max_half_gap_s * 1000)
    for s, vis in enumerate(visits):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        center = vis.center_ms.copy()
        dwell = vis.dwell_s.copy()
        for k in np.flatnonzero(dwell == 0).tolist():
            f = int(vis.fix[k])
            if not lo <= f < hi or not v[f] <= stopped_speed_mps:
                continue
            a = b = f
            while a > lo and v[a - 1] <= stopped_speed_mps:
                a -= 1
            while b + 1 < hi and v[b + 1] <= stopped_speed_mps:
                b += 1
            start = t[a] - (min((t[a] - t[a - 1]) // 2, half) if a > lo else 0)
            end = t[b] + (min((t[b + 1] - t[b]) // 2, half) if b + 1 < hi else 0)
            mid = (start + end) // 2
            if k > 0:
                mid = max(mid, center[k - 1] + 1)
            if k + 1 < len(center):
                mid = min(mid, center[k + 1] - 1)
            center[k], dwell[k] = mid, (end - start) / 1000.0
        out.append(SegmentVisits(vis.stop, center, dwell, vis.fix))
    return out


def local_clock(time_ms: int, timezone: str) -> tuple[str, int]:
    """Local service date ``YYYYMMDD`` and clock seconds since midnight of a UTC instant."""
    dt = datetime.fromtimestamp(time_ms / 1000.0, tz=UTC).astimezone(ZoneInfo(timezone))
    return dt.strftime("%Y%m%d"), dt.hour * 3600 + dt.minute * 60 + dt.second


def local_clocks(time_ms: NDArray[np.int64], timezone: str) -> NDArray[np.int64]:
    """Local clock seconds since midnight of many UTC instants (vectorised)."""
    if len(time_ms) == 0:
        return np.zeros(0, np.int64)
    local = pd.to_datetime(np.asarray(time_ms, np.int64), unit="ms", utc=True).tz_convert(
        timezone)
    return np.asarray(local.hour * 3600 + local.minute * 60 + local.second, np.int64)


def band_for_clock(clock_s: int, bands: Sequence[TimeBand]) -> str:
    """The band containing ``clock_s``, else the nearest one (rides before the first band)."""
    for b in bands:
        if b.contains(clock_s):
            return b.name
    return min(bands, key=lambda b: (min(abs(clock_s - b.start_s), abs(clock_s - b.end_s)),
                                     b.start_s)).name


@dataclass(frozen=True, slots=True)
class PatternRuns:
    """What the rides of one pattern showed, the input of :func:`estimate_band_timings`.

    Attributes
    ----------
    runs_s
        ``(rides, stops - 1)``: in-motion time (s) from the departure at stop ``i`` to the
        arrival at stop ``i + 1`` (the definition of GTFS ``stop_times``); NaN where the ride
        did not cover the stretch.
    band
        ``(rides, stops - 1)``: index (into the bands) of the band in which the vehicle
        *left* stop ``i``, local clock; -1 where the stretch is NaN. A ride that starts at
        08:50 and ends at 09:40 contributes to both ``am_peak`` and ``midday``.
    dwell_s
        ``(rides, stops)``: time (s) stopped at each served stop (NaN where the ride did
        not observe the stop; zero at the terminals, where waiting is layover).
    stop_band
        ``(rides, stops)``: band index of each stop's departure instant (-1: none).
    gap_m, floor_s
        ``(stops - 1,)``: along-shape distance of each stretch (m) and its fastest
        plausible run time (s, :data:`MAX_SPEED_MPS` over the longer of the along-shape and
        straight distances).
    """

    runs_s: NDArray[np.float64]
    band: NDArray[np.int64]
    dwell_s: NDArray[np.float64]
    stop_band: NDArray[np.int64]
    gap_m: NDArray[np.float64]
    floor_s: NDArray[np.float64]


def band_indices(clock_s: NDArray[np.int64], bands: Sequence[TimeBand]) -> NDArray[np.int64]:
    """:func:`band_for_clock` of many clocks, as indices into ``bands``."""
    index = {b.name: k for k, b in enumerate(bands)}
    uniq, inv = np.unique(np.asarray(clock_s, np.int64), return_inverse=True)
    lut = np.array([index[band_for_clock(int(c), bands)] for c in uniq.tolist()], np.int64)
    return lut[inv.reshape(-1)] if len(uniq) else np.zeros(0, np.int64)


def observe_runs(rides: Sequence[RideTimes], along_m: NDArray[np.float64],
                 bands: Sequence[TimeBand], timezone: str, *,
                 straight_m: NDArray[np.float64] | None = None,
                 max_dwell_s: float = 180.0) -> PatternRuns:
    """Run times, dwells and their bands from every ride of one pattern.

    A stop's arrival is its centre instant minus half its dwell (capped at ``max_dwell_s``)
    and its departure the centre plus half; the band of a stretch is the band of the
    departure instant in ``timezone`` (as a vehicle's traffic is that of the hour it
    drives in, not of the hour its ride began).
    """
    n = len(along_m)
    r = len(rides)
    runs = np.full((r, max(n - 1, 0)), np.nan)
    dwells = np.full((r, n), np.nan)
    dep_ms = np.full((r, n), np.nan)
    for k, ride in enumerate(rides):
        dw = np.minimum(ride.dwell_s, max_dwell_s)
        arr = ride.center_ms - dw * 500.0
        dep = ride.center_ms + dw * 500.0
        runs[k] = np.maximum((arr[1:] - dep[:-1]) / 1000.0, 1.0)
        dw = dw.copy()
        dw[[0, -1]] = 0.0  # at the terminals the vehicle waits to fill: layover, not dwell
        dwells[k] = np.where(ride.observed, dw, np.nan)
        dep_ms[k] = dep
    ok = np.isfinite(dep_ms)
    stop_band = np.full((r, n), -1, np.int64)
    if ok.any():
        clocks = local_clocks(np.round(dep_ms[ok]).astype(np.int64), timezone)
        stop_band[ok] = band_indices(clocks, bands)
    band = np.where(np.isfinite(runs), stop_band[:, :-1], -1) if n else stop_band[:, :0]
    gap_m = np.diff(np.asarray(along_m, float))
    floor_s = np.maximum(gap_m, straight_m if straight_m is not None else 0.0) / MAX_SPEED_MPS
    # faster than MAX_SPEED_MPS: a timing error (two close stops matched out of order,
    # a pass-by timed at the wrong fix), not an observation
    bad = runs < floor_s[None, :]
    runs[bad] = np.nan
    band[bad] = -1
    return PatternRuns(runs, band.astype(np.int64), dwells, stop_band, gap_m, floor_s)


@dataclass(frozen=True, slots=True)
class BandFactors:
    """Traffic factors of the time bands (run time = all-day profile x factor).

    ``pooled[k]`` is band ``k``'s factor over all patterns (NaN where no pattern shows
    it); ``between_sd[k]`` the estimated spread (log scale) of the true factors between
    patterns; ``factor[p, k]``, ``weight[p, k]`` and ``stretches[p, k]`` are pattern
    ``p``'s partially pooled factor, the weight of its own evidence in it (0: pooled
    factor only, 1: its own only) and the number of its stretches that inform it.
    """

    pooled: NDArray[np.float64]
    between_sd: NDArray[np.float64]
    factor: NDArray[np.float64]
    weight: NDArray[np.float64]
    stretches: NDArray[np.int64]


def estimate_band_factors(patterns: Sequence[PatternRuns], n_bands: int, *,
                          iterations: int = 20) -> tuple[BandFactors, list[NDArray[np.float64]]]:
    """Band factors by partial pooling (empirical Bayes) and each pattern's profile.

    Model: ``log run[r, i] = log profile[p, i] + log factor[p, band(r, i)] + noise``.

    1. Per pattern, the factors of the bands it was ridden in, up to a constant, by
       median polish (Tukey 1977: alternate the stretch profile and the band factors as
       medians, robust to a ride stuck in traffic). Only stretches also ridden in another
       band inform a factor (otherwise factor and profile cannot be told apart).
    2. Over all patterns, the two-way additive model ``g[p, k] = c[p] + f[k]`` (pattern
       level plus band effect, log scale) by weighted least squares, weights = stretches.
    3. With four rides a direction a band is often seen in one ride only, as noisy as that
       ride; so each pattern's own factor is shrunk toward ``c[p] + f[k]`` by the
       normal-normal empirical Bayes rule: weight ``tau^2 / (tau^2 + s^2)`` on its own
       residual, ``s^2`` the sampling variance of its median (``pi / 2 * sigma^2 / n``,
       ``sigma`` from the median absolute deviation of the rides' log ratios) and
       ``tau^2`` the between-pattern variance of the band by the method of moments
       (DerSimonian and Laird, 1986; robust: median absolute residual, and Huber
       weights in the fit of step 2). Where patterns really differ and a pattern has
       many stretches in a band it keeps its own factor; where they do not, it takes the
       pooled one. A band a pattern was not ridden in takes ``c[p] + f[k]``.

    The pooled factors are scaled to average 1 over every stretch ridden, so a profile is
    an all-day run time.

    References
    ----------
    Tukey, J. W. (1977). *Exploratory Data Analysis*, ch. 11 (median polish).
    DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials. *Controlled
    Clinical Trials* 7(3), 177-188. Efron, B. and Morris, C. (1975). Data analysis using
    Stein's estimator and its generalizations. *JASA* 70(350), 311-319.
    """
    n_p = len(patterns)
    own = np.full((n_p, n_bands), np.nan)
    count = np.zeros((n_p, n_bands), np.int64)
    resid: list[NDArray[np.float64]] = []
    for q, p in enumerate(patterns):
        own[q], count[q], res = _polish(p, n_bands, iterations)
        resid.append(res)
    every = np.concatenate(resid) if resid else np.zeros(0)
    sigma = max(1.4826 * float(np.median(np.abs(every))) if every.size else 0.1, 1e-3)
    # 2. two-way additive fit c[p] + f[k] on the log scale, weighted by the inverse of
    #    each factor's variance: sampling (s2) plus between patterns (tau2, random
    #    effects), so that one heavily ridden but atypical pattern cannot pull a band
    s2 = np.where(count > 0, np.pi / 2 * sigma ** 2 / np.maximum(count, 1), np.inf)
    tau2 = np.zeros(n_bands)
    f = np.full(n_bands, np.nan)
    c = np.zeros(n_p)
    r = np.full((n_p, n_bands), np.nan)
    huber = np.ones((n_p, n_bands))
    for _ in range(4):
        f, c = _two_way(own, count, (s2 + tau2[None, :]) * huber)
        r = own - c[:, None] - f[None, :]
        for k in range(n_bands):
            has = count[:, k] > 0
            if has.sum() > 1:  # robust moments: the MAD of the residuals, not their mean
                spread = 1.4826 * float(np.median(np.abs(r[has, k])))
                tau2[k] = max(0.0, spread ** 2 - float(np.median(s2[has, k])))
        # Huber weights: a factor more than 2 standard deviations off counts less
        z = np.abs(np.where(count > 0, r, 0.0)) / np.sqrt(s2 + tau2[None, :])
        huber = np.maximum(1.0, z / 2.0)
    # 3. partial pooling of each pattern's own factor
    weight = np.where(count > 0, tau2[None, :] / (tau2[None, :] + s2), 0.0)
    log_f = np.where(np.isfinite(f), f, 0.0)
    log_factor = c[:, None] + log_f[None, :] + np.where(count > 0, weight * r, 0.0)
    # scale: pooled factors average 1 over every stretch ridden
    num = sum(float(log_f[p.band[p.band >= 0]].sum()) for p in patterns)
    den = sum(int((p.band >= 0).sum()) for p in patterns)
    if den:
        f = f - num / den
    factor = np.exp(log_factor)
    profiles = []
    for q, p in enumerate(patterns):
        fr = np.where(p.band >= 0, factor[q][np.maximum(p.band, 0)], np.nan)
        profiles.append(nanmedian_cols(p.runs_s / fr) if len(p.runs_s)
                        else np.full(p.runs_s.shape[1], np.nan))
        # the pattern's factors on the pooled scale (its level c[p] is in its profile)
        factor[q] /= np.exp(c[q] + (num / den if den else 0.0))
        profiles[q] = profiles[q] * np.exp(c[q] + (num / den if den else 0.0))
    return BandFactors(np.exp(f), np.sqrt(tau2), factor, weight, count), profiles


def _two_way(own: NDArray[np.float64], count: NDArray[np.int64], var: NDArray[np.float64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted least squares of ``own[p, k] = c[p] + f[k]`` (weights ``1 / var``) over the
    cells with ``count > 0``; ``f`` is NaN for bands no pattern shows."""
    n_p, n_bands = own.shape
    qs, ks = np.nonzero(count > 0)
    f = np.full(n_bands, np.nan)
    if not len(qs):
        return f, np.zeros(n_p)
    a = np.zeros((len(qs), n_p + n_bands))
    a[np.arange(len(qs)), qs] = 1.0
    a[np.arange(len(qs)), n_p + ks] = 1.0
    w = 1.0 / np.sqrt(var[qs, ks])
    sol = np.asarray(np.linalg.lstsq(a * w[:, None], own[qs, ks] * w, rcond=None)[0], float)
    seen = np.zeros(n_bands, bool)
    seen[ks] = True
    f[seen] = sol[n_p:][seen]
    return f, np.asarray(sol[:n_p], np.float64)


def _polish(p: PatternRuns, n_bands: int, iterations: int
            ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """Median polish of one pattern: its log band factors (NaN where not identified, up
    to a constant), the number of informative stretches per band, and the residuals."""
    log_r = np.log(p.runs_s)
    info = _informative(p.band) & np.isfinite(log_r)
    g = np.zeros(n_bands)
    count = np.array([int((info & (p.band == k)).sum()) for k in range(n_bands)], np.int64)
    if not info.any():
        return np.full(n_bands, np.nan), count, np.zeros(0)
    for _ in range(max(iterations, 1)):
        shifted = np.where(info, log_r - g[np.maximum(p.band, 0)], np.nan)
        prof = nanmedian_cols(shifted)
        lr = log_r - prof[None, :]
        for k in range(n_bands):
            if count[k]:
                g[k] = float(np.median(lr[info & (p.band == k)]))
    res = (log_r - prof[None, :] - g[np.maximum(p.band, 0)])[info]
    return np.where(count > 0, g, np.nan), count, res


def _informative(band: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Entries whose column (stretch) was also ridden in another band."""
    out = np.zeros(band.shape, bool)
    for i in range(band.shape[1]):
        col = band[:, i]
        seen = set(col[col >= 0].tolist())
        if len(seen) > 1:
            out[:, i] = col >= 0
    return out


def estimate_band_timings(
    patterns: Sequence[PatternRuns], bands: Sequence[TimeBand],
) -> tuple[list[dict[str, tuple[tuple[int, ...], tuple[int, ...], int, bool]]], BandFactors]:
    """Run times and dwells per band of every pattern (see :func:`estimate_band_factors`).

    A band's run times are the pattern's all-day profile times its (partially pooled) band
    factor; a stretch no ride covered takes :data:`DEFAULT_SPEED_MPS`. No run time is
    faster than ``floor_s``. Dwells are the median of the band's observed dwells, else of
    all the pattern's dwells, else zero.

    Returns
    -------
    list of dict, BandFactors
        Per pattern, band name -> (run_times_s, dwell_s, n_observations, estimated), where
        ``n_observations`` counts the rides with a stretch in the band and ``estimated`` is
        True when any stretch was not ridden in the band (borrowed or assumed).
    """
    fac, profiles = estimate_band_factors(patterns, len(bands))
    out = []
    for q, p in enumerate(patterns):
        prof = profiles[q]
        assumed = ~np.isfinite(prof)
        prof = np.where(assumed, np.maximum(p.gap_m / DEFAULT_SPEED_MPS, 1.0), prof)
        all_dwell = nanmedian_cols(p.dwell_s)
        all_dwell = np.where(np.isfinite(all_dwell), all_dwell, 0.0)
        timing: dict[str, tuple[tuple[int, ...], tuple[int, ...], int, bool]] = {}
        for k, b in enumerate(bands):
            mine = p.band == k
            seen = (mine & np.isfinite(p.runs_s)).any(axis=0)
            run = np.maximum(prof * np.where(assumed, 1.0, fac.factor[q, k]),
                             np.ceil(p.floor_s))
            dw = nanmedian_cols(np.where(p.stop_band == k, p.dwell_s, np.nan))
            dw = np.where(np.isfinite(dw), dw, all_dwell)
            timing[b.name] = (tuple(round(v) for v in run.tolist()),
                              tuple(round(v) for v in dw.tolist()),
                              int(mine.any(axis=1).sum()), bool((~seen).any() or assumed.any()))
        out.append(timing)
    return out, fac


def estimate_run_times(
    rides: Sequence[RideTimes],
    along_m: NDArray[np.float64],
    bands: Sequence[TimeBand],
    timezone: str = "UTC",
    *,
    straight_m: NDArray[np.float64] | None = None,
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], int, bool]]:
    """Run times and dwells per band of one pattern alone (no pooling with others)."""
    runs = observe_runs(rides, along_m, bands, timezone, straight_m=straight_m)
    return estimate_band_timings([runs], bands)[0][0]


def estimate_headways(
    departures: Sequence[tuple[str, int, str]],
    bands: Sequence[TimeBand],
    *,
    min_gaps: int = 2,
    max_headway_s: int = 3600,
) -> dict[str, tuple[int, int]]:
    """Headways observed in the traces.

    Parameters
    ----------
    departures
        ``(service date YYYYMMDD, local clock s at the pattern's first stop, vehicle key)``.
    bands
        Time bands.
    min_gaps
        Fewest gaps between consecutive departures of distinct vehicles needed.
    max_headway_s
        Longer gaps are not headways (rides on unrelated occasions).

    Returns
    -------
    dict
        band name -> (median headway s, number of gaps) for bands with enough evidence.
    """
    by_day: dict[str, list[tuple[int, str]]] = {}
    for day, clock, veh in departures:
        by_day.setdefault(day, []).append((clock, veh))
    gaps: dict[str, list[int]] = {}
    for day in sorted(by_day):
        deps = sorted(by_day[day])
        for (c0, v0), (c1, v1) in pairwise(deps):
            if v0 != v1 and 0 < c1 - c0 <= max_headway_s:
                gaps.setdefault(band_for_clock(c0, bands), []).append(c1 - c0)
    return {b: (int(np.median(g)), len(g)) for b, g in sorted(gaps.items()) if len(g) >= min_gaps}


@dataclass(frozen=True, slots=True)
class FrequencyRow:
    """One row of a user frequencies table: a route (name or id), a period and a headway."""

    route: str
    start_s: int
    end_s: int
    headway_s: int
    line: int


def _clock(text: str, where: str) -> int:
    parts = text.strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or any(v < 0 for v in nums):
        raise InputError(f"bad time {text!r}", where=where, fix="write times as HH:MM or HH:MM:SS")
    return nums[0] * 3600 + nums[1] * 60 + (nums[2] if len(nums) == 3 else 0)


def parse_frequencies(text: str, bands: Sequence[TimeBand], *,
                      source: str = "frequencies") -> list[FrequencyRow]:
    """Parse a frequencies CSV: ``route``, then ``band`` or ``start_time``+``end_time``,
    then ``headway_s``.

    ``route`` may be a route name (``route_short_name``) or a ``route_id``; ``band`` one of
    the time band names. Raises :class:`InputError` naming the line and the fix.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    cols = {c.strip().lower() for c in (reader.fieldnames or [])}
    if "route" not in cols or "headway_s" not in cols or not (
            "band" in cols or {"start_time", "end_time"} <= cols):
        raise InputError(f"columns are {sorted(cols)}", where=source,
                         fix="give columns route, band (or start_time, end_time), headway_s")
    by_name = {b.name: b for b in bands}
    rows: list[FrequencyRow] = []
    for n, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        where = f"{source} line {n}"
        try:
            headway = int(float(row["headway_s"]))
        except ValueError:
            headway = 0
        if headway <= 0:
            raise InputError(f"headway_s {row['headway_s']!r} is not a positive number",
                             where=where, fix="give the headway in seconds, e.g. 600")
        if row.get("band"):
            if row["band"] not in by_name:
                raise InputError(f"unknown band {row['band']!r}", where=where,
                                 fix=f"use one of {', '.join(by_name)} or start_time/end_time")
            start, end = by_name[row["band"]].start_s, by_name[row["band"]].end_s
        else:
            start, end = _clock(row["start_time"], where), _clock(row["end_time"], where)
            if end <= start:
                raise InputError("end_time is not after start_time", where=where,
                                 fix="give a period like 06:00,09:00")
        if not row["route"]:
            raise InputError("empty route", where=where, fix="name the route or its route_id")
        rows.append(FrequencyRow(row["route"], start, end, headway, n))
    return rows


def band_timing(band: TimeBand, timing: tuple[tuple[int, ...], tuple[int, ...], int, bool],
                headway_s: int, source: HeadwaySource) -> BandTiming:
    """Assemble a :class:`BandTiming` from :func:`estimate_run_times` output."""
    runs, dwell, n_obs, estimated = timing
    return BandTiming(band=band.name, start_s=band.start_s, end_s=band.end_s,
                      run_times_s=runs, dwell_s=dwell, headway_s=headway_s,
                      headway_source=source, n_observations=n_obs,
                      times_estimated=estimated or n_obs == 0)


def given_headway(rows: Sequence[FrequencyRow], band: TimeBand) -> int | None:
    """Time-weighted mean headway (s) of the rows overlapping ``band``; None if none do."""
    num = den = 0.0
    for r in rows:
        overlap = min(r.end_s, band.end_s) - max(r.start_s, band.start_s)
        if overlap > 0:
            num += overlap * r.headway_s
            den += overlap
    return round(num / den) if den else None
