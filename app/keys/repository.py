"""SQL for API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey


async def find_active_by_hash(session: AsyncSession, key_hash: bytes) -> ApiKey | None:
    """The unrevoked key with this hash, if any."""
    return await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


async def add(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Store a new key."""
    session.add(key)
    await session.flush()
    return key


async def list_all(session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first."""
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))).all())


async def revoke(session: AsyncSession, key_id: int, when: dt.datetime) -> bool:
    """Mark a key revoked; False when no such active key exists."""
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=when)
        .returning(ApiKey.id)
    )
    return result.scalar_one_or_none() is not None
