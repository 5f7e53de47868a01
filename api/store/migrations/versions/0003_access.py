"""Accessibility runs: uploaded districts and opportunities, and the measures per district.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(32), nullable=True),
        sa.Column("feed_version", sa.Integer, nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("districts", sa.JSON, nullable=True),
        sa.Column("equity", sa.JSON, nullable=True),
        sa.Column("notes", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_access_runs_status", "access_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_access_runs_status", table_name="access_runs")
    op.drop_table("access_runs")
