"""Job ids: the operator's per-launch id, and Flink's own fixed HA job id checked against real Java."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airflow_flink_k8s.core.job_id import flink_default_ha_job_id, java_string_hash

CLUSTER_IDS = ["probe", "state-machine-cluster", "a", "flink-job-with-a-rather-long-name-0123456789",
               "zz-negative-hash", "é-ünïcode-𝄞"]

JAVA_JOB_ID = """
public class JobIds {
  public static void main(String[] args) {
    for (String id : args) System.out.println(new org.apache.flink.api.common.JobID(id.hashCode(), 0).toHexString());
  }
}
"""

JAVA_HASH = """
public class Hash {
  public static void main(String[] args) { for (String id : args) System.out.println(id.hashCode()); }
}
"""


@pytest.fixture(scope="module")
def java_hash_codes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    out = tmp_path_factory.mktemp("hash")
    (out / "Hash.java").write_text(JAVA_HASH)
    subprocess.run(["javac", "-d", str(out), str(out / "Hash.java")], check=True)
    lines = subprocess.run(["java", "-cp", str(out), "Hash", *CLUSTER_IDS], check=True, capture_output=True, text=True)
    return dict(zip(CLUSTER_IDS, map(int, lines.stdout.split()), strict=True))


def test_string_hash_is_javas_including_negative_and_non_bmp(java_hash_codes: dict[str, int]) -> None:
    assert any(code < 0 for code in java_hash_codes.values()), "the sample needs a negative hash code"
    assert {cid: java_string_hash(cid) for cid in CLUSTER_IDS} == java_hash_codes


def test_default_ha_job_id_is_what_flinks_jobid_class_prints(
    flink_home, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    lib = flink_home("2.3.0") / "lib"
    (tmp_path / "JobIds.java").write_text(JAVA_JOB_ID)
    subprocess.run(["javac", "-cp", f"{lib}/*", "-d", str(tmp_path), str(tmp_path / "JobIds.java")], check=True)
    run = subprocess.run(
        ["java", "-cp", f"{tmp_path}:{lib}/*", "JobIds", *CLUSTER_IDS], check=True, capture_output=True, text=True
    )
    assert [flink_default_ha_job_id(cid, "2.3.0") for cid in CLUSTER_IDS] == run.stdout.split()


