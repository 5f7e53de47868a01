"""Repository functions for build jobs: queued -> running -> succeeded | failed.

The job runner (:mod:`api.jobs`) moves a build through its stages; readers see its status,
progress (0..1), report and findings. ``fail_interrupted`` runs at start-up: a build left
``running`` by a server that died is marked failed (it never published anything).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from api.store.service_schema import builds
from transit.errors import NotFoundError

__all__ = ["BuildRecord", "claim_build", "create_build", "fail_interrupted", "finish_build",
           "get_build", "list_builds", "queued_build_ids", "set_progress"]

#: Message of a build the server stopped during.
INTERRUPTED = "interrupted: the server stopped during the build; start a new build"


@dataclass(frozen=True)
class BuildRecord:
    """One build job."""

    id: int
    status: str
    stage: str
    progress: float
    options: dict[str, Any]
    requested_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    upload_ids: list[int] | None
    n_fixes: int | None
    report: dict[str, Any] | None
    findings: list[dict[str, str]] | None
    error: str | None
    feed_version: int | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _build(row: Any) -> BuildRecord:
    m = row._mapping
    return BuildRecord(**{f: m[f] for f in BuildRecord.__dataclass_fields__})


def create_build(conn: Connection, options: dict[str, Any], requested_by: str | None) -> int:
    """Queue a build; returns its id."""
    return int(conn.execute(insert(builds).values(
        status="queued", stage="queued", progress=0.0, options=options,
        requested_by=requested_by, created_at=_now()).returning(builds.c.id)).scalar_one())


def get_build(conn: Connection, build_id: int) -> BuildRecord:
    """The build with this id; :class:`NotFoundError` when there is none."""
    row = conn.execute(select(builds).where(builds.c.id == build_id)).first()
    if row is None:
        raise NotFoundError(f"no build with id {build_id}", fix="list builds with GET /builds")
    return _build(row)


def list_builds(conn: Connection, limit: int = 100) -> list[BuildRecord]:
    """The newest builds first."""
    query = select(builds).order_by(builds.c.id.desc()).limit(limit)
    return [_build(r) for r in conn.execute(query)]


def queued_build_ids(conn: Connection) -> list[int]:
    """Builds waiting to run, oldest first."""
    query = select(builds.c.id).where(builds.c.status == "queued").order_by(builds.c.id)
    return [int(i) for (i,) in conn.execute(query)]


def claim_build(conn: Connection, build_id: int) -> bool:
    """Move a queued build to ``running``; False when it is not queued (any more)."""
    result = conn.execute(update(builds).where(builds.c.id == build_id)
                          .where(builds.c.status == "queued")
                          .values(status="running", stage="starting", progress=0.0,
                                  started_at=_now()))
    return result.rowcount == 1


def set_progress(conn: Connection, build_id: int, stage: str, progress: float,
                 **values: Any) -> None:
    """Record the stage a running build reached (and e.g. ``upload_ids``, ``n_fixes``)."""
    conn.execute(update(builds).where(builds.c.id == build_id)
                 .values(stage=stage, progress=progress, **values))


def finish_build(conn: Connection, build_id: int, *, status: str, error: str | None = None,
                 report: dict[str, Any] | None = None,
                 findings: list[dict[str, str]] | None = None,
                 feed_version: int | None = None) -> None:
    """Record a build's outcome (``succeeded`` or ``failed``)."""
    values: dict[str, Any] = {"progress": 1.0} if status == "succeeded" else {}
    conn.execute(update(builds).where(builds.c.id == build_id).values(
        status=status, stage="done" if status == "succeeded" else "failed", error=error,
        report=report, findings=findings, feed_version=feed_version, finished_at=_now(),
        **values))


def fail_interrupted(conn: Connection) -> int:
    """Mark builds left ``running`` (their server died) failed; return how many."""
    result = conn.execute(update(builds).where(builds.c.status == "running").values(
        status="failed", stage="failed", error=INTERRUPTED, finished_at=_now()))
    return int(result.rowcount)
