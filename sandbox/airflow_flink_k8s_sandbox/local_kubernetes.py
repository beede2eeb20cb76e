"""The emulator and the local kubelet together: a stand-in Kubernetes cluster on 127.0.0.1.

It is an emulator for local development and tests, not a Kubernetes distribution. Real runs go to a real cluster
through Airflow's ``kubernetes_default`` connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self, TypeVar

from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION, EmulatorProcess
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.processes import ManagedProcess, pid_exists

T = TypeVar("T")


class LocalKubernetes:
    """Emulator + kubelet processes; every process is stopped by PID on ``stop()``."""

    def __init__(self, emulator: EmulatorProcess, kubelet: ManagedProcess, workdir: Path) -> None:
        self.emulator, self.kubelet, self.workdir = emulator, kubelet, workdir
        self.kubeconfig = emulator.write_kubeconfig(workdir / "kubeconfig")
        self.seen_pids: set[int] = set()

    @classmethod
    def start(cls, workdir: str | Path, *, namespaces: tuple[str, ...] = ("default",), gc_delay: float = 0.0,
              images: dict[str, str] | None = None, restart_backoff: float = 2.0,
              rbac: bool = False) -> LocalKubernetes:
        """Start both. ``rbac`` enforces RBAC from the start: load Roles with ``set_rbac`` and hand out
        identities with ``user_kubeconfig``; ``self.kubeconfig`` (the admin) and the kubelet stay unrestricted,
        the pods run with their service account's token."""
        workdir = Path(workdir)
        emulator = EmulatorProcess.start(workdir / "emulator", gc_delay=gc_delay, namespaces=namespaces, rbac=rbac)
        argv = [sys.executable, "-m", "airflow_flink_k8s_sandbox.kubelet", "--api", emulator.url,
                "--workdir", str(workdir / "kubelet"), "--restart-backoff", str(restart_backoff)]
        for image, version in (images or {}).items():
            argv += ["--image", f"{image}={version}"]
        try:
            kubelet = ManagedProcess.start(argv, log_path=workdir / "kubelet.log", name="kubelet")
        except Exception:
            emulator.stop()
            raise
        return cls(emulator, kubelet, workdir)

    @property
    def url(self) -> str:
        return self.emulator.url

    def user_kubeconfig(self, user: str, groups: tuple[str, ...] = (), namespace: str = "default") -> Path:
        """A kubeconfig file with a bearer token of its own for ``user`` (subject to the loaded RBAC policy)."""
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in user)
        return self.emulator.user_kubeconfig(self.workdir / f"kubeconfig-{safe}", user, groups, namespace)

    def set_rbac(self, documents: str | list[dict[str, Any]], namespace: str = "default") -> None:
        """Replace the RBAC policy (Role/ClusterRole/RoleBinding/ClusterRoleBinding YAML text or dicts)."""
        self.emulator.set_rbac(documents, namespace)

    def get(self, path: str) -> Any:
        """GET an API path (``/api/v1/namespaces/default/configmaps/x``) as the admin; None on 404."""
        try:
            request = urllib.request.Request(self.url + path, headers=ADMIN_AUTHORIZATION)
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def flink_rest(self, namespace: str, cluster_id: str, path: str, not_yet: tuple[int, ...] = (503,)) -> Any:
        """GET Flink's REST ``path`` (``/jobs/overview``) through the API server's service proxy as the admin; None
        on a 404 and while it answers a status in ``not_yet`` (503: no endpoint yet, or the JobManager's REST during
        its leader election)."""
        try:
            return self.get(f"/api/v1/namespaces/{namespace}/services/{cluster_id}-rest:rest/proxy{path}")
        except urllib.error.HTTPError as exc:
            if exc.code in not_yet:
                return None
            raise

    def pods(self, namespace: str = "default", selector: str = "") -> list[dict[str, Any]]:
        query = f"?labelSelector={urllib.parse.quote(selector)}" if selector else ""
        items = self.get(f"/api/v1/namespaces/{namespace}/pods{query}")["items"]
        for pod in items:
            pid = ((pod["metadata"].get("annotations") or {}).get(ANNOTATION_PID))
            if pid:
                self.seen_pids.add(int(pid))
        return items

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float = 120.0,
                 interval: float = 0.5) -> T:
        """Poll ``probe`` until it returns something truthy; on timeout raise with the kubelet log tail."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if not self.kubelet.alive:
                raise RuntimeError(f"the local kubelet exited while waiting for {what}:\n{self.kubelet.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen within {timeout:.0f} s; kubelet log "
                                   f"{self.kubelet.log_path}:\n{self.kubelet.tail(20)}")
            time.sleep(interval)

    def stop(self) -> list[int]:
        """Stop the kubelet (which stops its pods), then the emulator; return PIDs still alive (should be none)."""
        for pod in self._all_pods():
            pid = (pod["metadata"].get("annotations") or {}).get(ANNOTATION_PID)
            if pid:
                self.seen_pids.add(int(pid))
        self.kubelet.stop(grace_seconds=45)
        self.emulator.stop()
        survivors = [pid for pid in sorted(self.seen_pids | {self.kubelet.pid, self.emulator.pid})
                     if pid_exists(pid)]
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return survivors

    def _all_pods(self) -> list[dict[str, Any]]:
        try:
            return self.get("/api/v1/pods")["items"]
        except OSError:  # the emulator is already gone: the kubelet's own record is all there is
            return []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
