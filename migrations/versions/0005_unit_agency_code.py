"""units.agency_code: the national agency id (DonViXuLy) a unit answers to

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:00:00

Self-contained on purpose: it only adds a nullable column and its unique constraint, so it can be
re-chained after any revision that does not touch `units.agency_code`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("units", sa.Column("agency_code", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_units_agency_code"), "units", ["agency_code"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_units_agency_code"), "units", type_="unique")
    op.drop_column("units", "agency_code")
