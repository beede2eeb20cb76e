"""Flink's JobManager and TaskManager memory model: which process sizes Flink accepts, and how it splits them.

A launch always sets ``jobmanager.memory.process.size`` and ``taskmanager.memory.process.size`` (the spec's
``jobmanager_memory`` / ``taskmanager_memory``); ``flink_conf`` may add the other ``*.memory.*`` options. Flink
derives the components from these before it starts anything: the CLI client refuses a bad size up front
(``AbstractContainerizedClusterClientFactory.getClusterSpecification``), while a launcher that writes the objects
itself would get a JobManager pod whose start script (``BashJavaUtils``) fails on every restart. This module
repeats that derivation so the spec refuses the same sizes, with the numbers.

Rules as in ``flink-runtime`` (``ProcessMemoryUtils``, ``JobManagerFlinkMemoryUtils``,
``TaskExecutorFlinkMemoryUtils``, ``RangeFraction``, ``MemorySize``; checked against the bytecode of the 1.20.3 and
2.3.0 ``flink-dist`` jars) and defaults as in ``JobManagerOptions`` / ``TaskManagerOptions``:

* JVM overhead = process * fraction (0.1), capped to [min 192m, max 1g]; metaspace 256m (both processes).
  ``MemorySize.multiply`` truncates ``bytes * Double.toString(fraction)`` (the fraction is a Java float).
* JobManager: Total Flink = process - metaspace - overhead; it must exceed the off-heap memory (128m);
  heap = Total Flink - off-heap. Explicit ``jobmanager.memory.heap.size`` / ``.flink.size`` change the order.
* TaskManager: Total Flink = process - metaspace - overhead; managed = 0.4 * Total Flink, network = 0.1 * Total
  Flink capped to [64m, max] (max 1g up to 1.16, unbounded from 1.17, FLINK-30469); framework heap and off-heap
  128m each, task off-heap 0; task heap is the rest and must not be negative. Explicit ``task.heap.size``,
  ``managed.size`` or ``flink.size`` switch to Flink's other derivations.

``jobmanager_memory`` / ``taskmanager_memory`` return the sizes in bytes, raise ``FlinkSpecError`` when Flink
refuses, or return ``None`` for configurations this model does not cover (legacy options, values it cannot parse
as Flink would): Flink decides those, so the spec never refuses what Flink accepts.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.java_text import JAVA_TRIM
from airflow_flink_k8s.core.versions import NEWEST_LAUNCHABLE, FlinkVersion

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
_LONG_MAX = (1 << 63) - 1
_UNITS = {"": 0, "b": 0, "bytes": 0, "k": 10, "kb": 10, "kibibytes": 10, "m": 20, "mb": 20, "mebibytes": 20,
          "g": 30, "gb": 30, "gibibytes": 30, "t": 40, "tb": 40, "tebibytes": 40}
_NUMBER = re.compile(r"([0-9]*)(.*)", re.DOTALL)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")


@dataclass(frozen=True)
class _Option:
    """A Flink memory option: key, deprecated/fallback keys (read in order after the key), default."""

    key: str
    default: str | None = None
    fallbacks: tuple[str, ...] = ()


# JobManagerOptions
JM_PROCESS = _Option("jobmanager.memory.process.size")
JM_FLINK = _Option("jobmanager.memory.flink.size")
JM_HEAP = _Option("jobmanager.memory.heap.size")
JM_OFF_HEAP = _Option("jobmanager.memory.off-heap.size", "128m")
JM_METASPACE = _Option("jobmanager.memory.jvm-metaspace.size", "256m")
JM_OVERHEAD_MIN = _Option("jobmanager.memory.jvm-overhead.min", "192m")
JM_OVERHEAD_MAX = _Option("jobmanager.memory.jvm-overhead.max", "1g")
JM_OVERHEAD_FRACTION = _Option("jobmanager.memory.jvm-overhead.fraction", "0.1")
#: Flink 1.x only (removed in 2.0): the JobManager's start script maps these to the JVM heap option.
JM_LEGACY_HEAP = _Option("jobmanager.heap.size")
JM_LEGACY_HEAP_MB = _Option("jobmanager.heap.mb")
# TaskManagerOptions
TM_PROCESS = _Option("taskmanager.memory.process.size")
TM_FLINK = _Option("taskmanager.memory.flink.size")
TM_FRAMEWORK_HEAP = _Option("taskmanager.memory.framework.heap.size", "128m")
TM_FRAMEWORK_OFF_HEAP = _Option("taskmanager.memory.framework.off-heap.size", "128m")
TM_TASK_HEAP = _Option("taskmanager.memory.task.heap.size")
TM_TASK_OFF_HEAP = _Option("taskmanager.memory.task.off-heap.size", "0b")
TM_MANAGED = _Option("taskmanager.memory.managed.size", None, ("taskmanager.memory.size",))
TM_MANAGED_FRACTION = _Option("taskmanager.memory.managed.fraction", "0.4")
TM_NETWORK_MIN = _Option("taskmanager.memory.network.min", "64m", ("taskmanager.network.memory.min",))
TM_NETWORK_MAX = _Option("taskmanager.memory.network.max", f"{_LONG_MAX}b", ("taskmanager.network.memory.max",))
TM_NETWORK_MAX_1_16 = _Option("taskmanager.memory.network.max", "1g", ("taskmanager.network.memory.max",))
TM_NETWORK_FRACTION = _Option("taskmanager.memory.network.fraction", "0.1", ("taskmanager.network.memory.fraction",))
TM_METASPACE = _Option("taskmanager.memory.jvm-metaspace.size", "256m")
TM_OVERHEAD_MIN = _Option("taskmanager.memory.jvm-overhead.min", "192m")
TM_OVERHEAD_MAX = _Option("taskmanager.memory.jvm-overhead.max", "1g")
TM_OVERHEAD_FRACTION = _Option("taskmanager.memory.jvm-overhead.fraction", "0.1")
#: Flink 1.x only: the legacy network option (used when no taskmanager.memory.network.* is set). Not modelled.
TM_LEGACY_NETWORK_BUFFERS = "taskmanager.network.numberOfBuffers"
#: Set in the JobManager pod's environment, it overrides the heap (Flink 1.x). Not modelled.
JM_LEGACY_HEAP_ENV_KEYS = ("containerized.master.env.FLINK_JM_HEAP", "kubernetes.jobmanager.env.FLINK_JM_HEAP")


@dataclass(frozen=True)
class JobManagerMemory:
    """The JobManager's memory components in bytes, as Flink derives them."""

    process: int
    flink: int
    heap: int
    off_heap: int
    metaspace: int
    overhead: int


@dataclass(frozen=True)
class TaskManagerMemory:
    """The TaskManager's memory components in bytes, as Flink derives them."""

    process: int
    flink: int
    framework_heap: int
    framework_off_heap: int
    task_heap: int
    task_off_heap: int
    network: int
    managed: int
    metaspace: int
    overhead: int


class _NotModelled(Exception):
    """The configuration needs something this model does not cover; Flink decides."""


@dataclass(frozen=True)
class _Range:
    minimum: int
    maximum: int
    fraction: float
    fraction_key: str

    def describe(self, share: str) -> str:
        return f"{self.fraction * 100:g} % of {share}, at least {human(self.minimum)}, at most {human(self.maximum)}"


def human(size: int) -> str:
    """``192m``, ``1g``, or ``128.000m (134217730 bytes)`` when not a whole KiB multiple of a unit."""
    if size < 0:
        return "-" + human(-size)
    if size == _LONG_MAX:
        return "unbounded"
    for shift, unit in ((40, "t"), (30, "g"), (20, "m")):
        if size and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    if size < MIB:
        return f"{size} bytes"
    return f"{size / MIB:.3f}m ({size} bytes)"


def parse_memory_size(text: str) -> int | None:
    """Bytes of a Flink memory size as ``MemorySize.parse`` reads it, or None where Flink would fail."""
    trimmed = text.strip(JAVA_TRIM)
    match = _NUMBER.fullmatch(trimmed)
    assert match is not None
    number, unit = match[1], match[2].strip(JAVA_TRIM).lower()
    if not number or unit not in _UNITS or len(number.lstrip("0")) > 19:
        return None
    value = int(number) << _UNITS[unit]
    return value if int(number) <= _LONG_MAX and value <= _LONG_MAX else None


def _java_float(text: str) -> float | None:
    """A plain decimal as ``Float.parseFloat`` reads it (rounded to a float), widened to a double."""
    trimmed = text.strip(JAVA_TRIM)
    if not _DECIMAL.fullmatch(trimmed):
        return None
    value: float = struct.unpack("f", struct.pack("f", float(trimmed)))[0]
    return value


def _multiply(size: int, multiplier: float) -> int:
    """``MemorySize.multiply``: BigDecimal(bytes) * BigDecimal.valueOf(double), truncated to a long."""
    product = int(Decimal(size) * Decimal(repr(multiplier)))
    if product > _LONG_MAX:
        raise _NotModelled  # Flink: ArithmeticException "long overflow"
    return product


def _add(*sizes: int) -> int:
    """``MemorySize.add`` (Math.addExact): an overflow fails in Flink with an exception this model leaves to it."""
    total = sum(sizes)
    if total > _LONG_MAX:
        raise _NotModelled
    return total


class _Conf:
    """Reads options the way Flink's ``Configuration`` does: key first, then fallback keys, then the default."""

    def __init__(self, conf: Mapping[str, str], overrides: Mapping[str, str] | None = None) -> None:
        self._conf = {**conf, **(overrides or {})}

    def key_of(self, option: _Option) -> str | None:
        for key in (option.key, *option.fallbacks):
            if key in self._conf:
                return key
        return None

    def contains(self, option: _Option) -> bool:
        return self.key_of(option) is not None

    def where(self, option: _Option) -> str:
        """``flink_conf['key']`` when configured, else ``default``: for messages."""
        key = self.key_of(option)
        return "default" if key is None else f"flink_conf[{key!r}]"

    def raw(self, option: _Option) -> str | None:
        key = self.key_of(option)
        return None if key is None else str(self._conf[key])

    def size(self, option: _Option) -> int:
        key = self.key_of(option)
        text = option.default if key is None else str(self._conf[key])
        if text is None:
            raise _NotModelled  # no default: callers check contains() first, as Flink does
        size = parse_memory_size(text)
        if size is None:
            raise _NotModelled  # Flink: "Cannot read memory size from config option ..."
        return size

    def fraction(self, option: _Option) -> float:
        key = self.key_of(option)
        text = option.default if key is None else str(self._conf[key])
        value = None if text is None else _java_float(text)
        if value is None:
            raise _NotModelled
        return value

    def range(self, field: str, minimum: _Option, maximum: _Option, fraction: _Option) -> _Range:
        """``ProcessMemoryUtils.getRangeFraction`` with ``RangeFraction``'s checks."""
        low, high, share = self.size(minimum), self.size(maximum), self.fraction(fraction)
        if low > high:
            blame = self.key_of(minimum) or self.key_of(maximum)
            raise FlinkSpecError(_conf_field(blame, field), f"{minimum.key} ({human(low)}) must not exceed "
                                 f"{maximum.key} ({human(high)}); Flink refuses the range as inconsistent")
        if not 0 <= share < 1:
            raise FlinkSpecError(_conf_field(self.key_of(fraction), field), f"{fraction.key} must be in [0, 1), "
                                 f"got {share:g}; Flink refuses the range as inconsistent")
        return _Range(low, high, share, fraction.key)


def _conf_field(key: str | None, field: str) -> str:
    return field if key is None else f"flink_conf[{key!r}]"


def _cap(size: int, limits: _Range) -> int:
    """``ProcessMemoryUtils.capToMinMax``."""
    return min(max(size, limits.minimum), limits.maximum)


def _overhead(conf: _Conf, field: str, prefix: str) -> _Range:
    return conf.range(field, _opt(prefix, "jvm-overhead.min"), _opt(prefix, "jvm-overhead.max"),
                      _opt(prefix, "jvm-overhead.fraction"))


def _opt(prefix: str, name: str) -> _Option:
    table = _JM_OPTIONS if prefix == "jobmanager" else _TM_OPTIONS
    return table[name]


_JM_OPTIONS = {"jvm-metaspace.size": JM_METASPACE, "jvm-overhead.min": JM_OVERHEAD_MIN,
               "jvm-overhead.max": JM_OVERHEAD_MAX, "jvm-overhead.fraction": JM_OVERHEAD_FRACTION}
_TM_OPTIONS = {"jvm-metaspace.size": TM_METASPACE, "jvm-overhead.min": TM_OVERHEAD_MIN,
               "jvm-overhead.max": TM_OVERHEAD_MAX, "jvm-overhead.fraction": TM_OVERHEAD_FRACTION}


def _metaspace_and_overhead_of_process(conf: _Conf, field: str, prefix: str, process: int,
                                      hint: Callable[[], str]) -> tuple[int, int, str]:
    """``deriveJvmMetaspaceAndOverheadWithTotalProcessMemory``: overhead as a capped fraction of the process."""
    metaspace = conf.size(_opt(prefix, "jvm-metaspace.size"))
    limits = _overhead(conf, field, prefix)
    overhead = _cap(_multiply(process, limits.fraction), limits)
    note = (f"JVM metaspace {human(metaspace)} ({conf.where(_opt(prefix, 'jvm-metaspace.size'))}), JVM overhead "
            f"{human(overhead)} ({limits.describe('the process size')})")
    if metaspace + overhead > process:
        raise FlinkSpecError(field, f"{human(process)} is less than {note} together: Flink refuses it (Sum of "
                             "configured JVM Metaspace and JVM Overhead exceed configured Total Process Memory)"
                             + hint())
    return metaspace, overhead, note


def _metaspace_and_overhead_of_flink(conf: _Conf, field: str, prefix: str, process: int, flink: int,
                                     culprit: str) -> tuple[int, int]:
    """``deriveJvmOverheadFromTotalFlinkMemoryAndOtherComponents``: with Total Flink Memory fixed by explicit
    options, the overhead is what the process size leaves, and must lie in the overhead range."""
    metaspace = conf.size(_opt(prefix, "jvm-metaspace.size"))
    if process < _add(flink, metaspace):
        raise FlinkSpecError(culprit, f"makes Total Flink Memory {human(flink)}, which with JVM metaspace "
                             f"{human(metaspace)} exceeds the process size {human(process)} ({field}); Flink refuses "
                             "it (Total Process Memory less than Total Flink Memory plus JVM Metaspace)")
    overhead = process - flink - metaspace
    limits = _overhead(conf, field, prefix)
    if not limits.minimum <= overhead <= limits.maximum:
        raise FlinkSpecError(culprit, f"makes Total Flink Memory {human(flink)}, which leaves JVM overhead "
                             f"{human(overhead)} of the process size {human(process)} ({field}) after JVM metaspace "
                             f"{human(metaspace)}; Flink refuses it (Derived JVM Overhead size is not in configured "
                             f"JVM Overhead range [{human(limits.minimum)}, {human(limits.maximum)}])")
    return metaspace, overhead


# --------------------------------------------------------------------------------------------- JobManager
def jobmanager_memory(process_size: str, conf: Mapping[str, str],
                      version: FlinkVersion | str = NEWEST_LAUNCHABLE) -> JobManagerMemory | None:
    """The JobManager's memory for ``jobmanager.memory.process.size = process_size`` plus ``conf``.

    Raises ``FlinkSpecError`` (naming ``jobmanager_memory`` or the ``flink_conf`` key at fault) where Flink
    refuses the configuration; returns None where this model does not cover it.
    """
    version = FlinkVersion.parse(version)
    try:
        process = parse_memory_size(process_size)
        if process is None:
            return None
        # The client validates the configuration as given; the JobManager's start script on Flink 1.x first maps
        # the legacy heap options to jobmanager.memory.heap.size. Both must accept it.
        client = _jobmanager(process, _Conf(conf))
        if version.at_least(2, 0):
            return client
        if any(key in conf for key in JM_LEGACY_HEAP_ENV_KEYS):
            return None
        legacy = _legacy_heap(_Conf(conf))
        if legacy is None or JM_HEAP.key in conf:
            return client
        key, heap = legacy
        return _jobmanager(process, _Conf(conf, {JM_HEAP.key: f"{heap}b"}), legacy_heap_key=key)
    except _NotModelled:
        return None


def _legacy_heap(conf: _Conf) -> tuple[str, int] | None:
    """``MemoryBackwardsCompatibilityUtils``: jobmanager.heap.size, else jobmanager.heap.mb (an int of MiB)."""
    if conf.contains(JM_LEGACY_HEAP):
        return JM_LEGACY_HEAP.key, conf.size(JM_LEGACY_HEAP)
    text = conf.raw(JM_LEGACY_HEAP_MB)
    if text is None:
        return None
    if not _INTEGER.fullmatch(text) or not 0 <= int(text) < 1 << 31:
        raise _NotModelled
    return JM_LEGACY_HEAP_MB.key, int(text) << 20


def _jobmanager(process: int, conf: _Conf, legacy_heap_key: str | None = None, hints: bool = True) -> JobManagerMemory:
    field = "jobmanager_memory"
    if conf.contains(JM_HEAP):
        # JobManagerFlinkMemoryUtils.deriveFromRequiredFineGrainedOptions
        culprit = f"flink_conf[{legacy_heap_key or JM_HEAP.key!r}]"
        heap = conf.size(JM_HEAP)
        off_heap = conf.size(JM_OFF_HEAP)
        if conf.contains(JM_FLINK):
            flink = conf.size(JM_FLINK)
            if conf.contains(JM_OFF_HEAP):
                if _add(heap, off_heap) != flink:
                    raise FlinkSpecError(culprit, f"JVM heap {human(heap)} plus off-heap {human(off_heap)} must equal "
                                         f"{JM_FLINK.key} ({human(flink)}); Flink refuses it (Sum of the configured "
                                         "JVM Heap Memory and Off-heap Memory does not match Total Flink Memory)")
            else:
                if flink < heap:
                    raise FlinkSpecError(culprit, f"JVM heap {human(heap)} exceeds {JM_FLINK.key} ({human(flink)}); "
                                         "Flink refuses it")
                off_heap = flink - heap
        flink = _add(heap, off_heap)
        metaspace, overhead = _metaspace_and_overhead_of_flink(conf, field, "jobmanager", process, flink, culprit)
        return JobManagerMemory(process, flink, heap, off_heap, metaspace, overhead)
    if conf.contains(JM_FLINK):
        flink = conf.size(JM_FLINK)
        off_heap = conf.size(JM_OFF_HEAP)
        culprit = f"flink_conf[{JM_FLINK.key!r}]"
        if flink <= off_heap:
            raise FlinkSpecError(culprit, f"Total Flink Memory {human(flink)} must exceed the off-heap memory "
                                 f"{human(off_heap)} ({conf.where(JM_OFF_HEAP)}) to leave a JVM heap; Flink refuses it")
        metaspace, overhead = _metaspace_and_overhead_of_flink(conf, field, "jobmanager", process, flink, culprit)
        return JobManagerMemory(process, flink, flink - off_heap, off_heap, metaspace, overhead)
    def hint() -> str:
        return _smallest_hint(lambda size: _jobmanager(size, conf, hints=False)) if hints else ""

    metaspace, overhead, note = _metaspace_and_overhead_of_process(conf, field, "jobmanager", process, hint)
    flink = process - metaspace - overhead
    off_heap = conf.size(JM_OFF_HEAP)
    if flink <= off_heap:
        raise FlinkSpecError(field, f"{human(process)} leaves {human(flink - off_heap)} JVM heap after {note} and "
                             f"off-heap {human(off_heap)} ({conf.where(JM_OFF_HEAP)}): Flink refuses it (Total Flink "
                             f"Memory {human(flink)} must exceed the off-heap memory){hint()}")
    return JobManagerMemory(process, flink, flink - off_heap, off_heap, metaspace, overhead)


# --------------------------------------------------------------------------------------------- TaskManager
def taskmanager_memory(process_size: str, conf: Mapping[str, str],
                       version: FlinkVersion | str = NEWEST_LAUNCHABLE) -> TaskManagerMemory | None:
    """The TaskManager's memory for ``taskmanager.memory.process.size = process_size`` plus ``conf``.

    Raises ``FlinkSpecError`` (naming ``taskmanager_memory`` or the ``flink_conf`` key at fault) where Flink
    refuses the configuration; returns None where this model does not cover it.
    """
    version = FlinkVersion.parse(version)
    try:
        process = parse_memory_size(process_size)
        if process is None:
            return None
        reader = _Conf(conf)
        network_keys = (TM_NETWORK_MIN, TM_NETWORK_MAX, TM_NETWORK_FRACTION)
        if (not version.at_least(2, 0) and TM_LEGACY_NETWORK_BUFFERS in conf
                and not any(reader.contains(option) for option in network_keys)):
            return None
        network_max = TM_NETWORK_MAX if version.at_least(1, 17) else TM_NETWORK_MAX_1_16
        return _taskmanager(process, reader, network_max)
    except _NotModelled:
        return None


def _network_range(conf: _Conf, network_max: _Option) -> _Range:
    return conf.range("taskmanager_memory", TM_NETWORK_MIN, network_max, TM_NETWORK_FRACTION)


def _check_network(conf: _Conf, network_max: _Option, network: int, flink: int, culprit: str) -> None:
    """``sanityCheckNetworkMemoryWithExplicitlySetTotalFlinkAndHeapMemory``."""
    limits = _network_range(conf, network_max)
    if not limits.minimum <= network <= limits.maximum:
        raise FlinkSpecError(culprit, f"leaves network memory {human(network)} of Total Flink Memory {human(flink)}, "
                             f"outside the network range [{human(limits.minimum)}, {human(limits.maximum)}]; Flink "
                             "refuses it (with Total Flink, Task Heap and/or Managed Memory explicitly configured the "
                             "network memory is the rest)")


def _managed(conf: _Conf, flink: int) -> int:
    if conf.contains(TM_MANAGED):
        return conf.size(TM_MANAGED)
    limits = conf.range("taskmanager_memory", _Option("", "0b"), _Option("", f"{_LONG_MAX}b"), TM_MANAGED_FRACTION)
    return _multiply(flink, limits.fraction)


def _taskmanager(process: int, conf: _Conf, network_max: _Option, hints: bool = True) -> TaskManagerMemory:
    field = "taskmanager_memory"
    if conf.contains(TM_TASK_HEAP) and conf.contains(TM_MANAGED):
        # TaskExecutorFlinkMemoryUtils.deriveFromRequiredFineGrainedOptions
        task_heap, managed = conf.size(TM_TASK_HEAP), conf.size(TM_MANAGED)
        framework_heap, framework_off_heap = conf.size(TM_FRAMEWORK_HEAP), conf.size(TM_FRAMEWORK_OFF_HEAP)
        task_off_heap = conf.size(TM_TASK_OFF_HEAP)
        without_network = _add(framework_heap, framework_off_heap, task_heap, task_off_heap, managed)
        culprit = f"flink_conf[{TM_TASK_HEAP.key!r}]"
        if conf.contains(TM_FLINK):
            flink = conf.size(TM_FLINK)
            if without_network > flink:
                raise FlinkSpecError(culprit, f"framework heap, framework off-heap, task heap, task off-heap and "
                                     f"managed memory ({human(without_network)}) exceed {TM_FLINK.key} "
                                     f"({human(flink)}); Flink refuses it")
            network = flink - without_network
            _check_network(conf, network_max, network, flink, culprit)
        else:
            limits = _network_range(conf, network_max)
            if limits.fraction >= 1:
                raise _NotModelled
            ratio = limits.fraction / (1 - limits.fraction)
            network = _cap(_multiply(without_network, ratio), limits)
        flink = _add(without_network, network)
        metaspace, overhead = _metaspace_and_overhead_of_flink(conf, field, "taskmanager", process, flink, culprit)
        return TaskManagerMemory(process, flink, framework_heap, framework_off_heap, task_heap, task_off_heap,
                                 network, managed, metaspace, overhead)
    if conf.contains(TM_FLINK):
        flink = conf.size(TM_FLINK)
        culprit = f"flink_conf[{TM_FLINK.key!r}]"
        parts = _flink_components(conf, network_max, flink, culprit, "", lambda: "")
        metaspace, overhead = _metaspace_and_overhead_of_flink(conf, field, "taskmanager", process, flink, culprit)
        return TaskManagerMemory(process, flink, *parts, metaspace, overhead)
    def hint() -> str:
        return _smallest_hint(lambda size: _taskmanager(size, conf, network_max, hints=False)) if hints else ""

    metaspace, overhead, note = _metaspace_and_overhead_of_process(conf, field, "taskmanager", process, hint)
    flink = process - metaspace - overhead
    if conf.contains(TM_TASK_HEAP):
        parts = _flink_components(conf, network_max, flink, f"flink_conf[{TM_TASK_HEAP.key!r}]", "", lambda: "")
    else:
        parts = _flink_components(conf, network_max, flink, field, f"{human(process)} leaves ", hint, note)
    return TaskManagerMemory(process, flink, *parts, metaspace, overhead)


def _flink_components(conf: _Conf, network_max: _Option, flink: int, culprit: str, subject: str,
                      hint: Callable[[], str], note: str = "") -> tuple[int, int, int, int, int, int]:
    """``TaskExecutorFlinkMemoryUtils.deriveFromTotalFlinkMemory``: framework heap, framework off-heap, task heap,
    task off-heap, network, managed."""
    framework_heap, framework_off_heap = conf.size(TM_FRAMEWORK_HEAP), conf.size(TM_FRAMEWORK_OFF_HEAP)
    task_off_heap = conf.size(TM_TASK_OFF_HEAP)
    if conf.contains(TM_TASK_HEAP):
        task_heap = conf.size(TM_TASK_HEAP)
        managed = _managed(conf, flink)
        without_network = _add(framework_heap, framework_off_heap, task_heap, task_off_heap, managed)
        if without_network > flink:
            raise FlinkSpecError(culprit, f"framework heap {human(framework_heap)}, framework off-heap "
                                 f"{human(framework_off_heap)}, task heap {human(task_heap)}, task off-heap "
                                 f"{human(task_off_heap)} and managed memory {human(managed)} exceed Total Flink "
                                 f"Memory {human(flink)}; Flink refuses it")
        network = flink - without_network
        _check_network(conf, network_max, network, flink, culprit)
        return framework_heap, framework_off_heap, task_heap, task_off_heap, network, managed
    managed = _managed(conf, flink)
    limits = _network_range(conf, network_max)
    network = _cap(_multiply(flink, limits.fraction), limits)
    without_task_heap = _add(framework_heap, framework_off_heap, task_off_heap, managed, network)
    if without_task_heap > flink:
        after = f" after {note}" if note else ""
        raise FlinkSpecError(culprit, f"{subject}Total Flink Memory {human(flink)}{after}, less than framework heap "
                             f"{human(framework_heap)} + framework off-heap {human(framework_off_heap)} + task "
                             f"off-heap {human(task_off_heap)} + managed {human(managed)} ({_managed_source(conf)}) + "
                             f"network {human(network)} ({limits.describe('Total Flink Memory')}) = "
                             f"{human(without_task_heap)}, so the task heap would be {human(flink - without_task_heap)}"
                             f": Flink refuses it{hint()}")
    return (framework_heap, framework_off_heap, flink - without_task_heap, task_off_heap, network, managed)


def _managed_source(conf: _Conf) -> str:
    if conf.contains(TM_MANAGED):
        return conf.where(TM_MANAGED)
    return f"{conf.fraction(TM_MANAGED_FRACTION) * 100:g} % of Total Flink Memory, {conf.where(TM_MANAGED_FRACTION)}"


def _smallest_hint(derive: Callable[[int], object]) -> str:
    """``; the smallest size Flink accepts with this configuration is Nm`` when the sizes Flink accepts are all
    whole MiB from some N up (checked at N and N - 1), else nothing."""

    def accepted(mebibytes: int) -> bool:
        try:
            derive(mebibytes * MIB)
        except FlinkSpecError:
            return False
        return True

    low, high = 1, 1 << 20  # 1 TiB
    try:
        if not accepted(high):
            return ""
        while low < high:
            middle = (low + high) // 2
            if accepted(middle):
                high = middle
            else:
                low = middle + 1
        if low > 1 and accepted(low - 1):
            return ""
    except _NotModelled:
        return ""
    return f"; the smallest size Flink accepts with this configuration is {low}m"
