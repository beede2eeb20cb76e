"""Airflow operators: launch a Flink application cluster natively on Kubernetes, and tear it down.

Thin glue: each ``execute`` builds its arguments, calls one flow (``flows.launch``, ``flows.teardown``) and returns
its result. Importing this module stays cheap for DAG parsing: flows, hooks (kubernetes, kazoo, aiohttp), launch
planning and failure reporting are imported inside ``execute``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator, conf

from airflow_flink_k8s.core.arguments import (
    LAUNCH_RULES,
    TEARDOWN_RULES,
    check_launch_arguments,
    check_teardown_arguments,
    is_templated,
)
from airflow_flink_k8s.core.report_options import (
    DEFAULT_LOG_TAIL_LINES,
    DEFAULT_RESTART_LIMIT,
    DEFAULT_UNSCHEDULED_TIMEOUT,
    check_report_options,
    check_unscheduled_timeout,
)
from airflow_flink_k8s.core.spec import FlinkApplicationSpec, FlinkSpecError
from airflow_flink_k8s.core.web_ui import check_web_ui_url_template
from airflow_flink_k8s.links import FlinkWebUILink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_flink_k8s.core.launch_plan import RunIdentity
    from airflow_flink_k8s.core.readiness_check import ReadinessCheck
    from airflow_flink_k8s.flows.launch import LaunchResult, LaunchSettings
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

#: Every ``FlinkApplicationSpec`` field is an operator argument of the same name, and templated.
SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FlinkApplicationSpec))
_REQUIRED = tuple(f.name for f in dataclasses.fields(FlinkApplicationSpec)
                  if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
#: XCom key of the launch result while the task waits (it survives a deferral).
LAUNCH_XCOM_KEY = "launch"
#: The ``wait_until`` of bounded jobs: wait for the end, report, delete the cluster.
_FINISHED = "finished"
#: XCom key of an upgrade whose relaunch failed: where its state is (the next try finishes the upgrade from there).
UPGRADE_XCOM_KEY = "upgrade"


def airflow_sensitive_fields() -> frozenset[str]:
    """Airflow's sensitive field names as its masker holds them (defaults plus ``[core] sensitive_var_conn_names``);
    none when ``[core] hide_sensitive_var_conn_fields`` is off."""
    from airflow.sdk._shared.secrets_masker import DEFAULT_SENSITIVE_FIELDS, _secrets_masker

    masker = _secrets_masker()
    if not masker.hide_sensitive_var_conn_fields:
        return frozenset()
    return frozenset(masker.sensitive_variables_fields or DEFAULT_SENSITIVE_FIELDS)


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(FlinkApplicationSpec):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


class FlinkApplicationOperator(BaseOperator):
    """Launch one Flink job as a native Kubernetes application cluster (``flink run-application -t
    kubernetes-application``), with HA and a checkpoint/savepoint dir of its own (``<base>/<cluster-id>``).

    Spec arguments (all keyword-only and templated) are the fields of ``FlinkApplicationSpec``: ``cluster_id``,
    ``image``, ``jar_uri``, ``flink_version`` (required), ``namespace`` (default: the connection's ``namespace``
    extra, else ``default``, as cncf-kubernetes does), ``entry_class``, ``program_args``,
    ``parallelism``, resources, scheduling, ``ha``/``ha_storage_dir``/``zookeeper_quorum``/``zookeeper_root``,
    ``checkpoint_base_dir``, ``savepoint_base_dir``, ``checkpoint_interval``, ``job_id``, ``restore``, ``flink_conf``.

    :param launcher: ``native`` creates the objects through the API (no JVM on the worker); ``cli`` runs ``flink_bin``.
    :param if_exists: when Deployment ``<cluster-id>`` exists: ``fail``, ``reuse`` (reattach to an identical
        running spec) or ``replace`` (delete, wait until gone, relaunch). A retry of the same DAG run and task
        with the same spec always reattaches. ``reuse``/``replace`` act only on a cluster this provider launched;
        anything else (another controller's, e.g. a ``FlinkDeployment``'s, or not a Flink cluster) fails the task
        naming it, before any write. ``upgrade`` replaces a cluster running another spec carrying its state over as
        ``upgrade_mode`` says (``flows.upgrade``); the same spec reattaches; with no cluster it launches as a
        fresh launch would (``restore`` applies then only, as the Flink Kubernetes Operator's
        ``initialSavepointPath``).
    :param upgrade_mode: with (and only with) ``if_exists="upgrade"``: ``savepoint`` (stop with a savepoint into
        the savepoint dir, restore the new job from it; needs ``savepoint_base_dir``; ``savepoint_timeout``
        seconds), ``last-state`` (delete keeping HA data, resume from the latest checkpoint) or ``stateless``.
        An upgrade in progress is recorded in ConfigMap ``flink-upgrade-<cluster-id>``; a later try finishes it.
    :param adopt_native_clusters: let ``replace`` also act on a native Flink cluster launched another way
        (``flink run-application -t kubernetes-application``: labels ``type=flink-native-kubernetes``,
        ``component=jobmanager``) that no other controller owns.
    :param kubernetes_conn_id: the cncf-kubernetes connection (``kubernetes_default``; templated, as the ZooKeeper one).
    :param zookeeper_conn_id: connection for ZooKeeper HA clean-up and restore checks (else ``zookeeper_quorum``).
    :param flink_bin: the ``flink`` executable for ``launcher="cli"``; ``cli_timeout`` bounds it (seconds);
        ``flink_conf_dir`` is its ``FLINK_CONF_DIR``.
    :param delete_timeout: seconds to wait for a replaced cluster to be gone.
    :param wait_until: after launching, wait until the JobManager reaches this readiness level (``leader``,
        ``rest``, ``running``, ``checkpointed`` or ``finished``), with the same trigger as
        ``FlinkJobManagerReadySensor``;
        ``deferrable`` waits in the triggerer instead of a worker slot. ``wait_timeout`` and
        ``wait_poll_interval`` are seconds; ``access_mode`` is how REST is reached (see the sensor). A failed job,
        a JobManager that cannot start (``jobmanager_restart_limit`` restarts in back-off) and a timeout fail the
        task with Flink's root cause and the last ``log_tail_lines`` lines of the JobManager log (0: none).
        ``running`` means every task runs; tasks waiting for a slot longer than ``unscheduled_timeout`` seconds
        (default 300; e.g. TaskManager pods refused) fail the task with a report naming them.
        ``finished`` is for bounded jobs: the launch sets ``execution.shutdown-on-application-finish: false`` so
        the cluster outlives its job, the wait ends once the job (and on 2.3+ its application) is globally
        terminal, and the cluster and its HA data are then deleted (the teardown's ownership rules) unless
        ``keep_cluster``. FINISHED returns ``result`` (job id, state, start/end time, duration, accumulators,
        application); FAILED/CANCELED fail the task with Flink's root cause and the JobManager log tail.
    :param keep_cluster: with ``wait_until="finished"``, keep the ended cluster and its HA data for inspection.
    :param dry_run: create nothing and read no connection: log and return the Kubernetes objects a launch would
        create and the equivalent ``flink`` argv (``core.dry_run``), after rendering the templated fields.
    :param web_ui_url_template: the "Flink Web UI" link (and ``web_ui_url``), e.g.
        ``https://flink.example.com/{namespace}/{cluster_id}/``; placeholders ``{namespace}``, ``{cluster_id}``,
        ``{job_id}`` (not Jinja-templated). Default: the connection's ``flink_web_ui_url_template`` extra, else
        the API server's service-proxy URL (which a browser can open only with the API server's credentials).

    Returns (XCom): ``cluster_id``, ``namespace``, ``job_id``, ``rest_url``, ``checkpoint_dir``, ``savepoint_dir``,
    ``flink_version``, ``web_ui_url``, ``launched`` (False when it reattached), ``ready`` when it waited, and for
    ``finished`` also ``result``, ``finish_detected_at`` and ``teardown`` (None when kept); with
    ``if_exists="upgrade"`` ``upgrade`` (``action``, ``mode``, ``old_job_id``, ``savepoint_path``); with ``dry_run``,
    ``LaunchPreview.to_dict()`` (``objects``, ``argv``, ``command``, ``job_id``, ``notes``…).
    """

    # Not logging_files: log4j and logback patterns hold Jinja's delimiters (``%highlight{%-5level}``).
    template_fields: Sequence[str] = (*(name for name in SPEC_FIELDS if name != "logging_files"), "if_exists",
                                      "kubernetes_conn_id", "zookeeper_conn_id", "upgrade_mode")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "flink_conf": "json", "program_args": "json", "pod_template": "json", "taskmanager_pod_template": "json",
        "jobmanager_pod_template": "json", "jobmanager_node_selector": "json", "taskmanager_node_selector": "json",
        "secret_mounts": "json", "secret_env": "json"}
    operator_extra_links = (FlinkWebUILink(),)
    ui_color = "#e6522c"

    def __init__(self, *, launcher: str = "native", if_exists: str = "fail",
                 kubernetes_conn_id: str = "kubernetes_default", zookeeper_conn_id: str | None = None,
                 flink_bin: str = "flink", cli_timeout: float = 300, flink_conf_dir: str | None = None,
                 delete_timeout: float = 300, wait_until: str | None = None, wait_timeout: float = 600,
                 wait_poll_interval: float = 5.0, access_mode: str = "auto",
                 log_tail_lines: int = DEFAULT_LOG_TAIL_LINES, jobmanager_restart_limit: int = DEFAULT_RESTART_LIMIT,
                 unscheduled_timeout: float = DEFAULT_UNSCHEDULED_TIMEOUT,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 adopt_native_clusters: bool = False, dry_run: bool = False, web_ui_url_template: str | None = None,
                 keep_cluster: bool = False, upgrade_mode: str | None = None, savepoint_timeout: float = 600,
                 **kwargs: Any) -> None:
        spec_values = {name: kwargs.pop(name) for name in SPEC_FIELDS if name in kwargs}
        missing = [name for name in _REQUIRED if name not in spec_values]
        if missing:
            raise TypeError(f"FlinkApplicationOperator: missing required argument(s): {', '.join(missing)}")
        super().__init__(**kwargs)
        for name, value in {**_defaults(), "namespace": None, **spec_values}.items():
            setattr(self, name, value)
        self.launcher, self.if_exists = launcher, if_exists
        self.kubernetes_conn_id, self.zookeeper_conn_id = kubernetes_conn_id, zookeeper_conn_id
        self.flink_bin, self.cli_timeout, self.flink_conf_dir = flink_bin, cli_timeout, flink_conf_dir
        self.delete_timeout, self.adopt_native_clusters = delete_timeout, adopt_native_clusters
        self.wait_until, self.wait_timeout, self.wait_poll_interval = wait_until, wait_timeout, wait_poll_interval
        self.access_mode, self.deferrable, self.keep_cluster = access_mode, deferrable, keep_cluster
        self.upgrade_mode, self.savepoint_timeout = upgrade_mode, savepoint_timeout
        check_report_options(log_tail_lines, jobmanager_restart_limit)
        self.log_tail_lines, self.jobmanager_restart_limit = log_tail_lines, jobmanager_restart_limit
        self.unscheduled_timeout = check_unscheduled_timeout(unscheduled_timeout)
        self.is_dry_run = dry_run  # not ``dry_run``: that is BaseOperator's method (render the templated fields)
        self.web_ui_url_template = None if web_ui_url_template is None else check_web_ui_url_template(
            web_ui_url_template)
        self._created: tuple[str, str, str] | None = None  # namespace, cluster id, uid of what this try created
        self._launch_result: dict[str, Any] | None = None  # for the OpenLineage facet
        check_launch_arguments(self.launch_arguments(), self.template_fields)
        if dry_run:  # only then: DAG parsing of a real launch stays as cheap as before
            from airflow_flink_k8s.core.asset_metadata import check_dry_run_outlets

            check_dry_run_outlets(self.outlets)
        spec_values = {name: getattr(self, name) for name in SPEC_FIELDS}
        if not is_templated(spec_values):  # else the spec is checked once rendered, before any API call
            spec = self.build_spec(self.namespace or "default")  # type: ignore[attr-defined]
            self.check_wait(spec)
            if self.if_exists == "upgrade" and not is_templated(self.upgrade_mode):
                self.check_upgrade(spec)

    def launch_arguments(self) -> dict[str, Any]:
        """The arguments beside the spec that ``core.arguments.LAUNCH_RULES`` checks."""
        return {name: getattr(self, name) for name in LAUNCH_RULES}

    def check_wait(self, spec: FlinkApplicationSpec) -> None:
        """Raise ``FlinkSpecError`` when ``wait_until`` cannot be waited for with ``spec`` and these arguments."""
        if self.wait_until is None:
            return
        if spec.ha == "none":
            raise FlinkSpecError("wait_until", "needs ha='kubernetes' or 'zookeeper': readiness is read from "
                                 "Flink's HA leader data")
        self.readiness_check(spec, job_id=None)

    def check_upgrade(self, spec: FlinkApplicationSpec) -> None:
        """Raise ``FlinkSpecError`` when ``spec`` cannot be upgraded to with ``upgrade_mode``."""
        from airflow_flink_k8s.core.upgrade_plan import check_upgrade

        check_upgrade(spec, str(self.upgrade_mode))

    def build_spec(self, namespace: str) -> FlinkApplicationSpec:
        """The validated spec from the (rendered) arguments, in ``namespace`` (the ``namespace`` argument resolved
        against the connection); raises ``FlinkSpecError`` naming the field. ``wait_until="finished"`` keeps the
        cluster after its job ends (``core.job_result.keep_cluster_after_finish``)."""
        values = {**{name: getattr(self, name) for name in SPEC_FIELDS}, "namespace": namespace}
        if self.wait_until == _FINISHED:
            from airflow_flink_k8s.core.job_result import keep_cluster_after_finish

            values["flink_conf"] = keep_cluster_after_finish(values["flink_conf"] or {})
        return FlinkApplicationSpec.from_dict(values)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        """Render, then mask the credentials in ``flink_conf``: the task runner sends the rendered fields to the
        API server right after this, before ``execute``."""
        super().render_template_fields(context, jinja_env)
        self.mask_sensitive_conf()

    def mask_sensitive_conf(self) -> None:
        """Register the values of ``flink_conf``'s credential keys (``sensitive_keys``) with Airflow's masker, so
        task logs, rendered fields and error text show ``***`` instead."""
        from airflow.sdk.log import mask_secret

        from airflow_flink_k8s.core.sensitive_keys import values_to_mask

        conf = getattr(self, "flink_conf", None)  # a spec field, set in __init__ (and rendered)
        if isinstance(conf, Mapping):
            for value in values_to_mask(conf, airflow_sensitive_fields()):
                mask_secret(value)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_flink_k8s.core.launch_plan import RunIdentity
        from airflow_flink_k8s.flows.launch import LaunchSettings
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, resolve_namespace

        self.mask_sensitive_conf()
        check_launch_arguments(self.launch_arguments())  # rendered now: every argument, before any API call
        namespace = getattr(self, "namespace")  # noqa: B009 - a spec field, set in __init__ (and rendered)
        spec = self.build_spec((namespace or "default") if self.is_dry_run else resolve_namespace(
            namespace, self.kubernetes_conn_id))
        self.check_wait(spec)
        if self.if_exists == "upgrade":
            self.check_upgrade(spec)
        settings = LaunchSettings(
            if_exists=self.if_exists, launcher=self.launcher, delete_timeout=self.delete_timeout,
            zookeeper_conn_id=self.zookeeper_conn_id, flink_bin=self.flink_bin, cli_timeout=self.cli_timeout,
            flink_conf_dir=self.flink_conf_dir, jobmanager_restart_limit=self.jobmanager_restart_limit,
            sensitive_fields=airflow_sensitive_fields() if self.launcher == "cli" else frozenset(),
            adopt_native_clusters=self.adopt_native_clusters, web_ui_url_template=self.web_ui_url_template)
        run = RunIdentity(self.dag_id, self.task_id, context["run_id"], int(context["ti"].try_number))
        if self.is_dry_run:
            from airflow_flink_k8s.core.asset_metadata import check_dry_run_outlets

            check_dry_run_outlets(self.outlets)  # outlets may have been added since (``task >> asset``)
            return self._dry_run(spec, run, namespace_given=bool(namespace))
        launched = self._launch_or_upgrade(context, FlinkKubernetesHook(self.kubernetes_conn_id), spec, run, settings)
        if launched.created_uid is not None:
            self._created = (spec.namespace, spec.cluster_id, launched.created_uid)
        result = self._launch_result = launched.xcom
        context["ti"].xcom_push(key=FlinkWebUILink.XCOM_KEY, value=result["web_ui_url"])
        if self.wait_until is None:
            return self._emitted(context, result)
        return self._wait(context, launched.spec, result)

    def _launch_or_upgrade(self, context: Context, k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec,
                           run: RunIdentity, settings: LaunchSettings) -> LaunchResult:
        """``flows.launch``, or ``flows.upgrade`` for ``if_exists="upgrade"``: a relaunch that fails after the old
        cluster's state was taken pushes XCom ``upgrade`` (``savepoint_path``, ``pending``) before failing."""
        from airflow_flink_k8s.core.errors import UpgradeRelaunchError
        from airflow_flink_k8s.flows.launch import launch
        from airflow_flink_k8s.flows.upgrade import UpgradeSettings, upgrade

        if self.if_exists != "upgrade":
            return launch(k8s, spec, run, settings, self.log)
        try:
            return upgrade(k8s, spec, run, settings, UpgradeSettings(str(self.upgrade_mode), self.savepoint_timeout),
                           self.log)
        except UpgradeRelaunchError as error:
            context["ti"].xcom_push(key=UPGRADE_XCOM_KEY, value={
                "mode": self.upgrade_mode, "savepoint_path": error.savepoint_path, "pending": True})
            raise

    def _dry_run(self, spec: FlinkApplicationSpec, run: RunIdentity, *, namespace_given: bool) -> dict[str, Any]:
        """Log and return what launching ``spec`` would create and run; nothing is created."""
        import secrets

        from airflow_flink_k8s.core.dry_run import render_launch
        from airflow_flink_k8s.core.job_id import NONCE_BYTES

        preview = render_launch(spec, self.launcher, run=run, nonce=secrets.token_bytes(NONCE_BYTES),
                                flink_bin=self.flink_bin, sensitive_fields=airflow_sensitive_fields(),
                                namespace_given=namespace_given)
        self.log.info("dry run of Flink cluster %s/%s:\n%s", spec.namespace, spec.cluster_id, preview.to_text())
        return preview.to_dict()

    def readiness_check(self, spec: FlinkApplicationSpec, job_id: str | None) -> ReadinessCheck:
        """What ``wait_until`` checks for ``spec``'s cluster and ``job_id``."""
        from airflow_flink_k8s.core.readiness_check import ReadinessCheck

        return ReadinessCheck(
            cluster_id=spec.cluster_id, namespace=spec.namespace, ha=spec.ha, flink_version=str(spec.version),
            target=str(self.wait_until), job_id=job_id, access_mode=self.access_mode,
            kubernetes_conn_id=self.kubernetes_conn_id,
            zookeeper_conn_id=self.zookeeper_conn_id if spec.ha == "zookeeper" else None,
            zookeeper_quorum=spec.zookeeper_quorum if spec.ha == "zookeeper" and not self.zookeeper_conn_id
            else None, zookeeper_root=spec.zookeeper_root, log_tail_lines=self.log_tail_lines,
            jobmanager_restart_limit=self.jobmanager_restart_limit, unscheduled_timeout=self.unscheduled_timeout)

    def _wait(self, context: Context, spec: FlinkApplicationSpec, result: dict[str, Any]) -> dict[str, Any]:
        """Wait for ``wait_until`` (:mod:`airflow_flink_k8s.flows.wait`): deferred to the sensor's trigger, or the
        same async wait driven in this process."""
        import asyncio
        import time
        from dataclasses import asdict
        from datetime import timedelta

        from airflow_flink_k8s.flows.wait import wait

        check = self.readiness_check(spec, result["job_id"])
        end_time = time.time() + self.wait_timeout
        context["ti"].xcom_push(key=LAUNCH_XCOM_KEY, value=result)
        if self.deferrable:
            from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger

            trigger = FlinkJobManagerReadyTrigger(**asdict(check), poll_interval=self.wait_poll_interval,
                                                  end_time=end_time,
                                                  created_uid=None if self._created is None else self._created[2])
            self.defer(trigger=trigger, method_name="execute_complete",
                       timeout=timedelta(seconds=self.wait_timeout + 60))
        outcome = asyncio.run(wait(check, poll_interval=self.wait_poll_interval, end_time=end_time, log=self.log))
        return self.execute_complete(context, outcome.event())

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """After the wait: the launch result plus the readiness details, or the failure Flink reported."""
        from airflow_flink_k8s.sensors import readiness_from_event

        launch = self._launch_result = context["ti"].xcom_pull(task_ids=self.task_id, key=LAUNCH_XCOM_KEY)
        if self.wait_until == _FINISHED:
            return self._emitted(context, self._finished(launch, event))
        ready = readiness_from_event(event, launch["cluster_id"])
        self.log.info("Flink cluster %s reached %s: %s", launch["cluster_id"], self.wait_until, event.get("message"))
        return self._emitted(context, {**launch, "ready": ready})

    def _emitted(self, context: Context, result: dict[str, Any]) -> dict[str, Any]:
        """``result``, its Asset event metadata set on the task's outlets (``core.asset_metadata``)."""
        from airflow_flink_k8s.assets import attach_event_extra
        from airflow_flink_k8s.core.asset_metadata import launch_extra

        attach_event_extra(self, context, lambda: launch_extra(result, self.wait_until))
        return result

    def _finished(self, launch: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """A bounded job ended (or the wait gave up): delete the cluster once the job is globally terminal (unless
        ``keep_cluster``), then return its result or fail with the report the wait built. A timeout or an error
        leaves the cluster: its job may still run, and a retry reattaches to it."""
        from datetime import UTC, datetime

        from airflow_flink_k8s.sensors import readiness_from_event

        detected = datetime.now(UTC).isoformat()
        ended = event.get("status") in ("success", "failed")
        torn_down: dict[str, Any] | None = None
        if ended and not self.keep_cluster:
            try:
                torn_down = self._teardown(launch)
            except Exception:
                if event.get("status") == "success":
                    raise
                self.log.exception("Deleting Flink cluster %s after its job failed", launch["cluster_id"])
        elif ended:
            self.log.info("keep_cluster: Flink cluster %s/%s and its HA data are kept", launch["namespace"],
                          launch["cluster_id"])
        ready = readiness_from_event(event, launch["cluster_id"])  # raises for a failed job, with the report
        self.log.info("Flink cluster %s: %s", launch["cluster_id"], event.get("message"))
        return {**launch, "ready": ready, "result": ready.get("result"), "finish_detected_at": detected,
                "teardown": torn_down}

    def _teardown(self, launch: dict[str, Any]) -> dict[str, Any]:
        """Delete the launched cluster and its HA data (``flows.teardown``: only a cluster this provider launched)."""
        from airflow_flink_k8s.flows.ha_state import HaLocation
        from airflow_flink_k8s.flows.teardown import teardown
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        ha = getattr(self, "ha")  # noqa: B009 - spec fields, set in __init__ (and rendered)
        zookeeper = ha == "zookeeper"
        where = HaLocation(ha, launch["cluster_id"], launch["namespace"],
                           self.zookeeper_conn_id if zookeeper else None,
                           getattr(self, "zookeeper_quorum") if zookeeper else None,  # noqa: B009
                           getattr(self, "zookeeper_root"), launch["flink_version"])  # noqa: B009
        return teardown(FlinkKubernetesHook(self.kubernetes_conn_id), where, keep_ha_data=False,
                        delete_timeout=self.delete_timeout, savepoint=None, log=self.log)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Called by Airflow's OpenLineage provider: the Flink job this task launched or reattached, as a run facet
        of the task's COMPLETE event (:mod:`airflow_flink_k8s.core.lineage_facet`)."""
        from airflow_flink_k8s.lineage import launch_lineage

        return launch_lineage(self._launch_result)

    def on_kill(self) -> None:
        """Delete the cluster this try created (its owned objects cascade), unless another launch has replaced it
        since (``delete_created_cluster``)."""
        if self._created is None:
            return
        from airflow_flink_k8s.flows.cluster_deletion import delete_created_cluster
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        delete_created_cluster(FlinkKubernetesHook(self.kubernetes_conn_id), *self._created, log=self.log)


class FlinkApplicationTeardownOperator(BaseOperator):
    """Delete a Flink application cluster: the Deployment (its Services, ConfigMaps and pods cascade), wait until
    gone, then its HA data unless ``keep_ha_data`` (to resume later with ``restore="latest"``).

    :param namespace: the cluster's namespace; default: the connection's ``namespace`` extra, else ``default``.
    :param ha: ``kubernetes``, ``zookeeper`` or ``none``: where the HA data to delete lives.
    :param zookeeper_conn_id: / ``zookeeper_quorum`` / ``zookeeper_root``: ZooKeeper HA location.
    :param savepoint: stop the job with a savepoint first (``POST /jobs/<id>/stop`` through the API server's
        service proxy) into ``savepoint_dir``, or the cluster's own savepoint dir when None; ``drain`` as Flink's
        ``--drain``; ``job_id`` defaults to the one the launch recorded on the Deployment. A failed savepoint fails
        the task before anything is deleted.
    :param adopt_native_clusters: also tear down a native Flink cluster this provider did not launch (no other
        controller may own it); otherwise only clusters it launched, and anything else fails the task naming it.
    :param remove_orphaned_ha_data: when no Deployment ``<cluster-id>`` exists, still remove the HA data left under
        the cluster id (by default it is kept: nothing shows it is this cluster's rather than another's).

    With ZooKeeper HA, only a subtree ``<zookeeper_root>/<cluster-id>`` holding Flink's nodes and no live leader of
    another cluster is deleted; ``zookeeper_root`` must not be ``/``, and one root per namespace
    (``/flink/<namespace>``) keeps clusters with the same id in two namespaces apart.
    """

    template_fields: Sequence[str] = ("cluster_id", "namespace", "ha", "zookeeper_quorum", "zookeeper_root", "job_id",
                                      "savepoint_dir", "kubernetes_conn_id", "zookeeper_conn_id")

    def __init__(self, *, cluster_id: str, namespace: str | None = None, ha: str = "kubernetes",
                 keep_ha_data: bool = False, kubernetes_conn_id: str = "kubernetes_default",
                 zookeeper_conn_id: str | None = None, zookeeper_quorum: str | None = None,
                 zookeeper_root: str = "/flink", delete_timeout: float = 300, savepoint: bool = False,
                 savepoint_dir: str | None = None, drain: bool = False, job_id: str | None = None,
                 savepoint_timeout: float = 600, adopt_native_clusters: bool = False,
                 remove_orphaned_ha_data: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.adopt_native_clusters, self.remove_orphaned_ha_data = adopt_native_clusters, remove_orphaned_ha_data
        self.savepoint, self.savepoint_dir, self.drain, self.job_id = savepoint, savepoint_dir, drain, job_id
        self.savepoint_timeout = savepoint_timeout
        self.cluster_id, self.namespace, self.ha, self.keep_ha_data = cluster_id, namespace, ha, keep_ha_data
        self.kubernetes_conn_id, self.zookeeper_conn_id = kubernetes_conn_id, zookeeper_conn_id
        self.zookeeper_quorum, self.zookeeper_root = zookeeper_quorum, zookeeper_root
        self.delete_timeout = delete_timeout
        check_teardown_arguments(self.teardown_arguments(), self.template_fields)  # the rest once rendered

    def teardown_arguments(self) -> dict[str, Any]:
        """The arguments ``core.arguments.TEARDOWN_RULES`` checks."""
        return {name: getattr(self, name) for name in TEARDOWN_RULES}

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_flink_k8s.assets import attach_event_extra
        from airflow_flink_k8s.core.asset_metadata import teardown_extra
        from airflow_flink_k8s.flows.ha_state import HaLocation
        from airflow_flink_k8s.flows.teardown import SavepointRequest, teardown
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, resolve_namespace

        check_teardown_arguments(self.teardown_arguments())  # rendered now: every argument, before any API call
        namespace = resolve_namespace(self.namespace, self.kubernetes_conn_id)
        where = HaLocation(self.ha, self.cluster_id, namespace, self.zookeeper_conn_id, self.zookeeper_quorum,
                           self.zookeeper_root)
        savepoint = SavepointRequest(self.savepoint_dir, self.drain, self.job_id, self.savepoint_timeout) \
            if self.savepoint else None
        result = teardown(FlinkKubernetesHook(self.kubernetes_conn_id), where, keep_ha_data=self.keep_ha_data,
                          delete_timeout=self.delete_timeout, savepoint=savepoint, log=self.log,
                          adopt_native_clusters=self.adopt_native_clusters,
                          remove_orphaned_ha_data=self.remove_orphaned_ha_data)
        attach_event_extra(self, context, lambda: teardown_extra(result))
        return result
