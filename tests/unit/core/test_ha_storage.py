"""The HA storage dir: per-launch result-store paths (and their Flink keys per version), which files under
``<storageDir>/<cid>/`` are Flink's and which a launch, a resume or a teardown removes (names checked against the
1.20.3 and 2.3.0 jars and real runs in ``tests/integration/test_ha_storage.py``)."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.configuration import flink_configuration
from airflow_flink_k8s.core.file_uris import local_path
from airflow_flink_k8s.core.ha_storage import plan_removal, storage_dir_of
from airflow_flink_k8s.core.spec import FlinkSpecError
from tests.spec_support import spec

OLD, NEW = "1" * 32, "2" * 32
BLOB_KEY = "p-" + "a" * 40 + "-" + "b" * 32
FLINK_FILES = [
    f"blob/job_{OLD}/blob_{BLOB_KEY}", f"blob/job_{NEW}/blob_{BLOB_KEY}",
    f"blob/application_{'c' * 32}/blob_{BLOB_KEY}",
    "submittedExecutionPlan0a1b2c3d4e5f", "submittedJobGraph0123456789ab", "completedCheckpoint00aa11bb22cc",
    "submittedApplication0123456789ab",
    f"job-result-store/{OLD}/{OLD}_DIRTY.json", f"application-result-store/{OLD}/{'c' * 32}_DIRTY.json",
    f"job-result-store/{NEW}/{NEW}.json",
]
FLINK_DIRS = ["blob", f"blob/job_{OLD}", f"blob/job_{NEW}", f"blob/application_{'c' * 32}", "job-result-store",
              f"job-result-store/{OLD}", f"job-result-store/{NEW}", "application-result-store",
              f"application-result-store/{OLD}"]


@pytest.mark.parametrize(("version", "keys"), [
    ("1.16.3", {"job-result-store.storage-path"}),
    ("1.20.3", {"job-result-store.storage-path"}),
    ("2.3.0", {"job-result-store.storage-path", "application-result-store.storage-path"}),
])
def test_each_launch_gets_its_own_result_stores_under_the_clusters_ha_dir(version: str, keys: set[str]) -> None:
    conf = flink_configuration(spec(version, ha="kubernetes", ha_storage_dir="s3://b/ha/", job_id=OLD))
    stores = {k: v for k, v in conf.items() if "result-store" in k}
    assert set(stores) == keys
    assert stores["job-result-store.storage-path"] == f"s3://b/ha/orders/job-result-store/{OLD}"
    if "application-result-store.storage-path" in keys:
        assert stores["application-result-store.storage-path"] == f"s3://b/ha/orders/application-result-store/{OLD}"
    other = flink_configuration(spec(version, ha="kubernetes", ha_storage_dir="s3://b/ha/", job_id=NEW))
    assert all(other[k] != v for k, v in stores.items())
    assert not any("result-store" in k for k in flink_configuration(spec(version, job_id=OLD)))


@pytest.mark.parametrize("key", ["job-result-store.storage-path", "application-result-store.storage-path"])
def test_result_store_paths_are_managed(key: str) -> None:
    with pytest.raises(FlinkSpecError) as error:
        spec("2.3.0", ha="kubernetes", ha_storage_dir="s3://b/ha", flink_conf={key: "s3://b/x"})
    assert error.value.field == f"flink_conf[{key!r}]" and "managed" in str(error.value)


@pytest.mark.parametrize(("uri", "path"), [
    ("file:///tmp/ha/orders", "/tmp/ha/orders"), ("file:/tmp/ha/orders/", "/tmp/ha/orders"),
    ("file://localhost/tmp/ha", "/tmp/ha"), ("/tmp/ha", "/tmp/ha"), ("file:///tmp/a%20b", "/tmp/a b"),
    ("s3://bucket/ha/orders", None), ("hdfs:///ha/orders", None), ("gs://b/ha", None),
    ("file://otherhost/tmp/ha", None), ("file:///tmp/../etc", None), ("relative/ha", None),
])
def test_only_local_files_are_reachable(uri: str, path: str | None) -> None:
    assert local_path(uri) == path


def test_a_fresh_launch_or_teardown_removes_everything_flink_wrote() -> None:
    plan = plan_removal(FLINK_FILES, FLINK_DIRS, resume_job_id=None)
    assert set(plan.remove_files) == set(FLINK_FILES)
    assert set(plan.remove_dirs) == set(FLINK_DIRS)
    assert plan.remove_dirs.index(f"blob/job_{OLD}") < plan.remove_dirs.index("blob")
    assert (plan.keep, plan.foreign) == ((), ())


def test_a_resume_keeps_its_jobs_entries_and_every_state_handle() -> None:
    plan = plan_removal(FLINK_FILES, FLINK_DIRS, resume_job_id=NEW)
    assert set(plan.remove_files) == {f"blob/job_{OLD}/blob_{BLOB_KEY}", f"job-result-store/{OLD}/{OLD}_DIRTY.json",
                                      f"application-result-store/{OLD}/{'c' * 32}_DIRTY.json"}
    assert set(plan.remove_dirs) == {f"blob/job_{OLD}", f"job-result-store/{OLD}", f"application-result-store/{OLD}",
                                     "application-result-store"}
    assert "completedCheckpoint00aa11bb22cc" in plan.keep and f"job-result-store/{NEW}/{NEW}.json" in plan.keep


@pytest.mark.parametrize("foreign", [
    "notes.txt", "completedCheckpoint", "completedCheckpoint0123456789abX", "blob/readme", f"blob/job_{OLD}/x.jar",
    f"job-result-store/{OLD}/backup.json", "job-result-store/mine/x.json", f"blob/job_{OLD}/sub/blob_{BLOB_KEY}",
])
def test_names_flink_does_not_write_are_kept_with_the_directories_above_them(foreign: str) -> None:
    parents = ["/".join(foreign.split("/")[:i]) for i in range(1, foreign.count("/") + 1)]
    plan = plan_removal([*FLINK_FILES, foreign], sorted({*FLINK_DIRS, *parents}), resume_job_id=None)
    assert foreign in plan.foreign and foreign not in plan.remove_files
    assert not set(parents) & set(plan.remove_dirs)
    assert set(plan.remove_files) == set(FLINK_FILES)


def test_a_foreign_directory_is_never_entered() -> None:
    plan = plan_removal([f"mine/blob/job_{OLD}/blob_{BLOB_KEY}"], ["mine", "mine/blob", f"mine/blob/job_{OLD}"],
                        resume_job_id=None)
    assert plan.remove_files == () and plan.remove_dirs == ()


@pytest.mark.parametrize(("name", "text"), [
    ("config.yaml", "high-availability:\n  storageDir: file:///tmp/ha\n  type: kubernetes\n"),
    ("config.yaml", "high-availability.storageDir: file:///tmp/ha\n"),
    ("flink-conf.yaml", "high-availability: kubernetes\nhigh-availability.storageDir: file:///tmp/ha\n"),
])
def test_the_storage_dir_is_read_back_from_the_clusters_config_map(name: str, text: str) -> None:
    assert storage_dir_of({"data": {name: text}}) == "file:///tmp/ha"
    assert storage_dir_of({"data": {name: "a: b\n"}}) is None
    assert storage_dir_of(None) is None
