"""Arguments of the sandbox's Flink distribution cache that are refused before any download."""

from __future__ import annotations

import pytest

from airflow_flink_k8s_sandbox.flink_dist import (
    ensure_flink_home,
)


def test_bad_version_is_rejected_with_the_rule() -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR"):
        ensure_flink_home("latest")
