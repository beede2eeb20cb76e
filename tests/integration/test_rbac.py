"""The minimal Roles of docs/rbac/ as tested fact: real Flink and real Airflow (``dag.test()``) on the emulator with
RBAC enforced, the Airflow identity bound to the Role of its launcher and HA mode, the Flink pods to
``flink-jobmanager.yaml`` through their service account's token.

* A launch, both kinds of wait (the deferrable trigger and a poking sensor), a rerun and a teardown with savepoint
  pass under each tested Role, and neither identity is refused anything on the way.
* Every verb of every rule of those Roles is needed: with the Role minus that one verb (swapped in at runtime on
  the running cluster) a named operation fails, and the task's error names the verb and the resource. The cases are
  generated from the YAML files, so a verb added without an operation here fails the suite.
* The Flink service account's Role holds exactly the verbs Flink was seen using.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.core.names import ANNOTATION_PREFIX
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.flink

RBAC_DIR = REPO_ROOT / "docs" / "rbac"
AIRFLOW_SA = ("airflow", "airflow-worker")
AIRFLOW_USER = f"system:serviceaccount:{AIRFLOW_SA[0]}:{AIRFLOW_SA[1]}"
FLINK_SA = "flink"
CONN_ID = "rbac_airflow"


@dataclass(frozen=True)
class Combo:
    """One launcher and HA mode, its Role file, and the namespace its cluster runs in."""

    launcher: str
    ha: str
    version: str

    @property
    def name(self) -> str:
        return f"{self.launcher}-{self.ha}-ha"

    @property
    def namespace(self) -> str:
        return f"rbac-{self.name}"

    @property
    def role_file(self) -> Path:
        return RBAC_DIR / f"airflow-{self.name}.yaml"

    def role(self) -> dict[str, Any]:
        return yaml.safe_load(self.role_file.read_text())


COMBOS = (Combo("native", "kubernetes", "2.3.0"), Combo("native", "zookeeper", "2.3.0"),
          Combo("cli", "kubernetes", "1.20.3"))


def _binding(role: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": role["metadata"]["name"]},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role["kind"],
                        "name": role["metadata"]["name"]},
            "subjects": [{"kind": "ServiceAccount", "namespace": namespace, "name": name}]}


@pytest.fixture(scope="module")
def rbac_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubernetes]:
    """One emulator (RBAC on) + kubelet for the module; the Airflow connection is the Airflow service account."""
    workdir = tmp_path_factory.mktemp("rbac")
    cluster = LocalKubernetes.start(workdir / "k8s", namespaces=tuple(c.namespace for c in COMBOS), rbac=True)
    kubeconfig = cluster.user_kubeconfig(AIRFLOW_USER)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
        try:
            yield cluster
        finally:
            survivors = cluster.stop()
    assert not survivors, f"processes survived the RBAC sandbox: {survivors}"


DAG = """
import datetime
from airflow.sdk import DAG, chain
from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    chain(*[{tasks}])
"""


@dataclass
class ComboRun:
    """A combo's cluster on the shared sandbox, and the operations the tests run against it as the Airflow user."""

    combo: Combo
    k8s: LocalKubernetes
    workdir: Path
    zookeeper: ZooKeeperServer | None
    run_dag: DagRunner | None = None
    launched: dict[str, Any] | None = None
    runs: int = 0
    first_request: int = 0

    @property
    def cluster_id(self) -> str:
        return f"{self.combo.launcher}-{self.combo.ha[:2]}"

    def load(self, rules: list[dict[str, Any]] | None = None) -> None:
        """Enforce the combo's Role (with ``rules`` instead of its own when given) and the Flink pods' Role."""
        role = self.combo.role()
        if rules is not None:
            role["rules"] = rules
        flink = yaml.safe_load((RBAC_DIR / "flink-jobmanager.yaml").read_text())
        self.k8s.set_rbac([role, _binding(role, *AIRFLOW_SA), flink, _binding(flink, self.combo.namespace, FLINK_SA)],
                          namespace=self.combo.namespace)

    # ----------------------------------------------------------------- task arguments
    def launch_args(self, cluster_id: str, **extra: Any) -> dict[str, Any]:
        combo, tmp = self.combo, self.workdir
        args: dict[str, Any] = {
            "cluster_id": cluster_id, "namespace": combo.namespace, "image": f"flink:{combo.version}",
            "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "flink_version": combo.version,
            "checkpoint_base_dir": f"file://{tmp}/checkpoints", "savepoint_base_dir": f"file://{tmp}/savepoints",
            "checkpoint_interval": "2 s", "jobmanager_memory": "1024m", "taskmanager_memory": "1024m",
            "service_account": FLINK_SA, "ha": combo.ha, "ha_storage_dir": f"file://{tmp}/ha",
            "launcher": combo.launcher,
            "kubernetes_conn_id": CONN_ID, "retries": 0}
        if self.zookeeper is not None:
            args["zookeeper_quorum"] = self.zookeeper.hosts
        if combo.launcher == "cli":
            home = ensure_flink_home(combo.version)
            conf_dir = tmp / "flink-conf"
            if not conf_dir.exists():
                shutil.copytree(home / "conf", conf_dir)
            args.update(flink_bin=str(home / "bin" / "flink"), flink_conf_dir=str(conf_dir))
        return {**args, **extra}

    def sensor_args(self, cluster_id: str, **extra: Any) -> dict[str, Any]:
        args: dict[str, Any] = {
            "cluster_id": cluster_id, "namespace": self.combo.namespace, "ha": self.combo.ha,
            "flink_version": self.combo.version, "kubernetes_conn_id": CONN_ID, "target": "running", "poke_interval": 1,
            "timeout": 240, "retries": 0}
        if self.zookeeper is not None:
            args["zookeeper_quorum"] = self.zookeeper.hosts
        return {**args, **extra}

    def teardown_args(self, cluster_id: str, **extra: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"cluster_id": cluster_id, "namespace": self.combo.namespace, "ha": self.combo.ha,
                                    "kubernetes_conn_id": CONN_ID, "retries": 0}
        if self.zookeeper is not None:
            args["zookeeper_quorum"] = self.zookeeper.hosts
        return {**args, **extra}

    # ----------------------------------------------------------------- running DAGs
    def run(self, *tasks: tuple[str, str, dict[str, Any]]) -> Any:
        """``dag.test()`` a DAG of ``(operator class, task_id, arguments)`` tasks in a chain; return the DagRun."""
        assert self.run_dag is not None
        self.runs += 1
        source = DAG.format(dag_id=f"rbac_{self.combo.name.replace('-', '_')}_{self.runs}", tasks=", ".join(
            f"{cls}(task_id={task_id!r}, **{args!r})" for cls, task_id, args in tasks))
        return self.run_dag(source)

    def jobmanager_calls(self) -> set[tuple[str, str]]:
        """(verb, resource) of every request the Flink pods' service account made since the combo began."""
        user = f"system:serviceaccount:{self.combo.namespace}:{FLINK_SA}"
        return {(r["verb"], r["resource"] + (f"/{r['subresource']}" if r["subresource"] else ""))
                for r in self.k8s.emulator.requests(self.first_request) if r["user"] == user}

    def refusals(self, since: int = 0) -> list[str]:
        return [f"{r['user']} {r['verb']} {r['resource']}/{r['name']}" for r in self.k8s.emulator.requests(since)
                if r.get("status") == 403]

    def running_cluster(self) -> dict[str, Any]:
        """The launch result of the combo's cluster, launched (under the full Role) when it is not running."""
        if self.launched is None:
            self.load()
            dag_run = self.run(("FlinkApplicationOperator", "launch", self.launch_args(
                self.cluster_id, wait_until="running", deferrable=True)))
            assert task_states(dag_run) == {"launch": "success"}
            self.launched = xcom_value(dag_run, "launch")
        return self.launched


    def wait_for_checkpoint(self) -> None:
        """Until the running job completed a checkpoint (its tasks are deployed, so a savepoint can be taken)."""
        job = self.running_cluster()["job_id"]
        directory = self.workdir / "checkpoints" / self.cluster_id / job
        self.k8s.wait_for(f"a checkpoint of {job}", lambda: any(directory.glob("chk-*")), timeout=180)

    def exists(self, cluster_id: str) -> list[str]:
        """What of cluster ``cluster_id`` is in the namespace (seen as the admin)."""
        ns = self.combo.namespace
        found = [f"{kind}/{name}" for kind, path, name in (
            ("deployment", f"/apis/apps/v1/namespaces/{ns}/deployments/{cluster_id}", cluster_id),
            ("service", f"/api/v1/namespaces/{ns}/services/{cluster_id}-rest", f"{cluster_id}-rest"),
            ("configmap", f"/api/v1/namespaces/{ns}/configmaps/flink-config-{cluster_id}",
             f"flink-config-{cluster_id}"),
        ) if self.k8s.get(path) is not None]
        return found + [f"pod/{p['metadata']['name']}" for p in self.k8s.pods(ns, f"app={cluster_id}")]

    # ----------------------------------------------------------------- operations a Role verb is needed for
    def launch_new(self) -> Any:
        """Launch a second cluster (no wait)."""
        return self.run(("FlinkApplicationOperator", "launch", self.launch_args(PROBE)))

    def teardown_gone(self) -> Any:
        """Tear down a cluster of this provider whose JobManager never started (an image nothing runs), with HA data
        left behind (Kubernetes HA): the teardown deletes the Deployment, waits until it and its pods are gone, then
        removes the HA data."""
        namespace = self.combo.namespace
        labels = {"app": GONE, "component": "jobmanager", "type": "flink-native-kubernetes"}
        _admin_request(self.k8s, "POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": GONE, "labels": labels, "annotations": {
                f"{ANNOTATION_PREFIX}/job-id": "ab" * 16, f"{ANNOTATION_PREFIX}/spec-hash": "0" * 16,
                f"{ANNOTATION_PREFIX}/run": '{"dag_id": "gone", "task_id": "launch", "run_id": "gone"}'}},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "flink-main-container", "image": "example.invalid/not-run:1"}]}}}},
            exists_ok=True)
        if self.combo.ha == "kubernetes":
            _admin_request(self.k8s, "POST", f"/api/v1/namespaces/{namespace}/configmaps", {
                "metadata": {"name": f"{GONE}-cluster-config-map",
                             "labels": {"app": GONE, "type": "flink-native-kubernetes"}}}, exists_ok=True)
        return self.run(("FlinkApplicationTeardownOperator", "teardown", self.teardown_args(GONE)))

    def deferred_wait(self) -> Any:
        """Wait in the triggerer for a cluster that is not up yet (the shared ConfigMap list, then watch)."""
        return self.run(("FlinkJobManagerReadySensor", "wait", self.sensor_args(GONE, deferrable=True, timeout=60)))

    def proxy_poke(self) -> Any:
        """Poke the running cluster's REST API through the API server's service proxy."""
        self.running_cluster()
        return self.run(("FlinkJobManagerReadySensor", "wait", self.sensor_args(
            self.cluster_id, access_mode="proxy", target="rest", timeout=60)))

    def stop_with_savepoint(self) -> Any:
        """Tear down the running cluster with a savepoint (refused before anything is deleted)."""
        self.running_cluster()
        dag_run = self.run(("FlinkApplicationTeardownOperator", "teardown", self.teardown_args(
            self.cluster_id, savepoint=True)))
        assert self.exists(self.cluster_id)[:1] == [f"deployment/{self.cluster_id}"], "a refused stop deleted"
        return dag_run

    def upgrade(self, **extra: Any) -> Any:
        """Upgrade the running cluster to a new spec (another rate) with a savepoint; the upgrade's record is
        created, updated with the savepoint's trigger and path, and deleted once the new cluster exists."""
        self.running_cluster()
        return self.run(("FlinkApplicationOperator", "upgrade", self.launch_args(
            self.cluster_id, if_exists="upgrade", upgrade_mode="savepoint", program_args=["--rate", "20"],
            **extra)))

    def upgrade_refused_before_the_stop(self) -> Any:
        """An upgrade whose record cannot be updated fails before the job is stopped: the same cluster runs on."""
        before = self.deployment_uid(self.cluster_id)
        dag_run = self.upgrade()
        assert self.deployment_uid(self.cluster_id) == before, "a refused upgrade replaced the cluster"
        assert self.k8s.get(f"/api/v1/namespaces/{self.combo.namespace}/configmaps/flink-upgrade-{self.cluster_id}") \
            is None, "a refused upgrade left its record"
        job = self.k8s.get(f"/api/v1/namespaces/{self.combo.namespace}/services/{self.cluster_id}-rest:rest/proxy/"
                           f"jobs/{self.running_cluster()['job_id']}")
        assert job["state"] == "RUNNING", f"a refused upgrade stopped the job: {job['state']}"
        return dag_run

    def delete_configmaps(self) -> Any:
        """With Kubernetes HA, the teardown's HA clean-up; with ZooKeeper HA, the end of a (stateless) upgrade of a
        second cluster, whose record is deleted once the new cluster exists."""
        if self.combo.ha == "kubernetes":
            return self.teardown_gone()
        assert task_states(self.launch_new()) == {"launch": "success"}
        dag_run = self.run(("FlinkApplicationOperator", "upgrade", self.launch_args(
            PROBE, if_exists="upgrade", upgrade_mode="stateless", program_args=["--rate", "20"])))
        ns = self.combo.namespace
        _admin_request(self.k8s, "DELETE", f"/api/v1/namespaces/{ns}/configmaps/flink-upgrade-{PROBE}")
        _admin_request(self.k8s, "DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/{PROBE}")
        self.k8s.wait_for("the probe cluster to be gone", lambda: not self.exists(PROBE), timeout=120)
        return dag_run

    def deployment_uid(self, cluster_id: str) -> str | None:
        deployment = self.k8s.get(f"/apis/apps/v1/namespaces/{self.combo.namespace}/deployments/{cluster_id}")
        return deployment["metadata"]["uid"] if deployment else None

    def timed_out_wait(self) -> Any:
        """A wait that times out: its report shows the JobManager's pods and log tail."""
        self.running_cluster()
        return self.run(("FlinkJobManagerReadySensor", "wait", self.sensor_args(
            self.cluster_id, target="checkpointed", checkpointed_after="2100-01-01T00:00:00+00:00", timeout=1)))


PROBE, GONE = "probe", "gone"

#: The operation that needs each verb, by (resource, verb); the docs/rbac.md table lists the same.
OPERATIONS: dict[tuple[str, str], Callable[[ComboRun], Any]] = {
    ("deployments", "get"): ComboRun.launch_new,
    ("deployments", "create"): ComboRun.launch_new,
    ("deployments", "patch"): ComboRun.launch_new,
    ("services", "create"): ComboRun.launch_new,
    ("services", "patch"): ComboRun.launch_new,
    ("configmaps", "create"): ComboRun.launch_new,
    ("configmaps", "patch"): ComboRun.launch_new,
    ("configmaps", "list"): ComboRun.launch_new,
    ("deployments", "delete"): ComboRun.teardown_gone,
    ("services", "get"): ComboRun.teardown_gone,
    ("configmaps", "get"): ComboRun.teardown_gone,
    ("configmaps", "delete"): ComboRun.delete_configmaps,
    ("configmaps", "update"): ComboRun.upgrade_refused_before_the_stop,
    ("pods", "list"): ComboRun.teardown_gone,
    ("configmaps", "watch"): ComboRun.deferred_wait,
    ("pods", "watch"): ComboRun.deferred_wait,
    ("services/proxy", "get"): ComboRun.proxy_poke,
    ("services/proxy", "create"): ComboRun.stop_with_savepoint,
    ("pods/log", "get"): ComboRun.timed_out_wait,
}


def _admin_request(k8s: LocalKubernetes, method: str, path: str, body: Any = None, *,
                   exists_ok: bool = False) -> None:
    import urllib.error
    import urllib.request

    from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION

    request = urllib.request.Request(k8s.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={**ADMIN_AUTHORIZATION, "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except urllib.error.HTTPError as exc:
        if not (exists_ok and exc.code == 409):
            raise


def task_output(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What the tasks of a ``dag.test()`` run printed and logged: a structlog logger keeps the stream it was
    configured with, which after earlier runs in the module is not the one ``capfd`` reads; the records also reach
    the logging capture."""
    captured = capfd.readouterr()
    return "\n".join((captured.out, captured.err, caplog.text))


def role_verbs(combo: Combo) -> list[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every verb of every rule of the combo's Role file."""
    return [(group, resource, verb) for rule in combo.role()["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]]


def without(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> list[dict[str, Any]]:
    """``rules`` with ``verb`` on ``group``/``resource`` taken out (and a rule left with no verb dropped)."""
    out = []
    for rule in rules:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            rest = {**rule, "resources": [r for r in rule["resources"] if r != resource]}
            if rest["resources"]:
                out.append(rest)
            rule = {**rule, "apiGroups": [group], "resources": [resource],
                    "verbs": [v for v in rule["verbs"] if v != verb]}
            if not rule["verbs"]:
                continue
        out.append(rule)
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each class's ``test_removing_a_verb`` runs once per verb of its combo's Role file."""
    if "role_verb" in metafunc.fixturenames:
        cases = role_verbs(metafunc.cls.combo)
        metafunc.parametrize("role_verb", cases, ids=[f"{verb}-{resource}" for _, resource, verb in cases])


@pytest.fixture(scope="class")
def combo_state(request: pytest.FixtureRequest, rbac_sandbox: LocalKubernetes,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComboRun]:
    """The class's combo on the shared sandbox; its clusters are deleted (as the admin) when the class is done."""
    combo: Combo = request.cls.combo
    workdir = tmp_path_factory.mktemp(combo.name)
    zookeeper = ZooKeeperServer(work_dir=workdir / "zookeeper").start() if combo.ha == "zookeeper" else None
    state = ComboRun(combo, rbac_sandbox, workdir, zookeeper,
                     first_request=rbac_sandbox.emulator.stats()["request_seq"])
    try:
        yield state
    finally:
        rbac_sandbox.emulator.clear_rbac()
        _delete_everything(rbac_sandbox, combo.namespace)
        if zookeeper is not None:
            zookeeper.stop()


def _delete_everything(k8s: LocalKubernetes, namespace: str) -> None:
    for path in (f"/apis/apps/v1/namespaces/{namespace}/deployments", f"/api/v1/namespaces/{namespace}/configmaps"):
        _admin_request(k8s, "DELETE", path)
    k8s.wait_for(f"the pods in {namespace} to be gone", lambda: not k8s.pods(namespace), timeout=120)


@pytest.fixture
def combo(combo_state: ComboRun, run_dag: DagRunner) -> ComboRun:
    combo_state.run_dag = run_dag
    return combo_state


class _UnderTheMinimalRole:
    """The tests of one launcher and HA mode; they run in this order on one cluster (pytest keeps class order)."""

    combo: Combo

    def test_launch_wait_and_rerun(self, combo: ComboRun) -> None:
        combo.load()
        before = combo.k8s.emulator.stats()["request_seq"]
        cid = combo.cluster_id
        # Launch and wait in the triggerer (deferred), then a poking sensor on the same cluster.
        dag_run = combo.run(
            ("FlinkApplicationOperator", "launch", combo.launch_args(cid, wait_until="running", deferrable=True)),
            ("FlinkJobManagerReadySensor", "wait", combo.sensor_args(cid, launch_task_id="launch")))
        assert task_states(dag_run) == {"launch": "success", "wait": "success"}
        first = xcom_value(dag_run, "launch")
        assert xcom_value(dag_run, "wait")["job_state"] == "RUNNING"
        combo.launched = first
        # A rerun reattaches to the running cluster (a replace is the teardown's delete plus the launch above).
        dag_run = combo.run(("FlinkApplicationOperator", "launch", combo.launch_args(
            cid, if_exists="reuse", wait_until="running", deferrable=False)))
        assert task_states(dag_run) == {"launch": "success"}
        again = xcom_value(dag_run, "launch")
        assert (again["launched"], again["job_id"]) == (False, first["job_id"])
        assert combo.refusals(before) == [], "an identity was refused a call under the documented Roles"

    def test_removing_a_verb_fails_the_operation_that_needs_it(self, combo: ComboRun, role_verb: tuple[str, str, str],
                                                              capfd: pytest.CaptureFixture[str],
                                                              caplog: pytest.LogCaptureFixture) -> None:
        group, resource, verb = role_verb
        operation = OPERATIONS.get((resource, verb))
        assert operation is not None, (
            f"{combo.combo.role_file.name} grants {verb} on {resource} but no operation here is known to need it: "
            "add the operation to OPERATIONS (and docs/rbac.md), or remove the verb from the Role")
        if operation in (ComboRun.proxy_poke, ComboRun.stop_with_savepoint, ComboRun.timed_out_wait,
                         ComboRun.upgrade_refused_before_the_stop):
            combo.running_cluster()
        combo.load(without(combo.combo.role()["rules"], group, resource, verb))
        # A watch established under the full Role is not authorized again until it reconnects (as on a real API
        # server): end the open streams so the operation meets the reduced Role.
        combo.k8s.emulator.drop_watches()
        before = combo.k8s.emulator.stats()["request_seq"]
        capfd.readouterr()
        caplog.clear()
        dag_run = operation(combo)
        output = task_output(capfd, caplog)
        assert "failed" in task_states(dag_run).values(), f"{operation.__doc__} passed without {verb} {resource}"
        assert f'User "{AIRFLOW_USER}" cannot {verb} resource "{resource}" in API group "{group}"' in output, \
            f"the task's error does not name the missing {verb} on {resource}"
        refused = [r for r in combo.refusals(before) if r.startswith(AIRFLOW_USER)]
        assert len(refused) == 1, f"a 403 must fail at once, not be retried: {refused}"
        assert combo.exists(PROBE) == [], "a launch refused half-way left objects behind"

    def test_flink_replaces_a_lost_taskmanager(self, combo: ComboRun) -> None:
        """After kill -9 of the TaskManager, Flink deletes its failed pod and starts another under its Role, and
        the job checkpoints again (the only sure way Flink's ``delete pods`` is exercised: idle-release is timing)."""
        combo.wait_for_checkpoint()
        combo.load()
        before = combo.k8s.emulator.stats()["request_seq"]
        ns, selector = combo.combo.namespace, f"app={combo.cluster_id},component=taskmanager"
        [lost] = combo.k8s.pods(ns, selector)
        os.kill(int(lost["metadata"]["annotations"][ANNOTATION_PID]), signal.SIGKILL)

        def replaced() -> bool:
            names = {pod["metadata"]["name"] for pod in combo.k8s.pods(ns, selector)}
            return bool(names) and lost["metadata"]["name"] not in names

        combo.k8s.wait_for("Flink to replace the killed TaskManager's pod", replaced, timeout=180)
        directory = combo.workdir / "checkpoints" / combo.cluster_id / combo.running_cluster()["job_id"]
        last = max([int(path.name.removeprefix("chk-")) for path in directory.glob("chk-*")], default=0)
        combo.k8s.wait_for("a checkpoint completed after the TaskManager was replaced", lambda: any(
            int(path.parent.name.removeprefix("chk-")) > last for path in directory.glob("chk-*/_metadata")),
            timeout=180)
        assert ("delete", "pods") in combo.jobmanager_calls()
        assert combo.refusals(before) == [], "an identity was refused a call under the documented Roles"

    def test_upgrade_with_savepoint(self, combo: ComboRun) -> None:
        """``if_exists="upgrade"`` under the Role: the job is stopped with a savepoint and the new spec restores it."""
        combo.wait_for_checkpoint()
        combo.load()
        before = combo.k8s.emulator.stats()["request_seq"]
        old = combo.running_cluster()
        dag_run = combo.upgrade(wait_until="running", deferrable=True)
        assert task_states(dag_run) == {"upgrade": "success"}
        result = xcom_value(dag_run, "upgrade")
        assert result["upgrade"]["action"] == "upgrade" and result["job_id"] != old["job_id"]
        savepoint = Path(result["upgrade"]["savepoint_path"].removeprefix("file://"))
        assert (savepoint / "_metadata").is_file(), savepoint  # Flink wrote it
        assert combo.refusals(before) == [], "an identity was refused a call under the documented Roles"
        combo.launched = result

    def test_teardown_with_savepoint(self, combo: ComboRun) -> None:
        combo.wait_for_checkpoint()
        combo.load()
        before = combo.k8s.emulator.stats()["request_seq"]
        dag_run = combo.run(("FlinkApplicationTeardownOperator", "teardown",
                             combo.teardown_args(combo.cluster_id, savepoint=True)))
        assert task_states(dag_run) == {"teardown": "success"}
        result = xcom_value(dag_run, "teardown")
        assert result["deleted"] and result["savepoint_path"]
        assert combo.exists(combo.cluster_id) == []
        assert combo.refusals(before) == [], "an identity was refused a call under the documented Roles"
        combo.launched = None
        JOBMANAGER_CALLS[combo.combo.name] = combo.jobmanager_calls()


#: (verb, resource) of the Flink pods' calls, per combo, recorded after each teardown.
JOBMANAGER_CALLS: dict[str, set[tuple[str, str]]] = {}


class TestNativeKubernetesHa(_UnderTheMinimalRole):
    combo = COMBOS[0]

    def test_a_refused_rollback_names_what_it_left_behind(self, combo: ComboRun, capfd: pytest.CaptureFixture[str],
                                                           caplog: pytest.LogCaptureFixture) -> None:
        rules = without(without(combo.combo.role()["rules"], "", "configmaps", "create"), "apps", "deployments",
                        "delete")
        combo.load(rules)
        capfd.readouterr()
        caplog.clear()
        dag_run = combo.launch_new()
        output = task_output(capfd, caplog)
        assert task_states(dag_run) == {"launch": "failed"}
        ns = combo.combo.namespace
        assert f'User "{AIRFLOW_USER}" cannot create resource "configmaps"' in output
        assert f'User "{AIRFLOW_USER}" cannot delete resource "deployments"' in output
        assert f"may be left behind: Deployment {ns}/{PROBE}, Service {ns}/{PROBE}-rest" in output
        assert combo.exists(PROBE)[:2] == [f"deployment/{PROBE}", f"service/{PROBE}-rest"], "it said so: they are"
        _admin_request(combo.k8s, "DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/{PROBE}")
        combo.k8s.wait_for("the probe cluster to be gone", lambda: not combo.exists(PROBE), timeout=120)


class TestNativeZookeeperHa(_UnderTheMinimalRole):
    combo = COMBOS[1]


class TestCliKubernetesHa(_UnderTheMinimalRole):
    combo = COMBOS[2]


def test_the_flink_role_holds_exactly_the_calls_flink_made() -> None:
    """``flink-jobmanager.yaml`` grants what Flink 1.20.3 and 2.3.0 were seen calling across the combos above,
    no more (a verb Flink never uses is a bug in the docs) and no less (nothing was refused: asserted above)."""
    if len(JOBMANAGER_CALLS) < len(COMBOS):
        pytest.skip("needs every combo's teardown test above to have run in this session")
    role = yaml.safe_load((RBAC_DIR / "flink-jobmanager.yaml").read_text())
    granted = {(verb, resource) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert set().union(*JOBMANAGER_CALLS.values()) == granted
