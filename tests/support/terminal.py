"""Run a command with its standard error on a pseudo-terminal, as an operator's console."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """`text` without terminal escape codes and with every run of whitespace one space."""
    return " ".join(ANSI.sub("", text).split())


def start_on_terminal(
    command: list[str], env: dict[str, str], columns: int = 200
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `command` with stderr on a new pseudo-terminal; returns it and the reading end."""
    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=writer
    )
    os.close(writer)
    return process, reader


def read_until(reader: int, done: Callable[[str], bool], timeout: float = 60) -> str:
    """What the terminal shows until `done(text)` or the deadline (or the writer closes)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([reader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
            if done(b"".join(chunks).decode("utf-8", "replace")):
                break
    return b"".join(chunks).decode("utf-8", "replace")
