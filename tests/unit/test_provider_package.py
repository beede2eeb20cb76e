"""The package as Airflow and a DAG author meet it: provider registration and cheap imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airflow_flink_k8s.core.zookeeper_connection import ZOOKEEPER_CONN_FIELDS
from airflow_flink_k8s.get_provider_info import get_provider_info
from airflow_flink_k8s.hooks.zookeeper import settings_from_connection

HEAVY = ("kubernetes", "kubernetes_asyncio", "kazoo", "aiohttp", "requests", "urllib3")


def test_airflow_providers_list_shows_the_provider() -> None:
    done = subprocess.run([sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
                          capture_output=True, text=True, env=dict(os.environ), check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    listing = next(line for line in done.stdout.splitlines() if line.startswith("[{"))
    providers = {p["package_name"]: p for p in json.loads(listing)}
    assert "airflow-flink-k8s" in providers


def test_airflow_registers_the_zookeeper_connection_type_and_the_web_ui_link() -> None:
    script = (
        "from airflow.providers_manager import ProvidersManager as P\n"
        "m = P()\n"
        "hook = m.hooks['zookeeper'].hook_class_name if 'zookeeper' in m.hooks else None\n"
        "link = 'airflow_flink_k8s.links.FlinkWebUILink' in m.extra_links_class_names\n"
        "print('RESULT', hook, link)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # Airflow may log to stdout while it loads plugins (3.2 does): only the script's own line counts.
    (result,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result == "RESULT airflow_flink_k8s.hooks.zookeeper.FlinkZooKeeperHook True"


def _json_of_a_fresh_interpreter(script: str) -> dict[str, Any]:
    """What ``script`` printed last as JSON, run by a fresh interpreter (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_importing_the_package_operators_and_sensors_loads_no_kubernetes_zookeeper_or_http_client() -> None:
    # airflow.sdk itself loads httpx (the task SDK's client); what matters is what this provider adds on top.
    script = (
        "import sys, json\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_flink_k8s, airflow_flink_k8s.operators, airflow_flink_k8s.sensors\n"
        "added = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'added': added, 'all': sorted(sys.modules)}))\n"
    )
    report = _json_of_a_fresh_interpreter(script)
    loaded_heavy = [m for m in report["all"] if m.split(".")[0] in HEAVY]
    assert loaded_heavy == [], loaded_heavy
    added_http = [m for m in report["added"] if m.split(".")[0] in ("httpx", "http", "aiohttp")]
    assert added_http == [], added_http
    added_lineage = [m for m in report["added"] if "openlineage" in m.split(".")]
    assert added_lineage == [], added_lineage
    assert any(m == "airflow_flink_k8s.operators" for m in report["added"])


def test_every_public_name_of_the_package_imports_without_an_io_client() -> None:
    """``airflow_flink_k8s.__all__`` loads its names on first use: each one resolves, and none pulls in kubernetes,
    kazoo or an HTTP client (the core stays pure)."""
    script = (
        "import sys, json\n"
        "import airflow_flink_k8s as package\n"
        "found = {name: type(getattr(package, name)).__name__ for name in package.__all__}\n"
        "print(json.dumps({'found': found, 'all': sorted(sys.modules)}))\n"
    )
    report = _json_of_a_fresh_interpreter(script)
    import airflow_flink_k8s

    assert sorted(report["found"]) == sorted(airflow_flink_k8s.__all__)
    assert [m for m in report["all"] if m.split(".")[0] in (*HEAVY, "httpx", "aiohttp")] == []


def test_the_zookeeper_connection_form_reaches_airflows_connection_ui() -> None:
    """Through the real ProvidersManager and the API service the UI's form is built from: the fields, their labels,
    widgets and defaults (the values the form writes to the extra), and the standard fields relabelled or hidden."""
    script = (
        "import json\n"
        "from airflow.providers_manager import ProvidersManager as P\n"
        "from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService\n"
        "m = P()\n"
        "widgets = {k: [w.field_name, w.is_sensitive, w.field['schema']['title'], w.field['value']]\n"
        "           for k, w in m.connection_form_widgets.items() if k.startswith('extra__zookeeper__')}\n"
        "[meta] = [h for h in HookMetaService.hook_meta_data() if h.connection_type == 'zookeeper']\n"
        "print(json.dumps({'hook': m.hooks['zookeeper'].hook_name, 'widgets': widgets,\n"
        "                  'behaviour': m.field_behaviours['zookeeper'],\n"
        "                  'meta': meta.model_dump(mode='json')}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "zookeeper" not in done.stderr.lower(), done.stderr[-2000:]  # no "failed to add field behaviour"
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["hook"] == "ZooKeeper (Flink HA)"
    assert seen["widgets"] == {
        "extra__zookeeper__chroot": ["chroot", False, "Chroot", None],
        "extra__zookeeper__auth_scheme": ["auth_scheme", False, "Auth scheme", None],
        "extra__zookeeper__sasl_mechanism": ["sasl_mechanism", False, "SASL mechanism", None],
        "extra__zookeeper__use_ssl": ["use_ssl", False, "Use TLS", False],
        "extra__zookeeper__ca": ["ca", False, "TLS CA file", None],
        "extra__zookeeper__certfile": ["certfile", False, "TLS client certificate file", None],
        "extra__zookeeper__keyfile": ["keyfile", False, "TLS client key file", None],
        "extra__zookeeper__verify_certs": ["verify_certs", False, "Verify the server certificate", True],
        "extra__zookeeper__timeout": ["timeout", False, "Session timeout (seconds)", 10],
    }
    assert seen["behaviour"]["hidden_fields"] == ["schema"]
    assert seen["behaviour"]["relabeling"]["host"] == "Hosts"
    meta = seen["meta"]
    assert meta["hook_name"] == "ZooKeeper (Flink HA)"
    assert meta["standard_fields"]["url_schema"]["hidden"] is True
    assert meta["standard_fields"]["host"] == {"hidden": False, "title": "Hosts",
                                               "placeholder": "zk1:2181,zk2:2181,zk3:2181"}
    assert meta["extra_fields"]["auth_scheme"]["schema"]["enum"] == ["digest", "sasl"]
    assert meta["extra_fields"]["sasl_mechanism"]["schema"]["enum"] == ["DIGEST-MD5", "PLAIN", "GSSAPI"]
    assert set(meta["extra_fields"]) == set(ZOOKEEPER_CONN_FIELDS)


def test_the_connection_types_follow_airflows_strict_provider_schema() -> None:
    """The runtime schema Airflow validates ``get_provider_info`` with does not look inside ``conn-fields``; the
    provider.yaml schema it ships does: the form must satisfy that one."""
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(get_provider_info()["connection-types"], schema["properties"]["connection-types"])


def test_the_hook_reads_every_field_of_the_form_and_only_those() -> None:
    """Every ``conn-fields`` name is read from the extra by the hook (plus ``hosts``, the quorum in the extra from
    before the form): a field the form shows is never ignored, and the hook reads no field the form lacks."""
    read: set[str] = set()

    class Recording(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return super().get(key, default)

    settings_from_connection(SimpleNamespace(conn_id="zk", host="z", port=None, login=None, password=None,
                                             extra_dejson=Recording(timeout=5)))
    assert read == set(ZOOKEEPER_CONN_FIELDS) | {"hosts"}
