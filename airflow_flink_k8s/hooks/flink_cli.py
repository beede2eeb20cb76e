"""Runs the ``flink`` CLI for the ``cli`` launcher: argv without a shell, output streamed into the task log,
a timeout, and the client's own error lines in the exception; and the client conf dir that carries the options
kept off the argv (credentials)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.core.errors import FlinkCliError

_ERROR_MARKERS = ("ERROR", "Exception", "Caused by", "error:", "Error:")



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


def client_conf_dir(flink_bin: str, flink_conf_dir: str | None, env: Mapping[str, str]) -> Path:
    """The conf dir the ``flink`` script reads: ``flink_conf_dir``, else ``$FLINK_CONF_DIR``, else
    ``<FLINK_HOME>/conf`` next to the script's resolved ``bin/`` (as ``bin/config.sh`` finds it)."""
    chosen = flink_conf_dir or env.get("FLINK_CONF_DIR")
    if chosen:
        return Path(chosen)
    found = shutil.which(flink_bin) if os.sep not in flink_bin else flink_bin
    if found is None:
        raise FlinkCliError(f"cannot find the Flink client {flink_bin!r} to locate its conf dir; set flink_conf_dir")
    return Path(found).resolve().parent.parent / "conf"


def conf_dir_with(source: Path, target: Path, options: Mapping[str, str],
                  files: Mapping[str, str] | None = None) -> Path:
    """A copy of the client conf dir ``source`` at ``target`` whose configuration file also sets ``options`` and
    where ``files`` (name → text, e.g. the spec's logging files) replace the files of those names.

    The client reads them as if they were in its own conf, so they stay off its argv (which ``ps`` shows). From
    1.19 the file is ``config.yaml`` (standard YAML; rewritten with flat keys so each option has one spelling);
    before, or when a 1.19/1.20 conf dir has only the legacy ``flink-conf.yaml``, lines are appended to that.
    """
    if not source.is_dir():
        raise FlinkCliError(f"the Flink client's conf dir {source} does not exist; set flink_conf_dir")
    shutil.copytree(source, target)
    for name, text in (files or {}).items():
        (target / name).unlink(missing_ok=True)
        (target / name).write_text(text)
    if not options:
        return target
    standard = target / "config.yaml"
    if standard.exists() or not (target / "flink-conf.yaml").exists():
        conf = _flat((yaml.safe_load(standard.read_text()) if standard.exists() else None) or {})
        conf.update(options)
        standard.write_text(yaml.safe_dump(conf, default_flow_style=False, sort_keys=False, width=2**31 - 1))
        standard.chmod(0o600)
        return target
    legacy = target / "flink-conf.yaml"
    for key, value in options.items():
        if "#" in value or "\n" in value or "\r" in value:
            raise FlinkCliError(f"flink_conf[{key!r}]: the legacy flink-conf.yaml in {source} cannot hold a value with "
                                "'#' or a line break; use a conf dir with config.yaml, or secret_env/secret_mounts")
    with legacy.open("a") as out:
        out.write("\n" + "".join(f"{key}: {value}\n" for key, value in options.items()))
    legacy.chmod(0o600)
    return target


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Flink's nested YAML configuration as dotted keys (lists and empty maps stay values)."""
    if not isinstance(tree, dict) or (prefix and not tree):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat
