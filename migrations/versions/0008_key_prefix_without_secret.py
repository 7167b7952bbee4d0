"""api_keys.prefix keeps no character of the secret

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00

Keys were made as `dsk_<secret>` and the stored prefix held `dsk_` and 8 characters of the
secret. New keys are `dsk_<id>_<secret>` and the stored prefix is `dsk_<id>_`, the id part only.
Old keys keep working (they are found by hash); their stored prefix is cut to `dsk_`. A check
constraint keeps any other shape out. Self-contained: it can be re-chained after any revision
that does not touch `api_keys.prefix`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX_SHAPE = "prefix ~ '^dsk_([0-9]+_)?$'"


def upgrade() -> None:
    op.execute("UPDATE api_keys SET prefix = 'dsk_' WHERE prefix !~ '^dsk_([0-9]+_)?$'")
    op.create_check_constraint(op.f("ck_api_keys_prefix_without_secret"), "api_keys", PREFIX_SHAPE)


def downgrade() -> None:
    # The cut characters of old prefixes cannot come back; the previous version only shows
    # the prefix, so `dsk_` and `dsk_<id>_` serve it as well.
    op.drop_constraint(op.f("ck_api_keys_prefix_without_secret"), "api_keys", type_="check")
