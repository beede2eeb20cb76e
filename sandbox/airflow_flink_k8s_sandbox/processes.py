"""Local child processes: each runs in its own process group, logs to a file and is stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self


class ManagedProcess:
    """A child process started in a new session (its own process group) whose output goes to a log file."""

    def __init__(self, popen: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
        self._popen = popen
        self.log_path = log_path
        self.name = name
        self._stopped = False

    @classmethod
    def start(
        cls,
        argv: Sequence[str | os.PathLike[str]],
        *,
        log_path: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        name: str | None = None,
    ) -> ManagedProcess:
        """Start ``argv`` (no shell) with stdout and stderr appended to ``log_path``."""
        if not argv:
            raise ValueError("argv: must name a program to run, got an empty command")
        log = Path(log_path)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [os.fspath(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        return cls(popen, log, name or Path(os.fspath(argv[0])).name)

    @property
    def pid(self) -> int:
        """The PID of the started process, which is also its process-group id."""
        return self._popen.pid

    @property
    def alive(self) -> bool:
        """True while the process has not exited."""
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited (negative: killed by that signal), else None."""
        return self._popen.poll()

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the log file (empty if nothing was written)."""
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as f:
                return "".join(deque(f, maxlen=n))
        except FileNotFoundError:
            return ""

    def stop(self, grace_seconds: float = 10.0) -> int:
        """SIGTERM the process group, SIGKILL it after ``grace_seconds``, reap the process; return its status.

        Only the first call signals: afterwards the group id may belong to someone else."""
        if self._stopped:
            return self._popen.wait()
        self._stopped = True
        if self.alive:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self._popen.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                _signal_group(self.pid, signal.SIGKILL)
                self._popen.wait()
        # Children that outlived the group leader are killed too.
        _signal_group(self.pid, signal.SIGKILL)
        return self._popen.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ManagedProcess(name={self.name!r}, pid={self.pid}, alive={self.alive}, log={self.log_path})"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def pid_exists(pid: int) -> bool:
    """True while a process (not a zombie) with this PID exists on this machine."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state letter follows the parenthesised command name, which may itself hold spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS reports free on ``host`` right now (bind to port 0, then release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, process: ManagedProcess | None = None) -> None:
    """Block until ``host:port`` accepts a TCP connection; raise ``TimeoutError`` (or ``RuntimeError`` if
    ``process`` exits first) with the log tail in the message."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            pass
        if process is not None and not process.alive:
            raise RuntimeError(
                f"{process.name} (pid {process.pid}) exited with {process.returncode} before "
                f"{host}:{port} accepted connections; log {process.log_path}:\n{process.tail()}"
            )
        if time.monotonic() >= deadline:
            detail = f"; log {process.log_path}:\n{process.tail()}" if process is not None else ""
            raise TimeoutError(f"{host}:{port} did not accept connections within {timeout:.0f} s{detail}")
        time.sleep(0.1)
