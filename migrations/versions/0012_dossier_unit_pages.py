"""a commune's dossiers in code order: the lists behind a figure read unit by unit

`GET /v1/dossiers` with a unit filter reads each handling unit's dossiers in code byte order and
merges them (`app.dossiers.repository.figure_page`), so the first page of a commune's overdue
dossiers is found among that commune's dossiers instead of by walking every code of the city.
This index serves that read: (`unit_code`, `code`), `code` in its "C" collation (migration 0010).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_dossiers_unit_code", "dossiers", ["unit_code", "code"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_unit_code", table_name="dossiers")
