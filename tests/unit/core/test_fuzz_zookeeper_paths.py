"""Property tests over the ZooKeeper path helpers (``airflow_flink_k8s.core.zookeeper_paths``).

Oracles: ZooKeeper's own path rule (``PathUtils.validatePath``, restated here character by character as
ZooKeeper checks it) and the per-version leader layouts in FLINK_FACTS, written out here per version.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_flink_k8s.core.zookeeper_paths import check_znode_path, zookeeper_leader_path, zookeeper_path
from tests.fuzz_settings import fuzz_settings

VERSIONS = ["1.12.7", "1.13.6", "1.14.6", "1.15.4", "1.16.3", "1.17.2", "1.18.1", "1.19.1", "1.20.3", "2.0.0",
            "2.3", "2.3.0"]
NAMES = {"restserver": "rest_server", "dispatcher": "dispatcher", "resourcemanager": "resource_manager"}


def zookeeper_accepts(path: str) -> bool:
    """ZooKeeper's validatePath, walked over Java chars (a character above U+FFFF is two surrogates)."""
    chars = path.encode("utf-16-be", "surrogatepass")
    units = [int.from_bytes(chars[index : index + 2], "big") for index in range(0, len(chars), 2)]
    if not units or units[0] != ord("/"):
        return False
    if len(units) == 1:
        return True
    if units[-1] == ord("/"):
        return False
    last = ord("/")
    for index in range(1, len(units)):
        char = units[index]
        following = units[index + 1] if index + 1 < len(units) else None
        if char == 0:
            return False
        if char == ord("/") and last == ord("/"):
            return False
        if char == ord(".") and last == ord(".") and units[index - 2] == ord("/") and following in (None, ord("/")):
            return False
        if char == ord(".") and last == ord("/") and following in (None, ord("/")):
            return False
        if 0 < char <= 0x1F or 0x7F <= char <= 0x9F or 0xD800 <= char <= 0xF8FF or 0xFFF0 <= char <= 0xFFFF:
            return False
        last = char
    return True


def joined(*parts: str) -> str:
    """Flink's generateZookeeperPath: strip each part's slashes, drop empty parts, join under '/'."""
    return "/" + "/".join(part.strip("/") for part in parts if part.strip("/"))


def expected_leader_path(version: str, cluster_id: str, component: str, root: str) -> str:
    """The layouts of FLINK_FACTS ("ZooKeeper HA data") and the zookeeper_paths docstring."""
    major, minor = (int(number) for number in version.split(".")[:2])
    job = component[4:].lower() if component.startswith("job-") else None
    namespace = joined(root, cluster_id)
    if (major, minor) >= (1, 15):
        name = NAMES.get(component) or (f"job-{job}" if (major, minor) >= (1, 19) else job)
        return joined(namespace, "leader", name, "connection_info")
    if (major, minor) == (1, 14):
        return joined(namespace, "jobs", job, "leader", "connection_info") if job else joined(
            namespace, "leader", NAMES[component], "connection_info")
    return joined(namespace, "leader", job, "job_manager_lock") if job else joined(
        namespace, "leader", NAMES[component] + "_lock")


path_text = st.text(st.sampled_from("/.ab-_ \x00\x01\x1f\x7f\x9f\ud7ff\ue000\ufff0\uffff") | st.characters(
    codec="utf-8"), max_size=12)
cluster_ids = st.from_regex(re.compile(r"[a-z]([-a-z0-9]{0,43}[a-z0-9])?", re.ASCII), fullmatch=True)
roots = st.sampled_from(["/flink", "/", "", "flink", "/flink/", "/a/b", "//flink", "/a//b", "/.", "/a/..", "/a.."])
components = st.sampled_from(sorted(NAMES)) | st.text("0123456789abcdefABCDEF", min_size=32, max_size=32).map(
    "job-".__add__)


@fuzz_settings(2)
@given(parts=st.lists(path_text, max_size=4))
@example(parts=["/a//b"])
@example(parts=["flink", ".."])
@example(parts=["flink", "x\U0001f600"])
@example(parts=["", "/"])
def test_zookeeper_path_joins_like_flink_or_refuses_what_zookeeper_refuses(parts):
    path = joined(*parts)
    if zookeeper_accepts(path):
        assert zookeeper_path(*parts) == path
    else:
        with pytest.raises(ValueError, match="ZooKeeper path"):
            zookeeper_path(*parts)


@fuzz_settings()
@given(path=path_text | path_text.map("/".__add__))
def test_check_znode_path_is_zookeepers_rule(path):
    if zookeeper_accepts(path):
        assert check_znode_path(path) == path
    else:
        with pytest.raises(ValueError, match="ZooKeeper path"):
            check_znode_path(path)


@fuzz_settings(2)
@given(version=st.sampled_from(VERSIONS), cluster_id=cluster_ids, component=components, root=roots)
def test_leader_paths_follow_the_version_layout(version, cluster_id, component, root):
    major, minor = (int(number) for number in version.split(".")[:2])
    expected = expected_leader_path(version, cluster_id, component, root)
    if (major, minor) < (1, 13) or not zookeeper_accepts(expected):
        with pytest.raises(ValueError):
            zookeeper_leader_path(version, cluster_id, component, root=root)
    else:
        assert zookeeper_leader_path(version, cluster_id, component, root=root) == expected


@fuzz_settings()
@given(cluster_id=path_text, component=components | st.text(max_size=40), root=roots | path_text)
@example(cluster_id="/ /", component="restserver", root="/flink")
@example(cluster_id="c", component=f"job-{'a' * 32}\n", root="/flink")
def test_any_arguments_give_a_valid_leader_path_or_value_error(cluster_id, component, root):
    try:
        path = zookeeper_leader_path("2.3.0", cluster_id, component, root=root)
    except ValueError:
        return
    assert zookeeper_accepts(path)
    assert path == expected_leader_path("2.3.0", cluster_id, component, root)
    assert cluster_id.strip("/ ")
