"""Load generators. Batches go through httpx (one keep-alive AsyncClient per client). Single events
go through a minimal HTTP/1.1 keep-alive client on raw asyncio streams: at 32 concurrent clients
on a 2-core machine shared with the server and PostgreSQL, httpx's own CPU cost per request would
otherwise be a large part of what is measured."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class LoadResult:
    requests: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0


def _check(body: dict[str, Any], sent: int, result: LoadResult) -> None:
    counted = body["applied"] + body["stale"] + body["duplicates"] + len(body["rejected"])
    if body["applied"] != sent or counted != sent:
        result.errors.append(f"sent {sent}, answer {str(body)[:300]}")
    result.events += body["applied"]


async def post_batches(
    base_url: str, key: str, bodies: list[tuple[int, bytes]], clients: int
) -> LoadResult:
    """POST every (event count, JSON body) to /v1/events with `clients` concurrent clients."""
    result = LoadResult()
    pending = iter(bodies)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600) as http:
            for count, body in pending:
                t0 = time.perf_counter()
                r = await http.post("/v1/events", content=body)
                result.latencies_s.append(time.perf_counter() - t0)
                result.requests += 1
                if r.status_code != 200:
                    result.errors.append(f"HTTP {r.status_code}: {r.text[:300]}")
                    continue
                _check(r.json(), count, result)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.wall_s = time.perf_counter() - start
    return result


def raw_post(host: str, port: int, path: str, key: str, body: bytes) -> bytes:
    """A complete HTTP/1.1 keep-alive POST request, ready to write."""
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\nauthorization: Bearer {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked answers are not expected from /v1/events")
    if length is None:
        raise RuntimeError("answer without content-length")
    return status, await reader.readexactly(length)


async def post_singles(
    host: str, port: int, requests: list[bytes], clients: int, max_seconds: float
) -> LoadResult:
    """Send the prepared one-event requests with `clients` connections, until done or out of time."""
    result = LoadResult()
    numbers = itertools.count()
    deadline = time.perf_counter() + max_seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                i = next(numbers)
                if i >= len(requests):
                    return
                t0 = time.perf_counter()
                status, body = await _exchange(reader, writer, requests[i])
                result.latencies_s.append(time.perf_counter() - t0)
                result.requests += 1
                if status != 200:
                    result.errors.append(f"HTTP {status}: {body[:300]!r}")
                    continue
                _check(orjson.loads(body), 1, result)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.wall_s = time.perf_counter() - start
    return result


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
