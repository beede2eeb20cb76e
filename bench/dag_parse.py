"""Benchmark: how long the DAG processor takes to parse each example DAG, next to an anchor DAG in the same run.

Each sample parses one file with ``DagBag`` in a fresh interpreter, as the DAG processor does, and reads the
file's parse duration from ``DagBag.dagbag_stats`` (in-process: interpreter start-up and ``import airflow`` are not in
it). The anchor is a DAG file of the same size built only from Airflow's own ``EmptyOperator``; its samples are taken
in turns with the examples', so a loaded machine slows both alike. The figure is the worst example's median minus
the anchor's median: what using this provider adds to parsing a DAG file. Bytecode is cached in a throw-away
``PYTHONPYCACHEPREFIX``, filled by a warm-up sample of each file, as an installed package has its ``.pyc`` files.

This replaces the test that asserted "parses in under a second": a duration is a benchmark, not a test. The test
(``tests/integration/test_example_dags.py``) still checks that each example parses with no import errors.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if "AIRFLOW_HOME" not in os.environ:  # run on its own; ``python -m bench`` sets a throw-away home
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

RUNS = 7
GOAL_MS = 100.0
EXAMPLES = Path(__file__).resolve().parent.parent / "example_dags"

#: Four tasks and a few params, as the examples have, but nothing from this provider.
ANCHOR = '''
import datetime
from airflow.sdk import DAG, Param
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("anchor", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False,
         params={"namespace": Param("flink", type="string"), "image": Param("flink:2.3.0", type="string")}) as dag:
    first = EmptyOperator(task_id="launch")
    first >> EmptyOperator(task_id="wait") >> EmptyOperator(task_id="mark") >> EmptyOperator(task_id="teardown")
'''

_PARSE_ONE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
print(json.dumps({"dags": sorted(bag.dags), "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
                  "seconds": sum(s.duration.total_seconds() for s in bag.dagbag_stats)}))
"""


def _parse(path: Path, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", _PARSE_ONE, str(path)], capture_output=True, text=True,
                          timeout=180, check=False, env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(path.parent)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"parsing {path} failed:\n{done.stderr[-3000:]}")
    parsed = json.loads(lines[-1])
    if parsed["errors"] or not parsed["dags"]:
        raise RuntimeError(f"{path.name}: no DAG or import errors: {parsed['errors']}")
    return float(parsed["seconds"])


def run() -> list[str]:
    files = sorted(EXAMPLES.glob("*.py"))
    with tempfile.TemporaryDirectory(prefix="bench-dag-parse-") as tmp:
        anchor = Path(tmp) / "anchor" / "anchor.py"
        anchor.parent.mkdir()
        anchor.write_text(ANCHOR)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        every = [anchor, *files]
        for path in every:  # compile bytecode, warm the disk cache
            _parse(path, env)
        samples: dict[Path, list[float]] = {path: [] for path in every}
        for _ in range(RUNS):
            for path in every:
                samples[path].append(_parse(path, env))
    medians = {path: statistics.median(values) for path, values in samples.items()}
    base = medians[anchor]
    lines = [f"anchor (4 EmptyOperator tasks): parse p50 {base * 1000:.1f} ms ({RUNS} fresh interpreters per file, "
             "taken in turns)"]
    lines += [f"{path.stem}: parse p50 {medians[path] * 1000:.1f} ms, {(medians[path] - base) * 1000:+.1f} ms over "
              "the anchor" for path in files]
    worst = max(files, key=lambda path: medians[path])
    lines.append(f"example DAG parse: worst {worst.stem} p50 {medians[worst] * 1000:.1f} ms; over the anchor = "
                 f"{(medians[worst] - base) * 1000:.1f} ms (goal <= {GOAL_MS:.0f} ms)")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
