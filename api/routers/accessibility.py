"""Planners: ``GET /accessibility?districts=ID`` (per-district measures, JSON or GeoJSON)
and ``GET /equity?districts=ID`` (how evenly access is shared) of a finished run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import QueryCaller, ServicesDep
from api.problems import PROBLEM_JSON, NotReadyError
from api.store import access_runs as repo
from transit.errors import NotFoundError

router = APIRouter(tags=["accessibility"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in (
        (401, "No or unknown key"), (403, "Wrong role"), (404, "No such run"),
        (409, "The run has not finished, or failed"))}


def _finished(services: ServicesDep, run_id: int | None) -> repo.AccessRun:
    with services.engine.connect() as conn:
        if run_id is None:
            done = [r for r in repo.list_runs(conn) if r.status == "succeeded"]
            if not done:
                raise NotFoundError("no finished accessibility run",
                                    fix="upload districts with POST /districts")
            run_id = done[0].id
        run = repo.get_run(conn, run_id, results=True)
    if run.status == "failed":
        raise NotReadyError(f"the run failed: {run.error}", where=f"districts {run.id}",
                            fix="fix the inputs and upload them again")
    if run.status != "succeeded" or run.districts is None:
        raise NotReadyError(f"the run is {run.status} ({run.stage})",
                            where=f"districts {run.id}", fix="poll GET /districts/{id}")
    return run


@router.get("/accessibility", responses={
    200: {"content": {"application/json": {}, "application/geo+json": {}},
          "description": "Per-district measures"}, **_PROBLEMS})
def accessibility(
    services: ServicesDep, caller: QueryCaller,
    districts: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Run id "
                                           "(default: the newest finished run)")] = None,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> Any:
    """Per-district accessibility: cumulative opportunities within each threshold,
    nearest-opportunity times, population shares (see the README's glossary)."""
    run = _finished(services, districts)
    collection = run.districts or {"features": []}
    if format == "geojson":
        return {**collection, "run": run.id, "feed_version": run.feed_version}
    return {"run": run.id, "feed_version": run.feed_version, "params": run.params,
            "districts": [f["properties"] for f in collection["features"]]}


@router.get("/equity", responses={200: {"description": "Equity summary"}, **_PROBLEMS})
def equity(
    services: ServicesDep, caller: QueryCaller,
    districts: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Run id "
                                           "(default: the newest finished run)")] = None,
) -> Any:
    """How evenly access is shared: Gini and Palma ratios, population beyond a time,
    the least-served districts."""
    run = _finished(services, districts)
    return {"run": run.id, "feed_version": run.feed_version, **(run.equity or {}),
            "notes": run.notes or []}
