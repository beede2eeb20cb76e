"""The Asset event metadata (``core/asset_metadata.py``) of a launch, a wait and a teardown, built from readiness
details the evaluator produced on REST answers recorded from real Flink 2.3.0 and 1.20.3 (``tests/data/rest/``);
end to end with Airflow's own AssetEvent rows: ``tests/integration/test_asset_events.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_flink_k8s.core.asset_metadata import (
    ALREADY_GONE,
    DELETED,
    SUBMITTED,
    launch_extra,
    teardown_extra,
    wait_extra,
)
from tests.unit.core import test_bounded_jobs as bounded
from tests.unit.core import test_readiness_levels as levels

VERSIONS = ["1.20.3", "2.3.0"]
SECRET = "s3cr3t-value"


def launch_xcom(job_id: str, **more: Any) -> dict[str, Any]:
    """What ``flows.launch`` returns (``launch._result``), with a credential in no field of it."""
    return {"cluster_id": "orders", "namespace": "flink", "job_id": job_id, "rest_url": "http://orders-rest.flink:8081",
            "checkpoint_dir": "file:///ckpt/orders", "savepoint_dir": "file:///sp/orders", "flink_version": "2.3",
            "web_ui_url": "https://api/proxy/", "launched": True, **more}


def checkpointed(version: str) -> dict[str, Any]:
    readiness, _ = levels.drive(levels.answers(version), "checkpointed", job_id=levels.job_id(version))
    assert readiness.ready, readiness.reason
    return readiness.details()


def assert_plain_json(extra: dict[str, Any]) -> None:
    assert json.loads(json.dumps(extra)) == extra
    assert SECRET not in json.dumps(extra)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_launch_that_waited_for_a_checkpoint_carries_flinks_job_version_and_latest_checkpoint(version: str) -> None:
    ready = checkpointed(version)
    latest = levels.recorded(version, "checkpoints-completed")["latest"]["completed"]
    extra = launch_extra(launch_xcom(levels.job_id(version), ready=ready,
                                     flink_conf={"s3.secret-key": SECRET}), "checkpointed")
    assert extra == {"cluster_id": "orders", "namespace": "flink", "job_id": levels.job_id(version),
                     "flink_version": version, "reached": "checkpointed", "launched": True, "job_state": "RUNNING",
                     "checkpoint_id": latest["id"], "checkpoint_path": latest["external_path"],
                     "checkpoint_time": ready["checkpoint_time"]}
    assert_plain_json(extra)


def test_a_launch_that_did_not_wait_says_submitted_with_the_job_id_it_set() -> None:
    extra = launch_extra(launch_xcom("a" * 32, launched=False), None)
    assert extra == {"cluster_id": "orders", "namespace": "flink", "job_id": "a" * 32, "flink_version": "2.3",
                     "reached": SUBMITTED, "launched": False}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_finished_bounded_job_carries_its_final_state_times_and_accumulators(version: str) -> None:
    meta, answers = bounded.recorded(version)
    readiness, _ = bounded.drive(answers, meta["job_id"])
    ready = readiness.details()
    result = ready["result"]
    teardown = {"cluster_id": "orders", "namespace": "flink", "deleted": True, "savepoint_path": None,
                "ha_data_removed": ["orders-cluster-config-map"], "ha_data_kept": False}
    extra = launch_extra(launch_xcom(meta["job_id"], ready=ready, result=result, teardown=teardown), "finished")
    assert extra["reached"] == "finished" and extra["job_state"] == "FINISHED"
    assert (extra["final_state"], extra["duration_ms"]) == ("FINISHED", result["duration_ms"])
    assert (extra["start_time"], extra["end_time"]) == (result["start_time"], result["end_time"])
    assert extra["accumulators"] == {"records": "1000", "next-offset": "1000"}
    assert extra.get("application_id") == meta["application_id"]  # None on 1.20: no key
    assert extra["cluster_deleted"] is True
    assert_plain_json(extra)


def test_an_upgrade_names_the_savepoint_it_restored_from_and_the_job_it_replaced() -> None:
    upgrade = {"action": "upgrade", "mode": "savepoint", "old_job_id": "b" * 32,
               "savepoint_path": "file:///sp/orders/savepoint-bbbbbb-1"}
    extra = launch_extra(launch_xcom("c" * 32, upgrade=upgrade), None)
    assert (extra["upgrade_mode"], extra["previous_job_id"], extra["restored_from"]) == (
        "savepoint", "b" * 32, "file:///sp/orders/savepoint-bbbbbb-1")
    last_state = launch_extra(launch_xcom("c" * 32, upgrade=upgrade | {"mode": "last-state", "savepoint_path": None}),
                              None)
    assert last_state["upgrade_mode"] == "last-state" and "restored_from" not in last_state
    reattached = launch_extra(launch_xcom("c" * 32, upgrade=upgrade | {"action": "reattach"}), None)
    assert "upgrade_mode" not in reattached and "restored_from" not in reattached


@pytest.mark.parametrize("version", VERSIONS)
def test_a_sensor_event_carries_what_it_waited_for_and_reached(version: str) -> None:
    extra = wait_extra("orders", "checkpointed", {"namespace": "flink", **checkpointed(version)})
    assert (extra["reached"], extra["job_id"], extra["flink_version"]) == (
        "checkpointed", levels.job_id(version), version)
    assert extra["checkpoint_path"].endswith(f"/chk-{extra['checkpoint_id']}")
    assert_plain_json(extra)
    leader, _ = levels.drive({}, "leader")
    assert wait_extra("orders", "leader", {"namespace": "flink", **leader.details()}) == {
        "cluster_id": "orders", "namespace": "flink", "job_id": None, "flink_version": None, "reached": "leader"}


def test_a_teardown_event_says_what_was_deleted_and_the_savepoint_the_job_stopped_with() -> None:
    done = {"cluster_id": "orders", "namespace": "flink", "deleted": True, "savepoint_path": "file:///sp/orders/s-1",
            "ha_data_removed": ["orders-cluster-config-map"], "ha_data_kept": False}
    assert teardown_extra(done) == {
        "cluster_id": "orders", "namespace": "flink", "job_id": None, "flink_version": None, "reached": DELETED,
        "ha_data_removed": ["orders-cluster-config-map"], "ha_data_kept": False,
        "savepoint_path": "file:///sp/orders/s-1"}
    gone = teardown_extra(done | {"deleted": False, "savepoint_path": None, "ha_data_removed": [],
                                  "ha_data_kept": True})
    assert gone["reached"] == ALREADY_GONE and "savepoint_path" not in gone


def test_a_dry_run_with_outlets_is_refused_at_construction_naming_the_field() -> None:
    from airflow.sdk import Asset

    from airflow_flink_k8s.core.errors import FlinkSpecError
    from airflow_flink_k8s.operators import FlinkApplicationOperator

    required = {"task_id": "launch", "cluster_id": "orders", "image": "flink:2.3.0", "flink_version": "2.3",
                "jar_uri": "local:///opt/flink/usrlib/job.jar"}
    with pytest.raises(FlinkSpecError, match=r"^outlets: must be empty with dry_run=True .*flink_orders_started"):
        FlinkApplicationOperator(**required, dry_run=True, outlets=[Asset("flink_orders_started")])
    assert FlinkApplicationOperator(**required, dry_run=True).outlets == []
    assert FlinkApplicationOperator(**required, outlets=[Asset("flink_orders_started")]).outlets


@pytest.mark.parametrize("version", VERSIONS)
def test_a_restored_job_carries_what_flink_restored_it_from(version: str) -> None:
    """``latest.restored`` as Flink writes it (``RestoredCheckpointStatistics``; real 2.3.0 in
    ``test_example_dags.py``'s resume), on the recorded checkpoints answer; Flink's path wins over the upgrade's."""
    body = levels.recorded(version, "checkpoints-completed")
    savepoint = "file:/sp/orders/savepoint-bbbbbb-0123456789ab"
    body["latest"]["restored"] = {"id": 7, "restore_timestamp": 1764000000000, "is_savepoint": True,
                                  "external_path": savepoint}
    path = f"/jobs/{levels.job_id(version)}/checkpoints"
    ready, _ = levels.drive(levels.answers(version) | {path: levels.RestResponse(200, body)}, "checkpointed",
                            job_id=levels.job_id(version))
    assert ready.details()["restored_from"] == savepoint
    upgrade = {"action": "upgrade", "mode": "savepoint", "old_job_id": "b" * 32,
               "savepoint_path": "file:///sp/orders/savepoint-bbbbbb-0123456789ab"}
    extra = launch_extra(launch_xcom(levels.job_id(version), ready=ready.details(), upgrade=upgrade), "checkpointed")
    assert extra["restored_from"] == savepoint
    assert "restored_from" not in launch_extra(launch_xcom(levels.job_id(version), ready=checkpointed(version)),
                                               "checkpointed")
