"""national body v2: dossiers that follow their procedure's level, unit aliases

`dossiers.follows_procedure_level` marks a dossier whose sender gave no MucDo: its service level
is its procedure's catalog level, and a `PUT /v1/procedures/{code}` that changes that level moves
it (a partial index finds those dossiers per procedure). `units.aliases` holds the other names
the national body may use for a unit in DonViXuLy.

Dossiers stored before this revision keep the level they were stored with (the log does not say
whether their sender gave one), so they do not follow.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00

Self-contained on purpose: it only adds columns and an index of its own, so it can be re-chained
after any revision that does not touch them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "dossiers",
        sa.Column(
            "follows_procedure_level",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_index(
        op.f("ix_dossiers_procedure_code_following"),
        "dossiers",
        ["procedure_code"],
        postgresql_where=sa.text("follows_procedure_level"),
    )
    op.add_column(
        "units",
        sa.Column(
            "aliases",
            sa.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("units", "aliases")
    op.drop_index(op.f("ix_dossiers_procedure_code_following"), table_name="dossiers")
    op.drop_column("dossiers", "follows_procedure_level")
