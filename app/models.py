"""The tables. Schema changes go through Alembic migrations in `migrations/versions`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.vocabulary import CHANNELS, PAYMENT_CHANNELS, STATUSES, UNIT_LEVELS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _local_date(column: str) -> str:
    """SQL for the Vietnam calendar date of a timestamptz column (immutable: no DST in VN)."""
    return f"(timezone('Asia/Ho_Chi_Minh', {column}))::date"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Timestamp = DateTime(timezone=True)


class Domain(Base):
    """A service domain (lĩnh vực) and the online-filing target the city set for it."""

    __tablename__ = "domains"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    online_target: Mapped[Decimal] = mapped_column(
        Numeric(5, 4), server_default=text("0.20"), nullable=False
    )
    # Target share of the domain's procedures offered online at level 3 or 4.
    coverage_target: Mapped[Decimal] = mapped_column(
        Numeric(5, 4), server_default=text("0.40"), nullable=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        CheckConstraint("online_target >= 0 AND online_target <= 1", name="online_target_range"),
        CheckConstraint(
            "coverage_target >= 0 AND coverage_target <= 1", name="coverage_target_range"
        ),
    )


class Unit(Base):
    """An administrative unit (đơn vị) in the unit tree."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    level: Mapped[str | None] = mapped_column(String(16))
    # The national agency id (e.g. 000.28.31.H26) that sync records may name in DonViXuLy.
    agency_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Other names the national body may give the unit in DonViXuLy (matched trimmed, casefolded).
    aliases: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'"), nullable=False
    )
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"level IS NULL OR {_in('level', UNIT_LEVELS)}", name="level_known"),
        CheckConstraint("parent_code IS NULL OR parent_code <> code", name="not_own_parent"),
    )


class Procedure(Base):
    """An administrative procedure (TTHC); filled from events until the catalog sets it."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    domain_code: Mapped[str] = mapped_column(
        String(64), ForeignKey("domains.code"), index=True, nullable=False
    )
    service_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    unit_levels: Mapped[list[str]] = mapped_column(
        ARRAY(String(16)), server_default=text("'{}'"), nullable=False
    )
    from_catalog: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    # Eligible for fully online service (contract section 8 v2); null: exactly when level 4.
    full_online_eligible: Mapped[bool | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (CheckConstraint("service_level IN (2, 3, 4)", name="service_level_known"),)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    unit_code: Mapped[str | None] = mapped_column(String(64), ForeignKey("units.code"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        CheckConstraint("scopes <@ ARRAY['ingest','read','admin']::varchar[]", name="scopes_known"),
        # `dsk_<id>_` (or `dsk_` for keys made before 0008): never a character of the secret.
        CheckConstraint("prefix ~ '^dsk_([0-9]+_)?$'", name="prefix_without_secret"),
    )


class Dossier(Base):
    """The current state of a dossier: its newest snapshot by `occurred_at`."""

    __tablename__ = "dossiers"

    # Byte order ("C"): the primary key serves the lists' keyset pages (migration 0010).
    code: Mapped[str] = mapped_column(String(64, collation="C"), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(64), nullable=False)
    procedure_name: Mapped[str | None] = mapped_column(Text)
    domain_code: Mapped[str] = mapped_column(String(64), ForeignKey("domains.code"), nullable=False)
    domain_name: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str] = mapped_column(String(64), ForeignKey("units.code"), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    service_level: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    received_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    due_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    returned_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # Local (Asia/Ho_Chi_Minh) dates, computed by PostgreSQL: what reports group and filter by.
    received_on: Mapped[dt.date | None] = mapped_column(Date, Computed(_local_date("received_at")))
    finished_on: Mapped[dt.date | None] = mapped_column(Date, Computed(_local_date("finished_at")))
    due_on: Mapped[dt.date | None] = mapped_column(Date, Computed(_local_date("due_at")))
    # The handling clock (contract section 4, migration 0006): derived by ingest from every
    # logged snapshot of the dossier, so they are plain columns, not computed ones.
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(Integer, server_default=text("0"), nullable=False)
    effective_due_on: Mapped[dt.date | None] = mapped_column(Date)
    occurred_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Sent without a level (no MucDo): `service_level` is the procedure's catalog level, and
    # moves with it.
    follows_procedure_level: Mapped[bool] = mapped_column(
        server_default=text("false"), nullable=False
    )
    # The scorecard inputs of the snapshot (contract section 4 v2, migration 0009).
    fee_amount: Mapped[Decimal] = mapped_column(
        Numeric(18, 2), server_default=text("0"), nullable=False
    )
    paid_online: Mapped[str] = mapped_column(
        String(16), server_default=text("'no'"), nullable=False
    )
    digitized: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    reused_data: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    e_result: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    # The procedure's eligibility for fully online service, copied from the catalog by ingest and
    # kept in step by `PUT /v1/procedures` (the `full_online` indicator counts by it).
    full_online_eligible: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    event_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint("fee_amount >= 0", name="fee_amount_not_negative"),
        CheckConstraint(_in("paid_online", PAYMENT_CHANNELS), name="paid_online_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint("service_level IN (2, 3, 4)", name="service_level_known"),
        Index(
            "ix_dossiers_procedure_code_following",
            "procedure_code",
            postgresql_where=text("follows_procedure_level"),
        ),
        # The rare dossiers ended before their receipt (the `on_time` indicator reads them).
        Index(
            "ix_dossiers_ended_before_received",
            "ended_on",
            postgresql_where=text(
                "ended_on IS NOT NULL AND (received_on IS NULL OR ended_on < received_on)"
            ),
        ),
        # The lists of dossiers behind a figure (migration 0010): reports read the summary
        # tables, but a list of a month's or a commune's dossiers starts from their dates.
        Index("ix_dossiers_received_on", "received_on"),
        # A unit's dossiers in code order (migration 0012): a list limited to units reads them.
        Index("ix_dossiers_unit_code", "unit_code", "code"),
        Index("ix_dossiers_ended_on", "ended_on"),
        Index(
            "ix_dossiers_open_interval",
            # Spelled with the line breaks PostgreSQL gives it back with, so `alembic check`
            # (which drops spaces, not line breaks) sees no drift.
            text(
                "daterange(received_on,\nCASE\n WHEN ended_on IS NULL THEN NULL\n"
                " ELSE GREATEST(ended_on, received_on)\nEND)"
            ),
            postgresql_using="gist",
        ),
    )


class DossierEvent(Base):
    """The append-only log of every accepted event, with the key that sent it."""

    __tablename__ = "dossier_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    event_id: Mapped[str] = mapped_column(String(128), nullable=False)
    api_key_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("api_keys.id"), nullable=False)
    dossier_code: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    arrived_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, server_default=func.now(), nullable=False
    )
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    stale: Mapped[bool] = mapped_column(server_default=text("false"), nullable=False)
    payload: Mapped[dict[str, object]] = mapped_column(JSONB, nullable=False)

    __table_args__ = (
        Index("uq_dossier_events_source_event_id", "source", "event_id", unique=True),
    )


def _summary_table(name: str, period: str, counters: tuple[str, ...]) -> Table:
    """A summary kept by the triggers on `dossiers` (see migration 0004)."""
    return Table(
        name,
        Base.metadata,
        Column(period, Date, primary_key=True),
        Column("domain_code", String(64), primary_key=True),
        Column("unit_code", String(64), primary_key=True),
        *(Column(c, BigInteger, nullable=False, server_default=text("0")) for c in counters),
    )


# The scorecard's counters (migration 0009).
SCORECARD_RECEIVED_COUNTERS = (
    "eligible",
    "eligible_full_online",
    "with_fee",
    "with_fee_paid_online",
    "digitized",
    "reused_data",
)
SCORECARD_FINISHED_COUNTERS = ("results", "e_results", "online_ended", "online_ended_in_time")
RECEIVED_COUNTERS = (
    "total",
    "online",
    "capable",
    "capable_online",
    "full_online",
    *SCORECARD_RECEIVED_COUNTERS,
)
FINISHED_COUNTERS = ("early", "on_time", "late", *SCORECARD_FINISHED_COUNTERS)

# Counted dossiers (not submitted or refused) by local receipt date.
stats_received_daily = _summary_table("stats_received_daily", "day", RECEIVED_COUNTERS)
stats_received_monthly = _summary_table("stats_received_monthly", "month", RECEIVED_COUNTERS)
# Ended dossiers by end date, against their effective due date (migration 0006).
stats_finished_daily = _summary_table("stats_finished_daily", "day", FINISHED_COUNTERS)
stats_finished_monthly = _summary_table("stats_finished_monthly", "month", FINISHED_COUNTERS)
# Ends of counted dossiers' open intervals: +1 on the receipt day, -1 on the end day (and the
# same for the overdue part, from the day after the effective due day). Summed up to a day D they give the
# dossiers open, and open and overdue, at the end of D.
OPEN_COUNTERS = ("open", "overdue")
stats_open_daily = _summary_table("stats_open_daily", "day", OPEN_COUNTERS)
stats_open_monthly = _summary_table("stats_open_monthly", "month", OPEN_COUNTERS)
# The same ends by year (migration 0011): a sum up to a day reads years, then months, then days.
stats_open_yearly = _summary_table("stats_open_yearly", "year", OPEN_COUNTERS)


class Indicator(Base):
    """A row of the scorecard's scoring table (contract section 12)."""

    __tablename__ = "indicators"

    indicator: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    max_points: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    full_marks_at: Mapped[Decimal] = mapped_column(Numeric(5, 4), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=func.now())

    __table_args__ = (
        CheckConstraint("max_points IS NULL OR max_points >= 0", name="max_points_range"),
        CheckConstraint("full_marks_at > 0 AND full_marks_at <= 1", name="full_marks_range"),
    )


class RateLimitBucket(Base):
    """A token bucket of the rate limit, shared by every worker and replica (migration 0013).

    UNLOGGED: a crash of PostgreSQL empties it, which only hands every caller a full bucket;
    in exchange an update writes no WAL. `granted` is whether the last take found a token."""

    __tablename__ = "rate_limit_buckets"

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)  # `key:<id>` or `address:<ip>`
    tokens: Mapped[float] = mapped_column(Double, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = ({"prefixes": ["UNLOGGED"]},)
