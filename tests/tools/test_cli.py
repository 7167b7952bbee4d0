"""The `dossier-stats` command, run as an operator would, against the test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx

from tests.conftest import bearer


def run_wide_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """The CLI with a wide console, so that no message is wrapped."""
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, "DATABASE_URL": database_url, "COLUMNS": "250"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_keys_create_prints_a_working_key_last(
    client: httpx.AsyncClient, database_url: str
) -> None:
    code, out, _ = await run_cli(
        database_url, "keys", "create", "--name", "portal", "--scope", "read", "--unit", "282"
    )
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert (await client.get("/v1/domains", headers=bearer(key))).status_code == 200
    assert (
        await client.put("/v1/domains/TP", json={"name": "x"}, headers=bearer(key))
    ).status_code == 403

    code, out, _ = await run_cli(database_url, "keys", "list")
    assert code == 0 and "portal" in out and key not in out

    code, _, _ = await run_cli(database_url, "keys", "revoke", "1")
    assert code == 0
    assert (await client.get("/v1/domains", headers=bearer(key))).status_code == 401


async def test_keys_create_refuses_unknown_scope_and_unit(database_url: str) -> None:
    code, _, err = await run_cli(database_url, "keys", "create", "--name", "x", "--scope", "root")
    assert code == 2 and "scopes" in err
    code, _, err = await run_cli(
        database_url, "keys", "create", "--name", "x", "--scope", "read", "--unit", "nope"
    )
    assert code == 2 and "nope" in err
