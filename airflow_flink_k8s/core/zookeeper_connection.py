"""The ``zookeeper`` connection type as Airflow's connection form shows it (``get_provider_info``'s
``conn-fields`` and ``ui-field-behaviour``); ``hooks.zookeeper.settings_from_connection`` reads these fields."""

from __future__ import annotations

from typing import Any

ZOOKEEPER_CONN_TYPE = "zookeeper"
ZOOKEEPER_HOOK_NAME = "ZooKeeper (Flink HA)"
ZOOKEEPER_AUTH_SCHEMES = ("digest", "sasl")
ZOOKEEPER_SASL_MECHANISMS = ("DIGEST-MD5", "PLAIN", "GSSAPI")

#: The ``zookeeper`` connection form's own fields, stored in the connection's extra under these names (Airflow 3's UI
#: writes every field, ``null`` when left empty); the hook reads them.
ZOOKEEPER_CONN_FIELDS: dict[str, dict[str, Any]] = {
    "chroot": {
        "label": "Chroot",
        "description": "A path every ZooKeeper path is relative to (as in 'zk1:2181/chroot'); empty for none.",
        "schema": {"type": ["string", "null"], "pattern": "^/"},
    },
    "auth_scheme": {
        "label": "Auth scheme",
        "description": "digest: ZooKeeper digest auth with Login and Password (no auth when both are empty); "
        "sasl: SASL with the mechanism below. Empty: sasl when a SASL mechanism is set, else digest.",
        "schema": {"type": ["string", "null"], "enum": list(ZOOKEEPER_AUTH_SCHEMES)},
    },
    "sasl_mechanism": {
        "label": "SASL mechanism",
        "description": "Used with auth scheme sasl (needs the pure-sasl package); Login and Password are the "
        "SASL credentials (none for GSSAPI).",
        "schema": {"type": ["string", "null"], "enum": list(ZOOKEEPER_SASL_MECHANISMS)},
    },
    "use_ssl": {
        "label": "Use TLS",
        "description": "Connect to ZooKeeper's secure client port over TLS.",
        "schema": {"type": "boolean", "default": False},
    },
    "ca": {
        "label": "TLS CA file",
        "description": "PEM file of the CA that signed ZooKeeper's certificate; empty for the system CAs.",
        "schema": {"type": ["string", "null"]},
    },
    "certfile": {
        "label": "TLS client certificate file",
        "description": "PEM client certificate, when ZooKeeper asks for one.",
        "schema": {"type": ["string", "null"]},
    },
    "keyfile": {
        "label": "TLS client key file",
        "description": "PEM key of the client certificate.",
        "schema": {"type": ["string", "null"]},
    },
    "verify_certs": {
        "label": "Verify the server certificate",
        "description": "Check ZooKeeper's TLS certificate and host name (turn off only for tests).",
        "schema": {"type": "boolean", "default": True},
    },
    "timeout": {
        "label": "Session timeout (seconds)",
        "schema": {"type": ["number", "null"], "default": 10, "exclusiveMinimum": 0},
    },
}

#: The ``zookeeper`` form's standard fields: the quorum in Host, credentials in Login/Password.
ZOOKEEPER_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema"],
    "relabeling": {"host": "Hosts", "port": "Default port", "login": "Login (digest or SASL user)"},
    "placeholders": {"host": "zk1:2181,zk2:2181,zk3:2181", "port": "2181", "login": "flink"},
}
