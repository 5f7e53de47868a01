"""The builder: trip segments -> dwells -> stops -> patterns -> shapes -> timing -> Network.

``build_network`` is a pure function of the segments and the options: the same input gives
the same network and the same report (ids are derived from content, every list is sorted).
Segments far apart (``region_gap_m``, e.g. two cities) are built as separate regions, each
in its own local projection, so no stop cluster or route ever spans them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.cluster import DBSCAN

from transit.errors import BuildError, InputError
from transit.geo import EARTH_RADIUS_M
from transit.model import DEFAULT_TIME_BANDS, Network, Pattern, Route, Shape, Stop, TimeBand
from transit.region import RegionResult, build_region, route_key
from transit.report import build_report
from transit.stops import DwellOptions
from transit.timing import DEFAULT_HEADWAY_S, FrequencyRow, local_clock
from transit.traces import TripSegment

__all__ = ["BuildOptions", "BuildResult", "build_network"]


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Everything the builder can be told.

    Attributes
    ----------
    timezone
        IANA zone of the service area: time bands are local clock time.
    agency_name, agency_url
        The feed's agency.
    use_field_stops
        Use field-marked stops as strong evidence (False to measure detection alone).
    dwell
        Dwell-detection and clustering thresholds.
    match_radius_m
        A ride serves a stop it passes this close (m).
    min_regularity
        A stop dwelt at by several traces must be dwelt at by at least this share of the
        traces that pass it in its direction (traffic holds are irregular).
    keep_single_pass
        Keep a one-trace dwell where only that trace passes (else nothing is known there).
    min_slow_share
        Keep a one-trace dwell that at least two traces pass with a reported speed when at
        least this share of them slow to 2 m/s or less within 30 m (a stop where a short
        halt left a dwell in one ride only; :func:`transit.stops.slow_passes`). None turns
        the rule off.
    bands
        Time bands of the service day.
    frequencies
        Headways the user gave (route name or id, period, headway).
    default_headway_s
        Assumed headway per band name when neither traces nor user give one.
    region_gap_m
        Segments farther apart than this (m) are built as separate regions.
    min_rides_confident
        Patterns with fewer rides are reported as needing another ride.
    continuous_pickup, continuous_drop_off
        GTFS hail-and-ride flags put on every route (None omits them).
    """

    timezone: str = "UTC"
    agency_name: str = "Informal transit"
    agency_url: str = "https://example.org/transit"
    use_field_stops: bool = True
    dwell: DwellOptions = field(default_factory=DwellOptions)
    match_radius_m: float = 30.0
    min_regularity: float = 0.12
    keep_single_pass: bool = True
    min_slow_share: float | None = 0.75
    bands: tuple[TimeBand, ...] = DEFAULT_TIME_BANDS
    frequencies: tuple[FrequencyRow, ...] = ()
    default_headway_s: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HEADWAY_S))
    region_gap_m: float = 50_000.0
    min_rides_confident: int = 2
    continuous_pickup: int | None = None
    continuous_drop_off: int | None = None


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The network and its JSON-able, deterministic build report."""

    network: Network
    report: dict[str, Any]


def _regions(segments: Sequence[TripSegment], gap_m: float) -> NDArray[np.int64]:
    lat = np.array([float(np.median(s.lat)) for s in segments])
    lon = np.array([float(np.median(s.lon)) for s in segments])
    if len(segments) == 1:
        return np.zeros(1, np.int64)
    raw = DBSCAN(eps=gap_m / EARTH_RADIUS_M, min_samples=1, metric="haversine",
                 algorithm="ball_tree").fit_predict(np.radians(np.c_[lat, lon]))
    # number regions by their first segment, deterministic
    first: dict[int, int] = {}
    for r in raw.tolist():
        first.setdefault(r, len(first))
    return np.array([first[r] for r in raw.tolist()], np.int64)


def _check(segments: Sequence[TripSegment], options: BuildOptions) -> None:
    if not segments:
        raise BuildError("no trip segments to build from", where="build input",
                         fix="import traces first (transit ingest) or pass --traces FILE")
    for s in segments:
        if len(s.time_ms) != len(s.lat) or len(s.lat) != len(s.lon):
            raise InputError("segment arrays differ in length",
                             where=f"trace {s.trace.trace_key} segment {s.segment}",
                             fix="build segments with TraceSet.iter_segments()")
    names = [b.name for b in options.bands]
    missing = [n for n in names if n not in options.default_headway_s]
    if missing:
        raise InputError(f"no default headway for bands {missing}", where="build options",
                         fix="give default_headway_s for every band")


def _hash(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def build_network(segments: Sequence[TripSegment],
                  options: BuildOptions = BuildOptions()) -> BuildResult:
    """Infer stops, routes, patterns, shapes and timing from trip segments.

    Parameters
    ----------
    segments
        Cleaned trip segments (``TraceSet.iter_segments()``), any order.
    options
        Thresholds, bands, headways and agency.

    Returns
    -------
    BuildResult
        ``network`` (stops used by a pattern, routes, patterns, shapes) and ``report``.

    Raises
    ------
    BuildError
        No segments; or no route could be inferred (nothing served two stops).
    InputError
        The frequencies name routes the build does not have.
    """
    _check(segments, options)
    ordered = sorted(segments, key=lambda s: (int(s.time_ms[0]) if len(s) else 0,
                                              s.trace.trace_key, s.segment))
    region = _regions(ordered, options.region_gap_m)
    results: list[RegionResult] = []
    for r in range(int(region.max()) + 1):
        part = [s for s, g in zip(ordered, region.tolist(), strict=True) if g == r]
        results.append(build_region(part, options, region_index=r))
    return _assemble(ordered, results, options)


def _assemble(segments: Sequence[TripSegment], results: list[RegionResult],
              options: BuildOptions) -> BuildResult:
    stops: dict[str, Stop] = {}
    routes: list[Route] = []
    patterns: list[Pattern] = []
    shapes: list[Shape] = []
    for res in results:
        stops.update({s.stop_id: s for s in res.stops})
        routes.extend(res.routes)
        patterns.extend(res.patterns)
        shapes.extend(res.shapes)
    if not patterns:
        raise BuildError(
            f"no route could be inferred from {len(segments)} trip segments: no ride served "
            "two stops", where="build",
            fix="ride each route end to end (several rides find stops) or mark stops by hand")
    _check_frequencies(options.frequencies, routes)
    used = {s for p in patterns for s in p.stop_ids}
    kept = tuple(sorted((s for sid, s in stops.items() if sid in used),
                        key=lambda s: s.stop_id))
    first_ms = min(int(s.time_ms[0]) for s in segments if len(s))
    start = local_clock(first_ms, options.timezone)[0]
    d0 = date(int(start[:4]), int(start[4:6]), int(start[6:]))
    end = (d0 + timedelta(days=364)).strftime("%Y%m%d")
    routes_s = tuple(sorted(routes, key=lambda r: r.route_id))
    patterns_s = tuple(sorted(patterns, key=lambda p: p.pattern_id))
    shapes_s = tuple(sorted(shapes, key=lambda s: s.shape_id))
    version = _hash(kept, routes_s, patterns_s, shapes_s, start)[:12]
    network = Network(
        agency_name=options.agency_name, agency_url=options.agency_url,
        agency_timezone=options.timezone, stops=kept, routes=routes_s, patterns=patterns_s,
        shapes=shapes_s, start_date=start, end_date=end, feed_version=version,
        feed_publisher_name=options.agency_name, feed_publisher_url=options.agency_url)
    report = build_report(network, results, segments, options)
    return BuildResult(network=network, report=report)


def _check_frequencies(rows: Sequence[FrequencyRow], routes: Sequence[Route]) -> None:
    known = {r.route_id for r in routes} | {route_key(r.route_short_name) for r in routes}
    unknown = sorted({r.route for r in rows
                      if r.route not in known and route_key(r.route) not in known})
    if unknown:
        names = sorted({r.route_short_name for r in routes})
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise InputError(f"frequencies name routes the build does not have: "
                         f"{', '.join(unknown[:10])}", where="frequencies",
                         fix=f"use a route name or route_id of this build ({shown})")
