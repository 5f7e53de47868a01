"""``transit access`` end to end: files in, report out (the CLI and the bench call this).

Steps: read the feed and build the timetable of the service day; read districts and
opportunities; lay the origins; measure every origin (split into tasks, see
:mod:`api.access_run`); aggregate per district; equity; write the report. Each step's
wall time is kept for the report and the benchmark.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from api.access_io import Districts, read_districts, read_opportunities
from api.access_report import write_report
from api.access_run import Backend, run_origins
from gtfs_out.read import GtfsTables, read_feed
from transit.access import AccessSpec, Destinations, OriginMeasures, build_destinations
from transit.access_origins import Origins, build_origins, district_of_points
from transit.equity import DistrictMeasures, aggregate_districts, equity_summary
from transit.errors import InputError
from transit.gtfs_time import service_dates
from transit.journeys import clock_text
from transit.one_to_all import draw_offsets
from transit.timetable import Timetable, build_timetable
from transit.walk import haversine_m

__all__ = ["AccessRequest", "AccessResult", "default_service_date", "feed_routes",
           "run_access"]


@dataclass(frozen=True)
class AccessRequest:
    """Everything ``transit access`` needs (paths, fields, analysis and run settings)."""

    feed: Path
    districts: Path
    population_field: str
    opportunities: tuple[Path, ...]
    spec: AccessSpec
    name_field: str | None = None
    category_field: str | None = None
    selects: tuple[str, ...] = ()
    crs: str | None = None
    service_date: dt.date | None = None
    spacing_m: float = 250.0
    beyond_min: float = 60.0
    hospital_category: str = "hospital"
    backend: Backend = "threads"
    workers: int = 2
    scheduler: str | None = None
    out: Path | None = None


@dataclass
class AccessResult:
    """What a run produced, with the wall time of each step (s)."""

    districts: Districts
    origins: Origins
    measures: OriginMeasures
    district_measures: DistrictMeasures
    equity: dict[str, Any]
    notes: list[str]
    meta: dict[str, Any]
    ran_on: str
    timings_s: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def default_service_date(tables: GtfsTables) -> dt.date:
    """The feed's first weekday of service (else its first day of service)."""
    days = service_dates(tables)
    if not days:
        raise InputError("no service runs on any day", where=tables.source,
                         fix="give a feed with a calendar")
    weekdays = [d for d in days if d.weekday() < 5]
    return (weekdays or days)[0]


def feed_routes(tables: GtfsTables) -> list[NDArray[np.float64]]:
    """The feed's shapes as ``(n, 2)`` lat/lon polylines (empty without shapes.txt)."""
    shapes = tables.get("shapes")
    if shapes is None or shapes.empty:
        return []
    frame = shapes.assign(
        seq=np.asarray(np.asarray(shapes["shape_pt_sequence"], dtype=object), dtype=float),
        lat=np.asarray(shapes["shape_pt_lat"], dtype=object).astype(float),
        lon=np.asarray(shapes["shape_pt_lon"], dtype=object).astype(float))
    frame = frame.sort_values(["shape_id", "seq"], kind="stable")
    return [group[["lat", "lon"]].to_numpy(np.float64)
            for _, group in frame.groupby("shape_id", sort=True)]


def _check_window(tt: Timetable, spec: AccessSpec, notes: list[str]) -> None:
    last = max(int(tt.trip_dep_s.max(initial=0)), int(tt.freq_end_s.max(initial=0)))
    if spec.depart_s >= last:
        raise InputError(f"no vehicle departs after {clock_text(spec.depart_s)} on "
                         f"{tt.service_date} (last at {clock_text(last)})", where="--depart",
                         fix="depart earlier or pick another --date")
    if spec.depart_s + spec.window_s > last:
        notes.append(f"the window ends at {clock_text(spec.depart_s + spec.window_s)}, after "
                     f"the last departure ({clock_text(last)}): late samples can only walk")


def _covered(tt: Timetable, origins: Origins) -> NDArray[np.bool_]:
    """Origins within the walking limit of at least one stop (vectorised by grid cell)."""
    step = 0.01
    cells: dict[tuple[int, int], list[int]] = {}
    for s, key in enumerate(zip(np.floor(tt.stop_lat / step).astype(int),
                                np.floor(tt.stop_lon / step).astype(int), strict=True)):
        cells.setdefault(key, []).append(s)
    reach = int(np.ceil(tt.walk.max_access_m / (step * 111_000 * 0.5))) + 1
    out = np.zeros(origins.size, np.bool_)
    okey = np.floor(origins.lat / step).astype(int), np.floor(origins.lon / step).astype(int)
    for i in range(origins.size):
        near = [s for di in range(-reach, reach + 1) for dj in range(-reach, reach + 1)
                for s in cells.get((okey[0][i] + di, okey[1][i] + dj), ())]
        if near:
            d = haversine_m(tt.stop_lat[near], tt.stop_lon[near], origins.lat[i],
                            origins.lon[i])
            out[i] = bool(np.min(d) <= tt.walk.max_access_m)
    return out


def run_access(req: AccessRequest, *, on_stage: Callable[[str], None] | None = None,
               on_origins: Callable[[int], None] | None = None,
               on_progress: Callable[[int], None] | None = None) -> AccessResult:
    """Run the whole analysis; write the report when ``req.out`` is set.

    ``on_stage`` is told each step's name, ``on_origins`` the number of origins once known,
    ``on_progress`` the origins finished as they finish.
    """
    marks: list[tuple[str, float]] = []

    def stage(name: str) -> None:
        marks.append((name, time.perf_counter()))
        if on_stage is not None:
            on_stage(name)

    stage("feed")
    notes: list[str] = []
    tables = read_feed(req.feed)
    day = req.service_date or default_service_date(tables)
    tt = build_timetable(tables, day, feed_sha256=tables.sha256)
    _check_window(tt, req.spec, notes)
    stage("inputs")
    districts = read_districts(req.districts, req.population_field, req.name_field,
                               crs=req.crs)
    notes += list(districts.notes)
    opps = read_opportunities(req.opportunities, req.category_field, req.selects, crs=req.crs)
    notes += list(opps.notes)
    where = district_of_points(districts.geometries, opps.lat, opps.lon)
    for name, idx in opps.members.items():
        outside = int((where[idx] < 0).sum())
        if outside:
            notes.append(f"{outside} of {idx.size} {name} lie outside every district "
                         "(still counted as destinations)")
    stage("origins")
    origins = build_origins(list(districts.geometries), districts.population, req.spacing_m)
    covered = _covered(tt, origins)
    if not covered.any():
        raise InputError("no district overlaps the feed's area: no origin has a stop within "
                         f"{tt.walk.max_access_m:g} m", where=str(req.districts),
                         fix="check that the districts and the feed cover the same city")
    per_district = np.bincount(origins.district, weights=covered, minlength=len(districts.names))
    lonely = [districts.names[d] for d in np.flatnonzero(per_district == 0)]
    if lonely:
        notes.append(f"{len(lonely)} districts have no stop within walking distance (transit "
                     f"equals walking there): {', '.join(lonely)}")
    dest: Destinations = build_destinations(tt, opps.lat, opps.lon, opps.members)
    offsets = draw_offsets(tt, req.spec.draws, req.spec.seed)
    if on_origins is not None:
        on_origins(origins.size)
    stage("measure")
    measures, ran_on = run_origins(tt, origins.lat, origins.lon, dest, req.spec, offsets,
                                   backend=req.backend, workers=req.workers,
                                   scheduler=req.scheduler, on_progress=on_progress)
    stage("report")
    categories = tuple(opps.members)
    dm = aggregate_districts(origins, measures, districts.names, categories,
                             req.spec.thresholds_s)
    equity = equity_summary(dm, origins, measures, beyond_min=req.beyond_min)
    hospital = req.hospital_category if req.hospital_category in categories else None
    meta: dict[str, Any] = {
        "feed": str(req.feed), "service_date": day.isoformat(),
        "depart": clock_text(req.spec.depart_s)[:5], "window_min": req.spec.window_s / 60,
        "draws": int(offsets.shape[0]), "seed": req.spec.seed,
        "percentile": req.spec.percentile,
        "thresholds_min": [t / 60 for t in req.spec.thresholds_s],
        "spacing_m": req.spacing_m, "origins": origins.size,
        "origins_with_stop_nearby": int(covered.sum()),
        "opportunity_counts": {k: int(v.size) for k, v in opps.members.items()},
        "hospital_category": hospital,
    }
    result = AccessResult(districts, origins, measures, dm, equity, notes, meta, ran_on)
    if req.out is not None:
        result.files = write_report(req.out, dm, districts.geometries, equity, meta, notes,
                                    feed_routes(tables))
    stage("done")
    result.timings_s = {marks[i][0]: round(marks[i + 1][1] - marks[i][1], 3)
                        for i in range(len(marks) - 1)}
    return result
