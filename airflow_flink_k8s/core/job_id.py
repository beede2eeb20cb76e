"""Flink job ids of a launch: the operator's per-launch id, and the fixed id Flink picks by itself under HA."""

from __future__ import annotations

import hashlib

from airflow_flink_k8s.core.versions import FlinkVersion

#: Bytes of randomness a fresh launch must bring (``secrets.token_bytes(NONCE_BYTES)``).
NONCE_BYTES = 16


def derive_job_id(cluster_id: str, run_key: str, task_id: str, nonce: bytes) -> str:
    """The 32-hex-digit job id of one fresh launch: a hash of the cluster id, the DAG run (``run_key``, e.g.
    ``f"{dag_id}/{run_id}"``), the launching task and ``nonce``, random bytes drawn once per fresh launch.

    So two tasks of one run, a re-run of the same run and a replace in the same try all get ids no other launch
    has, and their checkpoints land under different ``<base>/<cid>/<job-id>`` dirs. Retries that reattach never
    derive an id (they read it back from the Deployment), nor does a resume (it keeps the id in the HA data). The
    low 64 bits are never all zero, so the id is never one Flink picks by itself (:func:`flink_default_ha_job_id`).
    """
    if not isinstance(nonce, bytes) or len(nonce) < NONCE_BYTES:
        raise ValueError(f"nonce: must be at least {NONCE_BYTES} random bytes, got {nonce!r}")
    if not cluster_id or not run_key or not task_id:
        raise ValueError("cluster_id, run_key and task_id must be non-empty")
    material = "\x1f".join(("airflow-flink-k8s/job-id/v2", cluster_id, run_key, task_id, nonce.hex()))
    return outside_flink_default(hashlib.sha256(material.encode("utf-8")).hexdigest()[:32])


def outside_flink_default(job_id: str) -> str:
    """``job_id`` with its low 64 bits made non-zero (last digit 1) when they are all zero: Flink's own HA job ids
    (``hash(cid)`` then 16 zeros, or all zeros up to 1.15) all have zero low bits."""
    return job_id[:-1] + "1" if job_id.endswith("0" * 16) else job_id


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
