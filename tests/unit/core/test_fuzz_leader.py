"""Property tests and a bounded fuzz run over the HA leader readers (``airflow_flink_k8s.core.leader``).

Seeds are the bytes and ConfigMaps recorded from real Flink 2.3.0 and 1.20.3 (``tests/data/ha``). The
oracles are independent of the code under test: a Java-serialisation writer built here from the layout in
FLINK_FACTS (and checked byte for byte against the recordings), the leader value split as Flink's
KubernetesUtils encodes it, and lease expiry computed from the times the test itself generated.
"""

from __future__ import annotations

import copy
import json
import re
import struct
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_flink_k8s.core.leader import (
    LEADER_ANNOTATION,
    LEADER_KEY_PREFIX,
    LeaderDataError,
    LeaderInfo,
    decode_zookeeper_leader,
    parse_iso8601_duration,
    parse_kubernetes_leader,
)
from tests.fuzz_settings import fuzz_settings
from tests.paths import DATA_DIR as TEST_DATA

DATA_DIR = TEST_DATA / "ha"
HEADER = b"\xac\xed\x00\x05"

# --------------------------------------------------------------------------------------------------
# ZooKeeper: an independent writer of Flink's leader record

ZK_RECORDINGS = {path.stem: path.read_bytes() for path in sorted(DATA_DIR.glob("zookeeper-*.bin"))}
ZK_META = {stem: json.loads((DATA_DIR / f"{stem}.json").read_text()) for stem in ZK_RECORDINGS}


def _recorded_address_bytes(record: bytes) -> bytes:
    """The writeUTF body of a short recorded record: ``AC ED 00 05 | 77 len | u16 n | n bytes | …``."""
    assert record[4] == 0x77
    (length,) = struct.unpack(">H", record[6:8])
    return record[8 : 8 + length]


def _uuid_descriptor() -> bytes:
    """The bytes between the address and the two longs: ObjectOutputStream's java.util.UUID descriptor."""
    tails = {rec[8 + len(_recorded_address_bytes(rec)) : -16] for rec in ZK_RECORDINGS.values()}
    assert len(tails) == 1, "every recording must carry the same java.util.UUID class descriptor"
    return tails.pop()


UUID_DESCRIPTOR = _uuid_descriptor()


def modified_utf8(text: str) -> bytes:
    """Java's ``writeUTF`` body: UTF-16 code units, NUL and U+0080..U+07FF in 2 bytes, the rest in 3."""
    out = bytearray()
    units = text.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(units), 2):
        unit = int.from_bytes(units[index : index + 2], "big")
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes([0xC0 | unit >> 6, 0x80 | unit & 0x3F])
        else:
            out += bytes([0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F])
    return bytes(out)


def block_data(payload: bytes, sizes: list[int] | None = None) -> bytes:
    """Block-data records of ``sizes`` bytes each; by default 1024-byte blocks, as ObjectOutputStream cuts."""
    if sizes is None:
        sizes = [len(payload[start : start + 1024]) for start in range(0, len(payload), 1024)]
    assert sum(sizes) == len(payload)
    out = bytearray()
    position = 0
    for size in sizes:
        out += bytes([0x77, size]) if size <= 0xFF else b"\x7a" + struct.pack(">i", size)
        out += payload[position : position + size]
        position += size
    return bytes(out)


def java_leader_record(address: str, session: uuid.UUID, sizes: list[int] | None = None) -> bytes:
    """``writeUTF(address); writeObject(session)`` on a fresh ObjectOutputStream, as Flink writes it."""
    body = modified_utf8(address)
    payload = struct.pack(">H", len(body)) + body
    longs = struct.pack(">QQ", session.int & (1 << 64) - 1, session.int >> 64)  # leastSigBits first
    return HEADER + block_data(payload, sizes) + UUID_DESCRIPTOR + longs


def _session_of(record: bytes) -> uuid.UUID:
    least, most = struct.unpack(">QQ", record[-16:])
    return uuid.UUID(int=most << 64 | least)


def _zk_outcome(data: bytes) -> LeaderInfo | str | None:
    """The decoder's answer, or ``"error"`` for ``LeaderDataError``; any other exception fails the test."""
    try:
        return decode_zookeeper_leader(data)
    except LeaderDataError:
        return "error"


def _assert_canonical(data: bytes, outcome: LeaderInfo | str | None) -> None:
    """A decoded leader must be exactly what Java writes for that address and session."""
    if isinstance(outcome, LeaderInfo):
        assert java_leader_record(outcome.address, outcome.session_id) == data, (
            f"decoded {outcome!r} from bytes that are not Flink's record of it"
        )


addresses = st.text(st.characters(codec="utf-8"), max_size=700)
sessions = st.uuids(version=None) | st.builds(uuid.UUID, int=st.integers(0, (1 << 128) - 1))
recorded_seeds = st.sampled_from(sorted(ZK_RECORDINGS))
generated_records = st.builds(java_leader_record, addresses, sessions)
any_record = st.one_of(recorded_seeds.map(ZK_RECORDINGS.get), generated_records)
# Payloads under 256 bytes: one block whose u16 length starts with 00, so no inserted bytes can re-frame it.
short_records = st.one_of(recorded_seeds.map(ZK_RECORDINGS.get),
                          st.builds(java_leader_record, st.text(max_size=60), sessions))


@pytest.mark.parametrize("stem", sorted(ZK_RECORDINGS))
def test_writer_reproduces_the_recorded_bytes(stem):
    """The test's writer is a valid oracle: it rebuilds every real Flink record byte for byte."""
    record = ZK_RECORDINGS[stem]
    address = _recorded_address_bytes(record).decode("ascii")
    if stem.endswith("rest_server"):
        assert address == ZK_META[stem]["rest_url"]
    else:
        assert ZK_META[stem]["jobmanager_rpc_address"] in address
    assert java_leader_record(address, _session_of(record)) == record
    assert decode_zookeeper_leader(record) == LeaderInfo(address, _session_of(record))


@fuzz_settings(2)
@given(address=addresses, session=sessions)
@example(address="", session=uuid.UUID(int=0))
@example(address="\x00\u07ff\u0800\uffff\U0001f600", session=uuid.UUID(int=(1 << 128) - 1))
@example(address="h" * 1022, session=uuid.uuid5(uuid.NAMESPACE_DNS, "two blocks"))
def test_generated_records_decode_to_their_address_and_session(address, session):
    assert decode_zookeeper_leader(java_leader_record(address, session)) == LeaderInfo(address, session)


@fuzz_settings()
@given(address=addresses, session=sessions, data=st.data())
def test_any_block_framing_decodes_the_same(address, session, data):
    """Java's readUTF reads across block boundaries, so however the blocks are cut the leader is the same."""
    payload_size = len(modified_utf8(address)) + 2
    cuts = sorted(data.draw(st.lists(st.integers(0, payload_size), max_size=6)))
    sizes = [end - start for start, end in zip([0, *cuts], [*cuts, payload_size], strict=True)]
    record = java_leader_record(address, session, sizes)
    assert decode_zookeeper_leader(record) == LeaderInfo(address, session)


@fuzz_settings()
@given(record=any_record, data=st.data())
def test_a_truncated_stream_never_decodes_to_a_leader(record, data):
    cut = data.draw(st.integers(0, len(record) - 1))
    if cut == 0:
        assert decode_zookeeper_leader(record[:cut]) is None  # empty znode: no leader
    else:
        with pytest.raises(LeaderDataError):
            decode_zookeeper_leader(record[:cut])


@fuzz_settings(3)
@given(stem=recorded_seeds, data=st.data())
def test_byte_flips_of_recorded_records(stem, data):
    """Session bytes: the flipped session; address bytes: an error or exactly the flipped address; else an error."""
    record = ZK_RECORDINGS[stem]
    position = data.draw(st.integers(0, len(record) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda byte: byte != record[position]))
    mutated = record[:position] + bytes([value]) + record[position + 1 :]
    outcome = _zk_outcome(mutated)
    address_start = 8
    address_end = address_start + len(_recorded_address_bytes(record))
    if position >= len(record) - 16:
        assert outcome == LeaderInfo(_recorded_address_bytes(record).decode(), _session_of(mutated))
    elif address_start <= position < address_end:
        _assert_canonical(mutated, outcome)
        if isinstance(outcome, LeaderInfo):
            assert outcome.session_id == _session_of(record)
    else:
        assert outcome == "error", f"flipping structural byte {position} still decoded: {outcome!r}"


@fuzz_settings(2)
@given(record=short_records, data=st.data())
def test_inserted_bytes_give_an_error_or_the_same_leader(record, data):
    position = data.draw(st.integers(0, len(record)))
    inserted = data.draw(st.sampled_from([b"\x77\x00", b"\x7a\x00\x00\x00\x00"]) | st.binary(min_size=1, max_size=8))
    outcome = _zk_outcome(record[:position] + inserted + record[position:])
    assert outcome == "error" or outcome == decode_zookeeper_leader(record)


@fuzz_settings(2)
@given(first=any_record, second=any_record, data=st.data())
def test_spliced_records_give_an_error_or_exactly_the_spliced_leader(first, second, data):
    cut_first = data.draw(st.integers(0, len(first)))
    cut_second = data.draw(st.integers(0, len(second)))
    spliced = first[:cut_first] + second[cut_second:]
    _assert_canonical(spliced, _zk_outcome(spliced))


@fuzz_settings(2)
@given(data=st.binary(max_size=300) | st.binary(max_size=200).map(HEADER.__add__))
@example(data=HEADER)
@example(data=HEADER + b"\x77\x00")
@example(data=HEADER + b"\x7a\xff\xff\xff\xff")
def test_arbitrary_bytes_give_none_an_error_or_a_canonical_leader(data):
    outcome = _zk_outcome(data)
    if not data:
        assert outcome is None
    _assert_canonical(data, outcome)


# --------------------------------------------------------------------------------------------------
# Kubernetes: the recorded ConfigMaps and mutations of them

K8S_SEEDS = {
    path.stem.removeprefix("configmap-"): json.loads(path.read_text())
    for path in sorted(DATA_DIR.glob("configmap-*.json"))
    if not path.stem.endswith(("-job", ".meta"))
}
K8S_META = {version: json.loads((DATA_DIR / f"configmap-{version}.meta.json").read_text()) for version in K8S_SEEDS}
UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _components(version: str) -> list[str]:
    return ["restserver", "dispatcher", "resourcemanager", f"job-{K8S_META[version]['job_id']}"]


def _lease(configmap: dict[str, Any]) -> dict[str, Any]:
    return json.loads(configmap["metadata"]["annotations"][LEADER_ANNOTATION])


def _recorded_renew(version: str) -> datetime:
    return datetime.fromisoformat(_lease(K8S_SEEDS[version])["renewTime"])


def _is_uuid_text(text: str) -> bool:
    """8-4-4-4-12 hex digits with dashes, as ``UUID.toString`` writes (either case)."""
    return len(text) == 36 and all(
        char == "-" if index in (8, 13, 18, 23) else char in "0123456789abcdefABCDEF" for index, char in enumerate(text)
    )


def _k8s_outcome(configmap: Any, component: str, now: datetime, skew: timedelta | None = None) -> Any:
    try:
        if skew is None:
            return parse_kubernetes_leader(configmap, component, now)
        return parse_kubernetes_leader(configmap, component, now, skew=skew)
    except LeaderDataError:
        return "error"


def _leader_value(configmap: dict[str, Any], component: str) -> str | None:
    data = configmap.get("data") or {}
    return data.get(LEADER_KEY_PREFIX + component)


@pytest.mark.parametrize("version", sorted(K8S_SEEDS))
def test_recorded_configmaps_give_the_recorded_leaders(version):
    seed = K8S_SEEDS[version]
    now = _recorded_renew(version) + timedelta(seconds=5)
    for component in _components(version):
        session_text, _, address = _leader_value(seed, component).partition(",")
        leader = parse_kubernetes_leader(seed, component, now)
        assert (leader.address, leader.session_id) == (address, uuid.UUID(session_text))
    assert parse_kubernetes_leader(seed, now=now).rest_url == K8S_META[version]["rest_url"]
    assert parse_kubernetes_leader(seed, now=_recorded_renew(version) + timedelta(seconds=18)) is None


# Equivalent spellings of lease times and durations (the instant and the length are what count).


@st.composite
def seconds_text(draw, duration: timedelta) -> Any:
    """A JSON number of seconds equal to ``duration`` (written by fabric8 in Flink <= 1.20)."""
    micros = duration // timedelta(microseconds=1)
    exact = Decimal(micros).scaleb(-6)
    style = draw(st.sampled_from(["plain", "zeros", "exponent"]))
    if style == "plain":
        return exact.normalize() if micros % 1_000_000 else micros // 1_000_000
    if style == "zeros":
        return Decimal(f"{exact:.{draw(st.integers(6, 12))}f}")
    shift = draw(st.integers(-3, 3))
    return Decimal(f"{exact.scaleb(-shift):f}E{shift}")


@st.composite
def iso_duration_text(draw, duration: timedelta) -> str:
    """An ISO-8601 ``PnDTnHnMn.nS`` equal to ``duration``, its parts split at random."""
    micros = duration // timedelta(microseconds=1)
    days = draw(st.integers(0, micros // 86_400_000_000))
    micros -= days * 86_400_000_000
    hours = draw(st.integers(0, micros // 3_600_000_000))
    micros -= hours * 3_600_000_000
    minutes = draw(st.integers(0, micros // 60_000_000))
    micros -= minutes * 60_000_000
    whole, fraction = divmod(micros, 1_000_000)
    seconds = f"{whole}" + (f".{fraction:06d}".rstrip("0") if fraction else "")
    if fraction and draw(st.booleans()):
        seconds = f"{whole}.{fraction:06d}{'0' * draw(st.integers(0, 3))}"
    time_part = "".join(
        f"{value}{unit}" for value, unit, keep in (
            (hours, "H", hours or draw(st.booleans())),
            (minutes, "M", minutes or draw(st.booleans())),
            (seconds, "S", micros or draw(st.booleans())),
        ) if keep
    )
    day_part = f"{days}D" if days or (not time_part) else ""
    if not time_part and not day_part:
        day_part = "0D"
    return "P" + day_part + ("T" + time_part if time_part else "")


def duration_spellings(duration: timedelta) -> st.SearchStrategy[Any]:
    return seconds_text(duration) | iso_duration_text(duration)


@st.composite
def timestamp_text(draw, moment: datetime) -> str:
    """RFC 3339 text of ``moment`` at a random zone offset with 0-9 fraction digits (trailing zeros added)."""
    offset = timedelta(minutes=draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59)))
    local = moment.astimezone(UTC).replace(tzinfo=None) + offset
    fraction = f"{local.microsecond:06d}".rstrip("0")
    fraction += "0" * draw(st.integers(0, 9 - len(fraction)))
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    zone = "Z" if not offset and draw(st.booleans()) else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return local.replace(microsecond=0).isoformat() + (f".{fraction}" if fraction else "") + zone


def _lease_json(record: dict[str, Any], draw: Any) -> str:
    keys = draw(st.permutations(list(record)))
    indent = draw(st.sampled_from([None, 0, 2]))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")]))
    pad = draw(st.sampled_from(["", " ", "\n", "\t \r\n"]))
    return pad + json.dumps({key: record[key] for key in keys}, indent=indent, separators=separators) + pad


def _dumps_decimal(record: dict[str, Any], draw: Any) -> str:
    placeholder = {key: (f"\x00{index}" if isinstance(value, Decimal) else value)
                   for index, (key, value) in enumerate(record.items())}
    text = _lease_json(placeholder, draw)
    for index, value in enumerate(record.values()):
        if isinstance(value, Decimal):
            text = text.replace(json.dumps(f"\x00{index}"), str(value))
    return text


def _shuffled(mapping: dict[str, Any], draw: Any) -> dict[str, Any]:
    return {key: mapping[key] for key in draw(st.permutations(list(mapping)))}


unrelated_keys = st.text(st.characters(codec="ascii", categories=["L", "N"], include_characters="-._/"),
                         min_size=1, max_size=40).filter(lambda key: key != LEADER_ANNOTATION
                                                         and not key.startswith(LEADER_KEY_PREFIX))
json_text = st.text(max_size=30)


@st.composite
def equivalent_configmaps(draw, seed: dict[str, Any]) -> Any:
    """``seed`` with the same leader data: keys reordered, unrelated keys added, lease re-spelled."""
    configmap = copy.deepcopy(seed)
    record = _lease(configmap)
    renew = datetime.fromisoformat(record["renewTime"])
    duration = parse_duration_oracle(record["leaseDuration"])
    record["renewTime"] = draw(timestamp_text(renew))
    record["leaseDuration"] = draw(duration_spellings(duration))
    record.update(draw(st.dictionaries(st.text(max_size=12).filter(
        lambda key: key not in ("holderIdentity", "leaseDuration", "renewTime")), json_text, max_size=3)))
    metadata = configmap["metadata"]
    metadata["annotations"][LEADER_ANNOTATION] = _dumps_decimal(record, draw)
    metadata["annotations"].update(draw(st.dictionaries(unrelated_keys, json_text, max_size=3)))
    metadata["labels"].update(draw(st.dictionaries(unrelated_keys, json_text, max_size=3)))
    configmap["data"].update(draw(st.dictionaries(unrelated_keys, json_text, max_size=3)))
    for mapping in (metadata["annotations"], metadata["labels"], configmap["data"]):
        shuffled = _shuffled(mapping, draw)
        mapping.clear()
        mapping.update(shuffled)
    configmap = _shuffled(configmap, draw)
    configmap["metadata"] = _shuffled(configmap["metadata"], draw)
    if draw(st.booleans()):
        return _as_v1_configmap(configmap)
    return configmap


def _as_v1_configmap(configmap: dict[str, Any]) -> Any:
    from kubernetes.client import V1ConfigMap, V1ObjectMeta

    metadata = configmap["metadata"]
    return V1ConfigMap(
        metadata=V1ObjectMeta(name=metadata["name"], annotations=metadata.get("annotations"),
                              labels=metadata.get("labels")),
        data=configmap.get("data"),
    )


def parse_duration_oracle(value: Any) -> timedelta:
    """The recorded leaseDuration: ``15.000000000`` (seconds) or ``"PT15S"`` (only whole seconds recorded)."""
    if isinstance(value, str):
        match = re.fullmatch(r"PT([0-9]+)S", value)
        assert match, value
        return timedelta(seconds=int(match.group(1)))
    return timedelta(seconds=float(value))


@fuzz_settings()
@given(data=st.data(), version=st.sampled_from(sorted(K8S_SEEDS)), age=st.integers(-60, 60))
def test_data_preserving_rewrites_give_the_same_answer(data, version, age):
    seed = K8S_SEEDS[version]
    mutated = data.draw(equivalent_configmaps(seed))
    now = _recorded_renew(version) + timedelta(seconds=age, microseconds=data.draw(st.integers(0, 999_999)))
    for component in _components(version):
        assert _k8s_outcome(mutated, component, now) == _k8s_outcome(seed, component, now)


# Generated leases: expiry is decided by times the test chose, never by a time the parser read.

renew_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
lease_lengths = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
holders = st.text(min_size=1, max_size=40)
leader_addresses = st.text(min_size=1, max_size=80)


@st.composite
def leader_configmaps(draw, *, holder: Any = holders, address: Any = leader_addresses) -> tuple[dict, dict]:
    """A 1.15+ cluster map (or a 1.13-1.14 ``-restserver-leader`` map) and the facts it was built from."""
    facts = {
        "renew": draw(renew_times),
        "lease": draw(lease_lengths),
        "holder": draw(holder),
        "address": draw(address),
        "session": draw(sessions),
    }
    session_text = str(facts["session"])
    session_text = session_text.upper() if draw(st.booleans()) else session_text
    record = {
        "holderIdentity": facts["holder"],
        "leaseDuration": draw(duration_spellings(facts["lease"])),
        "acquireTime": draw(timestamp_text(facts["renew"])),
        "renewTime": draw(timestamp_text(facts["renew"])),
        "leaderTransitions": draw(st.integers(0, 9)),
    }
    annotations = {LEADER_ANNOTATION: _dumps_decimal(record, draw)}
    if draw(st.booleans()):
        data = {LEADER_KEY_PREFIX + "restserver": f"{session_text},{facts['address']}"}
        name = "fuzz-cluster-config-map"
    else:
        data = {"address": facts["address"], "sessionId": session_text}
        name = "fuzz-restserver-leader"
    return {"metadata": {"name": name, "annotations": annotations}, "data": data}, facts


@fuzz_settings(1.5)
@given(built=leader_configmaps(), offset=st.timedeltas(timedelta(days=-4), timedelta(days=4)),
       skew=st.timedeltas(timedelta(0), timedelta(minutes=1)))
def test_generated_leases_are_alive_exactly_until_renew_plus_lease_plus_skew(built, offset, skew):
    configmap, facts = built
    now = facts["renew"] + offset
    leader = parse_kubernetes_leader(configmap, "restserver", now, skew=skew)
    if facts["renew"] + facts["lease"] + skew < now:
        assert leader is None
    else:
        assert leader == LeaderInfo(facts["address"], facts["session"], facts["holder"], facts["renew"], facts["lease"])
    if facts["renew"] + facts["lease"] < now:
        assert parse_kubernetes_leader(configmap, "restserver", now, skew=timedelta(0)) is None


@fuzz_settings(0.5)
@given(built=leader_configmaps(holder=st.sampled_from(["", None])))
def test_a_released_lock_is_never_a_leader(built):
    configmap, facts = built
    assert parse_kubernetes_leader(configmap, "restserver", facts["renew"]) is None


# Corrupted leader values and structure.


@st.composite
def corrupted_values(draw, seed: dict[str, Any], component: str) -> str:
    value = _leader_value(seed, component)
    kind = draw(st.sampled_from(["text", "flip", "truncate", "swap", "spaces", "case"]))
    if kind == "text":
        return draw(st.text(st.sampled_from("0123456789abcdefABCDEFxg-,: /\n\u0663\uff10") | st.characters(),
                            max_size=60))
    if kind == "flip":
        position = draw(st.integers(0, len(value) - 1))
        return value[:position] + draw(st.characters()) + value[position + 1 :]
    if kind == "truncate":
        return value[: draw(st.integers(0, len(value) - 1))]
    if kind == "spaces":
        session, _, address = value.partition(",")
        before, after = draw(st.sampled_from([("", "\n"), ("", " "), (" ", ""), ("\n", ""), ("\t", "\t")]))
        return f"{before}{session}{after},{address}"
    if kind == "case":
        return value.swapcase()
    return f"{draw(sessions)},{draw(leader_addresses)}"


@fuzz_settings(2)
@given(data=st.data(), version=st.sampled_from(sorted(K8S_SEEDS)))
def test_corrupted_leader_values_give_an_error_or_exactly_the_written_leader(data, version):
    component = data.draw(st.sampled_from(_components(version)))
    _check_leader_value(version, component, data.draw(corrupted_values(K8S_SEEDS[version], component)))


@pytest.mark.parametrize("value", ["b6238a75-542e-4ec8-8d81-5bca1a4cf9f6\n,http://x:1"])
def test_corrupted_leader_value_regressions(value):
    _check_leader_value("2.3.0", "restserver", value)


def _check_leader_value(version: str, component: str, value: str) -> None:
    """The leader is exactly ``<uuid>,<address>`` split at the first comma, or the value is refused."""
    seed = copy.deepcopy(K8S_SEEDS[version])
    seed["data"][LEADER_KEY_PREFIX + component] = value
    outcome = _k8s_outcome(seed, component, _recorded_renew(version))
    session_text, comma, address = value.partition(",")
    if comma and address and _is_uuid_text(session_text):
        assert isinstance(outcome, LeaderInfo)
        assert (outcome.address, outcome.session_id) == (address, uuid.UUID(session_text))
        _check_rest_url(outcome)
    else:
        assert outcome == "error"


def _check_rest_url(leader: LeaderInfo) -> None:
    """``http(s)://host[:port]`` with an optional trailing slash is a REST URL; nothing else is."""
    scheme, found, rest = leader.address.partition("://")
    host = rest.removesuffix("/")
    expected = found and scheme in ("http", "https") and host and not any(
        char == "/" or char.isspace() for char in host
    )
    if expected:
        assert leader.rest_url == leader.address.rstrip("/")
    else:
        with pytest.raises(LeaderDataError):
            _ = leader.rest_url


@fuzz_settings()
@given(address=st.text(st.sampled_from("hps:/.1 \n\t\x85x") | st.characters(), max_size=30))
@example(address="http://10.0.0.1:8081\n")
@example(address="https://a/")
@example(address="http://a//")
def test_rest_url_only_for_an_http_base_url(address):
    _check_rest_url(LeaderInfo(address, uuid.UUID(int=1)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    return found


def _set_path(node: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    if value is _DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DROP = object()
lease_field_values = {
    "renewTime": st.sampled_from(["", "2026-11-24T02:25:33Z", "2026-11-24 02:25:33Z", "2026-11-24T02:25:33",
                                  "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "2026-13-01T00:00:00Z",
                                  "2026-11-24T02:25:33.1234567891Z", "2026-11-24T02:25:33-99:99",
                                  "\u0662026-11-24T02:25:33Z", "2026-11-24T02:25:33Z\n"]),
    "leaseDuration": st.sampled_from(["PT15S", "P", "PT", "P1DT", "-PT15S", "PT-15S", "P1W", "PT1.5S", "PT15S\n",
                                      "PT\u0661\u0665S", "P999999999D", "P999999999DT86400S", "PT1e3S",
                                      "PT" + "9" * 30 + "S", "P" + "9" * 5000 + "D"])
    | st.integers(-(10**30), 10**30).map(str) | st.sampled_from(["1e999999", "9" * 5000, "-0", "1E-7", "0.0000001"]),
}


@st.composite
def mutated_leases(draw, seed_record: dict[str, Any]) -> str:
    record = dict(seed_record)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*sorted(record), "holderIdentity", "renewTime", "leaseDuration"]))
        op = draw(st.sampled_from(["drop", "retype", "special"]))
        if op == "drop":
            record.pop(key, None)
        elif op == "special" and key in lease_field_values:
            value = draw(lease_field_values[key])
            record[key] = _Raw(value) if key == "leaseDuration" else value
        else:
            record[key] = draw(json_values)
    text = json.dumps(record, default=lambda raw: raw.placeholder)
    for value in record.values():
        if isinstance(value, _Raw):
            text = text.replace(json.dumps(value.placeholder), value.json)
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from([text[: draw(st.integers(0, len(text)))], "[" * 5_000, "null", "[]",
                                     '{"holderIdentity": 1}', "NaN", '{"leaseDuration": Infinity}']))
    return text


class _Raw:
    """A lease field written verbatim: as a JSON number when it looks like one, else as a JSON string."""

    def __init__(self, text: str) -> None:
        self.placeholder = f"\x00raw{id(self)}"
        self.json = text if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text) else json.dumps(text)


@fuzz_settings(2)
@given(data=st.data(), version=st.sampled_from(sorted(K8S_SEEDS)), age=st.integers(-30, 30))
def test_structure_mutations_give_none_an_error_or_a_live_written_leader(data, version, age):
    seed = copy.deepcopy(K8S_SEEDS[version])
    component = data.draw(st.sampled_from(_components(version)))
    target = data.draw(st.sampled_from(["lease", "tree", "both"]))
    if target in ("lease", "both"):
        seed["metadata"]["annotations"][LEADER_ANNOTATION] = data.draw(mutated_leases(_lease(seed)))
    if target in ("tree", "both"):
        path = data.draw(st.sampled_from(_paths(seed)))
        _set_path(seed, path, data.draw(st.just(_DROP) | json_values))
    _check_mutated_configmap(seed, component, _recorded_renew(version) + timedelta(seconds=age))


LEASE_REGRESSIONS = {
    # Found by the fuzz run: these crashed (OverflowError, decimal.Overflow, ValueError, RecursionError).
    "duration-decimal-overflow": ('"leaseDuration": 1e999999', "error"),
    "duration-5000-digits": ('"leaseDuration": ' + "9" * 5000, "error"),
    "duration-past-year-9999": ('"leaseDuration": 300000000000', "error"),
    "renew-year-9999": ('"renewTime": "9999-12-31T23:59:59.999999Z"', "error"),
    "skew-past-year-9999": ('"leaseDuration": 251606813634', "leader"),
    # ... and these were accepted although Flink never writes them.
    "duration-trailing-newline": ('"leaseDuration": "PT15S\\n"', "error"),
    "duration-unicode-digits": ('"leaseDuration": "PT\u0661\u0665S"', "error"),
    "renew-trailing-newline": ('"renewTime": "2026-11-24T02:26:04.175033Z\\n"', "error"),
}


@pytest.mark.parametrize("field, expected", list(LEASE_REGRESSIONS.values()), ids=list(LEASE_REGRESSIONS))
def test_lease_regressions(field, expected):
    seed = copy.deepcopy(K8S_SEEDS["1.20.3"])
    record = {"holderIdentity": "h", "leaseDuration": 15, "renewTime": "2026-11-24T02:26:04.175033Z"}
    text = json.dumps(record)
    key = field.split(":")[0]
    text = re.sub(re.escape(key) + r': [^,}]*', lambda _: field, text)
    seed["metadata"]["annotations"][LEADER_ANNOTATION] = text
    outcome = _k8s_outcome(seed, "restserver", _recorded_renew("1.20.3"))
    assert outcome == "error" if expected == "error" else isinstance(outcome, LeaderInfo)
    seed["metadata"]["annotations"][LEADER_ANNOTATION] = "[" * 5_000
    assert _k8s_outcome(seed, "restserver", _recorded_renew("1.20.3")) == "error"


def _check_mutated_configmap(configmap: dict[str, Any], component: str, now: datetime) -> None:
    """None, LeaderDataError, or the leader written in the data with a well-formed, live lease."""
    skew = timedelta(seconds=2)
    outcome = _k8s_outcome(configmap, component, now, skew)
    if isinstance(outcome, LeaderInfo):
        session_text, _, address = _leader_value(configmap, component).partition(",")
        assert (outcome.address, outcome.session_id) == (address, uuid.UUID(session_text))
        record = json.loads(configmap["metadata"]["annotations"][LEADER_ANNOTATION])
        assert outcome.holder == record["holderIdentity"] != ""
        assert _RFC3339.fullmatch(record["renewTime"]), f"accepted renewTime {record['renewTime']!r}"
        duration = record["leaseDuration"]
        assert not isinstance(duration, bool) and (
            (isinstance(duration, int | float) and duration >= 0) or _ISO_RULE.fullmatch(str(duration))
        ), f"accepted leaseDuration {duration!r}"
        assert outcome.lease_expires_at == outcome.renew_time + outcome.lease_duration >= now - skew


# ISO-8601 durations (the Flink 2.x leaseDuration).

_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})",
                      re.ASCII)
_ISO_RULE = re.compile(r"P(?:[0-9]+D)?(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]{1,9})?S)?)?",
                       re.ASCII)


@fuzz_settings()
@given(duration=st.timedeltas(min_value=timedelta(0)), data=st.data())
def test_iso_durations_parse_to_their_value(duration, data):
    assert parse_iso8601_duration(data.draw(iso_duration_text(duration))) == duration


@fuzz_settings(2)
@given(text=st.text(st.sampled_from("PTDHMSW.,-+0123456789 \n\u0661\uff15") | st.characters(), max_size=25)
       | st.builds("P{}DT{}H{}M{}S".format, *[st.integers(0, 10**12)] * 4))
@example(text="P999999999DT86400S")
@example(text="PT\u0661\u0665S")
@example(text="PT15S\n")
@example(text="P" + "9" * 5000 + "D")
def test_iso_duration_parser_accepts_exactly_the_iso_grammar(text):
    try:
        parsed = parse_iso8601_duration(text)
    except ValueError as error:
        assert type(error) in (ValueError, LeaderDataError)
        return
    assert _ISO_RULE.fullmatch(text) and text not in ("P", "PT"), f"accepted {text!r}"
    assert parsed >= timedelta(0)
