"""Repository functions for accessibility runs (``POST /districts`` queues one).

A run keeps its inputs (the districts GeoJSON and the opportunity files, as text), its
parameters, and when done the per-district measures (a GeoJSON FeatureCollection) and the
equity summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from api.store.builds import INTERRUPTED
from api.store.service_schema import access_runs
from transit.errors import NotFoundError

__all__ = ["AccessRun", "claim_run", "create_run", "fail_interrupted_runs", "finish_run",
           "get_run", "get_run_inputs", "list_runs", "queued_run_ids", "set_stage"]

_SUMMARY = [c for c in access_runs.c if c.name not in ("inputs", "districts", "equity")]


@dataclass(frozen=True)
class AccessRun:
    """One run; ``districts`` and ``equity`` are filled only when asked for."""

    id: int
    status: str
    stage: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    requested_by: str | None
    feed_version: int | None
    params: dict[str, Any]
    notes: list[str] | None
    error: str | None
    districts: dict[str, Any] | None = None
    equity: dict[str, Any] | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _run(row: Any) -> AccessRun:
    m = row._mapping
    return AccessRun(**{f: m[f] for f in AccessRun.__dataclass_fields__ if f in m})


def create_run(conn: Connection, params: dict[str, Any], inputs: dict[str, Any],
               requested_by: str | None) -> int:
    """Queue a run; returns its id."""
    return int(conn.execute(insert(access_runs).values(
        status="queued", stage="queued", created_at=_now(), requested_by=requested_by,
        params=params, inputs=inputs).returning(access_runs.c.id)).scalar_one())


def get_run(conn: Connection, run_id: int, *, results: bool = False) -> AccessRun:
    """Run ``run_id`` (with its results when ``results``); :class:`NotFoundError` if none."""
    columns = list(_SUMMARY) + ([access_runs.c.districts, access_runs.c.equity]
                                if results else [])
    row = conn.execute(select(*columns).where(access_runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no districts upload with id {run_id}",
                            fix="upload districts with POST /districts; list with GET /districts")
    return _run(row)


def get_run_inputs(conn: Connection, run_id: int) -> dict[str, Any]:
    """The inputs kept for run ``run_id``."""
    row = conn.execute(select(access_runs.c.inputs).where(access_runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no districts upload with id {run_id}")
    return dict(row[0])


def list_runs(conn: Connection, limit: int = 100) -> list[AccessRun]:
    """The newest runs first (without results)."""
    query = select(*_SUMMARY).order_by(access_runs.c.id.desc()).limit(limit)
    return [_run(r) for r in conn.execute(query)]


def queued_run_ids(conn: Connection) -> list[int]:
    """Runs waiting, oldest first."""
    query = select(access_runs.c.id).where(access_runs.c.status == "queued").order_by(
        access_runs.c.id)
    return [int(i) for (i,) in conn.execute(query)]


def claim_run(conn: Connection, run_id: int) -> bool:
    """Move a queued run to ``running``; False when it is not queued."""
    result = conn.execute(update(access_runs).where(access_runs.c.id == run_id)
                          .where(access_runs.c.status == "queued")
                          .values(status="running", stage="starting"))
    return result.rowcount == 1


def set_stage(conn: Connection, run_id: int, stage: str, **values: Any) -> None:
    """Record the stage a run reached."""
    conn.execute(update(access_runs).where(access_runs.c.id == run_id)
                 .values(stage=stage[:64], **values))


def finish_run(conn: Connection, run_id: int, *, status: str, error: str | None = None,
               districts: dict[str, Any] | None = None, equity: dict[str, Any] | None = None,
               notes: list[str] | None = None) -> None:
    """Record a run's outcome."""
    conn.execute(update(access_runs).where(access_runs.c.id == run_id).values(
        status=status, stage="done" if status == "succeeded" else "failed", error=error,
        districts=districts, equity=equity, notes=notes, finished_at=_now()))


def fail_interrupted_runs(conn: Connection) -> int:
    """Mark runs left ``running`` by a server that died failed; return how many."""
    result = conn.execute(update(access_runs).where(access_runs.c.status == "running").values(
        status="failed", stage="failed", error=INTERRUPTED.replace("build", "run"),
        finished_at=_now()))
    return int(result.rowcount)
