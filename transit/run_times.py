"""Run times and dwells per time band of every pattern of a region, from its rides.

As in GTFS ``stop_times``, a run time goes from the departure at one stop to the arrival
at the next (:func:`observe_runs`, from the instants of :func:`transit.timing.ride_times`)
and belongs to the band in which the vehicle *left* the stop: a ride from 08:50 to 09:40 is
am_peak, then midday. A band's run time is the pattern's all-day profile times the
band's traffic factor; with four rides a direction a band is often seen in one ride only,
so band factors are pooled over all patterns of the region (partial pooling, empirical
Bayes: :func:`estimate_band_factors`), and the build report gives the factors and how much
each pattern's own rides weigh in its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from transit._stats import nanmedian_cols
from transit.model import TimeBand
from transit.timing import (
    DEFAULT_SPEED_MPS,
    MAX_SPEED_MPS,
    RideTimes,
    band_for_clock,
    local_clocks,
)

__all__ = [
    "BandFactors",
    "PatternRuns",
    "band_indices",
    "estimate_band_factors",
    "estimate_band_timings",
    "estimate_run_times",
    "observe_runs",
]


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
