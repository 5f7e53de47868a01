"""Stop instants of every ride, time bands, headways and the user's frequencies table.

Every ride's time at each pattern stop (:func:`ride_times`) is the middle of its dwell
there (a dwell is credited to the visit nearest in time; its edges are where the vehicle
stopped and left, :func:`stopped_edges_ms`) or, for a pass-by, the instant it was abeam of
the stop (or the halt it was standing in then, :func:`halts_at_passbys`); stops it did not
serve get times interpolated by distance along the shape. Run times per band come from
these instants in :mod:`transit.run_times`. Headways come, in this order, from departures
observed in the traces (at least ``min_gaps`` gaps between distinct vehicles on the same
day and band), a frequencies table the user gives, or the documented default of
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
    "halts_at_passbys",
    "local_clock",
    "local_clocks",
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
