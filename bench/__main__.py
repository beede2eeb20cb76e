"""``python -m bench [module …]``: run each benchmark module in a fresh interpreter, print its lines under a heading,
then one summary line per goal (met / missed, with the figure).

A benchmark is a report: a missed goal still exits 0. The exit status is 1 when a benchmark crashed and 2 when a
goal's figure is missing from its output (the goal table below no longer matches what the module prints). The
children share a throw-away ``AIRFLOW_HOME``, so no user configuration (secrets backends, plugins) skews them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Run order: the import timings first, on a machine nothing else of ours is loading yet.
MODULES = ("import_cost", "dag_parse", "launch_latency", "trigger_detection", "wait_requests", "load")
_CHILD = ("import importlib, json, sys\n"
          "lines = importlib.import_module(sys.argv[1]).run()\n"
          "open(sys.argv[2], 'w').write(json.dumps(lines))\n")


@dataclass(frozen=True)
class Goal:
    """A goal read from a benchmark's lines: ``pattern`` captures ``value`` (and optionally ``note``, ``label``)."""

    module: str
    title: str
    pattern: str
    at_most: bool
    target: float
    unit: str

    def judge(self, lines: list[str]) -> list[tuple[bool | None, str]]:
        """(met, summary) per matching line; (None, …) when no line carries the figure."""
        found = [m for m in (re.search(self.pattern, line) for line in lines) if m]
        if not found:
            return [(None, f"NO FIGURE  {self.title}: no line of {self.module} matches {self.pattern!r}")]
        out: list[tuple[bool | None, str]] = []
        for match in found:
            value = float(match["value"])
            met = value <= self.target if self.at_most else value >= self.target
            groups = match.groupdict()
            title = f"{self.title} ({groups['label']})" if groups.get("label") else self.title
            note = f"; {groups['note']}" if groups.get("note") else ""
            goal = f"{'<=' if self.at_most else '>='} {self.target:g}{self.unit}"
            out.append((met, f"{'met   ' if met else 'MISSED'}  {title}: {value:g}{self.unit} (goal {goal}{note})"))
        return out


GOALS = (
    Goal("launch_latency", "native launch vs flink CLI, p50 ratio",
         r"Flink (?P<label>\S+): launch ratio CLI/native = (?P<value>[\d.]+)x .*?; "
         r"(?P<note>CLI/native-in-a-fresh-process = [\d.]+x)", at_most=False, target=30, unit="x"),
    Goal("import_cost", "import of operators + sensors, incl. the package's share of airflow.sdk",
         r"(?P<note>on top of airflow\.sdk: p50 [\d.]+ ms); with the package share of airflow\.sdk: "
         r"total (?P<value>[\d.]+) ms", at_most=True, target=10, unit=" ms"),
    Goal("dag_parse", "example DAG parse time over an EmptyOperator DAG of the same size (worst example)",
         r"example DAG parse: worst (?P<label>\S+) (?P<note>p50 [\d.]+ ms); over the anchor = (?P<value>-?[\d.]+) ms",
         at_most=True, target=100, unit=" ms"),
    Goal("trigger_detection", "trigger detection latency p50",
         r"trigger detection latency: p50 (?P<value>[\d.]+) ms, (?P<note>p95 [\d.]+ ms)",
         at_most=True, target=50, unit=" ms"),
    Goal("trigger_detection", "ConfigMap watch connections for 1,000 triggers in one namespace (pods: one more)",
         r"(?P<value>\d+) watch connection\(s\)", at_most=True, target=1, unit=""),
    # The goal is read as the memory the 1,000 triggers take, not the process total: ``import airflow.sdk`` alone
    # is about 110 MB RSS, so no trigger could meet a 100 MB process total inside an Airflow triggerer.
    Goal("wait_requests", "API requests/s while 1,000 triggers wait on not-ready clusters",
         r"steady API load: (?P<value>[\d.]+) req/s .*?; (?P<note>old per-trigger pod listing [\d.]+ req/s, old/new "
         r"[>= ]*\d+x)", at_most=True, target=1, unit=" req/s"),
    Goal("trigger_detection", "RSS added by 1,000 waiting triggers",
         r"(?P<note>RSS \d+ MB total) \(\+?(?P<value>-?\d+) MB for the triggers", at_most=True, target=100,
         unit=" MB"),
    Goal("load", "50 launches + waits + teardowns under API faults vs without",
         r"(?P<note>wall [\d.]+ s with faults, [\d.]+ s without); faults/anchor = (?P<value>[\d.]+)x",
         at_most=True, target=2, unit="x"),
)


def _run_module(name: str, workdir: Path, env: dict[str, str]) -> tuple[list[str] | None, float, Path]:
    """Run ``bench.<name>.run()`` in a child; its lines (None if it crashed), seconds taken, and its log."""
    result, log = workdir / f"{name}.json", workdir / f"{name}.log"
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-c", _CHILD, f"bench.{name}", str(result)], stdout=out,
                              stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).resolve().parent.parent,
                              check=False)
    took = time.monotonic() - started
    if done.returncode != 0 or not result.exists():
        return None, took, log
    return json.loads(result.read_text()), took, log


def main(argv: list[str]) -> int:
    modules = argv or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    crashed, outputs = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        env = dict(os.environ, AIRFLOW_HOME=str(workdir / "airflow-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
        for name in modules:
            print(f"== {name} ==", flush=True)
            lines, took, log = _run_module(name, workdir, env)
            if lines is None:
                crashed.append(name)
                print(f"CRASHED after {took:.0f} s; last lines of its output:", flush=True)
                print("\n".join(log.read_text(errors="replace").splitlines()[-40:]), flush=True)
                continue
            outputs[name] = lines
            print("\n".join(lines), flush=True)
            print(f"({took:.0f} s)", flush=True)
    print("== summary ==")
    missing = False
    for goal in GOALS:
        if goal.module not in outputs:
            if goal.module in modules:
                print(f"NO FIGURE  {goal.title}: {goal.module} crashed")
            continue
        for met, line in goal.judge(outputs[goal.module]):
            missing |= met is None
            print(line)
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
        return 1
    return 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
