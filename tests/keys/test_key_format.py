"""Issue 13 item 8: the stored key prefix shows no character of the secret; old keys still work;
the migration cuts old prefixes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app import migrate
from tests.conftest import MakeKey, bearer


async def test_new_keys_carry_their_id_and_store_only_that_part(
    client: httpx.AsyncClient, make_key: MakeKey, session: AsyncSession
) -> None:
    key = await make_key("read")
    row = (await session.execute(text("SELECT id, prefix FROM api_keys"))).one()
    assert row.prefix == f"dsk_{row.id}_"
    assert key.startswith(row.prefix)
    secret = key.removeprefix(row.prefix)
    assert len(secret) >= 40
    assert not any(secret[i : i + 4] in row.prefix for i in range(len(secret) - 3))
    assert (await client.get("/v1/domains", headers=bearer(key))).status_code == 200


async def test_a_key_in_the_old_format_keeps_working(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old = "dsk_" + secrets.token_urlsafe(32)
    await session.execute(
        text(
            "INSERT INTO api_keys (name, source, key_hash, prefix, scopes)"
            " VALUES ('old', 'old', :hash, 'dsk_', ARRAY['read'])"
        ),
        {"hash": hashlib.sha256(old.encode()).digest()},
    )
    await session.commit()
    assert (await client.get("/v1/domains", headers=bearer(old))).status_code == 200


async def test_a_prefix_holding_secret_characters_cannot_be_stored(session: AsyncSession) -> None:
    from sqlalchemy.exc import IntegrityError

    try:
        await session.execute(
            text(
                "INSERT INTO api_keys (name, source, key_hash, prefix, scopes)"
                " VALUES ('x', 'x', '\\x00', 'dsk_AbCdEfGh', ARRAY['read'])"
            )
        )
    except IntegrityError as exc:
        assert "ck_api_keys_prefix_without_secret" in str(exc)
    else:
        raise AssertionError("a secret-bearing prefix was stored")
    finally:
        await session.rollback()


async def test_migration_0008_cuts_old_prefixes(database_url: str) -> None:
    from sqlalchemy import make_url

    url = make_url(database_url).set(database="dossier_stats_keys_migration")
    admin = create_async_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    rendered = url.render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(migrate.upgrade, rendered, "0005")
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO api_keys (name, source, key_hash, prefix, scopes)"
                    " VALUES ('old', 'old', '\\x01', 'dsk_AbCdEfGh', ARRAY['read'])"
                )
            )
        await asyncio.to_thread(migrate.upgrade, rendered, "0008")
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT prefix FROM api_keys")) == "dsk_"
        await engine.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await admin.dispose()
