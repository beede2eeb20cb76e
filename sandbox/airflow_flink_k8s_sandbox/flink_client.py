"""Run the real ``flink`` CLI of a cached distribution against a kubeconfig (tests, fixtures recording, demo)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home


@dataclass(frozen=True)
class FlinkClientResult:
    """Exit status and combined output of one CLI run."""

    returncode: int
    output: str


def run_flink_application(version: str, kubeconfig: Path, workdir: Path, options: Mapping[str, str],
                          jar_uri: str, *, program_args: Sequence[str] = (),
                          timeout: float = 180) -> FlinkClientResult:
    """``flink run-application`` (≤1.20) or ``flink run`` (2.x) ``-t kubernetes-application -D…`` with the
    distribution's own default configuration, as a user would run it."""
    home = ensure_flink_home(version)
    conf = workdir / f"client-conf-{version}"
    if not conf.exists():
        shutil.copytree(home / "conf", conf)
    action = "run" if FlinkVersion.parse(version).major >= 2 else "run-application"
    argv = [str(home / "bin" / "flink"), action, "-t", "kubernetes-application"]
    argv += [f"-D{key}={value}" for key, value in options.items()]
    argv += [jar_uri, *program_args]
    env = dict(os.environ, FLINK_CONF_DIR=str(conf), KUBECONFIG=str(kubeconfig),
               FLINK_LOG_DIR=str(workdir / "client-log"))
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)
    return FlinkClientResult(done.returncode, done.stdout)
