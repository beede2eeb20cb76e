"""Property: a spec is refused naming the field, or its configuration file reads back exactly as Flink reads it.

The parse oracles are written here from Flink's source, independent of ``core/configuration.py``:

* ``legacy_parse``: ``GlobalConfiguration.loadYAMLResource`` (``flink-conf.yaml``, 1.16-1.18; 1.19/1.20 as
  ``loadLegacyYAMLResource`` when only that file exists; same loop in the 1.20.3 jar): ``BufferedReader.readLine``
  (lines end at ``\\n``, ``\\r``, ``\\r\\n``), ``line.split("#", 2)[0].trim()``, ``conf.split(": ", 2)``, a line
  without ``": "`` skipped, key and value ``trim()``-ed, an empty key or value skipped, the last one winning.
* ``split_escaped``: ``StructuredOptionsSplitter.splitEscaped`` (tokenizer: ``'``/``"`` quoted tokens with doubled
  quotes, unquoted tokens start at a non-``Character.isWhitespace`` char and are ``trim()``-ed, ``;;`` gives an
  empty item, a leading or trailing delimiter gives none), how Flink reads a list option in the legacy format.
* ``yaml_parse``: ``YamlParserUtils.loadYamlFile`` (snakeyaml, YAML 1.1) then ``GlobalConfiguration.flatten``
  (nested maps joined with ``.`` using the keys' ``toString``; lists kept as lists, which Flink re-reads as the
  same list). PyYAML's SafeLoader with snakeyaml's implicit resolvers (``Resolver`` of the shaded snakeyaml in the
  1.20.3 and 2.3.0 jars: its FLOAT and INT patterns accept more than PyYAML's, e.g. ``1e5``, ``0_7``).

tests/integration/test_configuration_against_flink.py checks the same files against the real parsers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from airflow_flink_k8s.core.configuration import cluster_configuration, configuration_file_name, serialise_configuration
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.fuzz_settings import fuzz_settings

JAVA_TRIM = "".join(map(chr, range(0x21)))
VERSIONS = ["1.16.3", "1.17.2", "1.18.1", "1.19.1", "1.20.3", "2.0.0", "2.3.0"]
BASE = {"cluster_id": "probe", "image": "flink:x", "jar_uri": "local:///opt/flink/usrlib/job.jar"}


# ----------------------------------------------------------------- oracles, ported from Flink
def java_lines(text: str) -> list[str]:
    """``BufferedReader.readLine``: a line ends at ``\\n``, ``\\r`` or ``\\r\\n`` (nothing else)."""
    return re.split(r"\r\n|\r|\n", text[:-1] if text.endswith("\n") else text) if text else []


def legacy_parse(text: str) -> dict[str, str]:
    conf: dict[str, str] = {}
    for line in java_lines(text):
        body = line.split("#", 1)[0].strip(JAVA_TRIM)
        if not body:
            continue
        kv = body.split(": ", 1)
        if len(kv) == 1:
            continue
        key, value = kv[0].strip(JAVA_TRIM), kv[1].strip(JAVA_TRIM)
        if key and value:
            conf[key] = value
    return conf


def java_is_whitespace(c: str) -> bool:
    """``Character.isWhitespace``: Unicode space separators but the no-break ones, and a few controls."""
    import unicodedata

    if c in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f":
        return True
    return unicodedata.category(c) in ("Zs", "Zl", "Zp") and c not in "\xa0\u2007\u202f"


def split_escaped(text: str, delimiter: str = ";") -> list[str]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            out, j = [], i + 1
            while True:
                assert j < len(text), "Could not split string. Quoting was not closed properly."
                if text[j] == c:
                    if j + 1 < len(text) and text[j + 1] == c:
                        out.append(c)
                        j += 2
                        continue
                    break
                out.append(text[j])
                j += 1
            tokens.append(("QUOTED", "".join(out)))
            i = j + 1
        elif c == delimiter:
            tokens.append(("DELIMITER", c))
            i += 1
        elif not java_is_whitespace(c):
            j = i
            while j < len(text) and text[j] != delimiter:
                assert text[j] not in "'\"", f"Illegal quoting at position: {j}"
                j += 1
            tokens.append(("UNQUOTED", text[i:j].strip(JAVA_TRIM)))
            i = j
        else:
            i += 1
    splits = []
    for index, (kind, value) in enumerate(tokens):
        following = tokens[index + 1][0] if index + 1 < len(tokens) else None
        if kind == "QUOTED":
            assert following in (None, "DELIMITER"), "Illegal quoting"
            splits.append(value)
        elif kind == "UNQUOTED":
            splits.append(value)
        elif following == "DELIMITER":
            splits.append("")
    return splits


class SnakeYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader resolving plain scalars as snakeyaml's ``Resolver`` does."""


SnakeYamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$", "yYnNtTfFoO"),
    ("int", r"^(?:[-+]?0b_*[0-1][0-1_]*|[-+]?0_*[0-7][0-7_]*|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x_*[0-9a-fA-F]"
            r"[0-9a-fA-F_]*|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$", "-+0123456789"),
    ("float", r"^([-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
              r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("merge", r"^(?:<<)$", "<"),
    ("null", r"^(?:~|null|Null|NULL| )$", "~nN\x00"),
    ("null", r"^$", None),
    ("timestamp", r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
                  r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?"
                  r"(?::[0-9][0-9])?))?)$", "0123456789"),
    ("value", r"^(?:=)$", "="),
):
    SnakeYamlLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern),
                                          list(_first) if _first else None)


def yaml_parse(text: str) -> dict[str, Any]:
    def java_string(key: Any) -> str:
        return key if isinstance(key, str) else f"<non-string {type(key).__name__} {key!r}>"

    def flatten(node: dict[Any, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            name = prefix + java_string(key)
            if isinstance(value, dict):
                out.update(flatten(value, name + "."))
            else:
                out[name] = value
        return out

    return flatten(yaml.load(text, Loader=SnakeYamlLoader) or {}, "")


# ----------------------------------------------------------------- the property
_TRICKY = ["\n", "\r", "\r\n", "#", " #", ": ", ":", "'", '"', ";", " ", "\t", "\x85", "\u2028", "ü", "☃", "😀",
           "=", "<<", "~", ".", "-", ",", "\x00", "\x1f", "\ufeff", "\xa0", "\u3000"]
_LITERALS = ["", "1e5", "0_7", "yes", "null", "2001-12-14", "<<", "=", "~", "abc#def",
             "42\nhigh-availability.cluster-id: victim", " x ", "a;b", "it's", "x:", ".inf"]
pieces = st.one_of(st.sampled_from(_TRICKY), st.text(alphabet="abcxyz019.-_", min_size=1, max_size=4),
                   st.characters(blacklist_categories=("Cs",)))
texts = st.one_of(st.sampled_from(_LITERALS), st.lists(pieces, max_size=6).map("".join))
keys = st.one_of(st.sampled_from(["s3.secret-key", "a.b", "a", "a.b.c", " high-availability.cluster-id",
                                  "high-availability.cluster-id ", "a: b", "k#", "x..y", ".x", "1e5", "true"]),
                 texts.filter(bool))


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"flink_version": draw(st.sampled_from(VERSIONS))}
    if draw(st.booleans()):
        fields["program_args"] = draw(st.lists(texts, max_size=4))
    if draw(st.booleans()):
        fields["flink_conf"] = draw(st.dictionaries(keys, texts, max_size=4))
    if draw(st.booleans()):
        fields["jobmanager_annotations"] = draw(st.dictionaries(st.sampled_from(["a", "b/c"]), texts, max_size=2))
    if draw(st.booleans()):
        fields["parallelism"] = draw(st.integers(1, 64))
    return fields


def _flink_string(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@fuzz_settings(weight=2)
@given(specs())
def test_a_spec_is_refused_or_its_configuration_file_reads_back_exactly(fields: dict[str, Any]) -> None:
    try:
        spec = FlinkApplicationSpec(**BASE, **fields)
    except FlinkSpecError as error:
        assert error.field.startswith(("flink_conf", "program_args", "jobmanager_annotations")), error
        if error.field.startswith("flink_conf["):
            assert ", got " not in str(error), "a flink_conf value was echoed"
        return
    version = spec.version
    intended = cluster_configuration(spec)
    text = serialise_configuration(intended, version)
    legacy = configuration_file_name(version) == "flink-conf.yaml"
    parsed = legacy_parse(text) if legacy else yaml_parse(text)
    if legacy:  # ``key:`` with nothing after it is skipped: an empty list is an absent (empty) list option
        intended = {key: value for key, value in intended.items() if value != []}
    assert set(parsed) == set(intended), f"extra or missing keys: {set(parsed) ^ set(intended)}"
    for key, value in intended.items():
        got = parsed[key]
        if isinstance(value, list):
            assert (split_escaped(got) if legacy else got) == value, key
        elif isinstance(value, str):
            assert isinstance(got, str) and got == value, key
        else:
            assert _flink_string(got) == _flink_string(value), key


def test_the_oracles_read_what_flink_reads() -> None:
    """Known answers of Flink's parsers (also seen from the real ones in the integration test)."""
    assert legacy_parse("a: b#c\nk: 42\nhigh-availability.cluster-id: victim\n x : y \nz:\nw: \n") == {
        "a": "b", "k": "42", "high-availability.cluster-id": "victim", "x": "y"}
    assert split_escaped("'A;B';C") == ["A;B", "C"]
    assert split_escaped("   A;B    ;   C   ") == ["A", "B", "C"]
    assert split_escaped(";a;;b;") == ["a", "", "b"]
    assert split_escaped("'';' x '") == ["", " x "]
    assert yaml_parse("a: 1e5\nb:\n  c: '1e5'\n") == {"a": 100000.0, "b.c": "1e5"}
