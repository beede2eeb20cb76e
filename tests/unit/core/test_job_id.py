"""Job ids: the operator's per-launch id and Flink's fixed HA job id (checked against real Java in
``tests/integration/test_job_id_against_java.py``)."""

from __future__ import annotations

import secrets

import pytest

from airflow_flink_k8s.core.job_id import NONCE_BYTES, derive_job_id, flink_default_ha_job_id, outside_flink_default


def test_default_ha_job_id_examples() -> None:
    assert flink_default_ha_job_id("probe", "1.20.3") == "00000000065fc7b00000000000000000"
    assert flink_default_ha_job_id("probe", "1.15.4") == "0" * 32


NONCE = bytes(range(16))
OTHER_NONCE = bytes(range(1, 17))


def test_a_fresh_launch_id_depends_on_every_input() -> None:
    first = derive_job_id("probe", "etl/manual__2026-01-01", "launch", NONCE)
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)
    assert derive_job_id("probe", "etl/manual__2026-01-01", "launch", NONCE) == first
    others = {
        derive_job_id("probe", "etl/manual__2026-01-01", "launch", OTHER_NONCE),  # a re-run, a replace: new bytes
        derive_job_id("probe", "etl/manual__2026-01-01", "launch_b", NONCE),  # another task of the run
        derive_job_id("probe", "etl/manual__2026-01-02", "launch", NONCE),
        derive_job_id("probe2", "etl/manual__2026-01-01", "launch", NONCE),
    }
    assert first not in others and len(others) == 4


def test_fresh_launches_with_random_bytes_never_share_an_id() -> None:
    ids = {derive_job_id("probe", "etl/run", "launch", secrets.token_bytes(NONCE_BYTES)) for _ in range(2000)}
    assert len(ids) == 2000


def test_derived_job_id_inputs_cannot_be_shifted_between_fields() -> None:
    assert derive_job_id("a-b", "c", "t", NONCE) != derive_job_id("a", "b-c", "t", NONCE)
    assert derive_job_id("a", "b/c", "t", NONCE) != derive_job_id("a", "b", "c/t", NONCE)


@pytest.mark.parametrize("cluster_id", ["probe", "orders-stream", "zz-negative-hash"])
@pytest.mark.parametrize("version", ["1.15.4", "1.20.3", "2.3.0"])
def test_an_id_with_zero_low_bits_is_moved_out_of_flinks_own_id_space(cluster_id: str, version: str) -> None:
    default = flink_default_ha_job_id(cluster_id, version)
    assert default.endswith("0" * 16), "Flink's own HA ids have 64 zero low bits"
    assert outside_flink_default(default) != default
    assert outside_flink_default(default)[:16] == default[:16] and not outside_flink_default(default).endswith("0")
    assert outside_flink_default("0123456789abcdef0000000000000001") == "0123456789abcdef0000000000000001"


@pytest.mark.parametrize("nonce", [b"", b"short", "0123456789abcdef", None])
def test_a_missing_or_short_nonce_is_rejected(nonce: object) -> None:
    with pytest.raises(ValueError, match="nonce: must be at least 16 random bytes"):
        derive_job_id("probe", "run", "launch", nonce)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [("", "run", "t"), ("probe", "", "t"), ("probe", "run", "")])
def test_empty_inputs_are_rejected(args: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="must be non-empty"):
        derive_job_id(*args, NONCE)
