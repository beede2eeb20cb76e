"""Job ids: the operator's per-launch id and Flink's fixed HA job id (checked against real Java in
``tests/integration/test_job_id_against_java.py``)."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.job_id import derive_job_id, flink_default_ha_job_id


def test_default_ha_job_id_examples() -> None:
    assert flink_default_ha_job_id("probe", "1.20.3") == "00000000065fc7b00000000000000000"
    assert flink_default_ha_job_id("probe", "1.15.4") == "0" * 32


def test_derived_job_id_is_stable_for_a_retry_and_new_for_a_fresh_launch() -> None:
    first = derive_job_id("probe", "etl/manual__2026-01-01", 0)
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)
    assert derive_job_id("probe", "etl/manual__2026-01-01", 0) == first
    others = {
        derive_job_id("probe", "etl/manual__2026-01-01", 1),
        derive_job_id("probe", "etl/manual__2026-01-02", 0),
        derive_job_id("probe2", "etl/manual__2026-01-01", 0),
    }
    assert first not in others and len(others) == 3


def test_derived_job_id_inputs_cannot_be_shifted_between_fields() -> None:
    assert derive_job_id("a-b", "c", 0) != derive_job_id("a", "b-c", 0)


@pytest.mark.parametrize("attempt", [-1, True, "1"])
def test_bad_launch_attempt_is_rejected(attempt: object) -> None:
    with pytest.raises(ValueError, match="launch_attempt"):
        derive_job_id("probe", "run", attempt)  # type: ignore[arg-type]
