"""SQL of the read side: one dossier's current state, and the dossiers behind a figure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Dossier
from app.stats.repository import unit_subtree_select


async def get_dossier(session: AsyncSession, code: str) -> Dossier | None:
    """One dossier's current state."""
    return await session.scalar(select(Dossier).where(Dossier.code == code))


# --- the dossiers behind a figure (contract section 13) -----------------------------------

# Keyset order: the code's bytes (COLLATE "C"), whatever the database's collation; migration
# 0010 indexes exactly this expression, so a page is an index range scan.
CODE_ORDER = Dossier.__table__.c.code.collate("C")


async def subtree_units(session: AsyncSession, root: str) -> list[str]:
    """`root` and every unit below it."""
    return list((await session.scalars(unit_subtree_select(root))).all())


async def _custom_plans(session: AsyncSession) -> None:
    """Plan the figure's statements for their values, for the rest of the transaction. The
    driver prepares each statement, and after five executions PostgreSQL may switch to a plan
    made without the values: for a commune's dossiers (one unit among many) that plan walks
    every code of the city, seconds instead of milliseconds at ten million dossiers."""
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def figure_page(
    session: AsyncSession,
    conditions: Sequence[ColumnElement[bool]],
    *,
    after: str | None,
    limit: int,
) -> list[Dossier]:
    """Up to `limit` dossiers meeting every condition, in code byte order, after `after`."""
    await _custom_plans(session)
    stmt = select(Dossier).where(*conditions)
    if after is not None:
        stmt = stmt.where(CODE_ORDER > after)  # noqa: SIM300 - a column, not a constant
    return list((await session.scalars(stmt.order_by(CODE_ORDER).limit(limit))).all())


async def figure_count(session: AsyncSession, conditions: Sequence[ColumnElement[bool]]) -> int:
    """How many dossiers meet every condition (for figures the summaries do not keep)."""
    await _custom_plans(session)
    stmt = select(func.count()).select_from(Dossier).where(*conditions)
    return int(await session.scalar(stmt) or 0)
