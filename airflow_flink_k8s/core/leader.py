"""Flink's HA leader data: the Kubernetes leader ConfigMaps and the ZooKeeper ``connection_info`` bytes.

Both readers return a :class:`LeaderInfo` when a leader is published and alive, ``None`` when there is
none, and raise :class:`LeaderDataError` when the data is not what Flink writes, so a damaged record is
never mistaken for a leader.

Leader components are named as Flink's Kubernetes HA names them: ``restserver``, ``dispatcher``,
``resourcemanager``, or ``job-<32 hex digit job id>`` for a job's JobMaster.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from airflow_flink_k8s.core.errors import LeaderDataError as LeaderDataError
from airflow_flink_k8s.core.names import legacy_leader_config_map_name

#: Annotation holding fabric8's leader election record on the leader ConfigMap.
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
#: Data key prefix of the leader entries in ``<cid>-cluster-config-map`` (Flink 1.15+).
LEADER_KEY_PREFIX = "org.apache.flink.k8s.leader."
#: Clock skew allowed, by default, between the JobManager that renewed the lease and the reader.
DEFAULT_SKEW = timedelta(seconds=2)

COMPONENTS = ("restserver", "dispatcher", "resourcemanager")
# Matched with fullmatch and ASCII digits only: ``$`` would accept a trailing newline and ``\d`` any
# Unicode digit, neither of which Flink writes.
_JOB_ID = re.compile(r"[0-9a-fA-F]{32}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REST_URL = re.compile(r"https?://[^/\s]+/?")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DURATION = re.compile(
    r"P(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+(?:\.[0-9]{1,9})?)S)?)?"
)



@dataclass(frozen=True)
class LeaderInfo:
    """The published leader of one Flink HA component.

    ``holder``, ``renew_time`` and ``lease_duration`` come from the Kubernetes lease record and are
    ``None`` for ZooKeeper, where the ephemeral znode itself is the liveness signal.
    """

    address: str
    session_id: uuid.UUID
    holder: str | None = None
    renew_time: datetime | None = None
    lease_duration: timedelta | None = None

    @property
    def rest_url(self) -> str:
        """The REST base URL (``http(s)://host:port``) of a ``restserver`` leader."""
        if not _REST_URL.fullmatch(self.address):
            raise LeaderDataError(
                f"leader address {self.address!r} is not a REST base URL (http(s)://host:port); "
                "only the 'restserver' component publishes one"
            )
        return self.address.rstrip("/")

    @property
    def lease_expires_at(self) -> datetime | None:
        """When the Kubernetes lease runs out unless renewed; ``None`` for ZooKeeper."""
        if self.renew_time is None or self.lease_duration is None:
            return None
        return self.renew_time + self.lease_duration


def split_component(component: str) -> tuple[str, str | None]:
    """Return ``(kind, job_id)``: ``("restserver", None)`` … or ``("job", "<lower-case job id>")``."""
    if component in COMPONENTS:
        return component, None
    if component.startswith("job-") and _JOB_ID.fullmatch(component[4:]):
        return "job", component[4:].lower()
    raise ValueError(
        f"component: expected one of {', '.join(COMPONENTS)} or 'job-<32 hex digit job id>', "
        f"got {component!r}"
    )


# --------------------------------------------------------------------------------------------------
# Kubernetes


def parse_kubernetes_leader(
    configmap: Any,
    component: str = "restserver",
    now: datetime | None = None,
    *,
    skew: timedelta = DEFAULT_SKEW,
) -> LeaderInfo | None:
    """Read the leader of ``component`` from a Flink HA ConfigMap.

    ``configmap`` is the API's JSON dict or a ``kubernetes``/``kubernetes_asyncio`` ``V1ConfigMap``.
    Two layouts are understood, told apart by the map's name:

    * 1.15+: ``<cid>-cluster-config-map``, data key ``org.apache.flink.k8s.leader.<component>`` holding
      ``<session-uuid>,<address>``; a job is ``job-<jobid>`` (1.19+) or ``<jobid>`` (1.15-1.18);
    * 1.13-1.14: one map per component, ``<cid>-<component>-leader`` (a job:
      ``<cid>-<jobid>-jobmanager-leader``)
      with data keys ``address`` and ``sessionId``.

    Returns ``None`` when no leader is published, the lock was released (empty holder), or the lease
    ran out: ``renewTime + leaseDuration + skew < now``. ``now`` defaults to the current UTC time.
    Raises :class:`LeaderDataError` for data Flink does not write, ``ValueError`` for bad arguments.
    """
    kind, job_id = split_component(component)
    if skew < timedelta(0):
        raise ValueError(f"skew: must not be negative, got {skew}")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now: must be timezone-aware")
    name, annotations, data = _configmap_parts(configmap)

    address: str | None
    if name.endswith("-cluster-config-map"):
        encoded = _new_layout_value(data, kind, job_id)
        if encoded is None:
            return None
        session_id, address = _split_leader_value(encoded)
    elif name.endswith("-leader"):
        _check_old_layout_name(name, kind, job_id)
        address, session_text = data.get("address"), data.get("sessionId")
        if address is None and session_text is None:
            return None
        if address is None or session_text is None:
            raise LeaderDataError(
                f"ConfigMap {name}: data has only one of 'address' and 'sessionId'; Flink writes both"
            )
        session_id = _parse_uuid(session_text, f"ConfigMap {name} data 'sessionId'")
    else:
        raise LeaderDataError(
            f"ConfigMap {name!r} is not a Flink HA leader map "
            "(expected '<cid>-cluster-config-map' or '<cid>-<component>-leader')"
        )

    if LEADER_ANNOTATION not in annotations:
        raise LeaderDataError(
            f"ConfigMap {name}: leader data is present but annotation {LEADER_ANNOTATION} is missing, "
            "so its freshness cannot be judged"
        )
    holder, renew_time, lease_duration = _parse_lease(annotations[LEADER_ANNOTATION], name)
    if not holder:
        return None
    try:
        expired = renew_time + lease_duration + skew < now
    except OverflowError:  # the lease runs past year 9999 only with the skew: not expired
        expired = False
    if expired:
        return None
    return LeaderInfo(address, session_id, holder, renew_time, lease_duration)


def parse_iso8601_duration(text: str) -> timedelta:
    """Parse the ISO-8601 durations ``java.time.Duration`` writes (``PT15S``, ``PT1M30.5S``, ``P1DT2H``).

    Years, months, weeks and negative parts are rejected: a lease is never written with them.
    """
    match = _DURATION.fullmatch(text)
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"not an ISO-8601 duration of the form PnDTnHnMn.nS: {text!r}")
    days, hours, minutes, seconds = (
        match.group(key) or "0" for key in ("days", "hours", "minutes", "seconds")
    )
    try:
        return timedelta(days=int(days), hours=int(hours), minutes=int(minutes)) + _seconds(Decimal(seconds))
    except (OverflowError, ValueError):  # past timedelta's range, or more digits than int() converts
        raise ValueError(f"duration {text!r} is out of range") from None


def _configmap_parts(configmap: Any) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """``(name, annotations, data)`` of a ConfigMap dict or ``V1ConfigMap`` (duck-typed)."""
    if isinstance(configmap, Mapping):
        metadata = configmap.get("metadata")
        if not isinstance(metadata, Mapping):
            raise LeaderDataError("ConfigMap: 'metadata' is missing or not an object")
        name, annotations, data = metadata.get("name"), metadata.get("annotations"), configmap.get("data")
    elif hasattr(configmap, "metadata") and hasattr(configmap, "data"):
        metadata = configmap.metadata
        name = getattr(metadata, "name", None)
        annotations = getattr(metadata, "annotations", None)
        data = configmap.data
    else:
        raise TypeError(
            f"configmap: expected a ConfigMap dict or V1ConfigMap, got {type(configmap).__name__}"
        )
    if not isinstance(name, str) or not name:
        raise LeaderDataError("ConfigMap: metadata.name is missing")
    annotations = {} if annotations is None else annotations
    data = {} if data is None else data
    for field, value in (("metadata.annotations", annotations), ("data", data)):
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise LeaderDataError(f"ConfigMap {name}: {field} must map names to strings")
    return name, annotations, data


def _new_layout_value(data: Mapping[str, str], kind: str, job_id: str | None) -> str | None:
    if job_id is None:
        return data.get(LEADER_KEY_PREFIX + kind)
    found = [
        data[key] for key in (f"{LEADER_KEY_PREFIX}job-{job_id}", LEADER_KEY_PREFIX + job_id) if key in data
    ]
    if len(found) > 1:
        raise LeaderDataError(
            f"ConfigMap has both the 1.19+ and the 1.15-1.18 leader key for job {job_id}; Flink writes one"
        )
    return found[0] if found else None


def _check_old_layout_name(name: str, kind: str, job_id: str | None) -> None:
    expected = legacy_leader_config_map_name("", f"{job_id}-jobmanager" if job_id else kind)
    if not name.endswith(expected) or len(name) == len(expected):
        raise LeaderDataError(
            f"ConfigMap {name} is not the 1.13-1.14 leader map of component "
            f"{'job-' + job_id if job_id else kind} (expected '<cid>{expected}')"
        )


def _split_leader_value(encoded: str) -> tuple[uuid.UUID, str]:
    session_text, comma, address = encoded.partition(",")
    if not comma or not address:
        raise LeaderDataError(f"leader value {encoded!r}: expected '<session-uuid>,<address>'")
    return _parse_uuid(session_text, "leader value session id"), address


def _parse_uuid(text: str, field: str) -> uuid.UUID:
    if not _UUID.fullmatch(text):
        raise LeaderDataError(f"{field}: expected a UUID like 8-4-4-4-12 hex digits, got {text!r}")
    return uuid.UUID(text)


def _parse_lease(raw: str, name: str) -> tuple[str, datetime, timedelta]:
    field = f"ConfigMap {name} annotation {LEADER_ANNOTATION}"

    def reject_constant(token: str) -> None:
        raise LeaderDataError(f"{field}: {token} is not a valid number")

    try:
        record = json.loads(raw, parse_float=Decimal, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:  # also integers too long to convert, nesting too deep
        raise LeaderDataError(f"{field}: not JSON ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(record, dict):
        raise LeaderDataError(f"{field}: expected a JSON object")
    holder = record.get("holderIdentity")
    if holder is None:
        holder = ""
    if not isinstance(holder, str):
        raise LeaderDataError(f"{field}: holderIdentity must be a string")
    for key in ("leaseDuration", "renewTime"):
        if record.get(key) is None:
            raise LeaderDataError(f"{field}: {key} is missing")
    renew_time = _parse_timestamp(record["renewTime"], f"{field} renewTime")
    lease_duration = _parse_lease_duration(record["leaseDuration"], f"{field} leaseDuration")
    try:
        renew_time + lease_duration
    except OverflowError:
        raise LeaderDataError(f"{field}: renewTime + leaseDuration is past year 9999") from None
    return holder, renew_time, lease_duration


def _parse_lease_duration(value: Any, field: str) -> timedelta:
    """Seconds as a JSON number (fabric8 in Flink <= 1.20) or an ISO-8601 string (Flink 2.x)."""
    if isinstance(value, bool):
        raise LeaderDataError(f"{field}: expected seconds or an ISO-8601 duration, got {value!r}")
    try:
        if isinstance(value, int | Decimal):
            if value < 0:
                raise ValueError(f"must not be negative, got {value}")
            return _seconds(Decimal(value))
        if isinstance(value, str):
            return parse_iso8601_duration(value)
    except ValueError as error:
        raise LeaderDataError(f"{field}: {error}") from None
    raise LeaderDataError(f"{field}: expected seconds or an ISO-8601 duration, got {value!r}")


def _seconds(value: Decimal) -> timedelta:
    try:
        micros = int((value * 1_000_000).to_integral_value())
        return timedelta(microseconds=micros)
    except ArithmeticError:  # decimal's InvalidOperation and Overflow, timedelta's OverflowError
        raise ValueError(f"duration of {value} seconds is out of range") from None


def _parse_timestamp(value: Any, field: str) -> datetime:
    """An RFC 3339 time with an explicit zone, as fabric8 writes it (``2026-11-24T01:23:45.678000Z``)."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise LeaderDataError(f"{field}: expected an RFC 3339 time with a zone, got {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0").ljust(9, "0")[:6])
    offset = timedelta(0)
    if zone != "Z":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * (-1 if zone[0] == "-" else 1)
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros)
        return (local - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError) as error:
        raise LeaderDataError(f"{field}: {error} in {value!r}") from None


# --------------------------------------------------------------------------------------------------
# ZooKeeper

_STREAM_HEADER = b"\xac\xed\x00\x05"
_TC_NULL, _TC_CLASSDESC, _TC_OBJECT = 0x70, 0x72, 0x73
_TC_BLOCKDATA, _TC_ENDBLOCKDATA, _TC_BLOCKDATALONG = 0x77, 0x78, 0x7A
_SC_SERIALIZABLE = 0x02
_UUID_CLASS = "java.util.UUID"
_UUID_SERIAL_VERSION = -4856846361193249489
_UUID_FIELDS = frozenset({"leastSigBits", "mostSigBits"})


def decode_zookeeper_leader(data: bytes | None) -> LeaderInfo | None:
    """Decode a ZooKeeper ``connection_info`` (or 1.13 ``*_lock``) znode's bytes.

    Flink writes them with a ``java.io.ObjectOutputStream``: ``writeUTF(address)`` (block data), then
    ``writeObject(sessionId)`` (a ``java.util.UUID``). Empty or ``None`` data means no leader.
    Anything else raises :class:`LeaderDataError` naming the offset and the rule broken.
    """
    if not data:
        return None
    reader = _JavaStreamReader(bytes(data))
    reader.expect_header()
    address = reader.read_block_utf()
    session_id = reader.read_uuid_object()
    reader.expect_end()
    return LeaderInfo(address=address, session_id=session_id)


class _JavaStreamReader:
    """Just the part of the Java serialization grammar Flink's leader record uses."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _fail(self, rule: str) -> LeaderDataError:
        return LeaderDataError(f"ZooKeeper leader data, byte {self._pos} of {len(self._data)}: {rule}")

    def _take(self, count: int, what: str) -> bytes:
        if self._pos + count > len(self._data):
            raise self._fail(f"truncated while reading {what} ({count} bytes needed)")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def _byte(self, what: str) -> int:
        return self._take(1, what)[0]

    def _peek(self) -> int | None:
        return self._data[self._pos] if self._pos < len(self._data) else None

    def expect_header(self) -> None:
        if self._take(4, "stream header") != _STREAM_HEADER:
            self._pos = 0
            raise self._fail("not a Java serialization stream (expected magic AC ED, version 00 05)")

    def read_block_utf(self) -> str:
        """The leader address: block-data records holding exactly one ``writeUTF`` string."""
        block = bytearray()
        while self._peek() in (_TC_BLOCKDATA, _TC_BLOCKDATALONG):
            tag = self._byte("block tag")
            size = self._byte("block size") if tag == _TC_BLOCKDATA else self._signed_int("block size")
            if size < 0:
                raise self._fail(f"negative block-data length {size}")
            block += self._take(size, "block data")
        if not block:
            raise self._fail("expected block data (TC_BLOCKDATA 0x77) holding the leader address")
        if len(block) < 2 or struct.unpack(">H", block[:2])[0] != len(block) - 2:
            raise self._fail(f"block data of {len(block)} bytes does not hold exactly one writeUTF string")
        try:
            return _decode_modified_utf8(bytes(block[2:]))
        except ValueError as error:
            raise self._fail(f"leader address is not valid modified UTF-8: {error}") from None

    def read_uuid_object(self) -> uuid.UUID:
        if self._byte("object tag") != _TC_OBJECT:
            self._pos -= 1
            raise self._fail("expected TC_OBJECT (0x73) for the leader session id")
        if self._byte("class descriptor tag") != _TC_CLASSDESC:
            self._pos -= 1
            raise self._fail("expected a new class descriptor (TC_CLASSDESC 0x72)")
        class_name = self._utf("class name")
        if class_name != _UUID_CLASS:
            raise self._fail(f"session id has class {class_name!r}, expected {_UUID_CLASS}")
        serial = self._signed_long("serialVersionUID")
        if serial != _UUID_SERIAL_VERSION:
            raise self._fail(f"java.util.UUID serialVersionUID {serial}, expected {_UUID_SERIAL_VERSION}")
        flags = self._byte("class flags")
        if flags != _SC_SERIALIZABLE:
            raise self._fail(f"class flags 0x{flags:02x}, expected SC_SERIALIZABLE (0x02) only")
        field_count = struct.unpack(">H", self._take(2, "field count"))[0]
        fields = []
        for _ in range(field_count):
            type_code = chr(self._byte("field type"))
            name = self._utf("field name")
            if type_code != "J":
                raise self._fail(f"field {name!r} has type code {type_code!r}, expected 'J' (long)")
            fields.append(name)
        if sorted(fields) != sorted(_UUID_FIELDS):
            raise self._fail(f"java.util.UUID fields {fields}, expected leastSigBits and mostSigBits")
        if self._byte("class annotation end") != _TC_ENDBLOCKDATA:
            self._pos -= 1
            raise self._fail("expected TC_ENDBLOCKDATA (0x78) after the class descriptor")
        if self._byte("super class descriptor") != _TC_NULL:
            self._pos -= 1
            raise self._fail("expected TC_NULL (0x70): java.util.UUID has no serializable superclass")
        values = {name: self._signed_long(name) & 0xFFFF_FFFF_FFFF_FFFF for name in fields}
        return uuid.UUID(int=(values["mostSigBits"] << 64) | values["leastSigBits"])

    def expect_end(self) -> None:
        if self._pos != len(self._data):
            raise self._fail(f"{len(self._data) - self._pos} unexpected bytes after the session id")

    def _utf(self, what: str) -> str:
        length = struct.unpack(">H", self._take(2, f"{what} length"))[0]
        try:
            return _decode_modified_utf8(self._take(length, what))
        except ValueError as error:
            raise self._fail(f"{what} is not valid modified UTF-8: {error}") from None

    def _signed_int(self, what: str) -> int:
        value: int = struct.unpack(">i", self._take(4, what))[0]
        return value

    def _signed_long(self, what: str) -> int:
        value: int = struct.unpack(">q", self._take(8, what))[0]
        return value


def _decode_modified_utf8(raw: bytes) -> str:
    """Java's modified UTF-8: NUL as ``C0 80``, characters above U+FFFF as two 3-byte surrogates."""
    if b"\x00" in raw:
        raise ValueError("raw NUL byte (Java encodes NUL as C0 80)")
    if any(byte >= 0xF0 for byte in raw):
        raise ValueError("4-byte sequence (Java encodes supplementary characters as surrogate pairs)")
    try:
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be")
    except UnicodeError as error:
        raise ValueError(str(error)) from None
