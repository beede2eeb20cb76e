"""The rendered Flink configuration file, read back by Flink's own parser in a JVM (Flink 2.3.0 and 1.20.3).

``GlobalConfiguration.loadConfiguration(dir)`` reads ``config.yaml`` (snakeyaml, 1.19+) or, when a 1.20 conf dir
holds only ``flink-conf.yaml``, the legacy line parser that 1.16-1.18 use. 1.20.3 therefore checks the legacy
format too: the file rendered for a 1.18 spec is written as ``flink-conf.yaml`` and loaded by 1.20.3.

For each file the JVM prints ``Configuration.toMap()`` and the program args and jars as Flink's own list parsing
returns them (``ApplicationConfiguration.APPLICATION_ARGS``, ``PipelineOptions.JARS``); the test asserts they
equal what the spec intended, with no extra key. The harm this guards against is shown first: the same
configuration written without the spec checks injects ``high-availability.cluster-id`` and cuts ``abc#def``.

The legacy parser reads the file in the JVM's default charset (``new InputStreamReader(FileInputStream)``); the
JVM here runs with ``LC_ALL=C.UTF-8`` as Flink's images do (eclipse-temurin sets a UTF-8 locale).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.configuration import cluster_configuration, serialise_configuration
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.versions import FlinkVersion

pytestmark = pytest.mark.flink

READER = r"""
import java.util.*;
import org.apache.flink.configuration.*;
import org.apache.flink.client.deployment.application.ApplicationConfiguration;

public class ReadConf {
    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
    static String list(Optional<List<String>> l) {
        if (!l.isPresent()) return "null";
        StringJoiner j = new StringJoiner(",", "[", "]");
        for (String s : l.get()) j.add(q(s));
        return j.toString();
    }
    public static void main(String[] dirs) {
        for (String dir : dirs) {
            Configuration c = GlobalConfiguration.loadConfiguration(dir);
            StringJoiner m = new StringJoiner(",", "{", "}");
            for (Map.Entry<String, String> e : new TreeMap<>(c.toMap()).entrySet()) {
                m.add(q(e.getKey()) + ":" + q(e.getValue()));
            }
            String args = list(c.getOptional(ApplicationConfiguration.APPLICATION_ARGS));
            String jars = list(c.getOptional(PipelineOptions.JARS));
            System.out.println("RESULT{\"map\":" + m + ",\"args\":" + args + ",\"jars\":" + jars + "}");
        }
    }
}
"""

BASE = {"cluster_id": "probe", "image": "flink:x", "jar_uri": "local:///opt/flink/usrlib/job.jar"}
TRICKY_ARGS = ["a;b", "it's", 'say "hi"', "", " padded ", "--k=v", "ü€ — 😀", "x: y", "'", ";"]
TRICKY_CONF = {"my.unicode.ключ": "значение ☃", "a.float": "1e5", "a.octal": "0_7", "a.bool": "yes", "a.null": "null",
               "a.date": "2001-12-14", "a.merge": "<<", "a.colon": "k: v", "a.quote": "'q' \"q\"", "a.colonend": "x:"}
YAML_ONLY_CONF = {"s3.secret-key": "abc#def", "a.padded": "  x  ", "a.empty": "", "a.newline": "l1\nl2\r\n",
                  "a.tab": "\tt", "a.comment": "v # c", "a.nel": "x\x85y\u2028z"}
INJECTION = "42\nhigh-availability.cluster-id: victim"


def _flink_reader(version: str, tmp: Path) -> tuple[Path, Path]:
    from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home

    home = Path(ensure_flink_home(version))
    classes = tmp / f"classes-{version}"
    classes.mkdir()
    (classes / "ReadConf.java").write_text(READER)
    subprocess.run(["javac", "--release", "11", "-cp", f"{home}/lib/*", "-d", str(classes),
                    str(classes / "ReadConf.java")], check=True, capture_output=True, timeout=120)
    return home, classes


def _load(version: str, tmp: Path, files: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each (file name, text) in its own conf dir, loaded by Flink ``version``'s GlobalConfiguration."""
    home, classes = _flink_reader(version, tmp)
    dirs = []
    for index, (name, text) in enumerate(files):
        conf_dir = tmp / f"conf-{version}-{index}"
        conf_dir.mkdir()
        (conf_dir / name).write_text(text, encoding="utf-8")
        dirs.append(str(conf_dir))
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    proc = subprocess.run(["java", "-cp", f"{classes}:{home}/lib/*", "ReadConf", *dirs], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line[len("RESULT"):]) for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert len(results) == len(files), proc.stdout[-3000:]
    return results


def _render(version: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    """(file name, text, intended configuration) of a spec; the file name is the one Flink 1.20.3 reads the same
    way as ``version`` does (``flink-conf.yaml`` for the legacy format)."""
    spec = FlinkApplicationSpec(**BASE, flink_version=version, **fields)
    conf = cluster_configuration(spec)
    v = FlinkVersion.parse(version)
    name = "config.yaml" if v.at_least(1, 19) else "flink-conf.yaml"
    return name, serialise_configuration(conf, v), conf


def _expected_map(conf: dict[str, Any], legacy: bool) -> dict[str, str]:
    """``toMap()`` as intended: scalars as strings; lists only checked through Flink's list parsing."""
    out = {}
    for key, value in conf.items():
        if isinstance(value, list):
            if value or not legacy:  # the legacy parser skips ``key:`` with nothing after it (an empty list)
                out[key] = None
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _assert_read_back(result: dict[str, Any], conf: dict[str, Any], legacy: bool) -> None:
    expected = _expected_map(conf, legacy)
    assert set(result["map"]) == set(expected), set(result["map"]) ^ set(expected)
    for key, value in expected.items():
        if value is not None:
            assert result["map"][key] == value, key
    assert result["jars"] == conf["pipeline.jars"]
    args = conf.get("$internal.application.program-args")
    assert result["args"] == (args or None if legacy else args)


def test_without_the_checks_flink_reads_an_injected_key_and_a_cut_password(tmp_path: Path) -> None:
    """The harm, on Flink's own legacy parser: the unchecked configuration injects a key and cuts a value."""
    conf = cluster_configuration(FlinkApplicationSpec(**BASE, flink_version="1.18.1"))
    conf["$internal.application.program-args"] = [INJECTION]
    conf["s3.secret-key"] = "abc#def"
    (result,) = _load("1.20.3", tmp_path, [("flink-conf.yaml", serialise_configuration(conf, FlinkVersion(1, 18)))])
    assert result["map"]["high-availability.cluster-id"] == "victim"
    assert result["map"]["s3.secret-key"] == "abc"
    assert result["args"] == ["42"]


@pytest.mark.parametrize("fields, field", [
    ({"program_args": [INJECTION]}, "program_args[0]"),
    ({"flink_conf": {"s3.secret-key": "abc#def"}}, "flink_conf['s3.secret-key']"),
    ({"flink_conf": {"k": "v\nhigh-availability.cluster-id: victim"}}, "flink_conf['k']"),
    ({"flink_conf": {" high-availability.cluster-id": "victim"}}, "flink_conf[' high-availability.cluster-id']"),
    ({"flink_conf": {"a: b": "c"}}, "flink_conf['a: b']"),
    ({"jobmanager_annotations": {"a": "x\nhigh-availability.cluster-id: victim"}}, "jobmanager_annotations"),
])
def test_the_legacy_format_refuses_what_it_cannot_hold(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**BASE, flink_version="1.18.1", **fields)
    assert caught.value.field == field
    assert "victim" not in str(caught.value) and "abc#def" not in str(caught.value)


@pytest.mark.parametrize("version", ["2.3.0", "1.20.3"])
def test_the_injection_attempt_is_data_in_standard_yaml(version: str, tmp_path: Path) -> None:
    name, text, conf = _render(version, program_args=[INJECTION],
                               flink_conf={"k": "v\nhigh-availability.cluster-id: victim"})
    (result,) = _load(version, tmp_path, [(name, text)])
    assert "high-availability.cluster-id" not in result["map"]
    assert result["args"] == [INJECTION]
    _assert_read_back(result, conf, legacy=False)


@pytest.mark.parametrize("version", ["2.3.0", "1.20.3"])
def test_tricky_values_and_args_read_back_exactly(version: str, tmp_path: Path) -> None:
    cases = [_render("1.18.1", program_args=TRICKY_ARGS, flink_conf=TRICKY_CONF)] if version == "1.20.3" else []
    cases += [_render(version, program_args=TRICKY_ARGS, flink_conf={**TRICKY_CONF, **YAML_ONLY_CONF}),
              _render(version, program_args=[])]
    results = _load(version, tmp_path, [(name, text) for name, text, _ in cases])
    for (name, _, conf), result in zip(cases, results, strict=True):
        _assert_read_back(result, conf, legacy=name == "flink-conf.yaml")
