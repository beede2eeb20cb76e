"""ZooKeeper access for Flink clusters with ZooKeeper HA, on kazoo.

Connection (``conn_type`` ``zookeeper``; Airflow's UI shows a form for it, described by
``core.zookeeper_connection``), so that no secret ever sits in a DAG:

* ``host``: one host or a comma-separated quorum, each with an optional ``:port``; ``port`` is the default port
  for hosts without one (2181 when unset). ``extra.hosts`` may hold the whole quorum string instead;
* ``extra.chroot``: a chroot path every path is relative to (as in ``host1:2181/chroot``);
* ``extra.auth_scheme``: ``digest`` (ZooKeeper digest auth ``login:password``; none when both are empty) or
  ``sasl`` (``extra.sasl_mechanism`` ``DIGEST-MD5``, ``PLAIN`` or ``GSSAPI``, with login/password as the SASL
  credentials; kazoo's SASL support needs ``pure-sasl``). Without it, ``sasl`` when a mechanism is set;
* ``extra.use_ssl``, ``extra.ca``, ``extra.certfile``, ``extra.keyfile``, ``extra.verify_certs``: TLS;
* ``extra.timeout``: session timeout in seconds (default 10).

Empty and ``null`` extras count as not set (the form writes every field); booleans may be JSON or ``true``/``false``
strings (connection URIs). A bad field raises naming it.

A hook can also be made from a bare quorum string (``FlinkZooKeeperHook(quorum="h1:2181,h2:2181/chroot")``), which
carries hosts only. Given both, the connection (for its credentials) must name the same hosts and chroot as the
quorum, which is what Flink uses: a hook that would read or clean a different tree than Flink's is refused.
Paths are Flink's: ``<root>/<ha cluster id>/…`` (see :mod:`airflow_flink_k8s.core.zookeeper_paths`).

Watches: :meth:`FlinkZooKeeperHook.watch_leader` turns kazoo's ``DataWatch`` callbacks (run on kazoo's own thread)
into an async iterator with ``loop.call_soon_threadsafe``. Hooks with the same connection parameters in one process
share one kazoo session, so many triggers cost one connection per quorum.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from airflow.sdk import BaseHook

from airflow_flink_k8s.core.errors import FlinkSpecError, LeaderDataError
from airflow_flink_k8s.core.ha_data import JOB_GRAPH_ZNODES, check_zookeeper_root, latest_znode_checkpoint
from airflow_flink_k8s.core.leader import LeaderInfo, decode_zookeeper_leader
from airflow_flink_k8s.core.zookeeper_connection import (
    ZOOKEEPER_AUTH_SCHEMES,
    ZOOKEEPER_CONN_TYPE,
    ZOOKEEPER_HOOK_NAME,
    ZOOKEEPER_SASL_MECHANISMS,
)
from airflow_flink_k8s.core.zookeeper_paths import (
    DEFAULT_ROOT,
    zookeeper_leader_path,
    zookeeper_namespace,
    zookeeper_path,
)

if TYPE_CHECKING:
    from kazoo.client import KazooClient

DEFAULT_PORT = 2181
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$")
_CHECKPOINT_NODE = re.compile(r"^\d+$")


@dataclass(frozen=True)
class ZooKeeperSettings:
    """Everything a kazoo client is built from; equal settings share one session in a process."""

    hosts: str
    timeout: float = 10.0
    digest: str | None = None
    sasl: tuple[tuple[str, str], ...] = ()
    use_ssl: bool = False
    ca: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    verify_certs: bool = True

    def client_kwargs(self) -> dict[str, Any]:
        # Bounded command retries: kazoo's watch recipes retry reads on their worker thread, and an unbounded
        # retry against a ZooKeeper that is gone blocks kazoo's atexit stop (the interpreter never exits).
        kwargs: dict[str, Any] = {"hosts": self.hosts, "timeout": self.timeout,
                                  "command_retry": {"max_tries": 5, "delay": 0.2, "max_delay": 2.0}}
        if self.digest:
            kwargs["auth_data"] = [("digest", self.digest)]
        if self.sasl:
            kwargs["sasl_options"] = dict(self.sasl)
        if self.use_ssl:
            kwargs.update(use_ssl=True, ca=self.ca, certfile=self.certfile, keyfile=self.keyfile,
                          verify_certs=self.verify_certs)
        return kwargs


def quorum_hosts(hosts: str, default_port: int = DEFAULT_PORT, chroot: str | None = None) -> str:
    """Normalise ``h1,h2:2182[/chroot]`` to kazoo's ``h1:2181,h2:2182/chroot``; bad parts raise naming the rule."""
    hosts = hosts.strip()
    inline_chroot = ""
    if "/" in hosts:
        hosts, _, inline_chroot = hosts.partition("/")
        inline_chroot = "/" + inline_chroot
    if inline_chroot and chroot:
        raise ValueError("chroot: given both in the quorum string and separately")
    parts = [part.strip() for part in hosts.split(",")]
    if not hosts or not all(parts):
        raise ValueError(f"hosts: expected 'host[:port][,host[:port]...]', got {hosts!r}")
    normalised = []
    for part in parts:
        match = _HOST.match(part)
        if not match:
            raise ValueError(f"hosts: {part!r} is not 'host' or 'host:port'")
        port = int(match.group(2) or default_port)
        if not 0 < port < 65536:
            raise ValueError(f"hosts: port {port} of {part!r} is not in 1..65535")
        normalised.append(f"{match.group(1)}:{port}")
    root = chroot or inline_chroot
    if root:
        root = zookeeper_path(root)
    return ",".join(normalised) + (root if root and root != "/" else "")


def settings_from_connection(conn: Any) -> ZooKeeperSettings:
    """Read a ``zookeeper`` Airflow connection (see the module docstring); a bad field raises naming it."""
    extra: Mapping[str, Any] = conn.extra_dejson or {}
    where = f"connection {conn.conn_id!r}"
    hosts = _extra(extra, "hosts") or conn.host
    if not hosts:
        raise ValueError(f"{where}: host (or extra.hosts) must name the ZooKeeper quorum")
    try:
        quorum = quorum_hosts(str(hosts), int(conn.port or DEFAULT_PORT), _extra(extra, "chroot"))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    digest, sasl = _auth(conn, extra, where)
    timeout = _extra(extra, "timeout")
    try:
        timeout = 10.0 if timeout is None else float(timeout)
    except (TypeError, ValueError):
        timeout = math.nan
    if not 0 < timeout < math.inf:
        raise ValueError(f"{where}: extra.timeout must be a number of seconds above 0, got {extra.get('timeout')!r}")
    use_ssl = _extra_flag(extra, "use_ssl", False, where)
    tls_files = {name: _extra(extra, name) for name in ("ca", "certfile", "keyfile")}
    if not use_ssl and any(tls_files.values()):
        given = ", ".join(f"extra.{name}" for name, value in tls_files.items() if value)
        raise ValueError(f"{where}: {given} given but extra.use_ssl is off: turn TLS on or clear them")
    return ZooKeeperSettings(hosts=quorum, timeout=timeout, digest=digest, sasl=sasl, use_ssl=use_ssl,
                             **tls_files, verify_certs=_extra_flag(extra, "verify_certs", True, where))


def _extra(extra: Mapping[str, Any], name: str) -> Any:
    """An extra field's value; None when absent, null or blank (Airflow's connection form writes every field of
    the ``zookeeper`` type, ``null`` when left empty)."""
    value = extra.get(name)
    return None if isinstance(value, str) and not value.strip() else value


def _extra_flag(extra: Mapping[str, Any], name: str, default: bool, where: str) -> bool:
    """A boolean extra: JSON true/false, or the strings ``true``/``false`` a connection URI carries."""
    value = _extra(extra, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{where}: extra.{name} must be true or false, got {value!r}")


def _auth(conn: Any, extra: Mapping[str, Any], where: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """(digest ``user:password`` or None, SASL options) by ``extra.auth_scheme``; without one (connections made
    before the field), SASL when ``extra.sasl_mechanism`` is set, else digest."""
    mechanism = _extra(extra, "sasl_mechanism")
    scheme = _extra(extra, "auth_scheme") or ("sasl" if mechanism else "digest")
    if scheme not in ZOOKEEPER_AUTH_SCHEMES:
        raise ValueError(f"{where}: extra.auth_scheme must be one of {', '.join(ZOOKEEPER_AUTH_SCHEMES)}, "
                         f"got {scheme!r}")
    if scheme == "sasl":
        mechanism = str(mechanism).upper() if mechanism else None
        if mechanism not in ZOOKEEPER_SASL_MECHANISMS:
            raise ValueError(f"{where}: extra.sasl_mechanism must be one of {', '.join(ZOOKEEPER_SASL_MECHANISMS)} "
                             f"with auth_scheme sasl, got {extra.get('sasl_mechanism')!r}")
        return None, (("mechanism", mechanism),
                      *((key, value) for key, value in (("username", conn.login), ("password", conn.password))
                        if value))
    if not (conn.login or conn.password):
        return None, ()
    if not (conn.login and conn.password):
        raise ValueError(f"{where}: digest auth needs both login and password")
    if ":" in conn.login:
        raise ValueError(f"{where}: login must not contain ':' (digest auth is 'user:password')")
    return f"{conn.login}:{conn.password}", ()


def _ensemble(hosts: str) -> tuple[frozenset[str], str]:
    """The (unordered) ``host:port`` set and chroot of a normalised quorum string."""
    hosts, _, chroot = quorum_hosts(hosts).partition("/")
    return frozenset(hosts.split(",")), "/" + chroot if chroot else ""


def check_same_ensemble(connection_hosts: str, quorum: str, conn_id: str) -> None:
    """Raise ``FlinkSpecError`` unless connection ``conn_id``'s hosts and chroot are the quorum's (Flink's)."""
    if _ensemble(connection_hosts) != _ensemble(quorum):
        raise FlinkSpecError(
            "zookeeper_conn_id", f"connection {conn_id!r} names ZooKeeper {connection_hosts!r} but zookeeper_quorum, "
            f"which Flink uses, is {quorum!r}: they must name the same hosts and chroot, or the clean-up would read "
            "and delete another tree than Flink's. Make them agree, or give only one")


class _SharedClients:
    """Process-wide kazoo sessions, one per settings, reference-counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[ZooKeeperSettings, tuple[KazooClient, int]] = {}

    def acquire(self, settings: ZooKeeperSettings) -> KazooClient:
        with self._lock:
            if settings in self._clients:
                client, count = self._clients[settings]
                self._clients[settings] = (client, count + 1)
                return client
            client = _start_client(settings)
            self._clients[settings] = (client, 1)
            return client

    def release(self, settings: ZooKeeperSettings) -> None:
        with self._lock:
            client, count = self._clients[settings]
            if count > 1:
                self._clients[settings] = (client, count - 1)
                return
            del self._clients[settings]
        client.stop()
        client.close()

    def sessions(self) -> int:
        """How many kazoo sessions are open in this process."""
        with self._lock:
            return len(self._clients)


SHARED_CLIENTS = _SharedClients()


def _start_client(settings: ZooKeeperSettings) -> KazooClient:
    if settings.sasl:
        try:
            import puresasl  # noqa: F401  (kazoo imports it lazily and fails obscurely without it)
        except ImportError:
            raise RuntimeError("ZooKeeper SASL auth needs the 'pure-sasl' package installed") from None
    from kazoo.client import KazooClient

    client = KazooClient(**settings.client_kwargs())
    client.start(timeout=settings.timeout)
    return client


class FlinkZooKeeperHook(BaseHook):
    """Reads (and, for the operator, cleans) a Flink cluster's ZooKeeper HA data."""

    conn_name_attr = "zookeeper_conn_id"
    default_conn_name = "zookeeper_default"
    conn_type = ZOOKEEPER_CONN_TYPE
    hook_name = ZOOKEEPER_HOOK_NAME

    def __init__(self, zookeeper_conn_id: str | None = None, *, quorum: str | None = None) -> None:
        if zookeeper_conn_id is None and quorum is None:
            raise ValueError("FlinkZooKeeperHook: give zookeeper_conn_id or quorum (or both, naming the same ensemble)")
        super().__init__()
        self.zookeeper_conn_id = zookeeper_conn_id
        self.quorum = quorum
        self._settings: ZooKeeperSettings | None = None
        self._client: KazooClient | None = None

    @property
    def settings(self) -> ZooKeeperSettings:
        if self._settings is None:
            if self.zookeeper_conn_id is None:
                self._settings = ZooKeeperSettings(hosts=quorum_hosts(str(self.quorum)))
            else:
                settings = settings_from_connection(self.get_connection(self.zookeeper_conn_id))
                if self.quorum is not None:
                    check_same_ensemble(settings.hosts, self.quorum, self.zookeeper_conn_id)
                self._settings = settings
        return self._settings

    def get_conn(self) -> KazooClient:
        """The (shared) started kazoo client; released by :meth:`close`."""
        if self._client is None:
            self._client = SHARED_CLIENTS.acquire(self.settings)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client = None
            SHARED_CLIENTS.release(self.settings)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- reads
    def read_leader(self, cluster_id: str, root: str = DEFAULT_ROOT, version: str = "2.3",
                    component: str = "rest_server") -> LeaderInfo | None:
        """The leader ``component`` has published now; ``None`` when its node is absent or empty.

        ``component`` may use Flink's ZooKeeper names (``rest_server``, ``resource_manager``) or the Kubernetes
        ones (``restserver``, ``job-<jobid>``). Raises ``LeaderDataError`` for bytes Flink does not write.
        """
        from kazoo.exceptions import NoNodeError

        path = zookeeper_leader_path(version, cluster_id, _component(component), root=root)
        try:
            data, _ = self.get_conn().get(path)
        except NoNodeError:
            return None
        return decode_zookeeper_leader(data)

    def checkpointed_job_ids(self, cluster_id: str, root: str = DEFAULT_ROOT) -> list[str]:
        """The cluster's jobs (sorted) with at least one completed checkpoint registered in ZooKeeper.

        Flink (1.15 to 2.3) keeps them as ``<root>/<cid>/jobs/<jobid>/checkpoints/<zero-padded id>`` beside a
        ``checkpoint_id_counter``; a job that has only the counter has not completed one.
        """
        return sorted(self.latest_checkpoint_ids(cluster_id, root))

    def latest_checkpoint_ids(self, cluster_id: str, root: str = DEFAULT_ROOT) -> dict[str, int]:
        """For each job with a completed checkpoint registered in ZooKeeper, the highest checkpoint id there."""
        from kazoo.exceptions import NoNodeError

        client = self.get_conn()
        jobs_path = zookeeper_path(zookeeper_namespace(cluster_id, root), "jobs")
        try:
            job_ids = client.get_children(jobs_path)
        except NoNodeError:
            return {}
        found = {}
        for job in sorted(job_ids):
            try:
                children = client.get_children(zookeeper_path(jobs_path, job, "checkpoints"))
            except NoNodeError:
                continue
            latest = latest_znode_checkpoint(child for child in children if _CHECKPOINT_NODE.match(child))
            if latest is not None:
                found[job] = latest
        return found

    def cluster_children(self, cluster_id: str, root: str = DEFAULT_ROOT) -> list[str] | None:
        """The nodes directly under ``<root>/<cid>``; None when it does not exist."""
        from kazoo.exceptions import NoNodeError

        try:
            return sorted(self.get_conn().get_children(zookeeper_namespace(cluster_id, check_zookeeper_root(root))))
        except NoNodeError:
            return None

    def live_leaders(self, cluster_id: str, root: str = DEFAULT_ROOT) -> dict[str, str]:
        """The leaders published now under ``<root>/<cid>``: ephemeral, non-empty leader nodes (``leader/<name>/
        connection_info`` 1.14+, ``jobs/<jobid>/leader/connection_info`` 1.14, ``leader/<name>_lock`` 1.13) by
        path, with their address (``<undecodable>`` for bytes Flink does not write)."""
        from kazoo.exceptions import NoNodeError

        client = self.get_conn()
        namespace = zookeeper_namespace(cluster_id, check_zookeeper_root(root))
        candidates = []
        for parent, leaf in ((zookeeper_path(namespace, "leader"), "connection_info"),
                             (zookeeper_path(namespace, "jobs"), "leader/connection_info")):
            try:
                children = client.get_children(parent)
            except NoNodeError:
                continue
            candidates += [zookeeper_path(parent, child, leaf) for child in children]
            candidates += [zookeeper_path(parent, child) for child in children if child.endswith("_lock")]
        found = {}
        for path in candidates:
            try:
                data, stat = client.get(path)
            except NoNodeError:
                continue
            if not stat.ephemeralOwner or not data:
                continue
            try:
                leader = decode_zookeeper_leader(data)
            except LeaderDataError:
                found[path] = "<undecodable>"
                continue
            if leader is not None:
                found[path] = leader.address
        return found

    # ----------------------------------------------------------------- writes (operator)
    def delete_cluster_data(self, cluster_id: str, root: str = DEFAULT_ROOT) -> bool:
        """Delete ``<root>/<cid>`` and everything under it; ``False`` when it was not there. ``root`` must be below
        ``/`` (``check_zookeeper_root``); whether the subtree is the cluster's is the caller's to check first."""
        namespace = zookeeper_namespace(cluster_id, check_zookeeper_root(root))
        client = self.get_conn()
        if client.exists(namespace) is None:
            return False
        client.delete(namespace, recursive=True)
        return True

    def delete_job_graphs(self, cluster_id: str, root: str = DEFAULT_ROOT) -> list[str]:
        """Delete every stored job graph (``<root>/<cid>/jobgraphs/<jid>`` ≤1.20, ``…/execution-plans/<jid>`` 2.x)
        with its lock children, keeping the parent nodes and everything else; the paths deleted."""
        from kazoo.exceptions import NoNodeError

        client = self.get_conn()
        removed = []
        for name in JOB_GRAPH_ZNODES:
            parent = zookeeper_path(zookeeper_namespace(cluster_id, root), name)
            try:
                children = client.get_children(parent)
            except NoNodeError:
                continue
            for child in sorted(children):
                try:
                    client.delete(zookeeper_path(parent, child), recursive=True)
                except NoNodeError:
                    continue
                removed.append(zookeeper_path(parent, child))
        return removed

    # ----------------------------------------------------------------- watch (trigger)
    async def watch_leader(self, cluster_id: str, root: str = DEFAULT_ROOT, version: str = "2.3",
                           component: str = "rest_server") -> AsyncIterator[LeaderInfo | None]:
        """Yield the leader now and again after every change of its node (``None`` when absent or empty).

        While the ZooKeeper session is suspended or lost the leader cannot be known, so ``None`` is yielded; when
        the session is back the node is read again. Decoding errors are raised here, in the consumer.
        """
        from kazoo.protocol.states import KazooState
        from kazoo.recipe.watchers import DataWatch

        path = zookeeper_leader_path(version, cluster_id, _component(component), root=root)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bytes | None, bool]] = asyncio.Queue()
        client = await asyncio.to_thread(self.get_conn)
        active = True

        def push(data: bytes | None, reread: bool = False) -> None:
            if active and not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, (data, reread))

        def on_data(data: bytes | None, _stat: Any) -> bool:
            push(data)
            return active  # False stops the watch

        def on_state(state: str) -> None:
            push(None, reread=state == KazooState.CONNECTED)

        client.add_listener(on_state)
        DataWatch(client, path, on_data)
        try:
            while True:
                data, reread = await queue.get()
                if reread:
                    data = await asyncio.to_thread(_read_or_none, client, path)
                yield decode_zookeeper_leader(data)
        finally:
            active = False
            client.remove_listener(on_state)


def _component(component: str) -> str:
    """Accept Flink's ZooKeeper node names as well as the Kubernetes component names."""
    by_zookeeper_name = {"rest_server": "restserver", "resource_manager": "resourcemanager"}
    return by_zookeeper_name.get(component, component)


def _read_or_none(client: KazooClient, path: str) -> bytes | None:
    from kazoo.exceptions import NoNodeError

    try:
        return client.get(path)[0]
    except NoNodeError:
        return None
