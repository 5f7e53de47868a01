"""Run times, dwells and headways of a pattern, per time band of the local service day.

Every ride's time at each pattern stop is its closest approach (the middle of a dwell);
stops it did not serve get times interpolated by distance along the shape. Per band, a
stop-to-stop run time is the median over rides (robust to one ride stuck in traffic);
bands without rides borrow the all-day median (``n_observations = 0``). Headways come, in
this order, from departures observed in the traces (at least ``min_gaps`` gaps between
distinct vehicles on the same day and band), a frequencies table the user gives, or the
documented default of :data:`DEFAULT_HEADWAY_S` (marked ``assumed``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

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
    "FrequencyRow",
    "RideTimes",
    "band_for_clock",
    "estimate_headways",
    "estimate_run_times",
    "local_clock",
    "local_clocks",
    "parse_frequencies",
    "ride_times",
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


def estimate_run_times(
    rides: Sequence[RideTimes],
    ride_band: Sequence[str],
    along_m: NDArray[np.float64],
    bands: Sequence[TimeBand],
    *,
    max_dwell_s: float = 180.0,
    straight_m: NDArray[np.float64] | None = None,
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], int, bool]]:
    """Median run times and dwells per band.

    A band's run times are the all-day median profile scaled by the band's factor (the
    median ratio of its rides' run times to that profile). Dwells are capped at
    ``max_dwell_s`` (s) and are zero at the first and last stop
    (time spent filling up at a terminal is layover, not part of the trip). No run time is
    faster than :data:`MAX_SPEED_MPS` over the longer of the along-shape and the straight
    distance (``straight_m``, m per stretch) between the two stops.

    Returns
    -------
    dict
        band name -> (run_times_s, dwell_s, n_observations, estimated) where ``estimated``
        is True when any stretch had to be borrowed from all day or assumed.
    """
    n = len(along_m)
    runs = np.full((len(rides), max(n - 1, 0)), np.nan)
    dwells = np.full((len(rides), n), np.nan)
    for r, ride in enumerate(rides):
        dw = np.minimum(ride.dwell_s, max_dwell_s)
        arr = ride.center_ms - dw * 500.0
        dep = ride.center_ms + dw * 500.0
        runs[r] = np.maximum((arr[1:] - dep[:-1]) / 1000.0, 1.0)
        dw[[0, -1]] = 0.0  # at the terminals the vehicle waits to fill: layover, not dwell
        dwells[r] = np.where(ride.observed, dw, np.nan)
    gap_m = np.diff(along_m)
    floor_s = np.maximum(gap_m, straight_m if straight_m is not None else 0.0) / MAX_SPEED_MPS
    all_run = nanmedian_cols(runs)
    all_dwell = nanmedian_cols(dwells)
    assumed = ~np.isfinite(all_run)
    all_run = np.where(assumed, np.maximum(gap_m / DEFAULT_SPEED_MPS, 1.0), all_run)
    all_dwell = np.where(np.isfinite(all_dwell), all_dwell, 0.0)
    out: dict[str, tuple[tuple[int, ...], tuple[int, ...], int, bool]] = {}
    band_arr = np.array(ride_band, dtype=object)
    # each band = the all-day profile times the band's traffic factor: the median ratio of
    # its rides' run times to the all-day medians over every stretch they rode (robust
    # when a band has one or two rides, each with its own holds and timing noise)
    factor_of = _band_factors(runs, band_arr, all_run)
    # the profile again, from run times divided by their band's factor, so that rides in a
    # slow band do not lengthen the profile of a fast one
    ride_factor = np.array([factor_of.get(str(b), 1.0) for b in band_arr])
    if len(rides):
        prof = nanmedian_cols(runs / ride_factor[:, None])
        all_run = np.where(np.isfinite(prof), prof, all_run)
        factor_of = _band_factors(runs, band_arr, all_run)
    for b in bands:
        mine = band_arr == b.name if len(rides) else np.zeros(0, bool)
        seen = np.isfinite(runs[mine]).any(axis=0)
        factor = factor_of.get(b.name, 1.0)
        dw = nanmedian_cols(dwells[mine])
        borrowed = ~seen
        run = np.maximum(all_run * factor, np.ceil(floor_s))
        dw = np.where(np.isfinite(dw), dw, all_dwell)
        out[b.name] = (tuple(round(v) for v in run.tolist()), tuple(round(v) for v in dw.tolist()),
                       int(mine.sum()), bool(borrowed.any() or assumed.any()))
    return out


def _band_factors(runs: NDArray[np.float64], band_arr: NDArray[np.object_],
                  profile: NDArray[np.float64]) -> dict[str, float]:
    """Per band, the median ratio of its rides' run times to ``profile``."""
    ratio = runs / profile[None, :]
    out: dict[str, float] = {}
    for name in sorted({str(b) for b in band_arr}):
        r = ratio[band_arr == name]
        r = r[np.isfinite(r)]
        if r.size:
            out[name] = float(np.median(r))
    return out


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
