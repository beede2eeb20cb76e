"""The memory model against Flink itself: for a table of process sizes and ``flink_conf`` overrides, real Flink
(``JobManagerProcessUtils`` / ``TaskExecutorProcessUtils`` from the distribution's ``lib/``) gives its verdict and
the sizes it derives; ``core.memory_model`` must give the same verdict and the same sizes, byte for byte.

``memory_verdict/MemoryVerdict.java`` is compiled once per Flink version (module-scoped), and one JVM per version
answers the whole table over stdin/stdout, so each version takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.memory_model import jobmanager_memory, taskmanager_memory
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home

pytestmark = [
    pytest.mark.flink,
    pytest.mark.skipif(shutil.which("javac") is None or shutil.which("java") is None, reason="needs a JDK"),
]

VERSIONS = ("2.3.0", "1.20.3")
SOURCE = Path(__file__).parent / "memory_verdict" / "MemoryVerdict.java"

JM_PROCESS = "jobmanager.memory.process.size"
TM_PROCESS = "taskmanager.memory.process.size"

#: (id, "jm" | "tm", process size, flink_conf overrides). Sizes around the default boundaries (JM: > 576m,
#: TM: >= 982m), the defaults, the overhead cap (>= 10g), and every derivation path Flink has.
CASES: list[tuple[str, str, str, dict[str, str]]] = [
    *((f"jm-{size}", "jm", size, {}) for size in
      ("1m", "400m", "448m", "512m", "576m", "577m", "603979776b", "603979777b", "768m", "1g", "1600m", "1920m",
       "1921m", "4g", "10g", "20g", "1t")),
    ("jm-512m-metaspace-128m", "jm", "512m", {"jobmanager.memory.jvm-metaspace.size": "128m"}),
    ("jm-512m-overhead-min-64m", "jm", "512m", {"jobmanager.memory.jvm-overhead.min": "64m"}),
    ("jm-512m-off-heap-32m", "jm", "512m", {"jobmanager.memory.off-heap.size": "32m"}),
    ("jm-1g-metaspace-1g", "jm", "1g", {"jobmanager.memory.jvm-metaspace.size": "1g"}),
    ("jm-4g-overhead-fraction-0.25", "jm", "4g", {"jobmanager.memory.jvm-overhead.fraction": "0.25"}),
    ("jm-1600m-overhead-fraction-1", "jm", "1600m", {"jobmanager.memory.jvm-overhead.fraction": "1.0"}),
    ("jm-1600m-overhead-min-over-max", "jm", "1600m", {"jobmanager.memory.jvm-overhead.min": "2g"}),
    ("jm-1600m-overhead-exact", "jm", "1600m",
     {"jobmanager.memory.jvm-overhead.min": "300m", "jobmanager.memory.jvm-overhead.max": "300m"}),
    ("jm-1600m-heap-512m", "jm", "1600m", {"jobmanager.memory.heap.size": "512m"}),
    ("jm-1600m-heap-1g", "jm", "1600m", {"jobmanager.memory.heap.size": "1g"}),
    ("jm-1600m-heap-1100m", "jm", "1600m", {"jobmanager.memory.heap.size": "1100m"}),
    ("jm-1600m-heap-100m", "jm", "1600m", {"jobmanager.memory.heap.size": "100m"}),
    ("jm-1600m-flink-1g", "jm", "1600m", {"jobmanager.memory.flink.size": "1g"}),
    ("jm-1600m-flink-100m", "jm", "1600m", {"jobmanager.memory.flink.size": "100m"}),
    ("jm-1600m-flink-1300m", "jm", "1600m", {"jobmanager.memory.flink.size": "1300m"}),
    ("jm-1600m-heap-flink", "jm", "1600m",
     {"jobmanager.memory.heap.size": "1000m", "jobmanager.memory.flink.size": "1152m"}),
    ("jm-1600m-heap-over-flink", "jm", "1600m",
     {"jobmanager.memory.heap.size": "1200m", "jobmanager.memory.flink.size": "1152m"}),
    ("jm-1600m-heap-flink-off-heap-mismatch", "jm", "1600m",
     {"jobmanager.memory.heap.size": "1000m", "jobmanager.memory.flink.size": "1152m",
      "jobmanager.memory.off-heap.size": "128m"}),
    ("jm-1600m-legacy-heap-1g", "jm", "1600m", {"jobmanager.heap.size": "1g"}),
    ("jm-1600m-legacy-heap-1200m", "jm", "1600m", {"jobmanager.heap.size": "1200m"}),
    ("jm-1600m-legacy-heap-mb-1200", "jm", "1600m", {"jobmanager.heap.mb": "1200"}),
    ("jm-1600m-unparseable-fraction", "jm", "1600m", {"jobmanager.memory.jvm-overhead.fraction": "0.1.2"}),
    *((f"tm-{size}", "tm", size, {}) for size in
      ("512m", "768m", "981m", "982m", "1g", "1728m", "2g", "4g", "10g", "16g", "1t")),
    ("tm-768m-managed-fraction-0.1", "tm", "768m", {"taskmanager.memory.managed.fraction": "0.1"}),
    ("tm-768m-managed-0", "tm", "768m", {"taskmanager.memory.managed.size": "0"}),
    ("tm-1g-managed-fraction-0", "tm", "1g", {"taskmanager.memory.managed.fraction": "0"}),
    ("tm-1728m-managed-fraction-1.5", "tm", "1728m", {"taskmanager.memory.managed.fraction": "1.5"}),
    ("tm-1728m-managed-size-fraction-1.5", "tm", "1728m",
     {"taskmanager.memory.managed.size": "100m", "taskmanager.memory.managed.fraction": "1.5"}),
    ("tm-1728m-deprecated-managed", "tm", "1728m", {"taskmanager.memory.size": "100m"}),
    ("tm-1728m-deprecated-network-fraction", "tm", "1728m", {"taskmanager.network.memory.fraction": "0.2"}),
    ("tm-16g-network-max-1g", "tm", "16g", {"taskmanager.memory.network.max": "1g"}),
    ("tm-2g-network-min-2g", "tm", "2g", {"taskmanager.memory.network.min": "2g"}),
    ("tm-2g-network-max-under-min", "tm", "2g", {"taskmanager.memory.network.max": "32m"}),
    ("tm-2g-fractions-exceed", "tm", "2g",
     {"taskmanager.memory.network.fraction": "0.5", "taskmanager.memory.managed.fraction": "0.6"}),
    ("tm-1728m-task-heap-384m", "tm", "1728m", {"taskmanager.memory.task.heap.size": "384m"}),
    ("tm-1728m-task-heap-1g", "tm", "1728m", {"taskmanager.memory.task.heap.size": "1g"}),
    ("tm-1728m-task-heap-900m", "tm", "1728m", {"taskmanager.memory.task.heap.size": "900m"}),
    ("tm-1728m-fine-grained", "tm", "1728m",
     {"taskmanager.memory.task.heap.size": "384m", "taskmanager.memory.managed.size": "512m"}),
    ("tm-1728m-fine-grained-too-big", "tm", "1728m",
     {"taskmanager.memory.task.heap.size": "1g", "taskmanager.memory.managed.size": "512m"}),
    ("tm-1728m-fine-grained-flink", "tm", "1728m",
     {"taskmanager.memory.task.heap.size": "384m", "taskmanager.memory.managed.size": "512m",
      "taskmanager.memory.flink.size": "1280m"}),
    ("tm-1728m-flink-1280m", "tm", "1728m", {"taskmanager.memory.flink.size": "1280m"}),
    ("tm-1728m-flink-1500m", "tm", "1728m", {"taskmanager.memory.flink.size": "1500m"}),
    ("tm-1728m-flink-300m", "tm", "1728m", {"taskmanager.memory.flink.size": "300m"}),
    ("tm-1728m-task-off-heap-1g", "tm", "1728m", {"taskmanager.memory.task.off-heap.size": "1g"}),
    ("tm-1g-framework-64m", "tm", "1g",
     {"taskmanager.memory.framework.heap.size": "64m", "taskmanager.memory.framework.off-heap.size": "64m"}),
    ("tm-3g-overhead-fraction-0.3", "tm", "3g", {"taskmanager.memory.jvm-overhead.fraction": "0.3"}),
    ("tm-1728m-legacy-network-buffers", "tm", "1728m", {"taskmanager.network.numberOfBuffers": "4096"}),
]


@pytest.fixture(scope="module")
def flink_verdicts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict[str, str]]:
    """``flink_verdicts(version)``: case id → ``OK <sizes>`` / ``ERR <message>`` from real Flink, one JVM per
    version for the whole table."""
    answers: dict[str, dict[str, str]] = {}

    def verdicts(version: str) -> dict[str, str]:
        if version not in answers:
            home = ensure_flink_home(version)
            classes = tmp_path_factory.mktemp(f"memory-verdict-{version}")
            classpath = f"{home}/lib/*"
            subprocess.run(["javac", "--release", "11", "-nowarn", "-cp", classpath, "-d", str(classes), str(SOURCE)],
                           check=True, capture_output=True, timeout=120)
            lines = []
            for case_id, kind, size, conf in CASES:
                process_key = JM_PROCESS if kind == "jm" else TM_PROCESS
                items = {process_key: size, **conf}
                lines.append("\t".join([case_id, kind, *(f"{key}={value}" for key, value in items.items())]))
            done = subprocess.run(["java", "-Xmx256m", "-cp", f"{classes}:{classpath}", "MemoryVerdict"],
                                  input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120,
                                  check=True)
            answers[version] = dict(line.split("\t", 1) for line in done.stdout.splitlines())
        return answers[version]

    return verdicts


def _sizes(answer: str) -> dict[str, int]:
    return {name: int(value) for name, value in (item.split("=") for item in answer.split(" "))}


@pytest.mark.parametrize("version", VERSIONS, ids=[f"flink-{v}" for v in VERSIONS])
def test_memory_model_matches_flink(version: str, flink_verdicts: Callable[[str], dict[str, str]]) -> None:
    verdicts = flink_verdicts(version)
    assert set(verdicts) == {case[0] for case in CASES}
    mismatches = []
    refused = accepted = not_modelled = 0
    for case_id, kind, size, conf in CASES:
        status, _, detail = verdicts[case_id].partition("\t")
        derive = jobmanager_memory if kind == "jm" else taskmanager_memory
        try:
            ours = derive(size, conf, version)
        except FlinkSpecError as error:
            if status != "ERR":
                mismatches.append(f"{case_id}: we refuse ({error}) but Flink accepts: {detail}")
            refused += 1
            continue
        if ours is None:  # not modelled: the spec lets Flink decide, so there is no verdict to compare
            not_modelled += 1
            continue
        if status != "OK":
            mismatches.append(f"{case_id}: we accept ({ours}) but Flink refuses: {detail}")
        elif dataclasses.asdict(ours) != _sizes(detail):
            mismatches.append(f"{case_id}: sizes differ: ours {dataclasses.asdict(ours)}, Flink {_sizes(detail)}")
        accepted += 1
    assert not mismatches, "\n".join(mismatches)
    # The table must exercise both verdicts; Flink alone decides the unparseable fraction and (1.x) legacy network.
    assert refused >= 15 and accepted >= 30, (refused, accepted)
    assert not_modelled == (1 if version.startswith("2.") else 2), not_modelled
