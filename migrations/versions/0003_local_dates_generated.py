"""local dates as generated columns

received_on becomes a column PostgreSQL computes itself, and finished_on and due_on join it, so
every writer (the API, a bulk load, a manual fix) gets the same Vietnam calendar dates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _local_date(column: str) -> sa.Computed:
    return sa.Computed(f"(timezone('Asia/Ho_Chi_Minh', {column}))::date", persisted=True)


def upgrade() -> None:
    op.drop_index("ix_dossiers_received_on_domain", table_name="dossiers")
    op.drop_index("ix_dossiers_unit_received_on", table_name="dossiers")
    op.drop_column("dossiers", "received_on")
    op.add_column("dossiers", sa.Column("received_on", sa.Date(), _local_date("received_at")))
    op.add_column("dossiers", sa.Column("finished_on", sa.Date(), _local_date("finished_at")))
    op.add_column("dossiers", sa.Column("due_on", sa.Date(), _local_date("due_at")))
    # Reports read summary tables from the next revision on: no date index on dossiers.


def downgrade() -> None:
    op.drop_column("dossiers", "due_on")
    op.drop_column("dossiers", "finished_on")
    op.drop_column("dossiers", "received_on")
    op.add_column("dossiers", sa.Column("received_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE dossiers SET received_on = (timezone('Asia/Ho_Chi_Minh', received_at))::date"
    )
    op.create_index("ix_dossiers_received_on_domain", "dossiers", ["received_on", "domain_code"])
    op.create_index("ix_dossiers_unit_received_on", "dossiers", ["unit_code", "received_on"])
