"""Build jobs: run outside the request, one at a time, in a worker thread.

``POST /builds`` only queues a row (:func:`api.store.builds.create_build`) and wakes the
:class:`BuildRunner`. :func:`run_build` then

1. claims the build (``queued`` -> ``running``);
2. reads every stored upload in one snapshot (``REPEATABLE READ`` on PostgreSQL; one
   transaction on SQLite) and records which uploads and how many fixes it saw;
3. builds the network (:func:`transit.build.build_network`), writes the zip in memory and
   runs the project's validation rules on it: a feed with an error finding is not
   published and the build fails;
4. loads the new feed's timetable aside (a feed the router cannot use fails the build);
5. publishes the feed version and records the build's success in one transaction, so a
   failed or killed build never replaces the published feed; then the timetable holder
   swaps the new timetable in (one reference assignment).

At start-up builds left ``running`` by a server that died are marked failed; queued ones
run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from api.store import builds as build_repo
from api.store import feeds as feed_repo
from api.store.feeds import FeedVersion
from api.store.uploads import list_uploads, load_traceset
from api.timetables import TimetableHolder
from gtfs_out.findings import count_by_severity
from transit.errors import BuildError, TransitError

if TYPE_CHECKING:
    from transit.build import BuildOptions

# The builder (scikit-learn, numba) and the validator are imported when a build runs, so
# that the service starts fast.

__all__ = ["BuildRunner", "build_options", "run_build"]

_log = logging.getLogger("transit.jobs")

def build_options(options: dict[str, Any]) -> BuildOptions:
    """The builder's options from a build request's stored options."""
    from transit.build import BuildOptions

    hail = bool(options.get("hail_and_ride", False))
    return BuildOptions(
        timezone=str(options.get("timezone", "UTC")),
        agency_name=str(options.get("agency_name", "Informal transit")),
        agency_url=str(options.get("agency_url", "https://example.org/transit")),
        use_field_stops=bool(options.get("field_stops", True)),
        continuous_pickup=0 if hail else None, continuous_drop_off=0 if hail else None)


def _progress(engine: Engine, build_id: int, stage: str, progress: float,
              **values: Any) -> None:
    with engine.begin() as conn:
        build_repo.set_progress(conn, build_id, stage, progress, **values)


def _snapshot(engine: Engine) -> tuple[list[int], Any]:
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
    with connection as conn, conn.begin():
        ids = [u.id for u in list_uploads(conn) if u.status == "stored"]
        traceset = load_traceset(conn, upload_ids=ids)
    return ids, traceset


def run_build(engine: Engine, build_id: int,
              holder: TimetableHolder | None = None) -> build_repo.BuildRecord:
    """Run queued build ``build_id`` to its end; returns its final record."""
    with engine.begin() as conn:
        if not build_repo.claim_build(conn, build_id):
            return build_repo.get_build(conn, build_id)
        record = build_repo.get_build(conn, build_id)
    rows: list[dict[str, str]] | None = None
    try:
        options = build_options(record.options)
        _progress(engine, build_id, "loading traces", 0.05)
        upload_ids, traceset = _snapshot(engine)
        segments = list(traceset.iter_segments())
        if not options.use_field_stops:
            segments = [replace(s, field_stops=()) for s in segments]
        _progress(engine, build_id, f"building from {len(segments)} trip segments", 0.2,
                  upload_ids=upload_ids, n_fixes=len(traceset.fixes))
        from gtfs_out.write import feed_bytes
        from transit.build import build_network

        result = build_network(segments, options)
        _progress(engine, build_id, "validating the feed", 0.8)
        data = feed_bytes(result.network)
        findings = _validate(data)
        rows = [f.to_dict() for f in findings]
        errors = count_by_severity(findings)["error"]
        if errors:
            raise BuildError(f"the built feed has {errors} validation error(s); it was not "
                             "published", where=f"build {build_id}",
                             fix="see the findings of the build")
        loaded = None
        if holder is not None:
            _progress(engine, build_id, "loading the timetable", 0.9)
            loaded = holder.load(FeedVersion(
                version=0, sha256=hashlib.sha256(data).hexdigest(),
                feed_version=result.network.feed_version, created_at=dt.datetime.now(dt.UTC),
                size_bytes=len(data), build_id=build_id, source=f"build {build_id}"), data)
        _progress(engine, build_id, "publishing", 0.95)
        with engine.begin() as conn:
            feed, new = feed_repo.publish_feed(
                conn, data, source=f"build {build_id}", build_id=build_id,
                feed_version=result.network.feed_version)
            build_repo.finish_build(conn, build_id, status="succeeded", report=result.report,
                                    findings=rows, feed_version=feed.version)
    except TransitError as error:
        _fail(engine, build_id, error.one_line(), rows)
        return _get(engine, build_id)
    except Exception as error:  # a bug: fail the job, keep the service up
        _log.exception("build %s failed", build_id)
        _fail(engine, build_id, f"internal error ({error.__class__.__name__}); the server log "
                                "has details", None)
        return _get(engine, build_id)
    if loaded is not None and holder is not None and new:
        loaded.feed = feed
        holder.swap(loaded)
    return _get(engine, build_id)


def _validate(data: bytes) -> list[Any]:
    from gtfs_out.validate import validate_feed

    with tempfile.TemporaryDirectory(prefix="transit-build-") as folder:
        path = Path(folder) / "feed.zip"
        path.write_bytes(data)
        return validate_feed(path)


def _fail(engine: Engine, build_id: int, message: str,
          findings: list[dict[str, str]] | None) -> None:
    with engine.begin() as conn:
        build_repo.finish_build(conn, build_id, status="failed", error=message,
                                findings=findings)


def _get(engine: Engine, build_id: int) -> build_repo.BuildRecord:
    with engine.connect() as conn:
        return build_repo.get_build(conn, build_id)


class BuildRunner:
    """One worker thread running queued jobs in order: builds, and accessibility runs."""

    def __init__(self, engine: Engine, holder: TimetableHolder | None = None) -> None:
        self.engine = engine
        self.holder = holder
        self._queue: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Fail builds a dead server left running, queue the waiting ones, start the
        worker; returns how many builds were marked failed."""
        from api.store import access_runs

        with self.engine.begin() as conn:
            failed = build_repo.fail_interrupted(conn)
            failed += access_runs.fail_interrupted_runs(conn)
            waiting = [("build", i) for i in build_repo.queued_build_ids(conn)]
            waiting += [("access", i) for i in access_runs.queued_run_ids(conn)]
        for job in waiting:
            self._queue.put(job)
        self._thread = threading.Thread(target=self._loop, name="transit-builds", daemon=True)
        self._thread.start()
        return failed

    def submit(self, build_id: int) -> None:
        """Run build ``build_id`` after the jobs already waiting."""
        self._queue.put(("build", build_id))

    def submit_access(self, run_id: int) -> None:
        """Run accessibility run ``run_id`` after the jobs already waiting."""
        self._queue.put(("access", run_id))

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the running build (up to ``timeout_s``) and stop the worker."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        from api.access_jobs import run_access_job

        while True:
            job = self._queue.get()
            if job is None:
                return
            kind, job_id = job
            try:
                if kind == "build":
                    run_build(self.engine, job_id, self.holder)
                elif self.holder is not None:
                    run_access_job(self.engine, job_id, self.holder)
            except Exception:  # the database went away: keep the worker alive
                _log.exception("%s job %s could not run", kind, job_id)
