"""The configuration keys a launch writes, checked against the ConfigOption classes of the real Flink jars of the
versions under test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_flink_k8s.core.configuration import MANAGED_KEYS, flink_configuration
from tests.fixtures.flink import flink_versions
from tests.spec_support import STATE, spec

OPTION_CLASSES = [
    "org.apache.flink.kubernetes.configuration.KubernetesConfigOptions",
    "org.apache.flink.configuration.HighAvailabilityOptions",
    "org.apache.flink.configuration.CheckpointingOptions",
    "org.apache.flink.configuration.StateRecoveryOptions",
    "org.apache.flink.configuration.PipelineOptionsInternal",
    "org.apache.flink.configuration.JobManagerOptions",
    "org.apache.flink.configuration.TaskManagerOptions",
    "org.apache.flink.runtime.highavailability.JobResultStoreOptions",
    "org.apache.flink.runtime.highavailability.ApplicationResultStoreOptions",  # 2.3+
]
KEYS_JAVA = """
import java.lang.reflect.*;
import org.apache.flink.configuration.*;
public class Keys {
  public static void main(String[] a) throws Exception {
    for (String cn : a) {
      Class<?> c; try { c = Class.forName(cn); } catch (ClassNotFoundException e) { continue; }
      for (Field f : c.getFields()) {
        if (!Modifier.isStatic(f.getModifiers()) || !ConfigOption.class.isAssignableFrom(f.getType())) continue;
        ConfigOption<?> o = (ConfigOption<?>) f.get(null);
        System.out.println("current " + o.key());
        for (FallbackKey k : o.fallbackKeys())
          System.out.println((k.isDeprecated() ? "deprecated " : "fallback ") + k.getKey());
      }
    }
  }
}
"""



@pytest.fixture(scope="session")
def flink_option_keys(flink_home: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``flink_option_keys(version)`` → {key: "current" | "deprecated" | "fallback"} read from Flink's classes."""

    def keys(version: str) -> dict[str, str]:
        lib = flink_home(version) / "lib"
        out = tmp_path_factory.mktemp(f"keys-{version}")
        (out / "Keys.java").write_text(KEYS_JAVA)
        subprocess.run(["javac", "-cp", f"{lib}/*", "-d", str(out), str(out / "Keys.java")], check=True)
        run = subprocess.run(["java", "-cp", f"{out}:{lib}/*", "Keys", *OPTION_CLASSES], capture_output=True, text=True,
                             check=True)
        found: dict[str, str] = {}
        for line in run.stdout.splitlines():
            kind, key = line.split(" ", 1)
            found.setdefault(key, kind)
        return found

    return keys


@flink_versions
def test_every_key_written_is_a_current_flink_option(flink_version: str, flink_option_keys) -> None:  # type: ignore[no-untyped-def]
    known = flink_option_keys(flink_version)
    conf = flink_configuration(spec(flink_version, **STATE, taskmanager_cpu=0.5, checkpoint_interval="10s",
                                    secret_mounts={"creds": "/opt/secrets"},
                                    secret_env=[{"env": "TOKEN", "secret": "creds", "key": "token"}]))
    assert {"kubernetes.secrets", "kubernetes.env.secretKeyRef"} <= set(conf)
    assert {key: known.get(key) for key in conf} == {key: "current" for key in conf}


@flink_versions
def test_every_managed_key_flink_knows_is_refused(flink_version: str, flink_option_keys) -> None:  # type: ignore[no-untyped-def]
    known = flink_option_keys(flink_version)
    for key in ("state.checkpoints.dir", "execution.checkpointing.dir", "state.savepoints.dir", "high-availability",
                "kubernetes.container.image", "kubernetes.jobmanager.cpu", "execution.savepoint.path"):
        assert key in known and key in MANAGED_KEYS


