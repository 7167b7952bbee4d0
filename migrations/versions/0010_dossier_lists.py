"""the dossiers behind a figure: byte-ordered codes and indexes for the list's first page

Contract v2, section 13: `GET /v1/dossiers` lists a figure's dossiers in code byte order, a page
at a time (keyset on `code`).

- `dossiers.code` takes the "C" collation, so its primary key is in byte order and serves the
  keyset scan whatever the database's default collation (a database made with a linguistic
  collation such as en_US.UTF-8 would otherwise need a second index on the code). Equality is the
  same under every deterministic collation: look-ups and joins do not change. The table is not
  rewritten; the primary key is rebuilt.
- For figures that hold few of the stored dossiers (a month, a commune), the list starts from the
  dates instead of walking the codes: `received_on` (received in a period), `ended_on` (ended in
  a period), and a GiST index on the interval a dossier is open, [`received_on`, `ended_on`),
  for "open at the end of a day" (pending, carried over). The interval's upper bound is never
  below its lower one (a dossier that ended on or before its receipt day has an empty interval:
  it is never open), and is unbounded while the dossier has not ended.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same expression as app.dossiers.figures.OPEN_INTERVAL: the planner matches it literally.
OPEN_INTERVAL = (
    "daterange(received_on,"
    " CASE WHEN ended_on IS NULL THEN NULL ELSE GREATEST(ended_on, received_on) END)"
)


def upgrade() -> None:
    op.execute('ALTER TABLE dossiers ALTER COLUMN code TYPE varchar(64) COLLATE "C"')
    op.create_index("ix_dossiers_received_on", "dossiers", ["received_on"])
    op.create_index("ix_dossiers_ended_on", "dossiers", ["ended_on"])
    op.execute(f"CREATE INDEX ix_dossiers_open_interval ON dossiers USING gist (({OPEN_INTERVAL}))")


def downgrade() -> None:
    op.drop_index("ix_dossiers_open_interval", table_name="dossiers")
    op.drop_index("ix_dossiers_ended_on", table_name="dossiers")
    op.drop_index("ix_dossiers_received_on", table_name="dossiers")
    op.execute("ALTER TABLE dossiers ALTER COLUMN code TYPE varchar(64) COLLATE pg_catalog.default")
