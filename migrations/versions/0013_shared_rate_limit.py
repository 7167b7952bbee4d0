"""the rate limit's token buckets in PostgreSQL, shared by every worker process and replica

`app.core.middleware.ratelimit` takes a token with one `INSERT … ON CONFLICT DO UPDATE …
RETURNING` per request, which refills the bucket in SQL from the time of its last take.
UNLOGGED: no WAL for a table written on every request; a crash of PostgreSQL empties it, which
only gives every caller a full bucket again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_rate_limit_buckets"),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
