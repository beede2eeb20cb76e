"""FlinkZooKeeperHook against a real ZooKeeper: connections, digest auth, chroot, leader reads and the async watch.

Leader bytes are the ones real Flink 2.3.0 and 1.20.3 wrote (``tests/data/ha``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_digest_acl

from airflow_flink_k8s.core.leader import LeaderDataError, decode_zookeeper_leader
from airflow_flink_k8s.hooks.zookeeper import (
    SHARED_CLIENTS,
    FlinkZooKeeperHook,
)
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.paths import DATA_DIR
from tests.sensor_support import env_connection
from tests.unit.hooks.test_zookeeper import form_extra

pytestmark = pytest.mark.zookeeper
DATA = DATA_DIR / "ha"


def recorded(version: str) -> tuple[bytes, tuple[str, str]]:
    """The ``rest_server`` bytes Flink wrote, and (address, session id): the REST URL the harness saw Flink serve
    on, and the session id the decoder (tested on its own in test_leader_zookeeper) reads from them."""
    data = (DATA / f"zookeeper-{version}-rest_server.bin").read_bytes()
    meta = json.loads((DATA / f"zookeeper-{version}-rest_server.json").read_text())
    return data, (meta["rest_url"], str(decode_zookeeper_leader(data).session_id))


def test_reads_flinks_leader_bytes_with_digest_auth_under_a_chroot(zookeeper: ZooKeeperServer) -> None:
    data, expected = recorded("2.3.0")
    admin = KazooClient(hosts=zookeeper.hosts, auth_data=[("digest", "airflow:s3cret")])
    admin.start(timeout=10)
    try:
        acl = [make_digest_acl("airflow", "s3cret", all=True)]
        admin.create("/apps/flink/c1/leader/rest_server/connection_info", data, acl=acl, makepath=True)
    finally:
        admin.stop()
        admin.close()

    good = {"conn_type": "zookeeper", "host": zookeeper.hosts, "login": "airflow", "password": "s3cret",
            "extra": {"chroot": "/apps"}}
    with env_connection("zk_ok", good), FlinkZooKeeperHook("zk_ok") as hook:
        leader = hook.read_leader("c1", "/flink", "2.3.0")
        assert hook.read_leader("c2", "/flink", "2.3.0") is None
    assert (leader.address, str(leader.session_id)) == expected
    with env_connection("zk_bad", good | {"password": "wrong"}), FlinkZooKeeperHook("zk_bad") as hook, \
            pytest.raises(NoAuthError):
        hook.read_leader("c1", "/flink", "2.3.0")


def test_hooks_with_the_same_settings_share_one_session(zookeeper: ZooKeeperServer) -> None:
    before = SHARED_CLIENTS.sessions()
    first, second = FlinkZooKeeperHook(quorum=zookeeper.hosts), FlinkZooKeeperHook(quorum=zookeeper.hosts)
    try:
        assert first.get_conn() is second.get_conn()
        assert SHARED_CLIENTS.sessions() == before + 1
    finally:
        first.close()
        second.close()
    assert SHARED_CLIENTS.sessions() == before


def test_the_async_watch_follows_the_leader_node(zookeeper: ZooKeeperServer) -> None:
    path = "/flink/w1/leader/rest_server/connection_info"
    new_data, new_expected = recorded("2.3.0")
    old_data, old_expected = recorded("1.20.3")
    writer = KazooClient(hosts=zookeeper.hosts)
    writer.start(timeout=10)

    async def follow() -> list[Any]:
        seen: list[Any] = []
        hook = FlinkZooKeeperHook(quorum=zookeeper.hosts)
        updates = hook.watch_leader("w1", "/flink", "1.20.3")
        try:
            seen.append(await asyncio.wait_for(anext(updates), 10))
            await asyncio.to_thread(writer.create, path, old_data, ephemeral=True, makepath=True)
            seen.append(await asyncio.wait_for(anext(updates), 10))
            await asyncio.to_thread(writer.set, path, new_data)
            seen.append(await asyncio.wait_for(anext(updates), 10))
            await asyncio.to_thread(writer.delete, path)
            seen.append(await asyncio.wait_for(anext(updates), 10))
            await asyncio.to_thread(writer.create, path, b"\xac\xed\x00\x05garbage")
            with pytest.raises(LeaderDataError):
                await asyncio.wait_for(anext(updates), 10)
        finally:
            await updates.aclose()
            await asyncio.to_thread(hook.close)
        return seen

    try:
        seen = asyncio.run(follow())
    finally:
        writer.stop()
        writer.close()
    assert seen[0] is None and seen[2 + 1] is None
    assert (seen[1].address, str(seen[1].session_id)) == old_expected
    assert (seen[2].address, str(seen[2].session_id)) == new_expected


def test_a_connection_made_in_airflows_form_reaches_zookeeper_with_its_auth_and_chroot(
        zookeeper: ZooKeeperServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The extra exactly as the UI's form writes it (every field, nulls for the empty ones), and the same
    connection as a URI: digest auth and chroot as the fields say, a wrong scheme refused by the server."""
    data, expected = recorded("2.3.0")
    admin = KazooClient(hosts=zookeeper.hosts, auth_data=[("digest", "flink:s3cret")])
    admin.start(timeout=10)
    try:
        admin.create("/team/flink/f1/leader/rest_server/connection_info", data,
                     acl=[make_digest_acl("flink", "s3cret", all=True)], makepath=True)
    finally:
        admin.stop()
        admin.close()
    host, port = zookeeper.hosts.rsplit(":", 1)
    form = {"conn_type": "zookeeper", "host": host, "port": int(port), "login": "flink", "password": "s3cret",
            "extra": form_extra(chroot="/team", auth_scheme="digest")}
    monkeypatch.setenv("AIRFLOW_CONN_ZK_URI",
                       f"zookeeper://flink:s3cret@{host}:{port}/?chroot=%2Fteam&auth_scheme=digest&use_ssl=false")
    with env_connection("zk_form", form), FlinkZooKeeperHook("zk_form") as form_hook, \
            FlinkZooKeeperHook("zk_uri") as uri_hook:
        for hook in (form_hook, uri_hook):
            leader = hook.read_leader("f1", "/flink", "2.3.0")
            assert (leader.address, str(leader.session_id)) == expected, hook.zookeeper_conn_id
    # auth_scheme sasl is read: kazoo's SASL needs pure-sasl, which the constraints do not install
    sasl = form | {"extra": form_extra(chroot="/team", auth_scheme="sasl", sasl_mechanism="PLAIN")}
    with env_connection("zk_sasl", sasl), FlinkZooKeeperHook("zk_sasl") as hook, \
            pytest.raises(RuntimeError, match="needs the 'pure-sasl' package"):
        hook.read_leader("f1", "/flink", "2.3.0")
