"""Repository functions for published feed versions (the zip bytes live in the row).

Publishing is one ``INSERT``: readers see the whole new version or the old one, never a
half. Versions count up from 1; the same bytes are never published twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from api.store.service_schema import feed_versions
from transit.errors import NotFoundError

__all__ = ["FeedVersion", "feed_by_sha256", "feed_data", "get_feed", "latest_feed",
           "list_feeds", "publish_feed"]

_META = [c for c in feed_versions.c if c.name != "data"]


@dataclass(frozen=True)
class FeedVersion:
    """A published feed (without its bytes)."""

    version: int
    sha256: str
    feed_version: str | None
    created_at: dt.datetime
    size_bytes: int
    build_id: int | None
    source: str


def _feed(row: Any) -> FeedVersion:
    m = row._mapping
    created = m["created_at"]
    if created.tzinfo is None:  # SQLite returns naive datetimes
        created = created.replace(tzinfo=dt.UTC)
    return FeedVersion(**{**{f: m[f] for f in FeedVersion.__dataclass_fields__},
                          "created_at": created})


def publish_feed(conn: Connection, data: bytes, *, source: str, build_id: int | None,
                 feed_version: str | None) -> tuple[FeedVersion, bool]:
    """Publish ``data`` as the newest version; returns it and whether it is new.

    When the same bytes are already published, that version is returned unchanged.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = feed_by_sha256(conn, sha256)
    if existing is not None:
        return existing, False
    version = conn.execute(insert(feed_versions).values(
        sha256=sha256, feed_version=feed_version, created_at=dt.datetime.now(dt.UTC),
        size_bytes=len(data), build_id=build_id, source=source[:256], data=data,
    ).returning(feed_versions.c.version)).scalar_one()
    return get_feed(conn, int(version)), True


def feed_by_sha256(conn: Connection, sha256: str) -> FeedVersion | None:
    """The published version with these bytes, if any."""
    row = conn.execute(select(*_META).where(feed_versions.c.sha256 == sha256)).first()
    return _feed(row) if row else None


def get_feed(conn: Connection, version: int) -> FeedVersion:
    """Feed ``version``; :class:`NotFoundError` when there is none."""
    row = conn.execute(select(*_META).where(feed_versions.c.version == version)).first()
    if row is None:
        raise NotFoundError(f"no feed version {version}", fix="list versions with GET /feeds")
    return _feed(row)


def latest_feed(conn: Connection) -> FeedVersion | None:
    """The newest published version, or None before the first publication."""
    row = conn.execute(select(*_META).order_by(feed_versions.c.version.desc()).limit(1)).first()
    return _feed(row) if row else None


def list_feeds(conn: Connection) -> list[FeedVersion]:
    """Every published version, newest first."""
    query = select(*_META).order_by(feed_versions.c.version.desc())
    return [_feed(r) for r in conn.execute(query)]


def feed_data(conn: Connection, version: int) -> bytes:
    """The zip bytes of feed ``version``."""
    row = conn.execute(select(feed_versions.c.data)
                       .where(feed_versions.c.version == version)).first()
    if row is None:
        raise NotFoundError(f"no feed version {version}", fix="list versions with GET /feeds")
    return bytes(row[0])
