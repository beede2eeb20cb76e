"""Flink job ids of a launch: the operator's per-launch id, and the fixed id Flink picks by itself under HA."""

from __future__ import annotations

import hashlib

from airflow_flink_k8s.core.versions import FlinkVersion


def derive_job_id(cluster_id: str, run_key: str, launch_attempt: int) -> str:
    """A 32-hex-digit job id, the same for the same inputs and different when any input differs.

    ``cluster_id`` is the Flink cluster id; ``run_key`` identifies the DAG run (e.g. ``f"{dag_id}/{run_id}"``);
    ``launch_attempt`` counts fresh launches of that cluster within the run (0, 1, …). An Airflow retry
    that reattaches keeps the attempt and so recomputes the same id; a fresh relaunch (``replace`` with
    ``restore="none"``) increments it, so its checkpoints land under a new ``<base>/<cid>/<job-id>``.
    """
    if isinstance(launch_attempt, bool) or not isinstance(launch_attempt, int) or launch_attempt < 0:
        raise ValueError(f"launch_attempt: must be an integer >= 0, got {launch_attempt!r}")
    if not cluster_id or not run_key:
        raise ValueError("cluster_id and run_key must be non-empty")
    material = "\x1f".join(("airflow-flink-k8s/job-id/v1", cluster_id, run_key, str(launch_attempt)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (UTF-16 code units, 32-bit signed wrap-around)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def flink_default_ha_job_id(cluster_id: str, version: FlinkVersion | str) -> str:
    """The job id an HA application cluster uses when ``$internal.pipeline.job-id`` is not set.

    Up to 1.15 it is all zeros; from 1.16 it is ``new JobID(haClusterId.hashCode(), 0)``: the hash code
    sign-extended to 64 bits as 16 hex digits, then 16 zeros (``probe`` → ``00000000065fc7b0…0``).
    """
    if not FlinkVersion.parse(version).at_least(1, 16):
        return "0" * 32
    return f"{java_string_hash(cluster_id) & 0xFFFFFFFFFFFFFFFF:016x}" + "0" * 16
