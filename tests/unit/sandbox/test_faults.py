"""The emulator's fault plan: which requests a rule may hit."""

from __future__ import annotations

from airflow_flink_k8s_sandbox.emulator import KUBELET_USER
from airflow_flink_k8s_sandbox.faults import Faults


def test_a_rule_spares_the_users_it_names_and_hits_everyone_else() -> None:
    faults = Faults()
    faults.configure({"rules": [{"status": 503, "spare_users": [KUBELET_USER]}]})
    assert faults.decide("GET", "pods", None, False, KUBELET_USER) == (0.0, None, False)
    assert faults.decide("GET", "pods", None, False, "sandbox-admin") == (0.0, 503, False)
    assert faults.decide("GET", "pods", None, False, None) == (0.0, 503, False)
    assert faults.summary()[0]["spare_users"] == [KUBELET_USER]
    assert [rule["fired"] for rule in faults.summary()] == [2]
