"""Benchmark: submit latency of the native launcher beside the real ``flink`` CLI, against one API emulator.

"Submit latency" is the time from the call to its return, by which point the Deployment ``<cid>``, the Service
``<cid>-rest`` and the ConfigMap ``flink-config-<cid>`` exist in the emulator (checked after every call). No kubelet
runs, so no pod starts. Both sides launch the same ``FlinkApplicationSpec`` (Kubernetes HA, per-cluster checkpoint
dir), each launch with a cluster id of its own:

* native, warm: ``NativeLauncher(FlinkKubernetesHook()).launch(...)`` with a new hook per launch, as every task
  try builds one (connection lookup and kubeconfig load included), after one warm-up launch in the same process;
* native, cold: the same call as the first thing a fresh interpreter does after importing the operator module
  (as a task process does in ``execute``), so it also pays the imports of ``kubernetes`` and the cncf-kubernetes
  provider and the first connection set-up;
* CLI: ``build_flink_command(spec, <FLINK_HOME>/bin/flink)`` run by ``run_flink_cli`` with the cached
  distribution, a copy of its ``conf/`` as ``FLINK_CONF_DIR`` (it carries the Java 17 flags) and ``KUBECONFIG``. One
  warm-up run (disk cache) is left out of the figures too.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_flink_k8s.core.job_id import NONCE_BYTES, derive_job_id
from airflow_flink_k8s.core.spec import FlinkApplicationSpec

if TYPE_CHECKING:
    from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

if "AIRFLOW_HOME" not in os.environ:  # run on its own; ``python -m bench`` sets a throw-away home
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

VERSIONS = ("2.3.0", "1.20.3")
NAMESPACE = "flink"
NATIVE_RUNS = 30
COLD_RUNS = 5
CLI_RUNS = 7
CLI_TIMEOUT = 180.0
GOAL_RATIO = 30.0


@dataclass(frozen=True)
class LaunchTimes:
    """Seconds per launch of one Flink version."""

    native: list[float]
    cold: list[float]
    cli: list[float]
    cli_warmup: float


def _spec(version: str, cluster_id: str, workdir: Path) -> FlinkApplicationSpec:
    return FlinkApplicationSpec(
        cluster_id=cluster_id, namespace=NAMESPACE, image=f"flink:{version}", flink_version=version,
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", parallelism=1,
        jobmanager_memory="1024m", taskmanager_memory="1024m", task_slots=1,
        ha="kubernetes", ha_storage_dir=f"file://{workdir}/ha",
        checkpoint_base_dir=f"file://{workdir}/checkpoints", savepoint_base_dir=f"file://{workdir}/savepoints",
        checkpoint_interval="10 s", job_id=derive_job_id(cluster_id, "bench/launch-latency", "bench",
                                                                  secrets.token_bytes(NONCE_BYTES)))


def _check_created(emulator: EmulatorProcess, cluster_id: str) -> None:
    """Raise unless the three objects of ``cluster_id`` are in the emulator."""
    for path in (f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{cluster_id}",
                 f"/api/v1/namespaces/{NAMESPACE}/services/{cluster_id}-rest",
                 f"/api/v1/namespaces/{NAMESPACE}/configmaps/flink-config-{cluster_id}"):
        emulator.api_get(path)  # raises HTTPError 404 when missing


def _timed(launch: Callable[[], object]) -> float:
    started = time.perf_counter()
    launch()
    return time.perf_counter() - started


def _native_launch(spec: FlinkApplicationSpec) -> Callable[[], object]:
    from airflow_flink_k8s.core.launch_plan import RunIdentity, launch_annotations, launch_labels
    from airflow_flink_k8s.flows.native_launcher import NativeLauncher
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    run = RunIdentity("bench", "launch", spec.cluster_id, 1)
    labels, annotations = launch_labels(run), launch_annotations(spec, run, spec.job_id or "")
    return lambda: NativeLauncher(FlinkKubernetesHook()).launch(spec, labels, annotations, before_owned=lambda: None)


def _cli_launch(spec: FlinkApplicationSpec, home: Path, env: dict[str, str]) -> Callable[[], object]:
    from airflow_flink_k8s.core.command import build_flink_command
    from airflow_flink_k8s.hooks.flink_cli import run_flink_cli

    argv = build_flink_command(spec, str(home / "bin" / "flink"))

    def launch() -> None:
        output = run_flink_cli(argv, env=env, timeout=CLI_TIMEOUT).output
        if not any(f"Create flink application cluster {spec.cluster_id} successfully" in line for line in output):
            raise RuntimeError(f"the Flink client exited 0 without reporting the cluster: {output[-10:]}")
    return launch


def _cold_native(version: str, cluster_id: str, workdir: Path, emulator: EmulatorProcess) -> float:
    """Seconds of one native launch in a fresh interpreter (``python -m bench.launch_latency cold …``)."""
    done = subprocess.run([sys.executable, "-m", "bench.launch_latency", "cold", version, cluster_id, str(workdir)],
                          capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ))
    if done.returncode != 0:
        raise RuntimeError(f"cold native launch of {cluster_id} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    _check_created(emulator, cluster_id)
    return float(done.stdout.strip().splitlines()[-1])


def _cold_child(version: str, cluster_id: str, workdir: Path) -> None:
    """Child side of ``_cold_native``: what a task has loaded before ``execute``, then the timed launch."""
    import airflow_flink_k8s.operators  # noqa: F401  (the DAG file imported it)

    spec = _spec(version, cluster_id, workdir)
    started = time.perf_counter()
    _native_launch(spec)()
    print(time.perf_counter() - started)


def _series(launches: list[tuple[str, Callable[[], object]]], emulator: EmulatorProcess) -> list[float]:
    seconds = []
    for cluster_id, launch in launches:
        seconds.append(_timed(launch))
        _check_created(emulator, cluster_id)
    return seconds


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def _measure(version: str, emulator: EmulatorProcess, kubeconfig: Path, workdir: Path) -> LaunchTimes:
    from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home

    tag = version.replace(".", "")
    cold = [_cold_native(version, f"cold-{tag}-{n}", workdir, emulator) for n in range(COLD_RUNS)]
    _series([(f"native-{tag}-warmup", _native_launch(_spec(version, f"native-{tag}-warmup", workdir)))], emulator)
    native = _series([(f"native-{tag}-{n}", _native_launch(_spec(version, f"native-{tag}-{n}", workdir)))
                      for n in range(NATIVE_RUNS)], emulator)
    home = ensure_flink_home(version)
    conf = workdir / f"flink-conf-{version}"
    shutil.copytree(home / "conf", conf)
    env = dict(os.environ, FLINK_CONF_DIR=str(conf), KUBECONFIG=str(kubeconfig),
               FLINK_LOG_DIR=str(workdir / f"flink-log-{version}"))
    cli = _series([(f"cli-{tag}-{n}", _cli_launch(_spec(version, f"cli-{tag}-{n}", workdir), home, env))
                   for n in range(CLI_RUNS + 1)], emulator)
    return LaunchTimes(native=native, cold=cold, cli=cli[1:], cli_warmup=cli[0])


def run() -> list[str]:
    from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-launch-") as tmp:
        workdir = Path(tmp)
        emulator = EmulatorProcess.start(workdir / "emulator", namespaces=(NAMESPACE,))
        try:
            kubeconfig = emulator.write_kubeconfig(workdir / "kubeconfig")
            os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
                {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})
            results = {version: _measure(version, emulator, kubeconfig, workdir) for version in VERSIONS}
        finally:
            emulator.stop()
    for version, result in results.items():
        native, cold, cli = result.native, result.cold, result.cli
        ratio = statistics.median(cli) / statistics.median(native)
        lines.append(f"Flink {version}: native launcher p50 {statistics.median(native) * 1000:.1f} ms, "
                     f"p90 {_p90(native) * 1000:.1f} ms ({NATIVE_RUNS} launches in a warm process, new hook each)")
        lines.append(f"Flink {version}: native launcher in a fresh process (imports of kubernetes + cncf hook, first "
                     f"connection) p50 {statistics.median(cold) * 1000:.0f} ms, p90 {_p90(cold) * 1000:.0f} ms "
                     f"({COLD_RUNS} processes)")
        lines.append(f"Flink {version}: flink CLI p50 {statistics.median(cli) * 1000:.0f} ms, "
                     f"p90 {_p90(cli) * 1000:.0f} ms ({CLI_RUNS} launches; warm-up run "
                     f"{result.cli_warmup * 1000:.0f} ms, not counted)")
        lines.append(f"Flink {version}: launch ratio CLI/native = {ratio:.1f}x (p50 over p50, warm; goal >= "
                     f"{GOAL_RATIO:.0f}x); CLI/native-in-a-fresh-process = "
                     f"{statistics.median(cli) / statistics.median(cold):.1f}x")
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["cold"]:
        _cold_child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    else:
        print("\n".join(run()))
