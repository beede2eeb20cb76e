"""The emulator as a child process, with a small client for its ``/_emulator`` admin API."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

import yaml

from airflow_flink_k8s_sandbox.kubeconfig import write_kubeconfig
from airflow_flink_k8s_sandbox.processes import ManagedProcess

#: The default kubeconfig's bearer token: the sandbox admin, in ``system:masters`` (unrestricted under RBAC).
ADMIN_AUTHORIZATION = {"Authorization": "Bearer sandbox-admin-token"}


class EmulatorProcess:
    """A running ``sandbox.emulator`` process on 127.0.0.1, stopped by PID."""

    def __init__(self, process: ManagedProcess, port: int, workdir: Path) -> None:
        self.process, self.port, self.workdir = process, port, workdir

    @classmethod
    def start(cls, workdir: str | Path, *, gc_delay: float = 0.0, bookmark_interval: float = 5.0,
              namespaces: tuple[str, ...] = ("default",), rbac: bool = False,
              timeout: float = 30.0) -> EmulatorProcess:
        """Start the emulator and wait until it listens; ``rbac`` enforces RBAC from the start (no Roles yet)."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        port_file = workdir / "emulator.port"
        port_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "airflow_flink_k8s_sandbox.emulator", "--port", "0",
                "--port-file", str(port_file), "--gc-delay", str(gc_delay),
                "--bookmark-interval", str(bookmark_interval)]
        for namespace in namespaces:
            argv += ["--namespace", namespace]
        if rbac:
            argv.append("--rbac")
        process = ManagedProcess.start(argv, log_path=workdir / "emulator.log", env=dict(os.environ),
                                       name="k8s-emulator")
        deadline = time.monotonic() + timeout
        while not port_file.exists():
            if not process.alive or time.monotonic() > deadline:
                process.stop()
                raise RuntimeError(f"the Kubernetes API emulator did not start; log {process.log_path}:\n"
                                   f"{process.tail()}")
            time.sleep(0.05)
        return cls(process, int(port_file.read_text()), workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def admin(self, action: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        """Call ``/_emulator/<action>`` and return its JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_emulator/{action}", data=data,
                                         method=method or ("POST" if data is not None else "GET"),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def api_get(self, path: str) -> Any:
        """GET a Kubernetes API path (``/api/v1/namespaces/x/configmaps``) as the sandbox admin; return its JSON."""
        request = urllib.request.Request(self.url + path, headers=ADMIN_AUTHORIZATION)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def set_faults(self, *rules: dict[str, Any], watch_max_seconds: float | None = None, seed: int = 0) -> None:
        """Replace the fault plan (see ``faults.FaultRule`` for a rule's fields)."""
        self.admin("faults", {"rules": list(rules), "watch_max_seconds": watch_max_seconds, "seed": seed})

    def clear_faults(self) -> None:
        self.admin("faults", {}, method="DELETE")

    def fault_summary(self) -> list[dict[str, Any]]:
        return self.admin("stats")["faults"]

    def stats(self) -> dict[str, Any]:
        return self.admin("stats")

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log after sequence number ``since``."""
        return self.admin(f"requests?since={since}")

    def drop_watches(self) -> None:
        self.admin("drop-watches", {})

    def compact(self) -> None:
        self.admin("compact", {})

    def set_gc_delay(self, seconds: float) -> None:
        self.admin("gc-delay", {"seconds": seconds})

    def register_proxy(self, namespace: str, service: str, port: str | int, target: str) -> None:
        """Forward ``services/<service>:<port>/proxy/…`` to ``target`` (e.g. ``http://127.0.0.1:8123``)."""
        self.admin("proxy-targets", {"namespace": namespace, "service": service, "port": str(port),
                                     "target": target})

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        """A kubeconfig for the sandbox admin (``system:masters``)."""
        return write_kubeconfig(path, self.url, namespace=namespace)

    def add_token(self, token: str, user: str, groups: tuple[str, ...] = ()) -> None:
        """Let ``token`` stand for ``user`` (in ``groups``)."""
        self.admin("tokens", {"token": token, "user": user, "groups": list(groups)})

    def revoke_token(self, token: str) -> None:
        """Refuse ``token`` from now on with the API server's 401, as it refuses an expired one."""
        self.admin("tokens", {"token": token}, method="DELETE")

    def user_kubeconfig(self, path: str | Path, user: str, groups: tuple[str, ...] = (),
                        namespace: str = "default") -> Path:
        """A kubeconfig with a fresh bearer token for ``user`` (e.g. ``system:serviceaccount:airflow:worker``);
        a service account's groups are added as the API server adds them."""
        token = f"sandbox-user-{secrets.token_hex(12)}"
        self.add_token(token, user, groups)
        return write_kubeconfig(path, self.url, namespace=namespace, user=user.replace(":", "-"), token=token)

    def set_rbac(self, documents: str | list[dict[str, Any]], namespace: str = "default") -> None:
        """Enforce RBAC with these Role/ClusterRole/RoleBinding/ClusterRoleBinding documents (YAML text or dicts),
        replacing the policy loaded before; namespaced ones without a namespace go to ``namespace``."""
        if isinstance(documents, str):
            documents = [d for d in yaml.safe_load_all(documents) if d]
        try:
            self.admin("rbac", {"documents": documents, "namespace": namespace})
        except urllib.error.HTTPError as exc:
            raise ValueError(json.loads(exc.read() or b"{}").get("error") or str(exc)) from None

    def clear_rbac(self) -> None:
        """Stop enforcing RBAC: every request is allowed again."""
        self.admin("rbac", {}, method="DELETE")

    def stop(self) -> None:
        self.process.stop(grace_seconds=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
