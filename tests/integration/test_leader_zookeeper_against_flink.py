"""decode_zookeeper_leader against bytes real Java writes the way Flink does, read back by Flink itself,
and zookeeper_leader_path against Flink's own ZooKeeperUtils."""

from __future__ import annotations

import json
import random
import subprocess
import uuid
from pathlib import Path

import pytest

from airflow_flink_k8s.core.leader import LeaderDataError, decode_zookeeper_leader
from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST

# Writes each record exactly as ZooKeeperUtils.writeLeaderInformationToZooKeeper does (writeUTF(address),
# writeObject(sessionId), close), then has Flink's ZooKeeperUtils.readLeaderInformation read it back.
# Input lines: "<mode> <session uuid> <hex of the address's UTF-16BE code units>"; output: one JSON per line.
_WRITER = r"""
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.util.ZooKeeperUtils;

public class LeaderBytes {
    static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) s.append(String.format("%02x", b));
        return s.toString();
    }
    static String utf16(String hex) {
        char[] chars = new char[hex.length() / 4];
        for (int i = 0; i < chars.length; i++) chars[i] = (char) Integer.parseInt(hex.substring(4 * i, 4 * i + 4), 16);
        return new String(chars);
    }
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split(" ", -1);
            String mode = f[0];
            UUID session = UUID.fromString(f[1]);
            String address = utf16(f[2]);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ObjectOutputStream out = new ObjectOutputStream(bytes);
            switch (mode) {
                case "flink": out.writeUTF(address); out.writeObject(session); break;
                case "string-object": out.writeUTF(address); out.writeObject(session.toString()); break;
                case "null-object": out.writeUTF(address); out.writeObject(null); break;
                case "long-object": out.writeUTF(address); out.writeObject(Long.valueOf(7)); break;
                case "no-address": out.writeObject(session); break;
                case "two-addresses": out.writeUTF(address); out.writeUTF(address); out.writeObject(session); break;
                case "trailing-int": out.writeUTF(address); out.writeObject(session); out.writeInt(1); break;
                case "two-sessions": out.writeUTF(address); out.writeObject(session); out.writeObject(session); break;
                case "address-only": out.writeUTF(address); break;
                default: throw new IllegalArgumentException(mode);
            }
            out.close();
            String flinkRead = null;
            if (mode.equals("flink")) {
                LeaderInformation read = ZooKeeperUtils.readLeaderInformation(bytes.toByteArray());
                flinkRead = read.getLeaderSessionID() + " "
                    + hex(read.getLeaderAddress().getBytes(StandardCharsets.UTF_16BE));
            }
            System.out.println("{\"bytes\": \"" + hex(bytes.toByteArray()) + "\", \"flink_read\": "
                + (flinkRead == null ? "null" : "\"" + flinkRead + "\"") + "}");
        }
    }
}
"""

ADDRESSES = [
    "http://10.244.0.17:8081",
    "https://[fd00:10:244::17]:8443",
    "pekko.tcp://flink@10.244.0.17:6123/user/rpc/dispatcher_1",
    "http://höst-ü.example:8081",
    "http://作业管理器.example:8081",
    "http://\U0001f680-rocket.example:8081",  # above U+FFFF: a surrogate pair in Java
    "nul\x00inside",  # Java writes NUL as C0 80
    "a" * 1021,  # 2 + 1021 = one full 1023-byte block
    "a" * 1022,  # exactly 1024 bytes: one TC_BLOCKDATALONG record
    "a" * 1023,  # spills into a second block
    "é" * 1500,  # 3000 bytes over three records
    "x" * 65535,  # the longest string writeUTF accepts
    "€" * 21845,  # 65535 bytes of 3-byte characters
    "",
]
SESSIONS = [
    uuid.UUID("e3b0c442-98fc-1c14-9afb-f4c8996fb924"),
    uuid.UUID(int=0),
    uuid.UUID(int=(1 << 128) - 1),
    uuid.UUID("80000000-0000-0000-8000-000000000000"),  # both longs negative in Java
    uuid.UUID("7fffffff-ffff-ffff-7fff-ffffffffffff"),
]


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be", "surrogatepass").hex()


@pytest.fixture(scope="session")
def java_leader_bytes(flink_home, tmp_path_factory):
    """``write(version, [(mode, session, address), ...])`` -> the records real Java wrote, in order."""
    compiled: dict[str, Path] = {}

    def write(version: str, records: list[tuple[str, uuid.UUID, str]]) -> list[dict]:
        classpath = f"{flink_home(version)}/lib/*"
        if version not in compiled:
            build = tmp_path_factory.mktemp(f"leader-bytes-{version}")
            (build / "LeaderBytes.java").write_text(_WRITER)
            subprocess.run(["javac", "-cp", classpath, "-d", str(build), str(build / "LeaderBytes.java")], check=True)
            compiled[version] = build
        lines = "".join(f"{mode} {session} {_utf16_hex(address)}\n" for mode, session, address in records)
        result = subprocess.run(
            ["java", "-cp", f"{compiled[version]}:{classpath}", "LeaderBytes"],
            input=lines, capture_output=True, text=True, check=True,
        )
        return [json.loads(line) for line in result.stdout.splitlines()]

    return write


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_decodes_what_java_writes_and_flink_reads(java_leader_bytes, version):
    rng = random.Random(4)
    alphabet = "abcXYZ09:/.@-_ äßø中文\U0001f600\u0000\u07ff\u0800\uffff"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))) for _ in range(150)]
    cases = [(address, session) for address in ADDRESSES for session in SESSIONS[:2]]
    cases += [(address, SESSIONS[index % len(SESSIONS)]) for index, address in enumerate(randoms)]
    cases += [(ADDRESSES[0], session) for session in SESSIONS]
    written = java_leader_bytes(version, [("flink", session, address) for address, session in cases])

    for (address, session), record in zip(cases, written, strict=True):
        # Flink itself reads the generated bytes back as the same leader: they are Flink's format.
        assert record["flink_read"] == f"{session} {_utf16_hex(address)}"
        leader = decode_zookeeper_leader(bytes.fromhex(record["bytes"]))
        assert leader is not None
        assert (leader.address, leader.session_id) == (address, session)
        assert leader.holder is None and leader.lease_expires_at is None


def test_every_truncation_is_an_error_never_a_leader(java_leader_bytes):
    version = FLINK_VERSIONS_UNDER_TEST[0]
    records = java_leader_bytes(version, [("flink", SESSIONS[0], ADDRESSES[2]), ("flink", SESSIONS[3], "a" * 1500)])
    for record in records:
        data = bytes.fromhex(record["bytes"])
        for end in range(1, len(data)):
            with pytest.raises(LeaderDataError, match="ZooKeeper leader data"):
                decode_zookeeper_leader(data[:end])


@pytest.mark.parametrize(
    "mode, message",
    [
        ("string-object", "expected TC_OBJECT"),  # a String is TC_STRING
        ("null-object", "expected TC_OBJECT"),
        ("long-object", "class 'java.lang.Long', expected java.util.UUID"),
        ("no-address", "expected block data"),
        ("two-addresses", "does not hold exactly one writeUTF string"),
        ("trailing-int", "6 unexpected bytes after the session id"),  # block data: 77 04 + the int
        ("two-sessions", "unexpected bytes after the session id"),
        ("address-only", "truncated while reading object tag"),
    ],
)
def test_other_java_streams_are_rejected(java_leader_bytes, mode, message):
    version = FLINK_VERSIONS_UNDER_TEST[0]
    (record,) = java_leader_bytes(version, [(mode, SESSIONS[0], ADDRESSES[0])])
    with pytest.raises(LeaderDataError, match=message):
        decode_zookeeper_leader(bytes.fromhex(record["bytes"]))


def test_damaged_class_descriptor_is_rejected(java_leader_bytes):
    (record,) = java_leader_bytes(FLINK_VERSIONS_UNDER_TEST[0], [("flink", SESSIONS[0], ADDRESSES[0])])
    good = bytes.fromhex(record["bytes"])
    serial = (-4856846361193249489).to_bytes(8, "big", signed=True)
    damaged = {
        "class 'java.util.UUIX'": good.replace(b"java.util.UUID", b"java.util.UUIX"),
        "serialVersionUID 1,": good.replace(serial, (1).to_bytes(8, "big")),
        "class flags 0x03": good.replace(serial + b"\x02", serial + b"\x03"),
        "type code 'I'": good.replace(b"J\x00\x0cleastSigBits", b"I\x00\x0cleastSigBits"),
        "fields \\['leastSigBits', 'leastSigBit'\\]": good.replace(b"mostSigBits", b"leastSigBit"),
        "not a Java serialization stream": b"\xac\xed\x00\x04" + good[4:],
        "unexpected bytes": good + b"\x00",
    }
    for message, data in damaged.items():
        assert data != good, message
        with pytest.raises(LeaderDataError, match=message):
            decode_zookeeper_leader(data)


def test_lone_surrogate_address_is_rejected_not_mangled(java_leader_bytes):
    (record,) = java_leader_bytes(FLINK_VERSIONS_UNDER_TEST[0], [("flink", SESSIONS[0], "http://\ud800:8081")])
    with pytest.raises(LeaderDataError, match="not valid modified UTF-8"):
        decode_zookeeper_leader(bytes.fromhex(record["bytes"]))


# --------------------------------------------------------------------------------------------------
# Paths

_PATHS = r"""
import org.apache.flink.runtime.util.ZooKeeperUtils;

public class LeaderPaths {
    public static void main(String[] args) {
        String namespace = ZooKeeperUtils.generateZookeeperPath(args[0], args[1]);
        for (int i = 2; i < args.length; i++) {
            String leader = ZooKeeperUtils.generateConnectionInformationPath(ZooKeeperUtils.getLeaderPath(args[i]));
            System.out.println(ZooKeeperUtils.generateZookeeperPath(namespace, leader));
        }
    }
}
"""

JOB_ID = "00000000065fc7b00000000000000000"


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
@pytest.mark.parametrize("root, cluster_id", [("/flink", "probe"), ("/flink/", "/default"), ("tenant-a", "x/")])
def test_paths_match_flinks_zookeeper_utils(flink_home, tmp_path, version, root, cluster_id):
    # The node names are those Flink's ZooKeeperLeaderElectionHaServices passes to getLeaderPath.
    names = {"restserver": "rest_server", "dispatcher": "dispatcher", "resourcemanager": "resource_manager",
             f"job-{JOB_ID}": f"job-{JOB_ID}"}
    classpath = f"{flink_home(version)}/lib/*"
    (tmp_path / "LeaderPaths.java").write_text(_PATHS)
    subprocess.run(["javac", "-cp", classpath, "-d", str(tmp_path), str(tmp_path / "LeaderPaths.java")], check=True)
    result = subprocess.run(
        ["java", "-cp", f"{tmp_path}:{classpath}", "LeaderPaths", root, cluster_id, *names.values()],
        capture_output=True, text=True, check=True,
    )
    expected = result.stdout.split()
    assert [zookeeper_leader_path(version, cluster_id, component, root=root) for component in names] == expected


# --------------------------------------------------------------------------------------------------
# Bytes recorded from real Flink clusters by the harness (tests/data/ha/zookeeper-<version>-<component>.bin)


