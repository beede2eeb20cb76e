"""Flink configuration of a launch: keys per Flink version, per-cluster dirs, HA, job id, user keys (key names
are checked against the real Flink jars in ``tests/integration/test_configuration_against_flink_options.py``)."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.configuration import FIELD_KEYS, cluster_configuration, flink_configuration
from airflow_flink_k8s.core.spec import FlinkSpecError
from tests.spec_support import STATE, spec


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.16.3", {"kubernetes.container.image", "high-availability", "state.checkpoints.dir", "state.savepoints.dir",
                    "execution.savepoint.path", "kubernetes.jobmanager.cpu"}),
        ("1.17.2", {"kubernetes.container.image.ref", "high-availability.type", "state.checkpoints.dir",
                    "execution.savepoint.path", "kubernetes.jobmanager.cpu.amount"}),
        ("1.19.1", {"state.checkpoints.dir", "state.savepoints.dir", "execution.savepoint.path"}),
        ("1.20.3", {"execution.checkpointing.dir", "execution.checkpointing.savepoint-dir",
                    "execution.state-recovery.path"}),
        ("2.3.0", {"execution.checkpointing.dir", "execution.checkpointing.savepoint-dir",
                   "execution.state-recovery.path",
                   "kubernetes.container.image.ref", "high-availability.type"}),
    ],
)
def test_key_names_follow_the_release(version: str, expected: set[str]) -> None:
    assert expected <= set(flink_configuration(spec(version, **STATE)))


def test_state_dirs_are_per_cluster_and_ha_and_job_id_are_set() -> None:
    conf = flink_configuration(spec("2.3.0", **STATE))
    assert conf["execution.checkpointing.dir"] == "s3://bucket/checkpoints/orders"
    assert conf["execution.checkpointing.savepoint-dir"] == "s3://bucket/savepoints/orders"
    assert conf["high-availability.type"] == "kubernetes"
    assert conf["high-availability.storageDir"] == "s3://bucket/ha"
    assert conf["$internal.pipeline.job-id"] == "0123456789abcdef0123456789abcdef"
    assert conf["kubernetes.jobmanager.cpu.amount"] == "1.0"


def test_zookeeper_keys_only_with_zookeeper_ha() -> None:
    zk = flink_configuration(spec("1.20.3", ha="zookeeper", ha_storage_dir="hdfs:///ha",
                                  zookeeper_quorum="a:2181,b:2181"))
    assert (zk["high-availability.zookeeper.quorum"], zk["high-availability.zookeeper.path.root"]) == (
        "a:2181,b:2181", "/flink")
    assert not any(k.startswith("high-availability") for k in flink_configuration(spec("1.20.3")))


def test_latest_restore_writes_no_path_and_none_writes_nothing() -> None:
    latest = flink_configuration(spec("2.3.0", **{**STATE, "restore": "latest", "job_id": "ab" * 16}))
    assert "execution.state-recovery.path" not in latest
    assert latest["$internal.pipeline.job-id"] == "ab" * 16
    assert "execution.state-recovery.path" not in flink_configuration(spec("2.3.0"))


def test_latest_restore_cannot_be_rendered_without_the_previous_job_id() -> None:
    with pytest.raises(FlinkSpecError) as error:
        flink_configuration(spec("2.3.0", **{**STATE, "restore": "latest", "job_id": None}))
    assert error.value.field == "job_id" and "restore='latest'" in str(error.value)


def test_unmanaged_user_keys_pass_through() -> None:
    conf = flink_configuration(spec("2.3.0", flink_conf={"state.backend.type": "rocksdb",
                                                        "restart-strategy.type": "none"}))
    assert (conf["state.backend.type"], conf["restart-strategy.type"]) == ("rocksdb", "none")


def test_the_field_table_names_a_key_for_every_versioned_field() -> None:
    assert FIELD_KEYS["checkpoint_base_dir"] == {"1.16+": "state.checkpoints.dir",
                                                 "1.20+": "execution.checkpointing.dir"}
    assert FIELD_KEYS["image"] == {"1.16+": "kubernetes.container.image", "1.17+": "kubernetes.container.image.ref"}


@pytest.mark.parametrize(("version", "first_flag"), [
    ("1.17.2", None),
    ("1.18.1", "--add-exports=java.base/sun.net.util=ALL-UNNAMED"),
    ("1.20.3", "--add-exports=java.base/sun.net.util=ALL-UNNAMED"),
    ("2.0.0", "--add-exports=java.base/sun.net.util=ALL-UNNAMED"),
    ("2.0.1", "--add-exports=java.base/sun.net.util=ALL-UNNAMED"),
    ("2.1.0", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"),
    ("2.2.0", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"),
    ("2.3.0", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"),
])
def test_each_version_gets_its_own_distributions_java_module_flags(version: str, first_flag: str | None) -> None:
    """2.0.x still exports ``sun.net.util`` (release-2.0 ``config.yaml``); 2.1+ do not; before 1.18 there are none."""
    flags = cluster_configuration(spec(version)).get("env.java.opts.all")
    assert (flags.split()[0] if flags else None) == first_flag
    if flags and first_flag:
        assert flags.count("--add-") == (20 if first_flag.endswith("sun.net.util=ALL-UNNAMED") else 19)
        assert flags.endswith("--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED")
