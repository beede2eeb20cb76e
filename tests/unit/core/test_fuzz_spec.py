"""Property tests and a bounded fuzz run over launch-spec validation (``FlinkApplicationSpec`` construction).

Each field rule is restated here from its source (Kubernetes' DNS label rules, Flink's cluster-id limit,
Flink's ``MemorySize.parseBytes`` and ``TimeUtils.parseDuration``, ZooKeeper's path rule) and checked both
ways: what the rule allows is accepted, and anything accepted is what Flink / Kubernetes / ZooKeeper take.
A rejection is always ``FlinkSpecError`` naming the field; nothing else ever escapes.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from airflow_flink_k8s.core.spec import FlinkApplicationSpec, FlinkSpecError
from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path
from tests.fuzz_settings import fuzz_settings
from tests.unit.core.test_fuzz_zookeeper_paths import zookeeper_accepts

BASE: dict[str, Any] = {
    "cluster_id": "state-machine-cluster",
    "image": "harbor.example/flink/statemachine:v0.0.6",
    "jar_uri": "local:///opt/flink/usrlib/StateMachineExample.jar",
    "flink_version": "2.3.0",
}
ZK = {"ha": "zookeeper", "ha_storage_dir": "file:///flink/ha", "zookeeper_quorum": "127.0.0.1:2181"}
LOWER, DIGITS = "abcdefghijklmnopqrstuvwxyz", "0123456789"
LONG_MAX = 2**63 - 1
#: Odd characters that regexes tend to let through: non-ASCII digits, Unicode spaces, the Kelvin sign, NEL.
ODD = "\u0661\uff11\u2003\x85\xa0\u212a\n\t\x00"


def outcome(**fields: Any) -> FlinkApplicationSpec | FlinkSpecError:
    """The spec built from BASE plus ``fields``, or its FlinkSpecError; any other exception fails the test."""
    try:
        return FlinkApplicationSpec(**{**BASE, **fields})
    except FlinkSpecError as error:
        return error


def assert_rule(field: str, value: Any, allowed: bool, **extra: Any) -> None:
    result = outcome(**{field: value}, **extra)
    if allowed:
        assert isinstance(result, FlinkApplicationSpec), f"{field}={value!r} refused: {result}"
    else:
        assert isinstance(result, FlinkSpecError), f"{field}={value!r} accepted"
        assert result.field == field or result.field.startswith(f"{field}["), result


def dns_label(text: Any, first: str, max_length: int) -> bool:
    """A DNS label: 1..max_length of [a-z0-9-], starting with one of ``first``, ending alphanumeric."""
    return (isinstance(text, str) and 0 < len(text) <= max_length and text[0] in first
            and text[-1] in LOWER + DIGITS and all(char in LOWER + DIGITS + "-" for char in text))


def label_text(alphabet: str, max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet) | st.sampled_from(ODD + "A_.") | st.characters(), max_size=max_size)


@fuzz_settings(2)
@given(value=label_text(LOWER + DIGITS + "-", 50) | st.text(st.sampled_from(LOWER + "-"), min_size=40, max_size=50)
       | st.none() | st.integers())
@example(value="a" * 45)
@example(value="a" * 46)
@example(value="a-\n")
def test_cluster_id_is_a_dns_1035_label_of_at_most_45(value):
    """Flink's 45-character limit and the DNS-1035 label the API server requires of the Service name."""
    assert_rule("cluster_id", value, dns_label(value, LOWER, 45))


@fuzz_settings()
@given(value=label_text(LOWER + DIGITS + "-", 70) | st.text(st.sampled_from(LOWER + "1-"), min_size=60, max_size=66))
def test_namespace_is_a_dns_1123_label(value):
    assert_rule("namespace", value, dns_label(value, LOWER + DIGITS, 63))


@fuzz_settings()
@given(value=label_text("0123456789abcdef", 34) | st.text("0123456789abcdefABCDEF", min_size=32, max_size=32))
def test_job_id_is_32_lowercase_hex_digits(value):
    assert_rule("job_id", value, len(value) == 32 and all(char in "0123456789abcdef" for char in value))


# Flink's MemorySize.parseBytes and TimeUtils.parseDuration, restated.

MEMORY_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 2**10, "kb": 2**10, "kibibytes": 2**10, "m": 2**20, "mb": 2**20,
                "mebibytes": 2**20, "g": 2**30, "gb": 2**30, "gibibytes": 2**30, "t": 2**40, "tb": 2**40,
                "tebibytes": 2**40}
DURATION_UNITS = {  # label -> milliseconds; ChronoUnit of each label group in TimeUtils.TimeUnit
    **dict.fromkeys(["ns", "nano", "nanos", "nanosecond", "nanoseconds"], Fraction(1, 10**6)),
    **dict.fromkeys(["µs", "micro", "micros", "microsecond", "microseconds"], Fraction(1, 10**3)),
    **dict.fromkeys(["", "ms", "milli", "millis", "millisecond", "milliseconds"], Fraction(1)),
    **dict.fromkeys(["s", "sec", "secs", "second", "seconds"], Fraction(1000)),
    **dict.fromkeys(["m", "min", "minute", "minutes"], Fraction(60_000)),
    **dict.fromkeys(["h", "hour", "hours"], Fraction(3_600_000)),
    **dict.fromkeys(["d", "day", "days"], Fraction(86_400_000)),
}


def java_trim(text: str) -> str:
    """``String.trim()``: drops every leading and trailing char up to U+0020, nothing else."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def flink_number_and_unit(text: str) -> tuple[int, str] | None:
    """The split both Flink parsers make: leading ASCII digits, then the trimmed, lower-cased unit label."""
    trimmed = java_trim(text)
    position = 0
    while position < len(trimmed) and "0" <= trimmed[position] <= "9":
        position += 1
    if position == 0 or len(trimmed[:position].lstrip("0")) > 19:
        return None
    number = int(trimmed[:position])
    return (number, java_trim(trimmed[position:]).lower()) if number <= LONG_MAX else None


def flink_memory_bytes(text: str) -> int | None:
    parsed = flink_number_and_unit(text)
    if parsed is None or parsed[1] not in MEMORY_UNITS or parsed[0] * MEMORY_UNITS[parsed[1]] > LONG_MAX:
        return None
    return parsed[0] * MEMORY_UNITS[parsed[1]]


def flink_duration_millis(text: str) -> Fraction | None:
    parsed = flink_number_and_unit(text)
    if parsed is None or parsed[1] not in DURATION_UNITS:
        return None
    return parsed[0] * DURATION_UNITS[parsed[1]]


def canonical_sizes(units: dict[str, Any]) -> st.SearchStrategy[str]:
    """Plain spellings Flink documents: ASCII digits, a unit label in any ASCII case, optional spaces."""
    return st.builds(
        lambda number, space, unit, upper, pad: f"{pad}{number}{space}{unit.upper() if upper else unit}{pad}",
        st.integers(0, 2**64) | st.integers(0, 5000), st.sampled_from(["", " ", "  "]), st.sampled_from(sorted(units)),
        st.booleans(), st.sampled_from(["", " "]),
    )


odd_sizes = st.text(st.sampled_from("0123456789 kmgtbKMGTBsSdhHnµ" + ODD), max_size=14)


def assert_matches_flink(field_name: str, value: str, allowed: bool, flink_reads: str) -> None:
    """The spec accepts ``value`` for ``field_name`` only where Flink's parser gives an allowed value, and refuses
    (naming the field) every plain ASCII spelling Flink would not take."""
    result = outcome(**{field_name: value})
    if isinstance(result, FlinkApplicationSpec):
        assert allowed, f"{field_name}={value!r} accepted; Flink reads {flink_reads}"
    else:
        assert result.field == field_name
        ascii_only = all(char.isascii() and (char.isalnum() or char == " ") for char in value)
        assert not (allowed and ascii_only), f"{field_name}={value!r} refused: {result}"


@fuzz_settings(2)
@given(value=canonical_sizes(MEMORY_UNITS) | odd_sizes)
@example(value="\u0661\u0666\u0660\u0660m")
@example(value="1600\u2003m")
@example(value="8388608t")
@example(value="9" * 5000 + "m")
@example(value="1M\x85")  # Python strips U+0085, Java does not: the model must judge the rendered (stripped) size
def test_memory_sizes_are_what_flink_parses_of_at_least_1_mib(value):
    size = flink_memory_bytes(value.strip())  # the launch passes memory sizes stripped
    # Flink's JobManager memory model with the defaults needs more than metaspace 256m + overhead 192m + off-heap
    # 128m = 576 MiB (the overhead is its 192m minimum below 1920m); core.memory_model refuses less.
    allowed = size is not None and size > 576 * 2**20
    assert_matches_flink("jobmanager_memory", value, allowed, f"{size!r} bytes")


@fuzz_settings(2)
@given(value=canonical_sizes(DURATION_UNITS) | odd_sizes)
@example(value="\u0661s")
@example(value="9ms")
@example(value="10000000ns")
@example(value="9999999ns")
@example(value="1\u0660s")
@example(value="\x8510s")
@example(value="106751991167301d")
@example(value="9223372036854775808ms")
@example(value="9" * 5000 + "s")
def test_checkpoint_intervals_are_flink_durations_of_at_least_10_ms(value):
    millis = flink_duration_millis(value)
    allowed = millis is not None and 10 <= millis <= LONG_MAX  # Flink's MINIMAL_CHECKPOINT_TIME is 10 ms
    assert_matches_flink("checkpoint_interval", value, allowed, f"{millis!r} ms")


@fuzz_settings()
@given(value=st.integers() | st.floats() | st.decimals() | st.booleans() | st.none() | st.text(max_size=8)
       | st.integers(10**300, 10**400))
@example(value=10**400)
@example(value="1e3")
@example(value="nan")
def test_cpu_is_a_number_of_cores(value):
    try:
        amount = math.nan if isinstance(value, bool) or value is None else float(value)
    except (TypeError, ValueError, OverflowError):
        amount = math.nan
    allowed = value is None or 0.001 <= amount < 1e6
    result = outcome(taskmanager_cpu=value)
    if allowed:
        assert isinstance(result, FlinkApplicationSpec)
        assert result.taskmanager_cpu == (None if value is None else amount)
    else:
        assert isinstance(result, FlinkSpecError) and result.field == "taskmanager_cpu"


@fuzz_settings()
@given(root=st.text(st.sampled_from("/fl.k") | st.sampled_from(ODD + "\x01\x7f\ue000\U0001f600"), max_size=10))
@example(root="/flink//x")
@example(root="/flink/..")
@example(root="/flink\x01")
def test_zookeeper_root_is_a_path_zookeeper_accepts(root):
    """An accepted root gives the sensor a leader path ZooKeeper takes; a refused one names zookeeper_root."""
    result = outcome(**ZK, zookeeper_root=root)
    if isinstance(result, FlinkApplicationSpec):
        assert zookeeper_accepts(root)
        path = zookeeper_leader_path(result.version, result.cluster_id, root=result.zookeeper_root)
        assert zookeeper_accepts(path) and path.startswith(root.rstrip("/") + "/")
    else:
        assert result.field == "zookeeper_root"
        assert not zookeeper_accepts(root) or root in ("", "/")  # "/": refused, the whole ensemble


def quorum_ok(quorum: str) -> bool:
    """host:port[,host:port…]: each host non-empty, each port 1..65535 in ASCII digits."""
    for entry in quorum.split(","):
        host, colon, port = entry.rpartition(":")
        if not colon or not host or not port or not all("0" <= char <= "9" for char in port):
            return False
        if not 0 < int(port) < 65536:
            return False
    return True


@fuzz_settings()
@given(quorum=st.lists(st.builds("{}:{}".format, st.sampled_from(["zk-0", "10.0.0.1", "[::1]", ""]),
                                 st.integers(0, 99999) | st.sampled_from(["\u0661", "", "21\uff18"])),
                       min_size=1, max_size=3).map(",".join))
@example(quorum="zk-0:99999")
@example(quorum="zk-0:0")
@example(quorum="zk-0:\u0662\u0661\u0668\u0661")
def test_zookeeper_quorum_ports_are_tcp_ports(quorum):
    result = outcome(**{**ZK, "zookeeper_quorum": quorum})
    if isinstance(result, FlinkApplicationSpec):
        assert quorum_ok(quorum), f"zookeeper_quorum={quorum!r} accepted"
    else:
        assert result.field == "zookeeper_quorum"


# Any value in any field: a spec or FlinkSpecError naming a field, and accepted specs round-trip.

FIELD_NAMES = sorted(FlinkApplicationSpec.__dataclass_fields__)
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(10**300, 10**400) | st.floats() | st.decimals()
    | st.text(max_size=12) | st.binary(max_size=4) | st.sampled_from(["", "latest", "none", "2.3.0", "/flink", "a"]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner) | st.frozensets(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3),
    max_leaves=6,
)


@fuzz_settings(3)
@given(overrides=st.dictionaries(st.sampled_from(FIELD_NAMES), anything, min_size=1, max_size=3),
       ha=st.sampled_from([{}, ZK, {"ha": "kubernetes", "ha_storage_dir": "s3://b/ha"}]))
@example(overrides={"jobmanager_cpu": 10**400}, ha={})
@example(overrides={"taskmanager_tolerations": [{1: "a", "b": 2}]}, ha={})
@example(overrides={"jobmanager_memory": "9" * 5000 + "m"}, ha={})
@example(overrides={"zookeeper_quorum": (None,)}, ha={})
def test_any_field_values_give_a_spec_or_a_field_error(overrides, ha):
    try:
        spec = FlinkApplicationSpec.from_dict({**BASE, **ha, **overrides})
    except FlinkSpecError as error:
        assert error.field.split("[")[0] in FIELD_NAMES, f"error names no field: {error}"
        return
    assert FlinkApplicationSpec.from_dict(spec.to_dict()) == spec


@fuzz_settings()
@given(decimal=st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=Decimal("0.001"),
                           max_value=Decimal(999999)))
def test_decimal_cpu_is_stored_as_float(decimal):
    assert outcome(jobmanager_cpu=decimal).jobmanager_cpu == float(decimal)
