"""Builds: ``POST /builds`` queues a build job (admin); ``GET /builds/{id}`` shows its
status, progress, report and findings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from api.deps import AdminCaller, Caller, PlannerCaller, RowId, ServicesDep, check_zone
from api.problems import PROBLEM_JSON
from api.schemas import BuildOut, BuildRequest
from api.store import builds as repo

router = APIRouter(tags=["builds"])


def redact_devices(value: Any) -> Any:
    """``value`` with every ``"devices"`` list replaced by its length (device ids are
    personal data: only admins see them)."""
    if isinstance(value, dict):
        return {k: (len(v) if k == "devices" and isinstance(v, list) else redact_devices(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact_devices(v) for v in value]
    return value


def _out(record: repo.BuildRecord, caller: Caller) -> BuildOut:
    out = BuildOut(**{f: getattr(record, f) for f in BuildOut.model_fields})
    if not caller.is_admin and out.report is not None:
        out.report = redact_devices(out.report)
    return out


@router.post("/builds", response_model=BuildOut, status_code=202, responses={
    401: {"content": {PROBLEM_JSON: {}}}, 403: {"content": {PROBLEM_JSON: {}}}})
def start_build(services: ServicesDep, caller: AdminCaller,
                request: Annotated[BuildRequest | None, Body()] = None) -> BuildOut:
    """Queue a build of every stored upload; it runs in the background (poll
    ``GET /builds/{id}``). A finished build publishes a new feed version; a failed one
    leaves the published feed as it was."""
    options: dict[str, Any] = (request or BuildRequest()).model_dump()
    options["timezone"] = options["timezone"] or services.settings.timezone
    check_zone(options["timezone"])
    with services.engine.begin() as conn:
        build_id = repo.create_build(conn, options, caller.prefix)
        record = repo.get_build(conn, build_id)
    if services.runner is not None:
        services.runner.submit(build_id)
    return _out(record, caller)


@router.get("/builds", response_model=list[BuildOut])
def list_builds(services: ServicesDep, caller: PlannerCaller) -> list[BuildOut]:
    """The 100 newest builds, newest first."""
    with services.engine.connect() as conn:
        return [_out(r, caller) for r in repo.list_builds(conn)]


@router.get("/builds/{build_id}", response_model=BuildOut,
            responses={404: {"content": {PROBLEM_JSON: {}}, "description": "No such build"}})
def get_build(build_id: RowId, services: ServicesDep, caller: PlannerCaller) -> BuildOut:
    """A build's status, stage, progress (0..1), report and validation findings (device
    ids in the report are replaced by their count unless the key is an admin's)."""
    with services.engine.connect() as conn:
        return _out(repo.get_build(conn, build_id), caller)
