"""domain coverage target

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "domains",
        sa.Column(
            "coverage_target",
            sa.Numeric(precision=5, scale=4),
            server_default=sa.text("0.40"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_domains_coverage_target_range"),
        "domains",
        "coverage_target >= 0 AND coverage_target <= 1",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_domains_coverage_target_range"), "domains", type_="check")
    op.drop_column("domains", "coverage_target")
