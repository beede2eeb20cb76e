"""Secrets never leak: credentials in ``flink_conf`` are masked in task logs, rendered fields, XCom and error text;
Kubernetes Secrets reach the JobManager and TaskManagers without entering the ``flink-config-<cid>`` ConfigMap; the
CLI launcher keeps credentials off the ``flink`` argv; connection credentials never reach the task log.

The launches are real: ``dag.test()`` launches real Flink onto the sandbox (emulator + kubelet), waits until the job
runs and tears it down. Where secrets could land is read directly: the task log (``dag.test()`` runs each task in
this process and writes no task log file, so the task log is the captured output, passed through Airflow's masker
as the task supervisor would pass it; each test asserts lines it expects there), the Flink client's log dir, the
JobManager log (pod logs), a failure report shown by another task, the ``flink-config-<cid>`` ConfigMap, XCom and
rendered fields. One run goes through Airflow's task supervisor instead, as executors run tasks, so that the task log
file a worker keeps is written and read.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.core.sensitive_keys import (
    FLINK_1_20_SENSITIVE_KEYS,
    FLINK_2_SENSITIVE_KEYS,
    is_sensitive_key,
)
from airflow_flink_k8s.hooks.flink_cli import conf_dir_with
from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION, EmulatorProcess
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states
from tests.fixtures.flink import flink_versions
from tests.flink_client_support import parse_configuration

NS = "flink"
AIRFLOW_DEFAULTS = ("access_key", "api_key", "password", "secret", "token", "dsn", "private_key", "passphrase")

IS_SENSITIVE_JAVA = """
import org.apache.flink.configuration.GlobalConfiguration;
public class IsSensitive {
  public static void main(String[] keys) {
    for (String key : keys) System.out.println(GlobalConfiguration.isSensitive(key) + " " + key);
  }
}
"""
PROBE_KEYS = ("s3.secret-key", "s3.access-key", "fs.azure.account.key.acct.blob.core.windows.net",
              "security.ssl.rest.keystore-password", "metrics.reporter.dghttp.apikey", "metrics.reporter.x.api-key",
              "http.auth-params", "gcp.service-key", "security.delegation.tokens.enabled", "basic-auth.user",
              "security.kerberos.jaas.config", "rest.http-headers", "pipeline.name", "kubernetes.cluster-id",
              "fs.oss.accessKeyId", "S3.SECRET-KEY")


def _random(label: str) -> str:
    return f"{label}-{secrets.token_hex(12)}"


# ----------------------------------------------------------------------------------------------- which keys


@flink_versions
def test_the_flink_rule_is_what_flinks_own_is_sensitive_says(flink_version: str, flink_home: Callable[[str], Path],
                                                            tmp_path: Path) -> None:
    lib = flink_home(flink_version) / "lib"
    (tmp_path / "IsSensitive.java").write_text(IS_SENSITIVE_JAVA)
    subprocess.run(["javac", "-cp", f"{lib}/*", "-d", str(tmp_path), str(tmp_path / "IsSensitive.java")], check=True)
    out = subprocess.run(["java", "-cp", f"{tmp_path}:{lib}/*", "IsSensitive", *PROBE_KEYS], capture_output=True,
                         text=True, check=True).stdout
    by_flink = {key for verdict, key in (line.split(" ", 1) for line in out.splitlines()) if verdict == "true"}
    listed = FLINK_2_SENSITIVE_KEYS if flink_version.startswith("2.") else FLINK_1_20_SENSITIVE_KEYS
    assert by_flink == {key for key in PROBE_KEYS if any(part in key.lower() for part in listed)}
    # Everything Flink hides, we mask, on every version (2.x's "api-key" included on 1.20).
    assert all(is_sensitive_key(key) for key in by_flink | {"metrics.reporter.x.api-key"})


# ----------------------------------------------------------------------------------------------- sandbox helpers


def _post(emulator: EmulatorProcess, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(emulator.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={**ADMIN_AUTHORIZATION, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _create_secret(emulator: EmulatorProcess, name: str, data: dict[str, str]) -> None:
    _post(emulator, f"/api/v1/namespaces/{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _pod_pid(pod: dict[str, Any]) -> int | None:
    pid = (pod["metadata"].get("annotations") or {}).get(ANNOTATION_PID)
    return int(pid) if pid else None


def _client_certificate(tmp_path: Path) -> tuple[str, str]:
    """A real self-signed client certificate and key, base64 as a kubeconfig carries them."""
    key, cert = tmp_path / "client.key", tmp_path / "client.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=airflow-worker",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return base64.b64encode(cert.read_bytes()).decode(), base64.b64encode(key.read_bytes()).decode()


def _inline_kubeconfig_connection(sandbox: LocalKubernetes, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``kubernetes_default`` with the kubeconfig inline (a fresh bearer token and a client certificate); returns
    the strings that must never reach a log: the token, the certificate and key data and their PEM bodies."""
    path = sandbox.emulator.user_kubeconfig(tmp_path / "worker.kubeconfig", "airflow-worker",
                                            groups=("system:masters",), namespace=NS)
    kubeconfig = yaml.safe_load(path.read_text())
    cert, key = _client_certificate(tmp_path)
    kubeconfig["users"][0]["user"].update({"client-certificate-data": cert, "client-key-data": key})
    text = yaml.safe_dump(kubeconfig)
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": text}}))
    token = kubeconfig["users"][0]["user"]["token"]
    pem_lines = [line for data in (cert, key) for line in base64.b64decode(data).decode().splitlines()
                 if len(line) >= 40]
    return [token, cert[:64], key[:64], *pem_lines[:6]]


def _run(run_dag: DagRunner, source: str, day: int, **test_kwargs: Any) -> Any:
    when = datetime(2026, 4, day, tzinfo=UTC)
    return run_dag(source, logical_date=when, run_after=when, **test_kwargs)


def _stored_outputs(dag_run: Any) -> str:
    """Every XCom and every rendered template field the run stored, as text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag_run.dag_id,
                                                        XComModel.run_id == dag_run.run_id)).all()
        rendered = session.scalars(select(RenderedTaskInstanceFields).where(
            RenderedTaskInstanceFields.dag_id == dag_run.dag_id,
            RenderedTaskInstanceFields.run_id == dag_run.run_id)).all()
        assert xcoms and rendered, "the run stored no XCom or no rendered fields"
        return json.dumps([[x.key, x.value] for x in xcoms] + [r.rendered_fields for r in rendered], default=str)


def _assert_absent(values: Iterable[str], **texts: str) -> None:
    for where, text in texts.items():
        leaked = [value for value in values if value in text]
        assert not leaked, f"{where} shows {len(leaked)} secret value(s)"


def _rendered_flink_conf(dag_run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(select(RenderedTaskInstanceFields).where(
            RenderedTaskInstanceFields.dag_id == dag_run.dag_id, RenderedTaskInstanceFields.run_id == dag_run.run_id,
            RenderedTaskInstanceFields.task_id == task_id)).one()
        return row.rendered_fields["flink_conf"]


LAUNCH = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id={cid!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}",
        ha="kubernetes", ha_storage_dir={ha!r}, checkpoint_base_dir={checkpoints!r},
        jobmanager_memory="1024m", taskmanager_memory="1024m", wait_until="running", deferrable=False, retries=0,
        flink_conf={flink_conf!r}, **{options!r},
    )
"""
TEARDOWN = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationTeardownOperator(task_id="teardown", cluster_id={cid!r}, namespace="flink", ha="kubernetes",
                                     retries=0)
"""


def _launch_source(tmp_path: Path, dag_id: str, cid: str, version: str, flink_conf: dict[str, str],
                   **options: Any) -> str:
    return LAUNCH.format(dag_id=dag_id, cid=cid, version=version, ha=f"file://{tmp_path}/ha",
                         checkpoints=f"file://{tmp_path}/checkpoints", flink_conf=flink_conf, options=options)


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes) -> LocalKubernetes:
    return local_kubernetes


@pytest.fixture
def masked_task_logs() -> Iterator[None]:
    """Log lines pass Airflow's secrets masker as in production, where the task supervisor's log chain ends with
    exceptions rendered as text, then ``airflow.sdk.log.mask_logs``, then the writer. ``dag.test()`` runs the task
    in this process with no supervisor, so without this nothing would be masked at all. The processors go into
    the live chains (structlog's and the stdlib handlers' formatters) in place, as loggers cache them."""
    import structlog
    from airflow.sdk.log import mask_logs

    chains = [structlog.get_config()["processors"]] + [
        handler.formatter.processors for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)]
    added = (structlog.processors.format_exc_info, mask_logs)
    for chain in chains:
        chain[-1:-1] = added
    yield
    for chain in chains:
        for processor in added:
            chain.remove(processor)


# ----------------------------------------------------------------------------------------------- kubelet


def test_a_missing_secret_keeps_the_container_waiting_until_it_exists(sandbox: LocalKubernetes) -> None:
    value = _random("late")
    labels = {"app": "late-secret"}
    _post(sandbox.emulator, f"/apis/apps/v1/namespaces/{NS}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "late-secret"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": "flink:2.3.0", "command": ["sleep", "600"], "env": [
                {"name": "LATE_TOKEN", "valueFrom": {"secretKeyRef": {"name": "late-creds", "key": "token"}}}]}]}}}})

    def waiting() -> dict[str, Any] | None:
        for pod in sandbox.pods(NS, "app=late-secret"):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if "waiting" in status["state"]:
                    return status["state"]["waiting"]
        return None

    state = sandbox.wait_for("the container to wait for its Secret", waiting, 60)
    assert state == {"reason": "CreateContainerConfigError", "message": 'secret "late-creds" not found'}
    assert sandbox.kubelet.alive
    _create_secret(sandbox.emulator, "late-creds", {"token": value})
    pid = sandbox.wait_for("the container to start once its Secret exists",
                           lambda: next(filter(None, map(_pod_pid, sandbox.pods(NS, "app=late-secret"))), None), 60)
    assert _environ(pid)["LATE_TOKEN"] == value


# ----------------------------------------------------------------------------------------------- masking

LEAKY = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

class Leaky(FlinkApplicationOperator):
    def execute(self, context):
        for key, value in self.flink_conf.items():
            self.log.info("flink_conf %s = %s", key, value)
        raise RuntimeError("simulated failure echoing " + " ".join(self.flink_conf.values()))

with DAG("leaky", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    Leaky(task_id="launch", cluster_id="leaky", image="flink:2.3.0", jar_uri="local:///opt/flink/usrlib/job.jar",
          flink_version="2.3.0", retries=0, flink_conf={flink_conf!r})
"""


def test_conf_credentials_are_masked_in_log_lines_and_exception_text(run_dag: DagRunner, masked_task_logs: None,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    # One key per rule: Flink's only, the access key rule only, Airflow's configured names only; one template.
    values = {"fs.azure.account.key.acct.blob.core.windows.net": _random("azurekey"),
              "fs.oss.accessKeyId": _random("ossid"), "jdbc.sink.dsn": _random("postgresql://u:p@db")}
    conf = {**values, "s3.secret-key": "{{ params.get('s3', 'templated-' ~ run_id) }}", "pipeline.name": "leaky-job"}
    dag_run = _run(run_dag, LEAKY.format(flink_conf=conf), 4)
    assert task_states(dag_run) == {"launch": "failed"}
    task_log = capfd.readouterr().out
    assert "flink_conf pipeline.name = leaky-job" in task_log and "simulated failure echoing" in task_log
    assert "flink_conf fs.oss.accessKeyId = ***" in task_log
    _assert_absent([*values.values(), f"templated-{dag_run.run_id}"], task_log=task_log,
                   rendered=json.dumps(_rendered_flink_conf(dag_run, "launch")))


# ----------------------------------------------------------------------------------------------- full runs


@pytest.mark.flink
def test_native_launch_masks_conf_credentials_and_delivers_kubernetes_secrets(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    masked_task_logs: None, capfd: pytest.CaptureFixture[str],
) -> None:
    cid, version = "secret-native", "2.3.0"
    s3_secret, s3_access, azure_key = _random("s3secret"), _random("AKIA"), _random("azurekey")
    env_secret, file_secret = _random("envtoken"), _random("filepassword")
    connection_secrets = _inline_kubeconfig_connection(sandbox, tmp_path, monkeypatch)
    _create_secret(sandbox.emulator, "flink-creds", {"token": env_secret, "password": file_secret})
    flink_conf = {"s3.secret-key": s3_secret, "s3.access-key": s3_access,
                  "fs.azure.account.key.acct.blob.core.windows.net": azure_key,
                  # the JobManager JVM is pointed at the mounted Secret file (the kubelet maps the mount path)
                  "env.java.opts.jobmanager": "-Dcreds.file=/opt/flink/creds/password"}
    launched = _run(run_dag, _launch_source(
        tmp_path, "secret_native", cid, version, flink_conf,
        secret_env=[{"env": "FLINK_CREDS_TOKEN", "secret": "flink-creds", "key": "token"}],
        secret_mounts={"flink-creds": "/opt/flink/creds"}), 1)
    assert task_states(launched) == {"launch": "success"}

    # Rendered fields hold the mask where the credentials were; no XCom or rendered field holds a value.
    assert _rendered_flink_conf(launched, "launch")["s3.secret-key"] == "***"
    launched_outputs = _stored_outputs(launched)

    # Credentials given in flink_conf go through the ConfigMap (Flink reads them there); the Secret's never do.
    config_map = json.dumps(sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/flink-config-{cid}"))
    assert s3_secret in config_map and "flink-creds:/opt/flink/creds" in config_map
    _assert_absent([env_secret, file_secret], configmap=config_map)

    # The JobManager process got the Secret: as its environment, and as a file its JVM is pointed at.
    (jobmanager,) = sandbox.pods(NS, f"app={cid},component=jobmanager")
    pid = _pod_pid(jobmanager)
    assert pid is not None and _environ(pid)["FLINK_CREDS_TOKEN"] == env_secret
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    (creds_file,) = [arg.split("=", 1)[1] for arg in cmdline if arg.startswith("-Dcreds.file=")]
    assert creds_file != "/opt/flink/creds/password" and Path(creds_file).read_text() == file_secret
    # TaskManager pods, built by Flink from the configuration, get the Secret env as well.
    taskmanagers = sandbox.wait_for("a running TaskManager pod", lambda: [
        p for p in sandbox.pods(NS, f"app={cid},component=taskmanager") if _pod_pid(p)], 120)
    env = taskmanagers[0]["spec"]["containers"][0]["env"]
    assert {"name": "FLINK_CREDS_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "flink-creds"}}} in env
    assert _environ(_pod_pid(taskmanagers[0]))["FLINK_CREDS_TOKEN"] == env_secret  # type: ignore[arg-type]

    torn_down = _run(run_dag, TEARDOWN.format(dag_id="secret_native_teardown", cid=cid), 1)
    assert task_states(torn_down) == {"teardown": "success"}
    task_log = capfd.readouterr().out
    assert f"launching {cid} with job id" in task_log, "the task log was not captured"
    values = [s3_secret, s3_access, azure_key, env_secret, file_secret, *connection_secrets]
    _assert_absent(values, task_log=task_log, launch_outputs=launched_outputs,
                   teardown_outputs=_stored_outputs(torn_down))


SENSOR = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkJobManagerReadySensor(task_id="wait", cluster_id={cid!r}, namespace="flink", ha="kubernetes",
                               flink_version={version!r}, target="checkpointed",
                               checkpointed_after="2099-01-01T00:00:00+00:00", poke_interval=2, timeout=30,
                               log_tail_lines=1000, mode="poke", retries=0)
"""


def _private_flink_home(version: str, target: Path) -> Path:
    """A FLINK_HOME of its own (``bin``/``conf`` copied, jars linked, an empty ``log``), so that what the client
    writes into ``<flink home>/log`` is this test's alone: the cached home is shared with other runs."""
    home = ensure_flink_home(version)
    shutil.copytree(home / "bin", target / "bin")
    shutil.copytree(home / "conf", target / "conf")
    for name in ("lib", "opt", "plugins"):  # bin/config.sh finds jars with a plain `find`: link files, not dirs
        (target / name).mkdir()
        for entry in (home / name).iterdir():
            (target / name / entry.name).symlink_to(entry)
    (target / "log").mkdir()
    return target


def _pod_log(sandbox: LocalKubernetes, pod: dict[str, Any]) -> str:
    request = urllib.request.Request(
        f"{sandbox.url}/api/v1/namespaces/{NS}/pods/{pod['metadata']['name']}/log", headers=ADMIN_AUTHORIZATION)
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


@pytest.mark.flink
@flink_versions
def test_cli_launch_keeps_credentials_off_the_argv_the_worker_disk_and_the_failure_report(
    flink_version: str, run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, masked_task_logs: None, capfd: pytest.CaptureFixture[str],
) -> None:
    cid = f"secret-cli-{flink_version.split('.')[0]}"
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(sandbox.kubeconfig)}}))
    home = _private_flink_home(flink_version, tmp_path / "flink-home")
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    user_conf = (conf_dir / "config.yaml").read_text()
    s3_secret, s3_access, jvm_password = _random("s3secret"), _random("AKIA"), _random("jvmpassword")
    flink_conf = {"s3.secret-key": s3_secret, "s3.access-key": s3_access,
                  "env.java.opts.jobmanager": f"-Dsome.password={jvm_password}"}
    values = [s3_secret, s3_access, jvm_password]

    # The harm: the client run as the launcher ran it before (credentials in a conf dir copy, the default log
    # dir) leaves a world-readable <flink home>/log/flink-*-client-*.log echoing s3.access-key in clear.
    old_way = conf_dir_with(conf_dir, tmp_path / "old-way-conf", flink_conf)
    subprocess.run([str(home / "bin" / "flink"), "--version"], check=True, capture_output=True,
                   env={**os.environ, "FLINK_CONF_DIR": str(old_way)})
    (client_log,) = (home / "log").glob("flink-*-client-*.log")
    assert f"Loading configuration property: s3.access-key, {s3_access}" in client_log.read_text()
    assert client_log.stat().st_mode & 0o044, "the client log is not readable by others"
    client_log.unlink()

    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(worker_tmp))
    launched = _run(run_dag, _launch_source(
        tmp_path, f"secret_cli_{flink_version[0]}", cid, flink_version, flink_conf,
        launcher="cli", flink_bin=str(home / "bin" / "flink"), flink_conf_dir=str(conf_dir)), 2)
    assert task_states(launched) == {"launch": "success"}
    launched_outputs = _stored_outputs(launched)
    # The client wrote no log into <flink home>/log, and its private temp dir (conf copy, log) is gone.
    assert list((home / "log").iterdir()) == []
    assert list(worker_tmp.glob("flink-cli-*")) == []

    # The client read the credentials from a copy of its conf dir and shipped them to the JobManager's ConfigMap.
    config_map = parse_configuration("config.yaml", sandbox.get(
        f"/api/v1/namespaces/{NS}/configmaps/flink-config-{cid}")["data"]["config.yaml"])
    assert (config_map["s3.secret-key"], config_map["s3.access-key"]) == (s3_secret, s3_access)
    assert (conf_dir / "config.yaml").read_text() == user_conf, "the user's conf dir was changed"

    # The JobManager's own log echoes s3.access-key in clear (Flink hides only its own keys) ...
    (jobmanager,) = sandbox.pods(NS, f"app={cid},component=jobmanager")
    jobmanager_log = _pod_log(sandbox, jobmanager)
    assert f"Loading configuration property: s3.access-key, {s3_access}" in jobmanager_log
    # ... and a failure report shows its tail in another task, whose masker never saw the launch's values.
    waited = _run(run_dag, SENSOR.format(dag_id=f"secret_cli_wait_{flink_version[0]}", cid=cid,
                                         version=flink_version), 2)
    assert task_states(waited) == {"wait": "failed"}
    report_log = capfd.readouterr().out
    assert "did not reach 'checkpointed' before the timeout" in report_log
    assert "Loading configuration property: s3.access-key, ******" in report_log
    _assert_absent(values, report_log=report_log)

    torn_down = _run(run_dag, TEARDOWN.format(dag_id=f"secret_cli_teardown_{flink_version[0]}", cid=cid), 2)
    assert task_states(torn_down) == {"teardown": "success"}
    task_log = report_log + capfd.readouterr().out
    (argv_line,) = [line for line in task_log.splitlines() if "running the Flink client:" in line]
    assert f"-Dkubernetes.cluster-id={cid}" in argv_line
    assert not re.search(r"-Ds3\.(secret|access)-key|env\.java\.opts", argv_line), "a credential is on the argv"
    _assert_absent(values, task_log=task_log, launch_outputs=launched_outputs,
                   teardown_outputs=_stored_outputs(torn_down))


def test_the_zookeeper_digest_password_is_never_logged(run_dag: DagRunner, k8s_emulator: EmulatorProcess,
                                                       zookeeper: ZooKeeperServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, masked_task_logs: None,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    password = _random("zkpassword")
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    host, port = zookeeper.hosts.rsplit(":", 1)
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_ZK", json.dumps(
        {"conn_type": "zookeeper", "host": host, "port": int(port), "login": "flink", "password": password}))
    dag_run = _run(run_dag, """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
with DAG("zk_digest", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationTeardownOperator(task_id="teardown", cluster_id="gone", namespace="flink", ha="zookeeper",
                                     zookeeper_conn_id="flink_zk", retries=0)
""", 3)
    assert task_states(dag_run) == {"teardown": "success"}
    task_log = capfd.readouterr().out
    assert "Flink cluster flink/gone was already gone" in task_log
    _assert_absent([password, f"flink:{password}"], task_log=task_log,
                   outputs=_stored_outputs(dag_run))


# ----------------------------------------------------------------------------------------------- the task log file


def _supervising_executor(log_folder: Path) -> Any:
    """An executor that runs each task as Airflow's executors do, ``BaseExecutor.run_workload``'s
    ``supervise_task``: a forked task process whose log the supervisor writes (masked) to the workload's log file
    under ``log_folder``; only the Execution API is the in-process one ``dag.test()`` uses, not an HTTP server."""
    from airflow.executors.base_executor import BaseExecutor
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise_task

    class SupervisingExecutor(BaseExecutor):
        def _process_workloads(self, workloads: Any) -> None:
            for workload in workloads:
                self.queued_tasks.pop(workload.key)
                exit_code = supervise_task(
                    ti=workload.ti, bundle_info=workload.bundle_info, dag_rel_path=workload.dag_rel_path,
                    token=workload.token, client=InProcessTestSupervisor._api_client(),
                    log_path=str(log_folder / workload.log_path))
                (self.success if exit_code == 0 else self.fail)(workload.key)

        def sync(self) -> None:
            """Each task ran to its end in ``_process_workloads``: nothing to collect."""

        def end(self) -> None:
            """Nothing runs in the background."""

    return SupervisingExecutor()


def test_the_task_log_file_the_supervisor_writes_has_the_lines_but_no_credential(
        run_dag: DagRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task runs in a task process of its own under Airflow's supervisor, which writes the task log file as on
    a worker (``<base_log_folder>/dag_id=…/run_id=…/task_id=…/attempt=1.log``, JSON lines): the file exists, holds
    the lines the task logged and its exception, and none of the credentials (the masks registered in the task
    process reach the supervisor's masker)."""
    from airflow.executors.executor_loader import ExecutorLoader

    log_folder = tmp_path / "logs"
    monkeypatch.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(log_folder))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_hex(32))  # signs the workload's token
    executor = _supervising_executor(log_folder)
    monkeypatch.setattr(ExecutorLoader, "get_default_executor", classmethod(lambda cls: executor))
    # Flink's rule, the access key rule, the key material rules; and a templated value.
    values = {"fs.azure.account.key.acct.blob.core.windows.net": _random("azurekey"),
              "fs.oss.accessKeyId": _random("ossid"), "fs.s3a.encryption.key": _random("enckey"),
              "containerized.master.env.PGPASS": _random("pgpass")}
    conf = {**values, "s3.secret-key": "{{ 'templated-' ~ run_id }}", "pipeline.name": "leaky-job"}
    dag_run = _run(run_dag, LEAKY.format(flink_conf=conf), 5, use_executor=True)
    assert task_states(dag_run) == {"launch": "failed"}

    (log_file,) = [path for path in log_folder.rglob("*") if path.is_file()]
    assert log_file.relative_to(log_folder).parts == (
        "dag_id=leaky", f"run_id={dag_run.run_id}", "task_id=launch", "attempt=1.log")
    text = log_file.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    logged = [event["event"] for event in events]
    assert "flink_conf pipeline.name = leaky-job" in logged and "flink_conf fs.s3a.encryption.key = ***" in logged
    (failure,) = [event for event in events if event["event"] == "Task failed with exception"]
    assert failure["error_detail"][0]["exc_value"].startswith("simulated failure echoing ***")
    _assert_absent([*values.values(), f"templated-{dag_run.run_id}"], task_log_file=text)
