"""``python -m airflow_flink_k8s_sandbox up | down | status``: the local sandbox as background processes.

``up`` starts the Kubernetes API emulator, the local kubelet and ZooKeeper on 127.0.0.1, writes a kubeconfig and
prints the ``AIRFLOW_CONN_KUBERNETES_DEFAULT`` value to use; ``status`` shows clusters, pods (local PIDs), HA leaders
and REST URLs; ``down`` stops every process ``up`` started, by PID. It is an emulator for local development and tests;
real runs go to a real cluster through the ``kubernetes_default`` connection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.processes import pid_exists

NAMESPACES = ("default", "flink", "hke-flink")


def _state_dir() -> Path:
    return Path(os.environ.get("AIRFLOW_FLINK_K8S_SANDBOX_DIR", Path.cwd() / ".sandbox" / "sandbox"))


def _state_file(directory: Path) -> Path:
    return directory / "state.json"


def _connection(kubeconfig: Path) -> str:
    return json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})


def up(directory: Path) -> dict[str, Any]:
    """Start the sandbox in the background and record its PIDs; refuse when one is already up."""
    from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
    from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer

    state_file = _state_file(directory)
    if state_file.exists() and any(pid_exists(p) for p in _pids(json.loads(state_file.read_text()))):
        raise SystemExit(f"a sandbox is already up (state {state_file}); run 'down' first")
    directory.mkdir(parents=True, exist_ok=True)
    k8s = LocalKubernetes.start(directory / "k8s", namespaces=NAMESPACES)
    try:
        zookeeper = ZooKeeperServer(directory / "zookeeper").start()
    except BaseException:
        k8s.stop()
        raise
    state = {"emulator": {"pid": k8s.emulator.pid, "url": k8s.url}, "kubelet": {"pid": k8s.kubelet.pid},
             "zookeeper": {"pid": zookeeper.pid, "hosts": zookeeper.hosts}, "kubeconfig": str(k8s.kubeconfig),
             "namespaces": list(NAMESPACES), "logs": str(directory)}
    state_file.write_text(json.dumps(state, indent=1))
    return state


def _pids(state: dict[str, Any]) -> list[int]:
    return [state[name]["pid"] for name in ("kubelet", "emulator", "zookeeper") if name in state]


def _stop_pid(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def down(directory: Path) -> list[int]:
    """Stop the kubelet (it stops its pods), the emulator and ZooKeeper, then any pod process left; return the
    PIDs stopped."""
    state_file = _state_file(directory)
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    pod_pids = [int(p) for p in (_pod(pod)[2] for pod in _api(state, "/api/v1/pods").get("items", [])) if p]
    stopped = []
    for pid, grace in [(state["kubelet"]["pid"], 45.0), (state["emulator"]["pid"], 5.0),
                       (state["zookeeper"]["pid"], 5.0), *((pid, 10.0) for pid in pod_pids)]:
        if pid_exists(pid):
            _stop_pid(pid, grace)
            stopped.append(pid)
    state_file.unlink()
    return stopped


def _api(state: dict[str, Any], path: str) -> dict[str, Any]:
    import urllib.request

    try:
        with urllib.request.urlopen(state["emulator"]["url"] + path, timeout=10) as response:
            return json.loads(response.read())
    except OSError:
        return {}


def _pod(pod: dict[str, Any]) -> tuple[str, str, str | None]:
    meta = pod["metadata"]
    return meta["name"], (pod.get("status") or {}).get("phase", "?"), (meta.get("annotations") or {}).get(
        ANNOTATION_PID)


def status(directory: Path) -> list[str]:
    """Lines describing the sandbox: processes, clusters, pods with local PIDs, HA leaders and REST URLs."""
    from airflow_flink_k8s.core.leader import LeaderDataError, parse_kubernetes_leader

    state_file = _state_file(directory)
    if not state_file.exists():
        return ["sandbox: down"]
    state = json.loads(state_file.read_text())
    lines = [f"sandbox: {state['logs']}"]
    for name in ("emulator", "kubelet", "zookeeper"):
        entry = state[name]
        detail = entry.get("url") or entry.get("hosts") or ""
        lines.append(f"  {name:9} pid {entry['pid']:>7} {'up' if pid_exists(entry['pid']) else 'DOWN'} {detail}")
    for namespace in state["namespaces"]:
        for deployment in _api(state, f"/apis/apps/v1/namespaces/{namespace}/deployments").get("items", []):
            cid = deployment["metadata"]["name"]
            annotations = deployment["metadata"].get("annotations") or {}
            lines.append(f"cluster {namespace}/{cid} job {annotations.get('airflow-flink-k8s.apache.org/job-id', '?')}")
            cm = _api(state, f"/api/v1/namespaces/{namespace}/configmaps/{cid}-cluster-config-map")
            try:
                leader = parse_kubernetes_leader(cm) if cm else None
            except LeaderDataError as error:
                leader, lines = None, [*lines, f"  leader: unreadable ({error})"]
            lines.append(f"  leader {leader.address if leader else '(none live in Kubernetes HA data)'}")
            lines.append(f"  rest   {state['emulator']['url']}/api/v1/namespaces/{namespace}/services/{cid}-rest:rest"
                         "/proxy/")
            for pod in _api(state, f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3D{cid}").get("items", []):
                name, phase, pid = _pod(pod)
                lines.append(f"  pod    {name} {phase} pid {pid or '-'}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_flink_k8s_sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    directory = _state_dir()
    if args.command == "up":
        state = up(directory)
        print(f"sandbox up in {directory}: emulator {state['emulator']['url']} (pid {state['emulator']['pid']}), "
              f"kubelet pid {state['kubelet']['pid']}, zookeeper {state['zookeeper']['hosts']} "
              f"(pid {state['zookeeper']['pid']})")
        print(f"export KUBECONFIG={state['kubeconfig']}")
        print(f"export AIRFLOW_CONN_KUBERNETES_DEFAULT='{_connection(Path(state['kubeconfig']))}'")
        print("This is an emulator for local development and tests; real runs use a real cluster.")
    elif args.command == "down":
        stopped = down(directory)
        print(f"sandbox down: stopped {len(stopped)} process(es) {stopped}" if stopped else "sandbox: already down")
    else:
        print("\n".join(status(directory)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
