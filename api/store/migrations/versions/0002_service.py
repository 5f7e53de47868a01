"""Service tables: hashed API keys with roles, build jobs, published feed versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upload_ids", sa.JSON, nullable=True),
        sa.Column("n_fixes", sa.BigInteger, nullable=True),
        sa.Column("report", sa.JSON, nullable=True),
        sa.Column("findings", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("feed_version", sa.Integer, nullable=True),
    )
    op.create_index("ix_builds_status", "builds", ["status"])
    op.create_table(
        "feed_versions",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("feed_version", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("build_id", sa.Integer, nullable=True),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_feed_versions_sha256"),
        sa.ForeignKeyConstraint(["build_id"], ["builds.id"], ondelete="SET NULL",
                                name="fk_feed_versions_build_id_builds"),
    )


def downgrade() -> None:
    op.drop_table("feed_versions")
    op.drop_index("ix_builds_status", table_name="builds")
    op.drop_table("builds")
    op.drop_table("api_keys")
