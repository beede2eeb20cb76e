"""FlinkZooKeeperHook without a server: quorum strings and connection settings (a real ZooKeeper is in
``tests/integration/test_zookeeper_hook.py``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.zookeeper_connection import ZOOKEEPER_CONN_FIELDS
from airflow_flink_k8s.hooks.zookeeper import (
    FlinkZooKeeperHook,
    ZooKeeperSettings,
    check_same_ensemble,
    quorum_hosts,
    settings_from_connection,
)


def connection(**fields: Any) -> SimpleNamespace:
    values = {"conn_id": "zk", "host": None, "port": None, "login": None, "password": None, "extra_dejson": {}}
    return SimpleNamespace(**(values | fields))


def test_quorum_strings_are_normalised_and_bad_ones_name_the_rule() -> None:
    assert quorum_hosts("a,b:2182") == "a:2181,b:2182"
    assert quorum_hosts("a:1/apps/flink/") == "a:1/apps/flink"
    assert quorum_hosts("[::1]:2181", chroot="/x") == "[::1]:2181/x"
    for bad, rule in (("", "hosts"), ("a,,b", "hosts"), ("a:99999", "1..65535"), ("a b", "not 'host'")):
        with pytest.raises(ValueError, match=rule):
            quorum_hosts(bad)
    with pytest.raises(ValueError, match="chroot"):
        quorum_hosts("a/x", chroot="/y")


def test_connections_map_to_kazoo_settings_and_reject_half_credentials() -> None:
    settings = settings_from_connection(connection(host="z1,z2", port=2190, login="u", password="p",
                                                   extra_dejson={"chroot": "/c", "timeout": 4}))
    kwargs = settings.client_kwargs()
    assert {k: kwargs[k] for k in ("hosts", "timeout", "auth_data")} == {
        "hosts": "z1:2190,z2:2190/c", "timeout": 4.0, "auth_data": [("digest", "u:p")]}
    assert kwargs["command_retry"]["max_tries"] > 0, "a bounded retry: a gone ZooKeeper must not hang kazoo's stop"
    sasl = settings_from_connection(connection(host="z", login="u", password="p",
                                               extra_dejson={"sasl_mechanism": "digest-md5"}))
    assert sasl.client_kwargs()["sasl_options"] == {"mechanism": "DIGEST-MD5", "username": "u", "password": "p"}
    for fields, rule in (({"host": "z", "login": "u"}, "both login and password"),
                         ({}, "host"),
                         ({"host": "z", "extra_dejson": {"sasl_mechanism": "KERBEROS"}}, "sasl_mechanism"),
                         ({"host": "z", "extra_dejson": {"timeout": 0}}, "timeout"),
                         ({"host": "z", "extra_dejson": {"timeout": "soon"}}, "extra.timeout"),
                         ({"host": "z", "extra_dejson": {"auth_scheme": "kerberos"}}, "extra.auth_scheme"),
                         ({"host": "z", "extra_dejson": {"auth_scheme": "sasl"}}, "extra.sasl_mechanism"),
                         ({"host": "z", "extra_dejson": {"use_ssl": "yes"}}, "extra.use_ssl must be true or false"),
                         ({"host": "z", "extra_dejson": {"ca": "/ca.pem"}}, "extra.ca given but extra.use_ssl is off")):
        with pytest.raises(ValueError, match=rule):
            settings_from_connection(connection(**fields))
    with pytest.raises(ValueError, match="give zookeeper_conn_id or quorum"):
        FlinkZooKeeperHook()


@pytest.mark.parametrize(("connection_hosts", "quorum", "agree"), [
    ("a:2181,b:2181", "b:2181,a:2181", True),
    ("a:2181", "a", True),
    ("a:2181/team", "a:2181/team", True),
    ("a:2181/team", "a:2181", False),  # a chroot Flink does not use: another tree
    ("a:2181", "a:2182", False),
    ("a:2181,b:2181", "a:2181", False),
])
def test_a_connection_and_a_quorum_must_name_the_same_ensemble(connection_hosts: str, quorum: str,
                                                               agree: bool) -> None:
    if agree:
        check_same_ensemble(connection_hosts, quorum, "zk")
        return
    with pytest.raises(FlinkSpecError, match=r"^zookeeper_conn_id: connection 'zk' names ZooKeeper .* but "
                                             r"zookeeper_quorum, which Flink uses, is"):
        check_same_ensemble(connection_hosts, quorum, "zk")


def form_extra(**edits: Any) -> dict[str, Any]:
    """The extra Airflow's connection form writes for the ``zookeeper`` type: every field, its default (null when
    it has none) unless edited (the test in test_provider_package checks these defaults against the real UI)."""
    return {name: field["schema"].get("default") for name, field in ZOOKEEPER_CONN_FIELDS.items()} | edits


def test_a_connection_made_in_the_form_reads_as_its_fields_say() -> None:
    untouched = settings_from_connection(connection(host="z1,z2", extra_dejson=form_extra()))
    assert untouched == ZooKeeperSettings(hosts="z1:2181,z2:2181")  # nulls are "not set"; TLS off, verified
    digest = settings_from_connection(connection(host="z", login="u", password="p", extra_dejson=form_extra(
        chroot="/apps", auth_scheme="digest", sasl_mechanism="PLAIN", timeout=4)))
    assert (digest.hosts, digest.digest, digest.sasl, digest.timeout) == ("z:2181/apps", "u:p", (), 4.0)
    sasl = settings_from_connection(connection(host="z", login="u", password="p", extra_dejson=form_extra(
        auth_scheme="sasl", sasl_mechanism="PLAIN")))
    assert (sasl.digest, dict(sasl.sasl)) == (None, {"mechanism": "PLAIN", "username": "u", "password": "p"})
    tls = settings_from_connection(connection(host="z", extra_dejson=form_extra(
        use_ssl=True, ca="/etc/zk/ca.pem", certfile="/c.pem", keyfile="/k.pem", verify_certs=False)))
    assert {k: v for k, v in tls.client_kwargs().items() if k in ("use_ssl", "ca", "certfile", "keyfile",
                                                                   "verify_certs")} == {
        "use_ssl": True, "ca": "/etc/zk/ca.pem", "certfile": "/c.pem", "keyfile": "/k.pem", "verify_certs": False}


def test_a_connection_uri_carries_its_flags_as_strings() -> None:
    """``AIRFLOW_CONN_…`` URIs put extras in the query string: ``use_ssl=false`` must not read as true."""
    from airflow.sdk import Connection

    uri = "zookeeper://u:p@z1:2182/?chroot=%2Fapps&auth_scheme=digest&use_ssl=false&verify_certs=False&timeout=3"
    settings = settings_from_connection(Connection.from_uri(uri, conn_id="zk"))
    assert settings == ZooKeeperSettings(hosts="z1:2182/apps", timeout=3.0, digest="u:p", verify_certs=False)
