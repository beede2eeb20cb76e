"""What ``if_exists="upgrade"`` does (``core/upgrade_plan.py``) for every state the Deployment and the upgrade record
can be found in, the record's round trip through its ConfigMap, and which specs each ``upgrade_mode`` accepts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import ClusterExistsError, FlinkSpecError, NotOwnedError
from airflow_flink_k8s.core.upgrade_plan import (
    UpgradeAction,
    UpgradeRecord,
    check_upgrade,
    decide_upgrade,
    parse_record,
    record_object,
    relaunch_spec,
    savepoint_uri,
)
from tests.unit.core.test_launch_plan import CHANGED, EARLIER_TRY, JOB_ID, OTHER_JOB_ID, SPEC, deployment, make_spec

OLD_UID = "5f0c1a2e-0000-4000-8000-000000000001"
NEW_UID = "5f0c1a2e-0000-4000-8000-000000000002"
SAVEPOINT = "s3://bucket/savepoints/orders/savepoint-012345-abcdef012345"
RECORD = UpgradeRecord(mode="savepoint", old_uid=OLD_UID, old_job_id=JOB_ID, job_id=OTHER_JOB_ID,
                       started_at="2026-03-05T10:00:00+00:00", run={"dag_id": "etl", "task_id": "launch",
                                                                    "run_id": "r"},
                       trigger_id="a" * 32, savepoint_path=SAVEPOINT)


def relaunched(job_id: str = OTHER_JOB_ID) -> dict[str, Any]:
    """The Deployment a recorded upgrade's relaunch created (another uid, the record's job id)."""
    found = deployment(CHANGED, EARLIER_TRY, job_id)
    found["metadata"]["uid"] = NEW_UID
    return found


def test_no_cluster_and_no_record_launches_it() -> None:
    assert decide_upgrade(CHANGED, None, None).action is UpgradeAction.CREATE


def test_the_same_spec_reattaches_and_takes_nothing() -> None:
    decision = decide_upgrade(SPEC, deployment(SPEC, EARLIER_TRY), None)
    assert (decision.action, decision.job_id) == (UpgradeAction.REATTACH, JOB_ID)


def test_another_spec_is_upgraded_from_the_running_job() -> None:
    decision = decide_upgrade(CHANGED, deployment(SPEC, EARLIER_TRY), None)
    assert (decision.action, decision.job_id) == (UpgradeAction.UPGRADE, JOB_ID)


@pytest.mark.parametrize("existing", [None, "old"], ids=["old-cluster-gone", "old-cluster-still-there"])
def test_a_recorded_upgrade_is_finished_not_begun_again(existing: str | None) -> None:
    found = deployment(SPEC, EARLIER_TRY) if existing else None
    decision = decide_upgrade(CHANGED, found, RECORD)
    assert (decision.action, decision.job_id) == (UpgradeAction.RESUME, OTHER_JOB_ID)
    assert "finishing an upgrade (savepoint) of job " + JOB_ID in decision.reason


def test_a_recorded_upgrade_whose_relaunch_exists_reattaches() -> None:
    decision = decide_upgrade(CHANGED, relaunched(), RECORD)
    assert (decision.action, decision.job_id, decision.stale_record) == (UpgradeAction.REATTACH, OTHER_JOB_ID, False)


def test_a_half_created_relaunch_is_replaced_from_the_record() -> None:
    assert decide_upgrade(CHANGED, relaunched(), RECORD, finished=False).action is UpgradeAction.RESUME


def test_a_record_of_a_cluster_replaced_since_is_dropped() -> None:
    other = deployment(SPEC, EARLIER_TRY, "00112233445566778899aabbccddeeff")
    other["metadata"]["uid"] = NEW_UID
    decision = decide_upgrade(CHANGED, other, RECORD)
    assert (decision.action, decision.stale_record) == (UpgradeAction.UPGRADE, True)
    assert f"its savepoint {SAVEPOINT} is not used" in decision.reason


def test_a_cluster_of_another_controller_is_refused_whatever_is_recorded() -> None:
    foreign = deployment(SPEC, EARLIER_TRY)
    foreign["metadata"]["ownerReferences"] = [{"kind": "FlinkDeployment", "name": "orders", "controller": True}]
    for record in (None, RECORD):
        with pytest.raises(NotOwnedError, match=r"^if_exists='upgrade' refused .*controller FlinkDeployment orders"):
            decide_upgrade(CHANGED, foreign, record)


def test_a_native_cluster_is_refused_unless_adopted_and_then_needs_a_job_id() -> None:
    with pytest.raises(NotOwnedError, match="set adopt_native_clusters=True"):
        decide_upgrade(CHANGED, deployment(None), None)
    with pytest.raises(NotOwnedError, match="no job id is recorded on its Deployment"):
        decide_upgrade(CHANGED, deployment(None), None, adopt_native_clusters=True)


def test_a_cluster_being_deleted_without_a_record_is_not_upgraded() -> None:
    with pytest.raises(ClusterExistsError, match="is being deleted and holds no recorded upgrade"):
        decide_upgrade(CHANGED, deployment(SPEC, EARLIER_TRY, deleting=True), None)


def test_a_launch_in_progress_is_awaited_and_a_half_created_one_of_this_task_replaced() -> None:
    assert decide_upgrade(CHANGED, deployment(SPEC, EARLIER_TRY), None, finished=False).action is UpgradeAction.AWAIT
    assert decide_upgrade(CHANGED, deployment(SPEC, EARLIER_TRY), None, finished=False,
                          ours=True).action is UpgradeAction.REPLACE


def test_the_record_round_trips_through_its_configmap() -> None:
    configmap = record_object("orders", "flink", RECORD, "42")
    assert configmap["metadata"]["name"] == "flink-upgrade-orders"
    assert configmap["metadata"]["resourceVersion"] == "42"
    assert "labels" not in configmap["metadata"], "HA clean-up selects by the app label"
    assert parse_record(configmap, "orders") == RECORD
    assert parse_record(None, "orders") is None


@pytest.mark.parametrize("configmap", [
    {"metadata": {"name": "flink-upgrade-orders"}, "data": {"upgrade.json": "{}"}},
    {"metadata": {"name": "flink-upgrade-orders", "annotations": {"airflow-flink-k8s.apache.org/upgrade-of": "x"}},
     "data": {"upgrade.json": RECORD.to_json()}},
    {"metadata": {"name": "flink-upgrade-orders", "annotations": {"airflow-flink-k8s.apache.org/upgrade-of":
                                                                  "orders"}}, "data": {"upgrade.json": "{not json"}},
], ids=["unmarked", "another-cluster", "garbled"])
def test_a_configmap_that_is_not_our_record_is_refused_and_left_alone(configmap: dict[str, Any]) -> None:
    with pytest.raises(NotOwnedError, match="is not an upgrade record of Flink cluster 'orders'"):
        parse_record(configmap, "orders")


@pytest.mark.parametrize(("mode", "restore", "job_id"), [
    ("savepoint", SAVEPOINT, OTHER_JOB_ID), ("last-state", "latest", JOB_ID), ("stateless", "none", OTHER_JOB_ID)])
def test_the_relaunch_restores_what_the_mode_took(mode: str, restore: str, job_id: str) -> None:
    record = dataclasses.replace(RECORD, mode=mode, job_id=job_id)
    spec = relaunch_spec(make_spec(ha="kubernetes", ha_storage_dir="s3://b/ha", allow_non_restored_state=True),
                         record)
    assert (spec.restore, spec.job_id, spec.allow_non_restored_state) == (restore, job_id, mode == "savepoint")


def test_a_savepoint_not_known_yet_is_no_restore() -> None:
    with pytest.raises(ValueError, match="not known yet"):
        relaunch_spec(CHANGED, dataclasses.replace(RECORD, savepoint_path=None))


@pytest.mark.parametrize(("mode", "fields", "field", "words"), [
    ("savepoint", {}, "savepoint_base_dir", "is required with upgrade_mode='savepoint'"),
    ("last-state", {"checkpoint_base_dir": "s3://b/c"}, "upgrade_mode", "needs ha="),
    ("last-state", {"ha": "kubernetes", "ha_storage_dir": "s3://b/ha"}, "checkpoint_base_dir", "is required"),
    ("stateless", {"allow_non_restored_state": True}, "allow_non_restored_state", "applies to a savepoint"),
    ("rolling", {}, "upgrade_mode", "must be one of savepoint, last-state, stateless"),
])
def test_specs_a_mode_cannot_upgrade_to_are_refused(mode: str, fields: dict[str, Any], field: str,
                                                    words: str) -> None:
    with pytest.raises(FlinkSpecError, match=rf"^{field}: .*{words}"):
        check_upgrade(make_spec(**fields), mode)


def test_each_mode_accepts_a_spec_it_can_upgrade_to() -> None:
    state = {"ha": "kubernetes", "ha_storage_dir": "s3://b/ha", "checkpoint_base_dir": "s3://b/c",
             "savepoint_base_dir": "s3://b/s"}
    for mode in ("savepoint", "last-state", "stateless"):
        check_upgrade(make_spec(**state), mode)
    check_upgrade(make_spec(**state, allow_non_restored_state=True), "savepoint")


@pytest.mark.parametrize(("location", "uri"), [
    ("file:/data/sp/orders/savepoint-0123ab-cd", "file:///data/sp/orders/savepoint-0123ab-cd"),
    ("file:///data/sp/x", "file:///data/sp/x"), ("s3://bucket/sp/x", "s3://bucket/sp/x")])
def test_flinks_savepoint_locations_become_uris_restore_accepts(location: str, uri: str) -> None:
    assert savepoint_uri(location) == uri
    assert make_spec(restore=uri).restore == uri


@pytest.mark.parametrize(("version", "key"), [("2.3.0", "execution.state-recovery.ignore-unclaimed-state"),
                                              ("1.19.1", "execution.savepoint.ignore-unclaimed-state")])
def test_allow_non_restored_state_is_written_as_the_flink_client_writes_it(version: str, key: str) -> None:
    from airflow_flink_k8s.core.command import build_flink_command
    from airflow_flink_k8s.core.configuration import cluster_configuration

    plain = make_spec(flink_version=version, restore=SAVEPOINT)
    allowed = make_spec(flink_version=version, restore=SAVEPOINT, allow_non_restored_state=True)
    assert (cluster_configuration(plain)[key], cluster_configuration(allowed)[key]) == (False, True)
    # The client honours -n only beside -s, and overwrites the key from them.
    assert "-n" not in build_flink_command(plain)
    assert build_flink_command(allowed)[-4:-1] == ["-s", SAVEPOINT, "-n"]
    with pytest.raises(FlinkSpecError, match=r"^flink_conf.*use the 'allow_non_restored_state' parameter"):
        make_spec(flink_version=version, flink_conf={key: "true"})
