"""Runs the ``flink`` CLI for the ``cli`` launcher: argv without a shell, output streamed into the task log,
a timeout, and the client's own error lines in the exception."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

_ERROR_MARKERS = ("ERROR", "Exception", "Caused by", "error:", "Error:")


class FlinkCliError(RuntimeError):
    """The Flink client failed or timed out; the message holds its error lines."""


@dataclass(frozen=True)
class FlinkCliResult:
    returncode: int
    output: list[str]


def run_flink_cli(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 300,
                  on_line: Callable[[str], None] = lambda line: None) -> FlinkCliResult:
    """Run ``argv``; call ``on_line`` for each output line; raise ``FlinkCliError`` on failure or timeout."""
    try:
        process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=dict(env) if env is not None else None, start_new_session=True,
                                   stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise FlinkCliError(f"cannot run the Flink client {argv[0]!r}: {exc}") from exc
    lines: deque[str] = deque(maxlen=5000)

    def pump() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    began = time.monotonic()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(5)
        raise FlinkCliError(f"the Flink client did not finish within {timeout:.0f} s; last lines:\n"
                            + "\n".join(list(lines)[-20:])) from None
    reader.join(10)
    output = list(lines)
    if returncode != 0:
        errors = [line for line in output if any(marker in line for marker in _ERROR_MARKERS)]
        shown = "\n".join((errors or output)[-25:])
        raise FlinkCliError(f"the Flink client exited with {returncode} after {time.monotonic() - began:.1f} s:\n"
                            f"{shown}")
    return FlinkCliResult(returncode, output)
