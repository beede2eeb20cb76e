"""Where each Flink version publishes a component's leader in ZooKeeper.

All paths live under the cluster's namespace ``<high-availability.zookeeper.path.root>/<ha cluster id>``
(``/flink/<cid>`` by default), joined the way Flink joins them (see :func:`zookeeper_path`). Layouts:

* 1.15+: ``/leader/<name>/connection_info``; a job is ``job-<jobid>`` (1.19+) or ``<jobid>`` (1.15-1.18);
* 1.14: ``/leader/<name>/connection_info`` for the three cluster components,
  ``/jobs/<jobid>/leader/connection_info`` for a job;
* 1.13: ``/leader/<name>_lock``, a job ``/leader/<jobid>/job_manager_lock`` (with the default
  ``high-availability.zookeeper.path.leader``).

``<name>`` is ``rest_server``, ``dispatcher`` or ``resource_manager``. 1.15-1.18 clusters run with
``high-availability.use-old-ha-services: true`` use the 1.14 layout.
"""

from __future__ import annotations

from airflow_flink_k8s.core.leader import split_component
from airflow_flink_k8s.core.versions import OLDEST_READABLE, FlinkVersion

DEFAULT_ROOT = "/flink"

#: Flink's ZooKeeper node names for the components named as in Kubernetes HA.
ZOOKEEPER_NAMES = {
    "restserver": "rest_server",
    "dispatcher": "dispatcher",
    "resourcemanager": "resource_manager",
}


def zookeeper_path(*parts: str) -> str:
    """Join path parts as Flink's ``ZooKeeperUtils.generateZookeeperPath`` does.

    Each part loses its leading and trailing slashes, empty parts are dropped. A result ZooKeeper
    would refuse (see :func:`check_znode_path`), e.g. from a part ``a//b``, raises ``ValueError``.
    """
    return check_znode_path("/" + "/".join(trimmed for part in parts if (trimmed := part.strip("/"))))


def check_znode_path(path: str) -> str:
    """Return ``path`` if ZooKeeper accepts it (its ``PathUtils.validatePath`` rules), else raise ``ValueError``.

    Absolute, no trailing ``/`` (except the root), no empty, ``.`` or ``..`` node, and none of the characters
    ZooKeeper forbids: NUL, U+0001-U+001F, U+007F-U+009F, U+D800-U+F8FF, U+FFF0-U+FFFF and, since Java
    holds them as surrogates, anything above U+FFFF.
    """
    if path == "/":
        return path
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(f"ZooKeeper path {path!r} must start and must not end with '/'")
    for node in path[1:].split("/"):
        if not node:
            raise ValueError(f"ZooKeeper path {path!r} contains an empty node name ('//')")
        if node in (".", ".."):
            raise ValueError(f"ZooKeeper path {path!r} contains the relative node name {node!r}")
        forbidden = next((char for char in node if _forbidden_in_znode(char)), None)
        if forbidden is not None:
            raise ValueError(f"ZooKeeper path {path!r} contains U+{ord(forbidden):04X}, which ZooKeeper forbids")
    return path


def _forbidden_in_znode(char: str) -> bool:
    code = ord(char)
    return code <= 0x1F or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xF8FF or code >= 0xFFF0


def zookeeper_namespace(cluster_id: str, root: str = DEFAULT_ROOT) -> str:
    """``<root>/<ha cluster id>``, the cluster's ZooKeeper namespace."""
    if not cluster_id.strip("/ "):
        raise ValueError(f"cluster_id: must name a ZooKeeper node, got {cluster_id!r}")
    return zookeeper_path(root, cluster_id)


def zookeeper_leader_path(
    flink_version: str | FlinkVersion,
    cluster_id: str,
    component: str = "restserver",
    *,
    root: str = DEFAULT_ROOT,
) -> str:
    """The absolute znode holding ``component``'s leader record for a cluster of ``flink_version``.

    ``component`` is ``restserver``, ``dispatcher``, ``resourcemanager`` or ``job-<jobid>``.
    """
    version = FlinkVersion.parse(flink_version)
    if version < OLDEST_READABLE:
        raise ValueError(
            f"flink_version: leader data of Flink {version} is not readable (oldest {OLDEST_READABLE})"
        )
    kind, job_id = split_component(component)
    if version.at_least(1, 15):
        name = ZOOKEEPER_NAMES.get(kind) or (f"job-{job_id}" if version.at_least(1, 19) else str(job_id))
        relative = zookeeper_path("leader", name, "connection_info")
    elif version.at_least(1, 14):
        if job_id:
            relative = zookeeper_path("jobs", job_id, "leader", "connection_info")
        else:
            relative = zookeeper_path("leader", ZOOKEEPER_NAMES[kind], "connection_info")
    elif job_id:
        relative = zookeeper_path("leader", job_id, "job_manager_lock")
    else:
        relative = zookeeper_path("leader", ZOOKEEPER_NAMES[kind] + "_lock")
    return zookeeper_path(zookeeper_namespace(cluster_id, root), relative)
