"""The FastAPI application: :func:`create_app` wires settings, store, jobs and routers.

Start-up (the lifespan) opens the store and applies migrations, marks uploads and builds
a dead server left half-done, loads the published feed's timetable and starts the build
worker. OpenAPI docs are at ``/docs``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.deps import Services, ServicesDep
from api.jobs import BuildRunner
from api.problems import install_problem_handlers, problem_response
from api.routers import (
    accessibility,
    builds,
    districts,
    feeds,
    isochrones,
    journeys,
    keys,
    uploads,
)
from api.settings import Settings
from api.store import feeds as feed_repo
from api.store.db import open_store
from api.store.uploads import mark_interrupted
from api.timetables import TimetableHolder

__all__ = ["create_app"]

_log = logging.getLogger("transit.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse a request whose ``Content-Length`` is over the limit before reading it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    response = problem_response(
                        413, "Too large", f"{int(value):,} bytes is over the upload limit of "
                                          f"{self.max_bytes:,}", type_="/problems/too-large",
                        fix="split the file, or raise TRANSIT_MAX_UPLOAD_BYTES")
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _load_latest(services: Services) -> None:
    with services.engine.connect() as conn:
        feed = feed_repo.latest_feed(conn)
        data = feed_repo.feed_data(conn, feed.version) if feed is not None else None
    if feed is not None and data is not None:
        try:
            services.holder.swap(services.holder.load(feed, data))
        except Exception:  # keep serving uploads and feeds; queries answer 404
            _log.exception("the published feed %s cannot be routed on", feed.version)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service, configured by ``settings`` (default: from ``TRANSIT_*`` env vars)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = open_store(settings.database_url)
        holder = TimetableHolder(settings.data_dir, settings.service_date)
        runner = BuildRunner(engine, holder) if settings.run_jobs else None
        services = Services(settings=settings, engine=engine, holder=holder, runner=runner)
        with engine.begin() as conn:
            mark_interrupted(conn)
        _load_latest(services)
        if runner is not None:
            failed = runner.start()
            if failed:
                _log.warning("%d build(s) left running by a stopped server marked failed",
                             failed)
        app.state.services = services
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            engine.dispose()

    app = FastAPI(
        title="transit-informal",
        summary="Phone traces of informal transit -> validated GTFS -> journeys and access",
        version="0.1.0", lifespan=lifespan)
    install_problem_handlers(app)
    for module in (uploads, builds, feeds, journeys, isochrones, districts, accessibility,
                   keys):
        app.include_router(module.router)

    @app.get("/health", tags=["service"])
    def health(services: ServicesDep) -> dict[str, Any]:
        """Liveness, and the feed version queries route on."""
        loaded = services.holder.loaded
        return {"status": "ok",
                "feed_version": loaded.feed.version if loaded is not None else None}

    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    return app
