"""What an operator sees on the console: plain text at a terminal and JSON lines otherwise, a
start-up hint that says how to get a key, and key times in Vietnam time."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.localtime import REPORT_TIMEZONE
from tests.support.live import free_port
from tests.support.terminal import plain, read_until, start_on_terminal
from tests.tools.test_cli import run_wide_cli


def wait_healthy(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited on start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def serve_env(database_url: str, port: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "LOG_LEVEL": "info"}


def test_serve_logs_plain_text_at_a_terminal_and_hints_at_keys(database_url: str) -> None:
    port = free_port()
    server, terminal = start_on_terminal(
        [sys.executable, "-m", "app", "serve"], serve_env(database_url, port)
    )
    try:
        shown = read_until(terminal, lambda text: "Application startup complete" in text)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        os.close(terminal)
    lines = [line for line in plain_lines(shown) if "uvicorn" in line]
    assert lines, shown
    assert all(not line.startswith("{") and " INFO uvicorn.error " in line for line in lines)
    hint = plain(shown)
    assert ".venv/bin/dossier-stats keys create --name" in hint
    assert "needs an API key" in hint


def plain_lines(text: str) -> list[str]:
    return [plain(line) for line in text.splitlines() if plain(line)]


def test_serve_logs_json_lines_when_stderr_is_not_a_terminal(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "serve"],
            env=serve_env(database_url, port),
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    try:
        wait_healthy(server, port)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records if r["logger"] == "uvicorn.error"]
    assert "Application startup complete." in messages
    assert {"time", "level", "logger", "message", "request_id"} <= set(records[0])


def test_keys_list_shows_times_in_vietnam_time(database_url: str) -> None:
    before = dt.datetime.now(REPORT_TIMEZONE)
    code, _, _ = run_wide_cli(database_url, "keys", "create", "--name", "clock", "--scope", "read")
    assert code == 0
    code, _, _ = run_wide_cli(database_url, "keys", "revoke", "1")
    assert code == 0
    code, out, _ = run_wide_cli(database_url, "keys", "list")
    after = dt.datetime.now(REPORT_TIMEZONE)
    assert code == 0
    text = plain(out)
    assert "Vietnam time" in text
    shown = {f"{moment:%Y-%m-%d %H:%M}" for moment in (before, after)}
    row = next(line for line in out.splitlines() if "clock" in line)
    assert sum(row.count(stamp) for stamp in shown) == 2, (row, shown)  # created and revoked
    utc = {f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M}" for moment in (before, after)}
    assert not any(stamp in row for stamp in utc - shown)
