"""A real Flink standalone application cluster (one JobManager, one TaskManager) on 127.0.0.1.

The JobManager runs ``bin/standalone-job.sh start-foreground`` and the TaskManager ``bin/taskmanager.sh
start-foreground`` from the cached FLINK_HOME, each in its own process group. Everything the cluster writes goes
to its own work dir: the configuration (``FLINK_CONF_DIR``), logs, pid files, fetched artifacts and temp files. The
user jar is handed over with ``--jars local://<path>``, which 1.20 and 2.x both accept: the JobManager reads it in
place and ships it to the TaskManager through the blob server, so nothing is written into the shared FLINK_HOME
(whose ``usrlib/`` would be the other way in).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.processes import ManagedProcess, free_port, wait_for_port

TERMINAL_JOB_STATES = frozenset({"FINISHED", "FAILED", "CANCELED", "SUSPENDED"})


def config_file_name(version: str | FlinkVersion) -> str:
    """``config.yaml`` for Flink 2.x, the legacy flat ``flink-conf.yaml`` for 1.x."""
    return "config.yaml" if FlinkVersion.parse(version).major >= 2 else "flink-conf.yaml"


def render_config_file(version: str | FlinkVersion, config: Mapping[str, str]) -> str:
    """Flat ``key: value`` lines in the syntax of the file :func:`config_file_name` names for ``version``.

    ``config.yaml`` is real YAML, so every value is written as a double-quoted (JSON) string. The legacy
    ``flink-conf.yaml`` parser takes the text after ``": "`` verbatim up to a ``#``, so such values must be plain.
    """
    legacy = FlinkVersion.parse(version).major < 2
    lines = []
    for key, value in config.items():
        text = str(value)
        if not key or any(c in key for c in ": #\n"):
            raise ValueError(f"flink config key {key!r}: must be non-empty without ':', ' ', '#' or newlines")
        if "\n" in text:
            raise ValueError(f"flink config {key}: value must be a single line")
        if legacy and "#" in text:
            raise ValueError(f"flink config {key}: flink-conf.yaml cannot hold '#' in a value")
        lines.append(f"{key}: {text if legacy else json.dumps(text)}")
    return "\n".join(lines) + "\n"


def distribution_defaults(flink_home: Path) -> dict[str, str]:
    """The shipped ``conf/config.yaml`` of a FLINK_HOME as flat ``key: value`` pairs."""
    import yaml  # PyYAML comes with Airflow; only the sandbox needs it.

    def flatten(prefix: str, node: Any) -> dict[str, str]:
        if isinstance(node, dict):
            flat: dict[str, str] = {}
            for key, value in node.items():
                flat |= flatten(f"{prefix}{key}.", value)
            return flat
        return {prefix[:-1]: str(node)}

    return flatten("", yaml.safe_load((flink_home / "conf" / "config.yaml").read_text()) or {})


class StandaloneApplicationCluster:
    """One Flink application cluster for ``version`` running ``job_class`` from ``job_jar``."""

    def __init__(
        self,
        version: str,
        job_jar: str | Path,
        job_class: str,
        program_args: Sequence[str] = (),
        flink_config: Mapping[str, str] | None = None,
        work_dir: str | Path | None = None,
    ) -> None:
        self.version = str(FlinkVersion.parse(version))
        self.job_jar = Path(job_jar).resolve()
        if not self.job_jar.is_file():
            raise ValueError(f"job_jar: no such file {self.job_jar}")
        if not job_class:
            raise ValueError("job_class: must name the job's main class")
        self.job_class = job_class
        self.program_args = list(program_args)
        self.extra_config = dict(flink_config or {})
        self.work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="flink-cluster-"))
        self.conf_dir = self.work_dir / "conf"
        self.log_dir = self.work_dir / "log"
        self.rest_port = 0
        self._ports: dict[str, int] = {}
        self.jobmanager: ManagedProcess | None = None
        self.taskmanager: ManagedProcess | None = None

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:<rest port>``."""
        if not self.rest_port:
            raise RuntimeError("StandaloneApplicationCluster: not started")
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def processes(self) -> list[ManagedProcess]:
        """The started processes, JobManager first."""
        return [p for p in (self.jobmanager, self.taskmanager) if p is not None]

    @property
    def pids(self) -> list[int]:
        """PIDs of the started JobManager and TaskManager JVMs."""
        return [p.pid for p in self.processes]

    def effective_config(self) -> dict[str, str]:
        """The configuration written to ``FLINK_CONF_DIR``: the distribution's defaults (its JVM ``--add-opens``
        flags among them), then loopback ports and per-cluster dirs, then the caller's extras."""
        if not self.rest_port:
            raise RuntimeError("StandaloneApplicationCluster: ports are chosen by start()")
        rpc_port = self._ports["rpc"]
        config = distribution_defaults(ensure_flink_home(self.version))
        config |= {
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": str(rpc_port),
            "high-availability.jobmanager.port": str(rpc_port),
            "jobmanager.bind-host": "127.0.0.1",
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.rpc.port": str(self._ports["tm_rpc"]),
            "taskmanager.data.port": str(self._ports["tm_data"]),
            "taskmanager.memory.process.size": "1280m",
            "taskmanager.numberOfTaskSlots": "1",
            "parallelism.default": "1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": str(self.rest_port),
            "blob.server.port": str(self._ports["blob"]),
            "user.artifacts.base-dir": str(self.work_dir / "artifacts"),
            "io.tmp.dirs": str(self.work_dir / "tmp"),
        }
        config.update(self.extra_config)
        return config

    def start(self, timeout: float = 90.0) -> Self:
        """Write the configuration, start the JobManager and TaskManager, wait for the REST port."""
        if self.jobmanager is not None:
            raise RuntimeError(f"StandaloneApplicationCluster: already started (pids {self.pids})")
        home = ensure_flink_home(self.version)
        self.rest_port = free_port()
        self._ports = {name: free_port() for name in ("rpc", "blob", "tm_rpc", "tm_data")}
        for directory in (self.conf_dir, self.log_dir, self.work_dir / "pid", self.work_dir / "tmp"):
            directory.mkdir(parents=True, exist_ok=True)
        for logging_file in (home / "conf").iterdir():
            if logging_file.name.startswith(("log4j", "logback")):
                shutil.copy(logging_file, self.conf_dir / logging_file.name)
        (self.conf_dir / config_file_name(self.version)).write_text(
            render_config_file(self.version, self.effective_config()))
        env = dict(os.environ)
        for name in ("FLINK_HOME", "FLINK_CONF_DIR", "FLINK_LIB_DIR", "FLINK_OPT_DIR", "FLINK_PLUGINS_DIR",
                     "FLINK_BIN_DIR", "FLINK_LOG_DIR", "FLINK_PID_DIR", "HADOOP_CLASSPATH"):
            env.pop(name, None)
        env.update(FLINK_HOME=str(home), FLINK_CONF_DIR=str(self.conf_dir), FLINK_LOG_DIR=str(self.log_dir),
                   FLINK_PID_DIR=str(self.work_dir / "pid"))
        self.jobmanager = ManagedProcess.start(
            [home / "bin" / "standalone-job.sh", "start-foreground",
             # --jars takes several values, so the single-valued --job-classname must end its list.
             "--jars", f"local://{self.job_jar}", "--job-classname", self.job_class, *self.program_args],
            log_path=self.log_dir / "jobmanager.console.log", env=env, cwd=self.work_dir, name="jobmanager",
        )
        self.taskmanager = ManagedProcess.start(
            [home / "bin" / "taskmanager.sh", "start-foreground"],
            log_path=self.log_dir / "taskmanager.console.log", env=env, cwd=self.work_dir, name="taskmanager",
        )
        try:
            wait_for_port("127.0.0.1", self.rest_port, timeout, process=self.jobmanager)
        except (TimeoutError, RuntimeError) as error:
            message = f"{error}\n{self.log_report()}"
            self.stop()
            raise RuntimeError(message) from None
        return self

    def rest_get(self, path: str, timeout: float = 5.0) -> Any:
        """GET ``path`` from the REST API and decode the JSON answer (raises ``urllib.error.HTTPError``)."""
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=timeout) as response:
            return json.load(response)

    def wait_for_job(self, state: str = "RUNNING", timeout: float = 120.0) -> dict[str, Any]:
        """Poll ``/jobs/overview`` until a job is in ``state``; return its entry. Fails early on a terminal state."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                seen = self.rest_get("/jobs/overview")["jobs"]
            except (urllib.error.URLError, OSError, KeyError, ValueError):
                seen = []  # 503 during leader election, or not listening yet
            for job in seen:
                if job["state"] == state:
                    return job
                if job["state"] in TERMINAL_JOB_STATES:
                    raise RuntimeError(f"job {job['jid']} ended {job['state']} while waiting for {state}\n"
                                       f"{self.log_report()}")
            if self.jobmanager is not None and not self.jobmanager.alive:
                raise RuntimeError(f"JobManager exited with {self.jobmanager.returncode} while waiting for a "
                                   f"job in {state}\n{self.log_report()}")
            time.sleep(0.5)
        raise TimeoutError(f"no job reached {state} within {timeout:.0f} s (last seen {seen})\n{self.log_report()}")

    def log_report(self, lines: int = 30) -> str:
        """The last lines of every log file in the cluster's log dir, for failure messages."""
        parts = []
        for log in sorted(self.log_dir.glob("*")):
            if log.is_file() and log.stat().st_size:
                with log.open("r", encoding="utf-8", errors="replace") as f:
                    tail = f.readlines()[-lines:]
                parts.append(f"--- {log} ---\n{''.join(tail)}")
        return "\n".join(parts)

    def stop(self, grace_seconds: float = 20.0) -> None:
        """Stop the TaskManager and JobManager by PID (SIGTERM, then SIGKILL after the grace period)."""
        for process in reversed(self.processes):
            process.stop(grace_seconds)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
