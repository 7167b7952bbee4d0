"""SQL for API keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey

# On every request: a plain statement, prepared once per connection, no ORM loading.
_ACTIVE_BY_HASH = text(
    "SELECT id, name, source, key_hash, scopes, unit_code FROM api_keys"
    " WHERE key_hash = :key_hash AND revoked_at IS NULL"
)


async def find_active_by_hash(session: AsyncSession, key_hash: bytes) -> Row[Any] | None:
    """The unrevoked key with this hash, if any."""
    return (await session.execute(_ACTIVE_BY_HASH, {"key_hash": key_hash})).one_or_none()


async def find_active_by_name(session: AsyncSession, name: str, source: str) -> ApiKey | None:
    """The unrevoked key with this name and source, if any."""
    return await session.scalar(
        select(ApiKey)
        .where(ApiKey.name == name, ApiKey.source == source, ApiKey.revoked_at.is_(None))
        .limit(1)
    )


_NEXT_ID = text("SELECT nextval(pg_get_serial_sequence('api_keys', 'id'))")


async def next_id(session: AsyncSession) -> int:
    """An id for a new key, taken before the key is made: the id is part of the key."""
    return int(await session.scalar(_NEXT_ID) or 0)


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
