"""Accessibility runs as jobs: districts and opportunities in, measures per district out.

``POST /districts`` checks the files at once (:func:`check_inputs`, so bad input is a 4xx)
and queues a run; the job worker then routes every origin of the districts on the
published feed (:func:`api.access_pipeline.run_access`, the same code as
``transit access``) and stores the per-district measures as GeoJSON and the equity
summary. The run records the feed version it used.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import mapping
from sqlalchemy import Engine

from api.store import access_runs as repo
from api.timetables import TimetableHolder
from transit.errors import InputError, TransitError

__all__ = ["check_inputs", "json_safe", "run_access_job"]

_log = logging.getLogger("transit.jobs")


def json_safe(value: Any, digits: int = 6) -> Any:
    """``value`` with numpy scalars as Python numbers, floats rounded, NaN/inf as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v, digits) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


def _write(folder: Path, districts: str, opportunities: Sequence[tuple[str, str]]
           ) -> tuple[Path, tuple[Path, ...]]:
    d_path = folder / "districts.geojson"
    d_path.write_text(districts, encoding="utf-8")
    paths = []
    for i, (name, text) in enumerate(opportunities):
        safe = "".join(c for c in Path(name).name if c.isalnum() or c in "._-") or f"f{i}"
        sub = folder / f"o{i}"
        sub.mkdir()
        path = sub / safe
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return d_path, tuple(paths)


def check_inputs(districts: str, opportunities: Sequence[tuple[str, str]],
                 params: dict[str, Any]) -> None:
    """Read the files as the run will (raises :class:`InputError` / ``FormatError``)."""
    from api.access_io import read_districts, read_opportunities

    with tempfile.TemporaryDirectory(prefix="transit-access-") as tmp:
        d_path, o_paths = _write(Path(tmp), districts, opportunities)
        read_districts(d_path, params["population_field"], params.get("name_field"))
        read_opportunities(o_paths, params.get("category_field"),
                           tuple(params.get("selects", ())))


def _stage(engine: Engine, run_id: int, stage: str, **values: Any) -> None:
    with engine.begin() as conn:
        repo.set_stage(conn, run_id, stage, **values)


def run_access_job(engine: Engine, run_id: int, holder: TimetableHolder) -> repo.AccessRun:
    """Run queued accessibility run ``run_id`` to its end; returns its final record."""
    with engine.begin() as conn:
        if not repo.claim_run(conn, run_id):
            return repo.get_run(conn, run_id)
        run = repo.get_run(conn, run_id)
        inputs = repo.get_run_inputs(conn, run_id)
    try:
        loaded = holder.current
        if loaded.path is None:
            raise InputError("the published feed has no file to route on",
                             fix="publish the feed again")
        _stage(engine, run_id, "reading inputs", feed_version=loaded.feed.version)
        result, districts, equity = _run(run.params, inputs, loaded.path,
                                         loaded.default_date,
                                         lambda s: _stage(engine, run_id, s))
        equity["parameters"]["feed"] = f"feed version {loaded.feed.version}"
    except TransitError as error:
        with engine.begin() as conn:
            repo.finish_run(conn, run_id, status="failed", error=error.one_line())
    except Exception as error:  # a bug: fail the run, keep the service up
        _log.exception("accessibility run %s failed", run_id)
        with engine.begin() as conn:
            repo.finish_run(conn, run_id, status="failed",
                            error=f"internal error ({error.__class__.__name__})")
    else:
        with engine.begin() as conn:
            repo.finish_run(conn, run_id, status="succeeded", districts=districts,
                            equity=equity, notes=json_safe(list(result.notes)))
    with engine.connect() as conn:
        return repo.get_run(conn, run_id)


def _run(params: dict[str, Any], inputs: dict[str, Any], feed: Path, day: Any,
         on_stage: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    from api.access_pipeline import AccessRequest, run_access
    from transit.access import AccessSpec
    from transit.equity import district_columns

    spec = AccessSpec(depart_s=int(params["depart_s"]), window_s=int(params["window_min"]) * 60,
                      draws=int(params["draws"]),
                      thresholds_s=tuple(int(m) * 60 for m in params["minutes"]),
                      percentile=int(params["percentile"]))
    with tempfile.TemporaryDirectory(prefix="transit-access-") as tmp:
        d_path, o_paths = _write(Path(tmp), inputs["districts"],
                                 [tuple(x) for x in inputs["opportunities"]])
        request = AccessRequest(
            feed=feed, districts=d_path, population_field=params["population_field"],
            opportunities=o_paths, spec=spec, name_field=params.get("name_field"),
            category_field=params.get("category_field"),
            selects=tuple(params.get("selects", ())), service_date=day,
            spacing_m=float(params["spacing_m"]), backend="threads", workers=1)
        result = run_access(request, on_stage=on_stage)
    cols = district_columns(result.district_measures)
    features = []
    for i, geom in enumerate(result.districts.geometries):
        props = {"name": result.district_measures.names[i],
                 **{k: v[i] for k, v in cols.items()}}
        features.append({"type": "Feature", "properties": json_safe(props, 4),
                         "geometry": json_safe(mapping(geom))})
    districts = {"type": "FeatureCollection", "features": features}
    equity = json_safe({"parameters": result.meta, **result.equity})
    return result, districts, equity
