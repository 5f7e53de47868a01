"""The database tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Positionfixes are stored as *fix blocks*: up to :data:`BLOCK_FIXES` fixes of one trace per
row, columnar and zlib-compressed (see :mod:`api.store.fixblocks`), with the block's time
span and bounding box as plain columns for pruning. Inserting 2.5 M fixes as rows costs
~13 s in SQLite; as blocks it costs well under a second, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

#: Fixes per stored block.
BLOCK_FIXES = 8192
#: Bytes per stored raw-upload chunk.
CHUNK_BYTES = 1 << 20

uploads = Table(
    "uploads", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("filename", String(512), nullable=False),
    Column("format", String(32), nullable=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("uploaded_by", String(128), nullable=True),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # receiving | stored | rejected
    Column("error", Text, nullable=True),
    Column("n_traces", Integer, nullable=False, default=0),
    Column("n_fixes_accepted", BigInteger, nullable=False, default=0),
    Column("n_fixes_rejected", BigInteger, nullable=False, default=0),
    Column("n_field_stops", Integer, nullable=False, default=0),
    Column("reason_counts", JSON, nullable=False, default=dict),
)

upload_chunks = Table(
    "upload_chunks", metadata,
    Column("upload_id", Integer, ForeignKey("uploads.id", ondelete="CASCADE"),
           primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

traces = Table(
    "traces", metadata,
    Column("id", Integer, primary_key=True),
    Column("upload_id", Integer, ForeignKey("uploads.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("trace_key", String(256), nullable=False),
    Column("device_id", String(128), nullable=True),
    Column("route_name", String(256), nullable=True),
    Column("vehicle_type", String(64), nullable=True),
    Column("direction", String(32), nullable=True),
    Column("notes", Text, nullable=True),
    Column("n_fixes", Integer, nullable=False, default=0),
    Column("n_accepted", Integer, nullable=False, default=0),
    Column("n_segments", Integer, nullable=False, default=0),
    Column("start_ms", BigInteger, nullable=True),
    Column("end_ms", BigInteger, nullable=True),
    Column("has_fixes", Boolean, nullable=False, default=False),
    UniqueConstraint("upload_id", "trace_key"),
)

fix_blocks = Table(
    "fix_blocks", metadata,
    Column("id", Integer, primary_key=True),
    Column("trace_id", Integer, ForeignKey("traces.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("n_fixes", Integer, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("min_lat", Float, nullable=False),
    Column("max_lat", Float, nullable=False),
    Column("min_lon", Float, nullable=False),
    Column("max_lon", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("trace_id", "seq"),
)

field_stops = Table(
    "field_stops", metadata,
    Column("id", Integer, primary_key=True),
    Column("upload_id", Integer, ForeignKey("uploads.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("trace_key", String(256), nullable=False),
    Column("name", Text, nullable=True),
    Column("time_ms", BigInteger, nullable=True),
    Column("departure_ms", BigInteger, nullable=True),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("boardings", Integer, nullable=True),
    Column("alightings", Integer, nullable=True),
)

row_rejections = Table(
    "row_rejections", metadata,
    Column("id", Integer, primary_key=True),
    Column("upload_id", Integer, ForeignKey("uploads.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("location", String(256), nullable=False),
    Column("reason", SmallInteger, nullable=False),
    Column("detail", Text, nullable=False),
)
