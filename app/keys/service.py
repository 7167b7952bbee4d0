"""API keys: creation, verification, revocation. Only a SHA-256 of each key is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import NotFound, ValidationFailed
from app.keys import repository
from app.models import ApiKey, Unit

SCOPES = ("ingest", "read", "admin")
KEY_PREFIX = "dsk_"


@dataclass(frozen=True)
class Principal:
    """The caller, as identified by its key."""

    key_id: int
    name: str
    source: str
    scopes: frozenset[str]
    unit_code: str | None


# Where the rate limit leaves the key it looked up (in the request state), so that
# authentication reuses it instead of running the same query again.
LOOKED_UP_KEY = "looked_up_key"


@dataclass(frozen=True)
class LookedUpKey:
    """A key looked up before authentication: the presented key's hash and the unrevoked
    key's row (id, name, source, key_hash, scopes, unit_code), None when there is none."""

    digest: bytes
    row: Any | None


def hash_key(key: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).digest()


async def authenticate(
    session: AsyncSession, presented: str, looked_up: LookedUpKey | None = None
) -> Principal | None:
    """The principal behind a presented key, or None when the key is unknown or revoked;
    `looked_up` (when it is of the same key) saves the query."""
    digest = hash_key(presented)
    if looked_up is not None and hmac.compare_digest(looked_up.digest, digest):
        key = looked_up.row
    else:
        key = await repository.find_active_by_hash(session, digest)
    # The lookup is by hash, so the secret never meets a timing-sensitive comparison;
    # the constant-time check guards the row we got back all the same.
    if key is None or not hmac.compare_digest(bytes(key.key_hash), digest):
        return None
    return Principal(key.id, key.name, key.source, frozenset(key.scopes), key.unit_code)


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str],
    unit_code: str | None = None,
    source: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the stored row and the secret, which is shown only this once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
    if not name.strip():
        raise ValidationFailed("name must not be empty")
    if unit_code is not None and await session.get(Unit, unit_code) is None:
        raise NotFound(f"unit {unit_code!r} is not in the catalog")
    # `dsk_<id>_<secret>`: the stored prefix is `dsk_<id>_`, which tells an operator which key
    # a leaked or logged string is without showing any of its secret.
    key_id = await repository.next_id(session)
    prefix = f"{KEY_PREFIX}{key_id}_"
    secret = prefix + secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        name=name,
        source=source or name,
        key_hash=hash_key(secret),
        prefix=prefix,
        scopes=sorted(set(scopes)),
        unit_code=unit_code,
    )
    return await repository.add(session, key), secret


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key (without secrets)."""
    return await repository.list_all(session)


async def revoke_key(session: AsyncSession, key_id: int) -> None:
    """Revoke a key; it stops working with the next request."""
    if not await repository.revoke(session, key_id, dt.datetime.now(dt.UTC)):
        raise NotFound(f"no active key with id {key_id}")


async def tool_principal(session: AsyncSession, source: str) -> Principal:
    """An ingest principal for a command-line tool (demo, import) writing as `source`.

    Reuses the tool's active key for that source, or makes one whose secret is discarded:
    the event log needs a key for every event, and reruns must keep the same source.
    """
    name = f"cli:{source}"
    found = await repository.find_active_by_name(session, name, source)
    if found is not None:
        return Principal(
            found.id, found.name, found.source, frozenset(found.scopes), found.unit_code
        )
    key, _ = await create_key(session, name=name, scopes=["ingest"], source=source)
    return Principal(key.id, key.name, key.source, frozenset(key.scopes), key.unit_code)
