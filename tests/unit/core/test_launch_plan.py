"""What a launch does about an existing cluster (``core/launch_plan.py``), for every ``if_exists`` and every state
the Deployment ``<cluster-id>`` can be found in, and after losing a race for the cluster id.

Existing Deployments are built as an earlier launch marks them (``launch_annotations``); expected actions, job ids
and the names in error messages are written out here.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s.core.errors import ClusterExistsError, FlinkSpecError, NotOwnedError
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
from airflow_flink_k8s.core.launch_plan import (
    Action,
    RunIdentity,
    check_if_exists,
    decide,
    decide_after_lost_race,
    launch_annotations,
    launch_finished,
    launched_by_run,
    spec_fingerprint,
)
from airflow_flink_k8s.core.names import selector_labels
from airflow_flink_k8s.core.ownership import Origin, check_manageable
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.unit.core.test_failure_classification import recorded, with_status

JOB_ID = "0123456789abcdef0123456789abcdef"
OTHER_JOB_ID = "fedcba9876543210fedcba9876543210"
THIS_TRY = RunIdentity("etl", "launch", "scheduled__2026-03-05", 2)
EARLIER_TRY = RunIdentity("etl", "launch", "scheduled__2026-03-05", 1)
OTHER_RUN = RunIdentity("etl", "launch", "manual__2026-03-06", 1)
OTHER_DAG = RunIdentity("billing", "start_flink", "scheduled__2026-03-05", 1)
WHERE = "Flink cluster 'orders' in namespace 'flink'"


def make_spec(**overrides: Any) -> FlinkApplicationSpec:
    values: dict[str, Any] = {"cluster_id": "orders", "namespace": "flink", "flink_version": "2.3.0",
                              "image": "registry.example/flink:job-1", "jar_uri": "local:///opt/flink/usrlib/job.jar",
                              "parallelism": 2}
    return FlinkApplicationSpec(**{**values, **overrides})


SPEC = make_spec()
CHANGED = make_spec(parallelism=4)


def deployment(launched_with: FlinkApplicationSpec | None, by: RunIdentity | None = None, job_id: str = JOB_ID,
               *, deleting: bool = False) -> dict[str, Any]:
    """The Deployment ``orders`` as the API returns it (with the JobManager labels Flink's client gives it);
    ``launched_with=None``: a native Flink cluster not launched by this provider."""
    metadata: dict[str, Any] = {"name": "orders", "namespace": "flink", "uid": "5f0c1a2e-0000-4000-8000-000000000001",
                                "labels": selector_labels("orders")}
    if launched_with is not None and by is not None:
        metadata["annotations"] = launch_annotations(launched_with, by, job_id)
    if deleting:
        metadata["deletionTimestamp"] = "2026-03-05T10:00:00Z"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata}


# ------------------------------------------------------------------------------------------------------ decide
@pytest.mark.parametrize("if_exists", ["fail", "reuse", "replace"])
def test_no_cluster_is_created(if_exists: str) -> None:
    assert decide(SPEC, THIS_TRY, None, if_exists).action is Action.CREATE


@pytest.mark.parametrize("if_exists", ["fail", "reuse", "replace"])
def test_a_retry_of_the_same_run_reattaches_to_its_own_cluster_whatever_if_exists_says(if_exists: str) -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, EARLIER_TRY), if_exists)
    assert (decision.action, decision.job_id) == (Action.REATTACH, JOB_ID)
    assert WHERE in decision.reason and "etl.launch run scheduled__2026-03-05" in decision.reason


@pytest.mark.parametrize("if_exists", ["fail", "reuse", "replace"])
@pytest.mark.parametrize("restore", ["none", "latest"])
def test_a_retry_replaces_its_own_cluster_whose_jobmanager_crash_loops(if_exists: str, restore: str) -> None:
    launched = make_spec(restore=restore, ha="kubernetes", ha_storage_dir="s3://ha")
    decision = decide(launched, THIS_TRY, deployment(launched, EARLIER_TRY), if_exists,
                      jobmanager_pods=[recorded("crashloop-waiting")], restart_limit=3)
    assert decision.action is Action.REPLACE and decision.job_id is None
    assert WHERE in decision.reason and "was launched by an earlier try of this task" in decision.reason
    assert "JobManager pod crashloop-ab9c21fa-0a4f8 is in CrashLoopBackOff after" in decision.reason
    assert ("resumed from its latest checkpoint" if restore == "latest" else "launched afresh") in decision.reason


def test_a_retry_replaces_its_own_cluster_whose_image_cannot_be_pulled() -> None:
    pull = with_status("running", state={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}})
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, EARLIER_TRY), "fail", jobmanager_pods=[pull])
    assert decision.action is Action.REPLACE and "ImagePullBackOff" in decision.reason


@pytest.mark.parametrize("pods", [[], ["running"], ["crashloop-running"], ["crashloop-waiting", "running"]],
                         ids=["no-pod-yet", "healthy", "restarting", "a-healthy-standby"])
def test_a_retry_reattaches_while_its_jobmanager_may_still_come_up(pods: list[str]) -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, EARLIER_TRY), "fail",
                      jobmanager_pods=[recorded(name) for name in pods], restart_limit=1)
    assert (decision.action, decision.job_id) == (Action.REATTACH, JOB_ID)


def test_a_crash_loop_below_the_restart_limit_is_reattached() -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, EARLIER_TRY), "fail",
                      jobmanager_pods=[recorded("crashloop-waiting")], restart_limit=100)
    assert decision.action is Action.REATTACH


def test_another_runs_crash_looping_cluster_is_not_replaced_by_reuse() -> None:
    """Only a retry of the run that launched it replaces a broken cluster; ``reuse`` never deletes."""
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN), "reuse",
                      jobmanager_pods=[recorded("crashloop-waiting")], restart_limit=1)
    assert decision.action is Action.REATTACH


def test_launched_by_run_is_true_only_for_this_dag_runs_task() -> None:
    assert launched_by_run(deployment(SPEC, EARLIER_TRY), THIS_TRY)
    assert not launched_by_run(deployment(SPEC, OTHER_RUN), THIS_TRY)
    assert not launched_by_run(deployment(None), THIS_TRY)
    assert not launched_by_run(None, THIS_TRY)


def test_another_run_with_the_same_spec_fails_by_default_naming_cluster_and_owner() -> None:
    with pytest.raises(ClusterExistsError) as refused:
        decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_DAG), "fail")
    message = str(refused.value)
    assert WHERE in message
    assert "launched by billing.start_flink run scheduled__2026-03-05" in message
    assert "if_exists='reuse'" in message and "if_exists='replace'" in message


def test_another_run_with_the_same_spec_is_reused_with_its_job_id() -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN, OTHER_JOB_ID), "reuse")
    assert (decision.action, decision.job_id) == (Action.REATTACH, OTHER_JOB_ID)


def test_another_run_with_the_same_spec_is_replaced_when_asked() -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN), "replace")
    assert (decision.action, decision.job_id) == (Action.REPLACE, None)
    assert "replacing" in decision.reason and "etl.launch run manual__2026-03-06" in decision.reason


def test_another_run_with_a_different_spec_fails_fail() -> None:
    with pytest.raises(ClusterExistsError, match="already exists"):
        decide(SPEC, THIS_TRY, deployment(CHANGED, OTHER_RUN), "fail")


def test_another_run_with_a_different_spec_is_not_reused() -> None:
    with pytest.raises(ClusterExistsError) as refused:
        decide(SPEC, THIS_TRY, deployment(CHANGED, OTHER_RUN), "reuse")
    message = str(refused.value)
    assert WHERE in message and "runs a different spec" in message
    assert "if_exists='replace'" in message, "the message says how to get past it"


def test_another_run_with_a_different_spec_is_replaced() -> None:
    assert decide(SPEC, THIS_TRY, deployment(CHANGED, OTHER_RUN), "replace").action is Action.REPLACE


@pytest.mark.parametrize(("if_exists", "action"), [("fail", Action.REPLACE), ("reuse", Action.REPLACE),
                                                   ("replace", Action.REPLACE)])
def test_this_tasks_own_half_created_cluster_is_replaced(if_exists: str, action: Action) -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, EARLIER_TRY), if_exists, finished=False)
    assert decision.action is action
    assert "half-created by an earlier try of this task" in decision.reason


@pytest.mark.parametrize("if_exists", ["reuse", "replace"])
def test_another_runs_unfinished_launch_is_awaited(if_exists: str) -> None:
    decision = decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN), if_exists, finished=False)
    assert decision.action is Action.AWAIT
    assert "still being launched" in decision.reason and "etl.launch run manual__2026-03-06" in decision.reason


def test_another_runs_unfinished_launch_fails_fail_at_once() -> None:
    with pytest.raises(ClusterExistsError, match="already exists"):
        decide(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN), "fail", finished=False)


def test_a_cluster_being_deleted_is_never_reattached() -> None:
    being_deleted = deployment(SPEC, OTHER_RUN, deleting=True)
    with pytest.raises(ClusterExistsError, match="is being deleted"):
        decide(SPEC, THIS_TRY, being_deleted, "reuse")
    assert decide(SPEC, THIS_TRY, being_deleted, "replace").action is Action.REPLACE
    own_being_deleted = deployment(SPEC, EARLIER_TRY, deleting=True)
    with pytest.raises(ClusterExistsError):
        decide(SPEC, THIS_TRY, own_being_deleted, "fail")
    # An unfinished launch that is being deleted is not awaited: it will not finish.
    assert decide(SPEC, THIS_TRY, being_deleted, "replace", finished=False).action is Action.REPLACE


def test_a_retry_whose_spec_changed_is_not_reattached() -> None:
    with pytest.raises(ClusterExistsError):
        decide(CHANGED, THIS_TRY, deployment(SPEC, EARLIER_TRY), "fail")
    assert decide(CHANGED, THIS_TRY, deployment(SPEC, EARLIER_TRY), "replace").action is Action.REPLACE


def test_a_native_cluster_this_provider_did_not_launch_is_replaced_only_when_adoption_is_asked_for() -> None:
    native = deployment(None)
    with pytest.raises(ClusterExistsError, match="not launched by this provider"):
        decide(SPEC, THIS_TRY, native, "fail")
    for if_exists in ("reuse", "replace"):
        with pytest.raises(NotOwnedError, match=rf"^if_exists='{if_exists}' refused for Flink cluster 'orders': found "
                           r"Deployment flink/orders \(labels app=orders, component=jobmanager, "
                           r"type=flink-native-kubernetes; owners none\), which is a native Flink cluster not launched "
                           r"by airflow-flink-k8s: .*set adopt_native_clusters=True"):
            decide(SPEC, THIS_TRY, native, if_exists)
    assert decide(SPEC, THIS_TRY, native, "replace", adopt_native_clusters=True).action is Action.REPLACE
    with pytest.raises(ClusterExistsError, match="runs a different spec"):
        decide(SPEC, THIS_TRY, native, "reuse", adopt_native_clusters=True)


def _controlled_by(existing: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    existing["metadata"]["ownerReferences"] = [{"apiVersion": "flink.apache.org/v1beta1", "kind": kind,
                                                "name": name, "uid": "0b5e", "controller": True}]
    return existing


@pytest.mark.parametrize("launched_with", [None, SPEC], ids=["native", "annotated"])
def test_a_cluster_another_controller_owns_is_never_replaced_or_reused(launched_with: Any) -> None:
    existing = _controlled_by(deployment(launched_with, OTHER_RUN), "FlinkDeployment", "orders")
    for if_exists in ("reuse", "replace"):
        with pytest.raises(NotOwnedError, match=r"controller FlinkDeployment orders\), which is not a Flink cluster "
                                                r"this provider may manage: another controller owns it"):
            decide(SPEC, THIS_TRY, existing, if_exists, adopt_native_clusters=True)


def test_a_controller_the_launch_itself_set_keeps_the_cluster_this_providers() -> None:
    """``kubernetes.jobmanager.owner.reference`` with ``controller:true``: the rendered Deployment carries the
    user's controller, and replace, reuse and a teardown still recognise the cluster as launched here; a controller
    added by someone else still makes it foreign."""
    owner = "apiVersion:example.com/v1,kind:Pipeline,name:etl,uid:0b5e,controller:true"
    owned = make_spec(flink_conf={"kubernetes.jobmanager.owner.reference": owner})
    existing = render_kubernetes_objects(owned)[0]
    existing["metadata"].update(namespace="flink", uid="5f0c", annotations=launch_annotations(owned, OTHER_RUN,
                                                                                                JOB_ID))
    assert existing["metadata"]["ownerReferences"][0]["controller"] is True
    assert decide(owned, THIS_TRY, existing, "replace").action is Action.REPLACE
    assert decide(owned, THIS_TRY, existing, "reuse").action is Action.REATTACH
    assert check_manageable(existing, "orders", adopt_native_clusters=False, action="teardown") is Origin.PROVIDER
    existing["metadata"]["ownerReferences"][0]["uid"] = "another"
    with pytest.raises(NotOwnedError, match="another controller owns it"):
        decide(owned, THIS_TRY, existing, "replace")


def test_a_deployment_that_is_not_a_flink_cluster_is_never_replaced() -> None:
    nginx = {"kind": "Deployment", "metadata": {"name": "orders", "namespace": "flink", "uid": "u1",
                                                "labels": {"app": "orders"}}}
    with pytest.raises(NotOwnedError, match=r"found Deployment flink/orders \(labels app=orders; owners none\), "
                                            r"which is not a Flink cluster this provider may manage: it is not a "
                                            r"native Flink JobManager Deployment"):
        decide(SPEC, THIS_TRY, nginx, "replace", adopt_native_clusters=True)


@pytest.mark.parametrize("if_exists", ["reuse", "replace"])
def test_a_lost_race_against_an_object_this_provider_did_not_launch_names_it(if_exists: str) -> None:
    with pytest.raises(NotOwnedError, match=r"taken by Deployment flink/orders \(labels app=orders, "
                                            r"component=jobmanager, type=flink-native-kubernetes; controller "
                                            r"FlinkDeployment orders\)"):
        decide_after_lost_race(SPEC, THIS_TRY, _controlled_by(deployment(None), "FlinkDeployment", "orders"),
                               if_exists)


def test_an_unreadable_run_annotation_counts_as_another_owner() -> None:
    existing = deployment(SPEC, THIS_TRY)
    existing["metadata"]["annotations"]["airflow-flink-k8s.apache.org/run"] = "not json"
    with pytest.raises(ClusterExistsError, match="not launched by this provider"):
        decide(SPEC, THIS_TRY, existing, "fail")


@pytest.mark.parametrize("bad", ["FAIL", "ignore", ""])
def test_decide_refuses_an_unknown_if_exists_before_looking(bad: str) -> None:
    with pytest.raises(FlinkSpecError, match=r"^if_exists: must be one of fail, reuse, replace, got "):
        decide(SPEC, THIS_TRY, None, bad)


# ------------------------------------------------------------------------------------------ decide_after_lost_race
def winner_config(spec: FlinkApplicationSpec) -> dict[str, Any]:
    """The ``flink-config-orders`` ConfigMap the winning launch wrote."""
    [config] = [o for o in render_kubernetes_objects(spec) if o["metadata"]["name"] == "flink-config-orders"]
    return config


@pytest.mark.parametrize("if_exists", ["fail", "reuse", "replace"])
def test_a_winner_that_failed_and_removed_the_cluster_leaves_nothing_to_reattach(if_exists: str) -> None:
    with pytest.raises(ClusterExistsError, match=r"nothing to reattach to\. Retry the task"):
        decide_after_lost_race(SPEC, THIS_TRY, None, if_exists)


def test_fail_fails_the_loser_naming_the_winner() -> None:
    with pytest.raises(ClusterExistsError) as refused:
        decide_after_lost_race(SPEC, THIS_TRY, deployment(SPEC, OTHER_DAG), "fail")
    message = str(refused.value)
    assert WHERE in message and "launched concurrently" in message
    assert "billing.start_flink run scheduled__2026-03-05" in message


@pytest.mark.parametrize("if_exists", ["reuse", "replace"])
def test_reuse_and_replace_reattach_to_a_winner_with_the_same_spec(if_exists: str) -> None:
    decision = decide_after_lost_race(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN, OTHER_JOB_ID), if_exists)
    assert (decision.action, decision.job_id) == (Action.REATTACH, OTHER_JOB_ID)
    assert "reattaching" in decision.reason


@pytest.mark.parametrize("if_exists", ["reuse", "replace"])
def test_a_winner_with_another_spec_is_left_running_and_the_differing_options_are_named(if_exists: str) -> None:
    winner = make_spec(parallelism=4, flink_conf={"s3.secret-key": "hunter2-secret"})
    mine = make_spec(flink_conf={"s3.secret-key": "other-secret"})
    with pytest.raises(ClusterExistsError) as refused:
        decide_after_lost_race(mine, THIS_TRY, deployment(winner, OTHER_RUN), if_exists, winner_config(winner))
    message = str(refused.value)
    assert "Flink options that differ: parallelism.default, s3.secret-key." in message
    assert "hunter2" not in message and "other-secret" not in message, "values may be credentials"
    assert "leaves that cluster running" in message


def test_the_per_launch_job_id_and_restore_path_are_not_differences() -> None:
    winner = make_spec(job_id=OTHER_JOB_ID, parallelism=4)
    mine = make_spec(job_id=JOB_ID, restore="s3://bucket/savepoints/orders/savepoint-1")
    with pytest.raises(ClusterExistsError, match=r"Flink options that differ: parallelism\.default\."):
        decide_after_lost_race(mine, THIS_TRY, deployment(winner, OTHER_RUN), "reuse", winner_config(winner))


def test_without_the_winners_configuration_the_message_says_where_it_looked() -> None:
    with pytest.raises(ClusterExistsError, match="Flink options that differ: none readable in flink-config-orders"):
        decide_after_lost_race(SPEC, THIS_TRY, deployment(CHANGED, OTHER_RUN), "replace")


def test_a_winner_being_deleted_is_not_reattached() -> None:
    with pytest.raises(ClusterExistsError, match="with a different spec"):
        decide_after_lost_race(SPEC, THIS_TRY, deployment(SPEC, OTHER_RUN, deleting=True), "reuse")


# ------------------------------------------------------------------------------------------------ launch_finished
def config_with(job_id: str | None) -> dict[str, Any]:
    annotations = {} if job_id is None else {"airflow-flink-k8s.apache.org/job-id": job_id}
    return {"kind": "ConfigMap", "metadata": {"name": "flink-config-orders", "annotations": annotations}}


@pytest.mark.parametrize(
    ("config", "locked", "finished"),
    [
        (config_with(JOB_ID), False, True),  # the last object of the launch carries its job id
        (config_with(JOB_ID), True, False),  # the launch lock is still held
        (None, False, False),  # the configuration ConfigMap is not written yet
        (config_with(None), False, False),
        (config_with(OTHER_JOB_ID), False, False),  # left over from another launch
    ],
    ids=["complete", "locked", "no-config", "config-without-job-id", "config-of-another-launch"],
)
def test_a_launch_finished_when_its_configuration_carries_its_job_id_and_no_lock_is_held(
    config: dict[str, Any] | None, locked: bool, finished: bool
) -> None:
    assert launch_finished(deployment(SPEC, OTHER_RUN, JOB_ID), config, locked) is finished


def test_a_cluster_not_launched_by_this_provider_is_finished_unless_locked() -> None:
    assert launch_finished(deployment(None), None, locked=False) is True
    assert launch_finished(deployment(None), None, locked=True) is False


# ------------------------------------------------------------------------------------------------ spec_fingerprint
def test_the_fingerprint_is_16_hex_digits_and_stable_for_equal_specs() -> None:
    first = spec_fingerprint(make_spec(flink_conf={"a.b": "1", "c.d": "2"}))
    again = spec_fingerprint(make_spec(flink_conf={"c.d": "2", "a.b": "1"}))
    assert first == again
    assert len(first) == 16 and int(first, 16) >= 0


def test_the_fingerprint_ignores_what_changes_per_launch_of_the_same_application() -> None:
    assert spec_fingerprint(make_spec(job_id=JOB_ID)) == spec_fingerprint(make_spec(job_id=OTHER_JOB_ID))
    assert spec_fingerprint(make_spec(restore="s3://b/sp-1")) == spec_fingerprint(make_spec(restore="none"))


@pytest.mark.parametrize(
    "change",
    [{"parallelism": 3}, {"image": "registry.example/flink:job-2"}, {"flink_version": "1.20.3"},
     {"namespace": "other"}, {"flink_conf": {"pipeline.name": "x"}}, {"program_args": ["--day", "2026-03-05"]},
     {"jar_uri": "local:///opt/flink/usrlib/other.jar"}],
    ids=lambda change: next(iter(change)),
)
def test_the_fingerprint_changes_with_anything_that_makes_another_application(change: dict[str, Any]) -> None:
    assert spec_fingerprint(make_spec(**change)) != spec_fingerprint(SPEC)


def test_a_field_added_later_changes_the_fingerprint_only_when_set() -> None:
    """The fingerprints the provider wrote before ``jobmanager_pod_template`` and ``logging_files`` existed
    (commit 3dde271), for tests.spec_support's specs: a cluster launched then is still the same spec to
    ``if_exists='reuse'``."""
    from tests.spec_support import JM_POD_TEMPLATE, full_spec, minimal_spec

    assert spec_fingerprint(minimal_spec("2.3.0")) == "28231f5d5278c0ba"
    assert spec_fingerprint(full_spec("1.20.3")) == "188709939fa5135f"
    with_template = minimal_spec("2.3.0", jobmanager_pod_template=JM_POD_TEMPLATE)
    assert spec_fingerprint(with_template) != "28231f5d5278c0ba"
    with_logging = minimal_spec("2.3.0", logging_files={"log4j-console.properties": "rootLogger.level = INFO\n"})
    assert spec_fingerprint(with_logging) != "28231f5d5278c0ba"
    with_default_template = minimal_spec("2.3.0", pod_template={"kind": "Pod"})  # pod_template (issue 12)
    assert spec_fingerprint(with_default_template) != "28231f5d5278c0ba"


# ------------------------------------------------------------------------------------------------ check_if_exists
@pytest.mark.parametrize("value", ["fail", "reuse", "replace", "upgrade"])
def test_the_four_if_exists_values_are_accepted(value: str) -> None:
    assert check_if_exists(value) == value


def test_another_if_exists_value_is_refused_naming_the_field_and_the_choices() -> None:
    with pytest.raises(FlinkSpecError) as refused:
        check_if_exists("overwrite")
    assert refused.value.field == "if_exists"
    assert str(refused.value) == "if_exists: must be one of fail, reuse, replace, upgrade, got 'overwrite'"
