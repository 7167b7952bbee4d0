"""A per-key rate limit: a token bucket per presented key, answered 429 with Retry-After."""

from __future__ import annotations

import hashlib
import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from app.limits import send_problem

_MAX_BUCKETS = 10_000


class RateLimitMiddleware:
    """At most `per_minute` requests per key and minute (bursts up to `per_minute`).

    The bucket is found by a hash of the Authorization header, before the key is looked up,
    so a flood costs no database work and no key is kept in memory in the clear. Requests
    without a key (probes, docs) are not limited. The limit is per process."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: dict[bytes, tuple[float, float]] = {}  # key hash -> (tokens, at)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credential = _bearer_credential(dict(scope["headers"]).get(b"authorization"))
        if credential:
            wait = self._take(hashlib.sha256(credential).digest()[:16])
            if wait > 0:
                await send_problem(
                    send,
                    429,
                    "too-many-requests",
                    "Too many requests",
                    f"this key is limited to {int(self.capacity)} requests per minute",
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                return
        await self.app(scope, receive, send)

    def _take(self, bucket: bytes) -> float:
        """Take one token; 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens, at = self.buckets.get(bucket, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens < 1:
            self.buckets[bucket] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self.buckets) >= _MAX_BUCKETS and bucket not in self.buckets:
            self._forget_full(now)
        self.buckets[bucket] = (tokens - 1, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they carry no state worth keeping."""
        refill = self.capacity / self.rate
        self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < refill}


def _bearer_credential(authorization: bytes | None) -> bytes | None:
    """The key as authentication reads it (`bearer`, any case, surrounding blanks stripped), so
    spellings of one key share one bucket; other schemes are not keys and are not limited."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credential.strip() or None
