"""Rate limits: a token bucket per API key, and one per client address for keys that fail
authentication; answered 429 with Retry-After. The buckets live in PostgreSQL (table
`rate_limit_buckets`, migration 0013), so the limits hold across worker processes and replicas."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware.limits import first_header
from app.core.problems import RETRY_AFTER_SECONDS, is_database_down, send_problem
from app.keys.service import LOOKED_UP_KEY, LookedUpKey

logger = logging.getLogger(__name__)

# One round trip per request: find the key (so that authentication need not query again) and
# take a token from its bucket, or, for an unknown key, from the bucket of the client address.
# The bucket refills in SQL from the time of its last take; a take that finds less than one
# token leaves the refilled amount and answers granted = false. Concurrent takes of one bucket
# queue on its row for the length of this statement only (it runs outside the request's
# transaction, in autocommit).
# The bucket's tokens refilled up to this statement's start: one instant for the tokens left,
# the grant and the time stored (`clock_timestamp()` read three times could grant a token that
# the tokens left do not pay for).
_REFILLED = (
    "least(CAST(:capacity AS float8), b.tokens + CAST(:rate AS float8)"
    " * greatest(0, extract(epoch FROM statement_timestamp() - b.updated_at)::float8))"
)
_TAKE_TOKEN = text(
    f"""
WITH found AS (
    SELECT id, name, source, key_hash, scopes, unit_code FROM api_keys
    WHERE key_hash = :key_hash AND revoked_at IS NULL
), taken AS (
    INSERT INTO rate_limit_buckets AS b (bucket, tokens, updated_at, granted)
    SELECT coalesce('key:' || (SELECT id FROM found), 'address:' || :address),
           CAST(:capacity AS float8) - 1, statement_timestamp(), true
    ON CONFLICT (bucket) DO UPDATE SET
        tokens = {_REFILLED} - CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END,
        granted = {_REFILLED} >= 1,
        updated_at = statement_timestamp()
    RETURNING granted, tokens
)
SELECT taken.granted, taken.tokens, found.* FROM taken LEFT JOIN found ON true
"""  # noqa: S608 - built from the constant above, not from input
)

# A bucket untouched for a whole refill time is full again: its row says nothing a missing
# row does not.
_FORGET_FULL = text(
    "DELETE FROM rate_limit_buckets"
    " WHERE updated_at < clock_timestamp() - make_interval(secs => :refill_seconds)"
)
PRUNE_EVERY_SECONDS = 60.0


class RateLimitMiddleware:
    """At most `per_minute` requests per key and minute (bursts up to `per_minute`), and at most
    `per_minute` requests with an unknown key per client address and minute.

    A request's key is looked up here, with the token taken in the same statement, and handed
    to authentication (`LOOKED_UP_KEY` in the request state), which then runs no query of its
    own: the limit costs no round trip beyond the one authentication always made. A known
    (unrevoked) key takes from its own bucket and is never held back by its address; an
    unknown key takes from its address's bucket, so a flood of invented keys is refused before
    it costs more than this statement. Requests without a key (probes, docs) are not limited."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        self._pruning: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The first header, as authentication reads it (a second one is refused before this).
        credential = _bearer_credential(first_header(scope, b"authorization"))
        if not credential:
            await self.app(scope, receive, send)
            return
        engine: AsyncEngine = scope["app"].state.engine
        digest = hashlib.sha256(credential).digest()
        client = scope.get("client")
        try:
            row = await self._take(engine, digest, client[0] if client else "")
        except Exception as exc:
            if not is_database_down(exc):
                raise
            logger.warning("database unavailable: %s", type(exc).__name__)
            await send_problem(
                send,
                503,
                "The database is unavailable; retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            return
        known = row.id is not None
        if not row.granted:
            what = "this key is" if known else "failed authentications from this address are"
            wait = (1 - row.tokens) / self.rate
            await send_problem(
                send,
                429,
                f"{what} limited to {int(self.capacity)} requests per minute",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
            return
        scope.setdefault("state", {})[LOOKED_UP_KEY] = LookedUpKey(digest, row if known else None)
        self._maybe_prune(engine)
        await self.app(scope, receive, send)

    async def _take(self, engine: AsyncEngine, digest: bytes, address: str) -> Any:
        params = {
            "key_hash": digest,
            "address": address,
            "capacity": self.capacity,
            "rate": self.rate,
        }
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return (await autocommit.execute(_TAKE_TOKEN, params)).one()

    def _maybe_prune(self, engine: AsyncEngine) -> None:
        """Now and then, off the request's path, forget buckets that have refilled."""
        now = time.monotonic()
        if now < self._next_prune or (self._pruning is not None and not self._pruning.done()):
            return
        self._next_prune = now + PRUNE_EVERY_SECONDS
        self._pruning = asyncio.create_task(self._prune(engine))

    async def _prune(self, engine: AsyncEngine) -> None:
        try:
            async with engine.begin() as conn:
                await conn.execute(_FORGET_FULL, {"refill_seconds": self.capacity / self.rate})
        except Exception as exc:  # a failed prune only leaves rows for the next one
            logger.warning("could not prune rate-limit buckets: %s", type(exc).__name__)


def _bearer_credential(authorization: bytes | None) -> bytes | None:
    """The key as authentication reads it (`bearer`, any case, surrounding blanks stripped), so
    spellings of one key share one bucket; other schemes are not keys and are not limited."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credential.strip() or None
