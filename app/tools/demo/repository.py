"""SQL of the demo loader."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Unit


async def has_dossiers(session: AsyncSession) -> bool:
    """Whether any dossier is stored."""
    return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM dossiers)")))


async def child_units(session: AsyncSession, parent: str) -> list[str]:
    """Codes of the units directly below `parent`, by code."""
    rows = await session.scalars(
        select(Unit.code).where(Unit.parent_code == parent).order_by(Unit.code)
    )
    return list(rows.all())
