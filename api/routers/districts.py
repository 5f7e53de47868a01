"""Planners: ``POST /districts`` uploads district polygons (GeoJSON, with population) and
opportunity points (CSV or GeoJSON) and queues an accessibility run on the published
feed; ``GET /districts/{id}`` shows its status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from api.access_jobs import check_inputs
from api.deps import PlannerCaller, RowId, ServicesDep
from api.problems import PROBLEM_JSON
from api.routers.isochrones import parse_minutes
from api.routers.journeys import parse_clock
from api.schemas import DistrictsOut
from api.store import access_runs as repo
from transit.access import AccessSpec
from transit.errors import FormatError, InputError, TooLargeError

router = APIRouter(tags=["accessibility"])

#: Most opportunity files per upload.
MAX_FILES = 10


def out(run: repo.AccessRun) -> DistrictsOut:
    """The API view of a run."""
    return DistrictsOut(
        id=run.id, status=run.status, stage=run.stage,  # type: ignore[arg-type]
        created_at=run.created_at, finished_at=run.finished_at,
        feed_version=run.feed_version, params=run.params, notes=run.notes, error=run.error,
        accessibility_url=f"/accessibility?districts={run.id}",
        equity_url=f"/equity?districts={run.id}")


def _text(upload: UploadFile, budget: list[int]) -> str:
    data = upload.file.read(budget[0] + 1)
    budget[0] -= len(data)
    if budget[0] < 0:
        raise TooLargeError("the files are over the upload limit", where=upload.filename,
                            fix="send smaller files or raise TRANSIT_MAX_UPLOAD_BYTES")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError("not UTF-8 text", where=upload.filename or "file",
                          fix="send GeoJSON or CSV encoded as UTF-8") from None


@router.post("/districts", response_model=DistrictsOut, status_code=202, responses={
    code: {"content": {PROBLEM_JSON: {}}} for code in (400, 401, 403, 404, 413, 422)})
def upload_districts(
    services: ServicesDep, caller: PlannerCaller,
    districts: Annotated[UploadFile, File(description="District polygons (GeoJSON "
                                                      "FeatureCollection)")],
    opportunities: Annotated[list[UploadFile], File(description="Opportunity points: CSV "
                                                                "(lat/lon) or GeoJSON")],
    population_field: Annotated[str, Form(max_length=64, description="District property "
                                                                     "holding residents")],
    name_field: Annotated[str | None, Form(max_length=64)] = None,
    category_field: Annotated[str | None, Form(max_length=64)] = None,
    select: Annotated[list[str] | None, Form(description="NAME=FIELD:V1|V2 extra "
                                                         "categories")] = None,
    depart: Annotated[str, Form(max_length=16)] = "07:30",
    window: Annotated[int, Form(ge=0, le=180, description="Departure window (min)")] = 60,
    draws: Annotated[int, Form(ge=1, le=20)] = 5,
    minutes: Annotated[str, Form(max_length=64, description="Thresholds (min)")] = "30,45,60",
    percentile: Annotated[int, Form(ge=1, le=100)] = 50,
    spacing_m: Annotated[float, Form(ge=50, le=5000, description="Origin grid (m)")] = 250,
) -> DistrictsOut:
    """Queue an accessibility run; poll ``GET /districts/{id}``, then read
    ``GET /accessibility`` and ``GET /equity``."""
    if len(opportunities) > MAX_FILES:
        raise InputError(f"{len(opportunities)} opportunity files", where="opportunities",
                         fix=f"send at most {MAX_FILES}")
    services.holder.current  # noqa: B018 - 404 before any work when no feed is published
    depart_s = parse_clock(depart)
    limits = parse_minutes(minutes)
    AccessSpec(depart_s=depart_s, window_s=window * 60, draws=draws,
               thresholds_s=tuple(m * 60 for m in limits), percentile=percentile)
    budget = [services.settings.max_upload_bytes]
    districts_text = _text(districts, budget)
    opps = [(u.filename or f"opportunities{i}.csv", _text(u, budget))
            for i, u in enumerate(opportunities)]
    params: dict[str, Any] = {
        "population_field": population_field, "name_field": name_field or None,
        "category_field": category_field or None, "selects": list(select or []),
        "depart_s": depart_s, "window_min": window, "draws": draws, "minutes": limits,
        "percentile": percentile, "spacing_m": spacing_m}
    check_inputs(districts_text, opps, params)
    with services.engine.begin() as conn:
        run_id = repo.create_run(conn, params, {"districts": districts_text,
                                                "opportunities": opps}, caller.prefix)
        run = repo.get_run(conn, run_id)
    if services.runner is not None:
        services.runner.submit_access(run_id)
    return out(run)


@router.get("/districts", response_model=list[DistrictsOut])
def list_districts(services: ServicesDep, caller: PlannerCaller) -> list[DistrictsOut]:
    """The 100 newest accessibility runs."""
    with services.engine.connect() as conn:
        return [out(r) for r in repo.list_runs(conn)]


@router.get("/districts/{run_id}", response_model=DistrictsOut,
            responses={404: {"content": {PROBLEM_JSON: {}}}})
def get_districts(run_id: RowId, services: ServicesDep, caller: PlannerCaller) -> DistrictsOut:
    """A run's status, stage, parameters and notes."""
    with services.engine.connect() as conn:
        return out(repo.get_run(conn, run_id))
