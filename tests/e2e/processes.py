"""The e2e deployment's processes: free ports, output tails, one component process, group kills."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Component:
    """One running (or stopped) component process."""

    name: str
    generation: int
    process: subprocess.Popen[bytes]
    log_path: Path
    #: True once the process and its group were cleaned up (its pid may be reused afterwards,
    #: so nothing is ever sent to it again).
    reaped: bool = False
    #: A triggerer's ``TriggererJob`` id, once known.
    job_id: int | None = None

    @property
    def pid(self) -> int:
        """The component's main pid (also its process group id)."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """True while the main process runs."""
        return self.process.poll() is None


def killpg(pgid: int) -> None:
    """SIGKILL a process group that this module created (ignores a group that is already gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
