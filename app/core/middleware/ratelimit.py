"""Rate limits: a token bucket per presented key, and one per client address for keys that fail
authentication; answered 429 with Retry-After."""

from __future__ import annotations

import hashlib
import math
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.middleware.limits import first_header
from app.core.problems import send_problem

_MAX_BUCKETS = 10_000


class TokenBuckets:
    """Token buckets of `capacity` tokens refilling at `rate` per second, by bucket id."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.buckets: dict[bytes, tuple[float, float]] = {}  # id -> (tokens, at)

    def _current(self, bucket: bytes, now: float) -> float:
        tokens, at = self.buckets.get(bucket, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    def wait(self, bucket: bytes) -> float:
        """0 when the bucket holds a token, else the seconds until it will (takes nothing)."""
        tokens = self._current(bucket, time.monotonic())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, bucket: bytes) -> float:
        """Take one token; 0 when granted, else the seconds until one is available."""
        now = time.monotonic()
        tokens = self._current(bucket, now)
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


class RateLimitMiddleware:
    """At most `per_minute` requests per key and minute (bursts up to `per_minute`), and at most
    `per_minute` failed authentications per client address and minute.

    The key's bucket is found by a hash of the Authorization header, before the key is looked
    up, so a flood costs no database work and no key is kept in memory in the clear. A key
    that answers 401 is unknown: each costs a look-up and each would get a fresh bucket, so
    those failures are also counted per client address, and an address over its limit is
    refused before any look-up until it earns tokens back (keys that have authenticated
    before are not held back by it). Requests without a key (probes, docs) are not limited.
    The limits are per process."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.keys = TokenBuckets(self.capacity, per_minute / 60.0)
        self.addresses = TokenBuckets(self.capacity, per_minute / 60.0)
        self.known: dict[bytes, None] = {}  # key buckets that have authenticated (bounded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The first header, as authentication reads it (a second one is refused before this).
        credential = _bearer_credential(first_header(scope, b"authorization"))
        if not credential:
            await self.app(scope, receive, send)
            return
        bucket = hashlib.sha256(credential).digest()[:16]
        client = scope.get("client")
        address = (client[0] if client else "").encode()
        if bucket not in self.known:
            wait = self.addresses.wait(address)
            if wait > 0:
                await self._refuse(send, wait, "failed authentications from this address are")
                return
        wait = self.keys.take(bucket)
        if wait > 0:
            await self._refuse(send, wait, "this key is")
            return

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 401:
                    self.addresses.take(address)
                elif bucket not in self.known:
                    if len(self.known) >= _MAX_BUCKETS:
                        self.known.clear()
                    self.known[bucket] = None
            await send(message)

        await self.app(scope, receive, watching_send)

    async def _refuse(self, send: Send, wait: float, what: str) -> None:
        await send_problem(
            send,
            429,
            f"{what} limited to {int(self.capacity)} requests per minute",
            headers={"Retry-After": str(math.ceil(wait))},
        )


def _bearer_credential(authorization: bytes | None) -> bytes | None:
    """The key as authentication reads it (`bearer`, any case, surrounding blanks stripped), so
    spellings of one key share one bucket; other schemes are not keys and are not limited."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credential.strip() or None
