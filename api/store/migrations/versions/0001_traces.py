"""Uploads with their raw bytes, traces, fix blocks, field stops, row rejections.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("format", sa.String(32), nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("n_traces", sa.Integer, nullable=False),
        sa.Column("n_fixes_accepted", sa.BigInteger, nullable=False),
        sa.Column("n_fixes_rejected", sa.BigInteger, nullable=False),
        sa.Column("n_field_stops", sa.Integer, nullable=False),
        sa.Column("reason_counts", sa.JSON, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_uploads_sha256"),
    )
    op.create_table(
        "upload_chunks",
        sa.Column("upload_id", sa.Integer,
                  sa.ForeignKey("uploads.id", ondelete="CASCADE",
                                name="fk_upload_chunks_upload_id_uploads"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "traces",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("upload_id", sa.Integer,
                  sa.ForeignKey("uploads.id", ondelete="CASCADE",
                                name="fk_traces_upload_id_uploads"), nullable=False),
        sa.Column("trace_key", sa.String(256), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=True),
        sa.Column("route_name", sa.String(256), nullable=True),
        sa.Column("vehicle_type", sa.String(64), nullable=True),
        sa.Column("direction", sa.String(32), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("n_fixes", sa.Integer, nullable=False),
        sa.Column("n_accepted", sa.Integer, nullable=False),
        sa.Column("n_segments", sa.Integer, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=True),
        sa.Column("end_ms", sa.BigInteger, nullable=True),
        sa.Column("has_fixes", sa.Boolean, nullable=False),
        sa.UniqueConstraint("upload_id", "trace_key", name="uq_traces_upload_id"),
    )
    op.create_index("ix_traces_upload_id", "traces", ["upload_id"])
    op.create_table(
        "fix_blocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trace_id", sa.Integer,
                  sa.ForeignKey("traces.id", ondelete="CASCADE",
                                name="fk_fix_blocks_trace_id_traces"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("n_fixes", sa.Integer, nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("min_lat", sa.Float, nullable=False),
        sa.Column("max_lat", sa.Float, nullable=False),
        sa.Column("min_lon", sa.Float, nullable=False),
        sa.Column("max_lon", sa.Float, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("trace_id", "seq", name="uq_fix_blocks_trace_id"),
    )
    op.create_table(
        "field_stops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("upload_id", sa.Integer,
                  sa.ForeignKey("uploads.id", ondelete="CASCADE",
                                name="fk_field_stops_upload_id_uploads"), nullable=False),
        sa.Column("trace_key", sa.String(256), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("time_ms", sa.BigInteger, nullable=True),
        sa.Column("departure_ms", sa.BigInteger, nullable=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("boardings", sa.Integer, nullable=True),
        sa.Column("alightings", sa.Integer, nullable=True),
    )
    op.create_index("ix_field_stops_upload_id", "field_stops", ["upload_id"])
    op.create_table(
        "row_rejections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("upload_id", sa.Integer,
                  sa.ForeignKey("uploads.id", ondelete="CASCADE",
                                name="fk_row_rejections_upload_id_uploads"), nullable=False),
        sa.Column("location", sa.String(256), nullable=False),
        sa.Column("reason", sa.SmallInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_row_rejections_upload_id", "row_rejections", ["upload_id"])


def downgrade() -> None:
    for table in ("row_rejections", "field_stops", "fix_blocks", "traces", "upload_chunks",
                  "uploads"):
        op.drop_table(table)
