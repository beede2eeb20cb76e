"""Credentials out of log text, by key (pure, no I/O).

Flink logs every option it loads (``Loading configuration property: <key>, <value>``) and hides only the keys of
its own rule; a JobManager log tail shown in another task (the sensor's, whose masker never saw the launch task's
values) would show the rest. :func:`redact_log` hides, in each line, the value of every option whose key
:func:`~airflow_flink_k8s.core.sensitive_keys.is_sensitive_key` calls sensitive, in the forms Flink and the JVM
print (``Loading configuration property: key, value``, ``key: value``, ``key=value``, ``-Dkey=value``), and the
user-info of every URI (``s3://KEY:SECRET@bucket``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from airflow_flink_k8s.core.sensitive_keys import URI_USER_INFO, is_sensitive_key, worth_masking

#: What Flink prints for a hidden value (``GlobalConfiguration.HIDDEN_CONTENT``).
HIDDEN = "******"
_LOADING = re.compile(r"(?P<head>Loading configuration property: (?P<key>[^,]*), )(?P<value>.*)$")
#: ``key: value``, ``key=value`` and ``-Dkey=value``; the key starts a word, the value (maybe quoted) is looked at
#: ahead, not consumed, so that a value holding another pair (``Options: -Dx.password=…``) is searched too.
_PAIR = re.compile(r"""(?<![\w.$-])(?:-D)?(?P<key>[A-Za-z_$][\w.$-]*)\s*[=:]\s*"""
                   r"""(?=(?P<value>"[^"]*"|'[^']*'|[^\s,;"'}\]]+))""")


def redact_line(line: str, airflow_fields: Iterable[str] = ()) -> str:
    """``line`` with the values of sensitive options and URI user-info replaced by ``******``."""
    fields = tuple(airflow_fields)
    loading = _LOADING.search(line)
    if loading and is_sensitive_key(loading.group("key"), fields) and worth_masking(loading.group("value")):
        line = line[:loading.start("value")] + HIDDEN
    hidden = [match.span("value") for match in _PAIR.finditer(line)
              if is_sensitive_key(match.group("key"), fields) and worth_masking(match.group("value").strip("\"'"))]
    for start, end in reversed(_merged(hidden)):
        line = line[:start] + HIDDEN + line[end:]
    return URI_USER_INFO.sub(lambda m: m.group(0)[:m.start("userinfo") - m.start(0)] + HIDDEN + "@", line)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, in order."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def redact_log(text: str, airflow_fields: Iterable[str] = ()) -> str:
    """:func:`redact_line` applied to every line of ``text`` (line breaks kept)."""
    fields = tuple(airflow_fields)
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append(redact_line(body, fields) + line[len(body):])
    return "".join(out)
