"""``flows.ha_storage.remove_ha_storage`` on a local directory (no processes): only Flink's names under
``<storageDir>/<cid>/`` go, foreign entries and symlinked trees stay, remote dirs are named in the task log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from airflow_flink_k8s.flows.ha_storage import remove_ha_storage

JOB = "3" * 32
BLOB = f"blob/job_{JOB}/blob_p-{'a' * 40}-{'b' * 32}"
LOG = logging.getLogger("test-ha-storage")


def _tree(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")


def test_flinks_files_go_and_a_foreign_file_stays(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cluster = tmp_path / "ha" / "orders"
    _tree(cluster, BLOB, "completedCheckpoint0123456789ab", f"job-result-store/{JOB}/{JOB}_DIRTY.json", "mine.txt")
    (tmp_path / "ha" / "other").mkdir()
    with caplog.at_level(logging.INFO):
        removed = remove_ha_storage(f"file://{tmp_path}/ha/", "orders", LOG)
    assert removed == [f"ha-storage file://{tmp_path}/ha/orders"]
    assert sorted(p.relative_to(cluster).as_posix() for p in cluster.rglob("*")) == ["mine.txt"]
    assert (tmp_path / "ha" / "other").is_dir()
    assert "mine.txt" in caplog.text and "left in place" in caplog.text


def test_the_cluster_dir_itself_goes_when_only_flinks_files_were_there(tmp_path: Path) -> None:
    _tree(tmp_path / "orders", BLOB, "submittedJobGraph0123456789ab")
    assert remove_ha_storage(str(tmp_path), "orders", LOG)
    assert not (tmp_path / "orders").exists() and tmp_path.is_dir()


def test_a_symlink_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _tree(outside, f"job_{JOB}/blob_p-{'a' * 40}-{'b' * 32}")
    (tmp_path / "ha" / "orders").mkdir(parents=True)
    (tmp_path / "ha" / "orders" / "blob").symlink_to(outside)
    remove_ha_storage(f"file://{tmp_path}/ha", "orders", LOG)
    assert (outside / f"job_{JOB}").is_dir() and (tmp_path / "ha" / "orders" / "blob").is_symlink()
    (tmp_path / "ha2").mkdir()
    (tmp_path / "ha2" / "orders").symlink_to(outside)
    assert remove_ha_storage(f"file://{tmp_path}/ha2", "orders", LOG) == []
    assert (outside / f"job_{JOB}").is_dir()


def test_a_resume_keeps_its_jobs_files(tmp_path: Path) -> None:
    cluster = tmp_path / "orders"
    _tree(cluster, BLOB, "completedCheckpoint0123456789ab", f"job-result-store/{JOB}/{JOB}.json")
    remove_ha_storage(str(tmp_path), "orders", LOG, resume_job_id=JOB)
    assert {p.relative_to(cluster).as_posix() for p in cluster.rglob("*") if p.is_file()} == {
        BLOB, "completedCheckpoint0123456789ab", f"job-result-store/{JOB}/{JOB}.json"}


@pytest.mark.parametrize("storage", ["s3://bucket/ha", "hdfs://nn:8020/flink/ha/", "gs://b/ha"])
def test_remote_dirs_are_named_in_the_task_log(storage: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert remove_ha_storage(storage, "orders", LOG) == []
    base = storage.rstrip("/")
    assert f"{base}/orders/ is not on a filesystem this worker can reach" in caplog.text
    for path in (f"{base}/orders/blob/", f"{base}/orders/completedCheckpoint*", f"{base}/job-result-store/orders/",
                 f"{base}/application-result-store/orders/"):
        assert path in caplog.text
