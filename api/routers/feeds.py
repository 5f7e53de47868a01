"""Transit apps: ``GET /feeds`` (versions), ``GET /feeds/latest.zip``,
``GET /feeds/{version}.zip`` with ``ETag`` and ``Last-Modified`` (so clients poll with
``If-None-Match`` / ``If-Modified-Since`` and get ``304``); admins publish an existing GTFS
zip with ``POST /feeds``."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile

from api.deps import AdminCaller, FeedCaller, RowId, ServicesDep
from api.problems import PROBLEM_JSON
from api.schemas import FeedOut
from api.store import feeds as repo
from api.store.feeds import FeedVersion
from gtfs_out.findings import count_by_severity
from gtfs_out.read import read_feed
from gtfs_out.validate import validate_tables
from transit.errors import FeedError, NotFoundError, TooLargeError
from transit.gtfs_time import service_dates

router = APIRouter(tags=["feeds"])

_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The GTFS zip"},
    304: {"description": "Not modified (If-None-Match or If-Modified-Since matched)"},
    404: {"content": {PROBLEM_JSON: {}}, "description": "No such version"}}


def _out(feed: FeedVersion) -> FeedOut:
    return FeedOut(version=feed.version, sha256=feed.sha256, feed_version=feed.feed_version,
                   created_at=feed.created_at, size_bytes=feed.size_bytes,
                   build_id=feed.build_id, source=feed.source,
                   url=f"/feeds/{feed.version}.zip")


def _not_modified(request: Request, etag: str, modified: float) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            parsed = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        return parsed.tzinfo is not None and int(modified) <= parsed.timestamp()
    return False


def _zip_response(services: ServicesDep, request: Request, feed: FeedVersion) -> Response:
    etag = f'"{feed.sha256}"'
    modified = feed.created_at.timestamp()
    headers = {"ETag": etag, "Last-Modified": email.utils.formatdate(modified, usegmt=True),
               "Cache-Control": "no-cache"}
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    with services.engine.connect() as conn:
        data = repo.feed_data(conn, feed.version)
    headers["Content-Disposition"] = f'attachment; filename="feed-{feed.version}.zip"'
    return Response(data, media_type="application/zip", headers=headers)


@router.get("/feeds", response_model=list[FeedOut])
def list_feeds(services: ServicesDep, caller: FeedCaller) -> list[FeedOut]:
    """Every published version, newest first."""
    with services.engine.connect() as conn:
        return [_out(f) for f in repo.list_feeds(conn)]


@router.get("/feeds/latest.zip", response_class=Response, responses=_ZIP)
def latest_zip(services: ServicesDep, request: Request, caller: FeedCaller) -> Response:
    """The newest published feed."""
    with services.engine.connect() as conn:
        feed = repo.latest_feed(conn)
    if feed is None:
        raise NotFoundError("no feed is published yet",
                            fix="start a build (POST /builds) or publish a zip (POST /feeds)")
    return _zip_response(services, request, feed)


@router.get("/feeds/{version}.zip", response_class=Response, responses=_ZIP)
def version_zip(version: RowId, services: ServicesDep, request: Request,
                caller: FeedCaller) -> Response:
    """Feed ``version`` (versions count up from 1)."""
    with services.engine.connect() as conn:
        feed = repo.get_feed(conn, version)
    return _zip_response(services, request, feed)


@router.post("/feeds", response_model=FeedOut, status_code=201, responses={
    200: {"model": FeedOut, "description": "These bytes are already published"},
    413: {"content": {PROBLEM_JSON: {}}}, 422: {"content": {PROBLEM_JSON: {}}}})
def publish_feed(services: ServicesDep, caller: AdminCaller, response: Response,
                 file: Annotated[UploadFile, File(description="A GTFS zip")]) -> Any:
    """Publish an existing GTFS zip (e.g. a city's official feed) as the newest version.

    The zip must read as GTFS, run on at least one day and pass the project's validation
    rules without errors; queries then route on it.
    """
    data = file.file.read(services.settings.max_upload_bytes + 1)
    if len(data) > services.settings.max_upload_bytes:
        raise TooLargeError(f"over the upload limit of {services.settings.max_upload_bytes:,} "
                            "bytes", where=file.filename or "file",
                            fix="raise TRANSIT_MAX_UPLOAD_BYTES")
    name = (file.filename or "feed.zip")[:200]
    with tempfile.TemporaryDirectory(prefix="transit-feed-") as folder:
        path = Path(folder) / "feed.zip"
        path.write_bytes(data)
        tables = read_feed(path)
        findings = validate_tables(tables)
        errors = count_by_severity(findings)["error"]
        if errors:
            first = next(f for f in findings if f.severity == "error")
            raise FeedError(f"the feed has {errors} validation error(s), first {first.code} "
                            f"in {first.file} {first.entity_id}: {first.message}",
                            where=name, fix="fix the feed (transit validate FILE) and retry")
        if not service_dates(tables):
            raise FeedError("no service runs on any day", where=name,
                            fix="give the feed a calendar with at least one day of service")
    feed_version = None
    info = tables.get("feed_info")
    if info is not None and "feed_version" in info and len(info):
        feed_version = str(info["feed_version"].iloc[0])[:64] or None
    sha256 = hashlib.sha256(data).hexdigest()
    # load first: a feed the router cannot use is refused before it is published
    loaded = services.holder.load(FeedVersion(
        version=0, sha256=sha256, feed_version=feed_version, created_at=dt.datetime.now(dt.UTC),
        size_bytes=len(data), build_id=None, source=name), data)
    with services.engine.begin() as conn:
        feed, new = repo.publish_feed(conn, data, source=name, build_id=None,
                                      feed_version=feed_version)
    if new:
        loaded.feed = feed
        services.holder.swap(loaded)
    response.status_code = 201 if new else 200
    return _out(feed)
