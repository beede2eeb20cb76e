"""A lightweight stand-in for Flink's JobManager, which the sandbox kubelet runs for the image
``sandbox/jobmanager-standin[:VERSION]`` (the tag picks the Flink version it imitates, default 2.3.0).

Why it exists: the load test launches 50 clusters at once, and 50 real JobManagers (about 15 CPU-s and 300 MB or
more each) cannot run on a 2-core CI machine. The provider never talks to the JVM itself. It only reads what the
JobManager writes to the Kubernetes API and what its REST endpoint answers, so the stand-in reproduces exactly
that surface, one small stdlib + PyYAML process per pod (about 15 MB RSS, under 0.1 CPU-s to start):

* Kubernetes HA leader election as fabric8's ``LeaderElector`` runs it for Flink: a compare-and-swap (PUT with the
  read ``resourceVersion``; a 409 means read again) of ``<cid>-cluster-config-map``. The lease record lives in the
  ``control-plane.alpha.kubernetes.io/leader`` annotation; it is renewed every retry period
  (``high-availability.kubernetes.leader-election.*``, default lease 15 s, retry 5 s). When a renewal has not
  succeeded within the lease, the process exits, as a JobManager that lost leadership does (the kubelet restarts it).
* Once it leads: the ``org.apache.flink.k8s.leader.{restserver,dispatcher,resourcemanager,job-<jid>}`` entries
  (``<session uuid>,<address>``) and the job's ``jobGraph-<jid>`` (1.x) / ``executionPlan-<jid>`` (2.x) entry. It
  uses the labels (``app``, ``type``, and ``configmap-type=high-availability`` up to 1.x) and the annotation's field
  names and JSON types of the recorded real maps in ``tests/data/ha`` (``leaseDuration`` is ``"PT15S"`` in 2.x and
  the number ``15.000000000`` in 1.x).
* The job id is ``$internal.pipeline.job-id``, else the id Flink picks under HA (``hash(cluster id)``, then zeros).
* Checkpoints, when ``execution.checkpointing.interval`` is set: the per-job map ``<cid>-<jid>-config-map`` with
  ``counter`` and ``checkpointID-<19 digits>`` (one retained), and a ``chk-N/_metadata`` file under a ``file:``
  checkpoint dir at ``<dir>/<jid>/chk-N``.
* REST on ``rest.bind-port``: ``/config``, ``/overview``, ``/jobs/overview``, ``/jobs/<id>`` (one vertex whose one task
  is in the job's state), ``/jobs/<id>/checkpoints`` with the
  fields the provider parses, a 404 for another job id, and the 503 "ongoing leader election" before it leads.

Not emulated: TaskManagers (no TaskManager pods are requested) and running the user's jar (the job is RUNNING once
the leader is published); ZooKeeper HA (the process exits with an error saying so); leader retrieval watches,
savepoints, stop/cancel, the Web UI, RPC and blob ports; the checkpoint handles are placeholders, not Java
serialized state handles. Transient API failures (5xx, 429, network) are retried, as fabric8 does.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import logging
import os
import re
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.core.job_id import flink_default_ha_job_id
from airflow_flink_k8s_sandbox.flink_conf_file import load_conf_dir

log = logging.getLogger("airflow_flink_k8s_sandbox.jobmanager_standin")

IMAGE = "sandbox/jobmanager-standin"
DEFAULT_VERSION = "2.3.0"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
LEADER_KEY_PREFIX = "org.apache.flink.k8s.leader."
LEADER_ELECTION_503 = "Service temporarily unavailable due to an ongoing leader election. Please refresh."
_TRANSIENT = (429, 500, 502, 503, 504)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNIT_SECONDS = {"": 0.001, "ms": 0.001, "milli": 0.001, "millis": 0.001, "s": 1, "sec": 1, "secs": 1,
                 "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600}


def is_standin_image(image: str) -> bool:
    """Whether the kubelet runs ``image`` with this stand-in instead of a real Flink distribution."""
    return image.partition(":")[0].partition("@")[0] == IMAGE


def standin_version(image: str) -> str:
    """The Flink version the stand-in imitates for ``image`` (its tag, else the default)."""
    tag = image.partition(":")[2]
    return tag if re.fullmatch(r"\d+\.\d+\.\d+", tag) else DEFAULT_VERSION


def parse_duration(value: Any, default: float) -> float:
    """Seconds of a Flink duration option (``"2 s"``, ``"500ms"``, ``"PT15S"``, ``"15000"`` = ms)."""
    if value is None or value == "":
        return default
    text = str(value)
    iso = re.fullmatch(r"PT(\d+(?:\.\d+)?)S", text)
    if iso:
        return float(iso.group(1))
    match = _DURATION.match(text)
    if not match or match.group(2).lower() not in _UNIT_SECONDS:
        raise ValueError(f"not a Flink duration: {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def _timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_timestamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass
class StandinConfig:
    """What the stand-in reads from the pod's Flink configuration."""

    cluster_id: str
    namespace: str
    version: str
    job_id: str
    ha: str
    rest_port: int
    rpc_port: int
    api_server: str
    token: str | None
    lease: float = 15.0
    retry: float = 5.0
    checkpoint_interval: float | None = None
    checkpoint_dir: str | None = None
    job_name: str = "standin-job"

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @classmethod
    def load(cls, conf_dir: Path, version: str) -> StandinConfig:
        conf = load_conf_dir(conf_dir)
        cluster_id = str(conf["kubernetes.cluster-id"])
        ha = str(conf.get("high-availability.type") or conf.get("high-availability") or "none").lower()
        if "kubernetes" in ha:
            ha = "kubernetes"
        kubeconfig = yaml.safe_load(Path(str(conf["kubernetes.config.file"])).read_text())
        user = (kubeconfig.get("users") or [{}])[0].get("user") or {}
        interval = conf.get("execution.checkpointing.interval")
        return cls(
            cluster_id=cluster_id, namespace=str(conf.get("kubernetes.namespace") or "default"), version=version,
            job_id=str(conf.get("$internal.pipeline.job-id") or flink_default_ha_job_id(cluster_id, version)),
            ha=ha, rest_port=int(conf.get("rest.bind-port") or conf.get("rest.port") or 8081),
            rpc_port=int(conf.get("jobmanager.rpc.port") or 6123),
            api_server=str(kubeconfig["clusters"][0]["cluster"]["server"]).rstrip("/"), token=user.get("token"),
            lease=parse_duration(conf.get("high-availability.kubernetes.leader-election.lease-duration"), 15.0),
            retry=parse_duration(conf.get("high-availability.kubernetes.leader-election.retry-period"), 5.0),
            checkpoint_interval=parse_duration(interval, 0.0) or None if interval is not None else None,
            checkpoint_dir=str(conf.get("execution.checkpointing.dir") or conf.get("state.checkpoints.dir") or "")
            or None,
            job_name=str(conf.get("pipeline.name") or "standin-job"),
        )


class ApiClient:
    """Plain JSON requests to the API server, with transient failures retried until ``deadline``."""

    def __init__(self, server: str, token: str | None) -> None:
        self.server, self.token = server, token

    def call(self, method: str, path: str, body: Any = None, *, deadline: float | None = None) -> tuple[int, Any]:
        """Return (status, JSON body); retries 5xx/429/network errors with back-off until ``deadline``."""
        delay = 0.1
        while True:
            status, answer = self._once(method, path, body)
            if status not in _TRANSIENT and status != 0:
                return status, answer
            if deadline is not None and time.monotonic() + delay > deadline:
                return status, answer
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _once(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"null")
            except ValueError:
                return exc.code, None
        except OSError as exc:
            log.info("API %s %s: %s", method, path, exc)
            return 0, None


@dataclass
class JobState:
    """What REST reports; written by the main loop, read by the REST threads."""

    leading: bool = False
    state: str = "INITIALIZING"
    start_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    checkpoints: int = 0
    latest: dict[str, Any] | None = None


class JobManagerStandin:
    """Leader election, HA data, checkpoints and REST of one JobManager pod."""

    def __init__(self, config: StandinConfig) -> None:
        self.config = config
        self.api = ApiClient(config.api_server, config.token)
        self.holder = str(uuid.uuid4())  # fabric8's lock identity
        self.session = str(uuid.uuid4())  # Flink's leader session id
        self.job = JobState()
        self.stopping = threading.Event()
        self._last_renewal = 0.0
        self._next_checkpoint = 0.0

    # ----------------------------------------------------------------- names and formats
    @property
    def _cm_path(self) -> str:
        return f"/api/v1/namespaces/{self.config.namespace}/configmaps"

    def labels(self) -> dict[str, str]:
        """The HA ConfigMap labels as the recorded real ones (1.x also has ``configmap-type``)."""
        labels = {"app": self.config.cluster_id, "type": "flink-native-kubernetes"}
        if self.config.major < 2:
            labels["configmap-type"] = "high-availability"
        return labels

    def lease_record(self, acquire_time: float, renew_time: float, transitions: int) -> str:
        """The leader annotation's JSON, with the field order and types fabric8 writes for this version."""
        lease = self.config.lease
        duration = f"\"PT{lease:g}S\"" if self.config.major >= 2 else f"{lease:.9f}"
        return (f"{{\"holderIdentity\":{json.dumps(self.holder)},\"leaseDuration\":{duration},"
                f"\"acquireTime\":\"{_timestamp(acquire_time)}\",\"renewTime\":\"{_timestamp(renew_time)}\","
                f"\"leaderTransitions\":{transitions}}}")

    def leader_entries(self) -> dict[str, str]:
        rpc = f"pekko.tcp://flink@127.0.0.1:{self.config.rpc_port}/user/rpc"
        job_key = ("executionPlan-" if self.config.major >= 2 else "jobGraph-") + self.config.job_id
        placeholder = base64.b64encode(f"stand-in job graph of {self.config.job_id}".encode()).decode()
        return {
            f"{LEADER_KEY_PREFIX}dispatcher": f"{self.session},{rpc}/dispatcher_1",
            f"{LEADER_KEY_PREFIX}job-{self.config.job_id}": f"{self.session},{rpc}/jobmanager_2",
            f"{LEADER_KEY_PREFIX}resourcemanager": f"{self.session},{rpc}/resourcemanager_0",
            f"{LEADER_KEY_PREFIX}restserver": f"{self.session},http://127.0.0.1:{self.config.rest_port}",
            job_key: placeholder,
        }

    # ----------------------------------------------------------------- leader election
    def elect_or_renew(self) -> bool:
        """One round of fabric8's ``tryAcquireOrRenew`` on the cluster ConfigMap; True while this pod leads."""
        name = f"{self.config.cluster_id}-cluster-config-map"
        deadline = time.monotonic() + self.config.retry
        status, current = self.api.call("GET", f"{self._cm_path}/{name}", deadline=deadline)
        now = time.time()
        if status == 404:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "labels": self.labels(),
                                 "annotations": {LEADER_ANNOTATION: self.lease_record(now, now, 0)}}}
            status, current = self.api.call("POST", self._cm_path, body, deadline=deadline)
            if status != 201:
                return False
        elif status != 200:
            return False
        else:
            record = json.loads(((current["metadata"].get("annotations") or {}).get(LEADER_ANNOTATION)) or "{}")
            mine = record.get("holderIdentity") == self.holder
            renewed = _parse_timestamp(record["renewTime"]) if record.get("renewTime") else 0.0
            if not mine and record.get("holderIdentity") and renewed + self.config.lease > now:
                return False
            acquired = _parse_timestamp(record["acquireTime"]) if mine else now
            transitions = int(record.get("leaderTransitions") or 0) + (0 if mine or not record else 1)
            current["metadata"].setdefault("annotations", {})[LEADER_ANNOTATION] = self.lease_record(
                acquired, now, transitions)
            current["metadata"]["labels"] = {**(current["metadata"].get("labels") or {}), **self.labels()}
            status, current = self.api.call("PUT", f"{self._cm_path}/{name}", current, deadline=deadline)
            if status != 200:  # 409: another writer changed it since the read; the next round reads again
                return False
        if not self.job.leading:
            self._publish(name, current)
        self._last_renewal = time.monotonic()
        return True

    def _publish(self, name: str, current: dict[str, Any]) -> None:
        """Write the leader entries (a CAS like every HA write), then report the job RUNNING."""
        entries = self.leader_entries()
        while not self.stopping.is_set():
            if all((current.get("data") or {}).get(k) == v for k, v in entries.items()):
                break
            current["data"] = {**(current.get("data") or {}), **entries}
            status, _ = self.api.call("PUT", f"{self._cm_path}/{name}", current,
                                           deadline=time.monotonic() + self.config.retry)
            if status == 200:
                break
            status, current = self.api.call("GET", f"{self._cm_path}/{name}")
            if status != 200:
                return
        self.job.leading = True
        self.job.state = "RUNNING"
        if self.config.checkpoint_interval:
            self._next_checkpoint = time.monotonic() + self.config.checkpoint_interval
        log.info("leading %s as %s; job %s RUNNING", self.config.cluster_id, self.holder, self.config.job_id)

    # ----------------------------------------------------------------- checkpoints
    def checkpoint(self) -> None:
        """Complete checkpoint N+1: its directory, then the per-job HA map (CAS), then REST."""
        config, number = self.config, self.job.checkpoints + 1
        external = None
        if config.checkpoint_dir and config.checkpoint_dir.startswith("file:"):
            base = Path(re.sub(r"^file:(//)?", "", config.checkpoint_dir)) / config.job_id
            target = base / f"chk-{number}"
            target.mkdir(parents=True, exist_ok=True)
            (target / "_metadata").write_bytes(b"stand-in checkpoint metadata\n")
            shutil.rmtree(base / f"chk-{number - 1}", ignore_errors=True)
            external = f"file:{target}"
        name = f"{config.cluster_id}-{config.job_id}-config-map"
        key = f"checkpointID-{number:019d}"
        handle = base64.b64encode(f"stand-in checkpoint {number} of {config.job_id}".encode()).decode()
        deadline = time.monotonic() + config.retry
        while time.monotonic() < deadline and not self.stopping.is_set():
            status, current = self.api.call("GET", f"{self._cm_path}/{name}", deadline=deadline)
            if status == 404:
                body = {"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": name, "labels": self.labels()},
                        "data": {"counter": str(number + 1), key: handle}}
                status, _ = self.api.call("POST", self._cm_path, body, deadline=deadline)
            elif status == 200:
                data = {k: v for k, v in (current.get("data") or {}).items() if not k.startswith("checkpointID-")}
                current["data"] = {**data, "counter": str(number + 1), key: handle}
                status, _ = self.api.call("PUT", f"{self._cm_path}/{name}", current, deadline=deadline)
            if status in (200, 201):
                break
        else:
            return  # not recorded in HA: Flink would not report it completed either
        now_ms = int(time.time() * 1000)
        self.job.latest = {"@class": "completed", "id": number, "status": "COMPLETED", "is_savepoint": False,
                           "trigger_timestamp": now_ms - 20, "latest_ack_timestamp": now_ms,
                           "external_path": external, "checkpoint_type": "CHECKPOINT"}
        self.job.checkpoints = number

    # ----------------------------------------------------------------- main loop
    def run(self) -> int:
        """Elect, renew and checkpoint until stopped; 1 when leadership was lost (Flink exits then too)."""
        if self.config.ha != "kubernetes":
            log.error("the JobManager stand-in emulates Kubernetes HA only, not high-availability=%s",
                      self.config.ha)
            return 1
        server = _rest_server(self)
        threading.Thread(target=server.serve_forever, daemon=True).start()  # dies with the process
        next_round = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now >= next_round:
                leads = self.elect_or_renew()
                if self.job.leading and not leads and now - self._last_renewal > self.config.lease:
                    log.error("could not renew the lease within %.0f s; exiting as a JobManager that lost "
                              "leadership does", self.config.lease)
                    return 1
                # A leader renews every retry period; a candidate (or a failed renewal) retries sooner.
                next_round = now + (self.config.retry if leads else min(self.config.retry, 1.0))
            if self.job.leading and self._next_checkpoint and now >= self._next_checkpoint:
                self.checkpoint()
                self._next_checkpoint = now + (self.config.checkpoint_interval or 0)
            wake = min(t for t in (next_round, self._next_checkpoint or next_round) if t)
            self.stopping.wait(max(0.05, wake - time.monotonic()))
        return 0


def _rest_server(standin: JobManagerStandin) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = rest_answer(standin, self.path.split("?", 1)[0].rstrip("/"))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", standin.config.rest_port), Handler)
    server.daemon_threads = True
    return server


def rest_answer(standin: JobManagerStandin, path: str) -> tuple[int, Any]:
    """(HTTP status, JSON body) of a GET, with the fields Flink's REST handlers send."""
    config, job = standin.config, standin.job
    if not job.leading:
        return 503, {"errors": [LEADER_ELECTION_503]}
    now = int(time.time() * 1000)
    if path == "/config":
        return 200, {"refresh-interval": 3000, "timezone-name": "Coordinated Universal Time", "timezone-offset": 0,
                     "flink-version": config.version, "flink-revision": "sandbox-standin @ 1970-01-01T00:00:00Z",
                     "features": {"web-submit": False, "web-cancel": False, "web-rescale": False,
                                  "web-history": False}}
    summary = {"jid": config.job_id, "name": config.job_name, "state": job.state, "start-time": job.start_ms,
               "end-time": -1, "duration": now - job.start_ms, "last-modification": job.start_ms,
               "tasks": {"total": 1, "running": 1, "finished": 0, "canceled": 0, "failed": 0}}
    if path == "/jobs/overview":
        return 200, {"jobs": [summary]}
    if path == "/overview":  # one TaskManager with one slot, taken by the job's one task
        return 200, {"taskmanagers": 1, "slots-total": 1, "slots-available": 0, "jobs-running": 1,
                     "jobs-finished": 0, "jobs-cancelled": 0, "jobs-failed": 0, "flink-version": config.version}
    match = re.fullmatch(r"/jobs/([0-9a-f]{32})(/checkpoints)?", path)
    if not match:
        return 404, {"errors": ["Not found: " + path]}
    if match.group(1) != config.job_id:
        return 404, {"errors": [f"org.apache.flink.runtime.rest.NotFoundException: Job {match.group(1)} not found"]}
    if match.group(2) is None:
        vertex = {"id": config.job_id, "name": "Source: stand-in", "maxParallelism": 128, "parallelism": 1,
                  "status": job.state, "start-time": job.start_ms, "end-time": -1, "duration": now - job.start_ms,
                  "tasks": {**dict.fromkeys(TASK_STATES, 0), job.state: 1}}
        return 200, {**summary, "isStoppable": False, "job-type": "STREAMING", "now": now, "vertices": [vertex],
                     "status-counts": {job.state: 1}, "timestamps": {job.state: job.start_ms}}
    completed = job.checkpoints
    return 200, {"counts": {"restored": 0, "total": completed, "in_progress": 0, "completed": completed,
                            "failed": 0},
                 "summary": {}, "history": [],
                 "latest": {"completed": job.latest, "savepoint": None, "failed": None, "restored": None}}


#: The task states Flink counts per vertex in ``/jobs/<id>`` (``ExecutionState``).
TASK_STATES = ("CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING", "CANCELED", "FAILED",
               "RECONCILING", "INITIALIZING")


def main(argv: list[str] | None = None) -> int:
    """``python -m airflow_flink_k8s_sandbox.jobmanager_standin --version 2.3.0`` with ``FLINK_CONF_DIR`` set."""
    parser = argparse.ArgumentParser(description="A JobManager stand-in for the sandbox kubelet.")
    parser.add_argument("--flink-version", default=DEFAULT_VERSION)
    parser.add_argument("--conf-dir", type=Path, default=Path(os.environ.get("FLINK_CONF_DIR", ".")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    standin = JobManagerStandin(StandinConfig.load(args.conf_dir, args.flink_version))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: standin.stopping.set())
    return standin.run()


if __name__ == "__main__":
    raise SystemExit(main())
