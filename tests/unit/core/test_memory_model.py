"""core.memory_model: Flink's JobManager/TaskManager memory derivation, with expected values worked out by hand.

Flink's fractions are Java floats: 0.1f = 13421773 / 2**27 and 0.4f = 13421773 / 2**25 exactly, and
``MemorySize.multiply`` truncates, so 10 % of 1280 MiB is 10 * 13421773 = 134217730 bytes (128 MiB + 2 bytes).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.memory_model import (
    JobManagerMemory,
    TaskManagerMemory,
    human,
    jobmanager_memory,
    parse_memory_size,
    taskmanager_memory,
)
from airflow_flink_k8s.core.spec import FlinkApplicationSpec

MIB = 2**20
GIB = 2**30
BASE: dict[str, Any] = {
    "cluster_id": "memory-model",
    "image": "flink:2.3.0",
    "jar_uri": "local:///opt/flink/usrlib/job.jar",
    "flink_version": "2.3.0",
}


# ------------------------------------------------------------------------------------------------ JobManager
def test_default_jobmanager_1600m_is_1g_heap():
    # overhead max(192m, 160m) = 192m; Total Flink 1600 - 256 - 192 = 1152m; heap 1152 - 128 = 1024m.
    assert jobmanager_memory("1600m", {}) == JobManagerMemory(
        process=1600 * MIB, flink=1152 * MIB, heap=1024 * MIB, off_heap=128 * MIB, metaspace=256 * MIB,
        overhead=192 * MIB)


def test_jobmanager_4g_overhead_is_ten_percent_of_a_float():
    # 4 GiB * 13421773 / 2**27 = 32 * 13421773 = 429496736 bytes (not 429496729.6).
    memory = jobmanager_memory("4g", {})
    assert memory is not None
    assert memory.overhead == 32 * 13421773
    assert memory.heap == 4 * GIB - 256 * MIB - 32 * 13421773 - 128 * MIB


def test_jobmanager_overhead_is_capped_at_1g():
    memory = jobmanager_memory("20g", {})
    assert memory is not None and memory.overhead == GIB


@pytest.mark.parametrize("size", ["577m", "603979777b", "768m", "1g"])
def test_jobmanager_above_576m_is_accepted(size):
    memory = jobmanager_memory(size, {})
    assert memory is not None
    assert memory.heap == parse_memory_size(size) - 576 * MIB  # type: ignore[operator]


def test_jobmanager_512m_is_refused_with_the_numbers():
    with pytest.raises(FlinkSpecError) as caught:
        jobmanager_memory("512m", {})
    assert caught.value.field == "jobmanager_memory"
    message = str(caught.value)
    assert message.startswith("jobmanager_memory: 512m leaves -64m JVM heap after JVM metaspace 256m (default), "
                              "JVM overhead 192m (10 % of the process size, at least 192m, at most 1g)")
    assert "off-heap 128m" in message
    assert message.endswith("the smallest size Flink accepts with this configuration is 577m")


@pytest.mark.parametrize("size", ["576m", "603979776b"])
def test_jobmanager_exactly_576m_leaves_no_heap_and_is_refused(size):
    with pytest.raises(FlinkSpecError, match=r"leaves 0 (bytes )?JVM heap"):
        jobmanager_memory(size, {})


def test_jobmanager_below_metaspace_plus_overhead_is_refused():
    with pytest.raises(FlinkSpecError, match=r"400m is less than JVM metaspace 256m .* JVM overhead 192m"):
        jobmanager_memory("400m", {})


def test_jobmanager_overrides_are_honoured():
    # 512 - 128 (metaspace) - 192 = 192m Total Flink, heap 64m.
    memory = jobmanager_memory("512m", {"jobmanager.memory.jvm-metaspace.size": "128m"})
    assert memory is not None and memory.heap == 64 * MIB and memory.metaspace == 128 * MIB
    memory = jobmanager_memory("512m", {"jobmanager.memory.off-heap.size": "32m"})
    assert memory is not None and memory.heap == 32 * MIB


def test_jobmanager_explicit_heap_sets_the_overhead_which_must_be_in_range():
    # 1600 - 1024 - 128 - 256 = 192m: exactly the overhead minimum.
    memory = jobmanager_memory("1600m", {"jobmanager.memory.heap.size": "1g"})
    assert memory is not None and memory.overhead == 192 * MIB
    with pytest.raises(FlinkSpecError) as caught:  # leaves 116m of overhead
        jobmanager_memory("1600m", {"jobmanager.memory.heap.size": "1100m"})
    assert caught.value.field == "flink_conf['jobmanager.memory.heap.size']"
    assert "JVM overhead 116m" in str(caught.value)


def test_jobmanager_inconsistent_overhead_range_names_the_key():
    with pytest.raises(FlinkSpecError) as caught:
        jobmanager_memory("1600m", {"jobmanager.memory.jvm-overhead.min": "2g"})
    assert caught.value.field == "flink_conf['jobmanager.memory.jvm-overhead.min']"
    with pytest.raises(FlinkSpecError) as caught:
        jobmanager_memory("1600m", {"jobmanager.memory.jvm-overhead.fraction": "1"})
    assert caught.value.field == "flink_conf['jobmanager.memory.jvm-overhead.fraction']"


def test_legacy_jobmanager_heap_counts_on_flink_1_only():
    conf = {"jobmanager.heap.size": "1200m"}  # as heap: 1600 - 1200 - 128 - 256 = 16m overhead < 192m
    with pytest.raises(FlinkSpecError) as caught:
        jobmanager_memory("1600m", conf, "1.20.3")
    assert caught.value.field == "flink_conf['jobmanager.heap.size']"
    assert jobmanager_memory("1600m", conf, "2.3.0") is not None  # the option is gone in 2.0


def test_unparseable_values_are_left_to_flink():
    assert jobmanager_memory("1600m", {"jobmanager.memory.jvm-overhead.fraction": "0.1.2"}) is None
    assert jobmanager_memory("1600m", {"jobmanager.memory.jvm-metaspace.size": "lots"}) is None


# ------------------------------------------------------------------------------------------------ TaskManager
def test_default_taskmanager_1728m_is_flinks_well_known_breakdown():
    # Total Flink 1728 - 256 - 192 = 1280m; managed 40 * 13421773; network 10 * 13421773; task heap the rest.
    assert taskmanager_memory("1728m", {}) == TaskManagerMemory(
        process=1728 * MIB, flink=1280 * MIB, framework_heap=128 * MIB, framework_off_heap=128 * MIB,
        task_heap=402653174, task_off_heap=0, network=134217730, managed=536870920, metaspace=256 * MIB,
        overhead=192 * MIB)


def test_taskmanager_boundary_is_982m():
    # Total Flink F = P - 448m must hold 256m + 0.4 F + max(64m, 0.1 F): F >= 533.33m, so P >= 981.33m.
    assert taskmanager_memory("982m", {}) is not None
    with pytest.raises(FlinkSpecError) as caught:
        taskmanager_memory("981m", {})
    assert caught.value.field == "taskmanager_memory"
    assert "the smallest size Flink accepts with this configuration is 982m" in str(caught.value)
    with pytest.raises(FlinkSpecError, match=r"^taskmanager_memory: 512m leaves Total Flink Memory 64m"):
        taskmanager_memory("512m", {})


def test_taskmanager_overrides_and_deprecated_keys():
    memory = taskmanager_memory("768m", {"taskmanager.memory.managed.size": "0"})
    assert memory is not None and memory.managed == 0
    memory = taskmanager_memory("1728m", {"taskmanager.memory.size": "100m"})  # deprecated managed.size
    assert memory is not None and memory.managed == 100 * MIB
    # managed.fraction is never read when managed.size is set: Flink accepts 1.5 there, so must we.
    memory = taskmanager_memory("1728m", {"taskmanager.memory.managed.size": "100m",
                                          "taskmanager.memory.managed.fraction": "1.5"})
    assert memory is not None
    with pytest.raises(FlinkSpecError) as caught:
        taskmanager_memory("1728m", {"taskmanager.memory.managed.fraction": "1.5"})
    assert caught.value.field == "flink_conf['taskmanager.memory.managed.fraction']"


def test_taskmanager_network_max_default_differs_before_1_17():
    # 16g: Total Flink 16384 - 256 - 1024 = 15104m; network 10 % = 1510.4m, capped to 1g on 1.16 only.
    assert taskmanager_memory("16g", {}, "1.16.3").network == GIB  # type: ignore[union-attr]
    assert taskmanager_memory("16g", {}, "1.17.2").network == 15104 * MIB * 13421773 // 2**27  # type: ignore[union-attr]


def test_taskmanager_explicit_task_heap_leaves_network_the_rest():
    # 1280m - 128 - 128 - 384m - managed 536870920 = 134217728 network, within [64m, unbounded].
    memory = taskmanager_memory("1728m", {"taskmanager.memory.task.heap.size": "384m"})
    assert memory is not None and memory.network == 1280 * MIB - 640 * MIB - 536870920
    with pytest.raises(FlinkSpecError) as caught:
        taskmanager_memory("1728m", {"taskmanager.memory.task.heap.size": "1g"})
    assert caught.value.field == "flink_conf['taskmanager.memory.task.heap.size']"


def test_legacy_network_buffers_are_left_to_flink_1():
    conf = {"taskmanager.network.numberOfBuffers": "4096"}
    assert taskmanager_memory("1728m", conf, "1.20.3") is None
    assert taskmanager_memory("1728m", conf, "2.3.0") is not None


# ------------------------------------------------------------------------------------------------ helpers
@pytest.mark.parametrize(("text", "expected"), [
    ("1600m", 1600 * MIB), (" 2 g ", 2 * GIB), ("1024", 1024), ("1KB", 1024), ("1 mebibytes", MIB),
    ("1.5g", None), ("-1m", None), ("1Mi", None), ("", None), ("9223372036854775807b", 2**63 - 1),
    ("8388608t", None),
])
def test_parse_memory_size_is_flinks(text, expected):
    assert parse_memory_size(text) == expected


@pytest.mark.parametrize(("size", "text"), [
    (192 * MIB, "192m"), (GIB, "1g"), (0, "0 bytes"), (-64 * MIB, "-64m"), (134217730, "128.000m (134217730 bytes)"),
    (2**63 - 1, "unbounded"),
])
def test_human(size, text):
    assert human(size) == text


# ------------------------------------------------------------------------------------------------ the spec
def test_spec_refuses_jobmanager_memory_flink_refuses():
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**BASE, jobmanager_memory="512m")
    assert caught.value.field == "jobmanager_memory"
    assert "512m leaves -64m JVM heap" in str(caught.value)


def test_spec_refuses_taskmanager_memory_flink_refuses():
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**BASE, taskmanager_memory="768m")
    assert caught.value.field == "taskmanager_memory"


def test_spec_applies_flink_conf_overrides():
    spec = FlinkApplicationSpec(**BASE, jobmanager_memory="512m",
                                flink_conf={"jobmanager.memory.jvm-metaspace.size": "128m"})
    assert spec.jobmanager_memory == "512m"
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**BASE, flink_conf={"taskmanager.memory.task.heap.size": "2g"})
    assert caught.value.field == "flink_conf['taskmanager.memory.task.heap.size']"


def test_spec_defaults_are_accepted():
    FlinkApplicationSpec(**BASE)
    FlinkApplicationSpec(**{**BASE, "flink_version": "1.16.3"})
