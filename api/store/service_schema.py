"""Tables of the service (migration ``0002_service``): API keys, build jobs, feed versions.

They share :data:`api.store.schema.metadata` with the trace tables. A feed version keeps
the zip's bytes in the database, so publishing is one transaction (the row appears whole
or not at all) and every server process on the same database serves the same bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from api.store.schema import metadata

__all__ = ["access_runs", "api_keys", "builds", "feed_versions"]

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("key_sha256", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # first characters, to recognise a key
    Column("role", String(16), nullable=False),  # field | planner | admin
    Column("name", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

builds = Table(
    "builds", metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(16), nullable=False, index=True),  # queued|running|succeeded|failed
    Column("stage", String(64), nullable=False),
    Column("progress", Float, nullable=False),  # 0..1
    Column("options", JSON, nullable=False),
    Column("requested_by", String(32), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("upload_ids", JSON, nullable=True),
    Column("n_fixes", BigInteger, nullable=True),
    Column("report", JSON, nullable=True),
    Column("findings", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("feed_version", Integer, nullable=True),
)

feed_versions = Table(
    "feed_versions", metadata,
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("feed_version", String(64), nullable=True),  # feed_info.feed_version
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("build_id", Integer, ForeignKey("builds.id", ondelete="SET NULL"), nullable=True),
    Column("source", String(256), nullable=False),  # "build 3" or the uploaded file's name
    Column("data", LargeBinary, nullable=False),
)

access_runs = Table(
    "access_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(16), nullable=False, index=True),  # as builds
    Column("stage", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("requested_by", String(32), nullable=True),
    Column("feed_version", Integer, nullable=True),  # the feed the run routed on
    Column("params", JSON, nullable=False),
    Column("inputs", JSON, nullable=False),  # {"districts": text, "opportunities": [[name, text]]}
    Column("districts", JSON, nullable=True),  # FeatureCollection with the measures
    Column("equity", JSON, nullable=True),
    Column("notes", JSON, nullable=True),
    Column("error", Text, nullable=True),
)
