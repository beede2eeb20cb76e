"""Benchmark: what importing the operator and sensor modules costs a DAG file, beside the apache-flink provider.

Every sample is a fresh interpreter (``python -c``), run in turns so drift hits all variants alike:

* ``sdk``: ``import airflow.sdk`` alone;
* ``ours``: ``import airflow.sdk`` then ``import airflow_flink_k8s.operators, airflow_flink_k8s.sensors``;
* ``theirs``: ``import airflow.sdk`` then ``import airflow.providers.apache.flink.operators.flink_kubernetes``.

The figure per variant is the median over the samples of the time of the second import, timed inside the child
(``perf_counter``), so interpreter start-up does not blur it. The difference of median whole-process wall times is
reported beside it as a cross-check; it is only as good as the spread (IQR) of ``airflow.sdk`` alone, printed too.
``import airflow.sdk`` itself already imports ``airflow_flink_k8s`` (Airflow reads the
``apache_airflow_provider`` entry point, ``airflow_flink_k8s.get_provider_info``, which runs the package's
``__init__``). That share is measured in separate ``-X importtime`` children and added to our total: a DAG file pays
it whether or not it uses this provider. The modules each import pulls in are listed by top-level package.

The children cache bytecode in a throw-away ``PYTHONPYCACHEPREFIX`` (even under ``PYTHONDONTWRITEBYTECODE``), and a
warm-up sample per variant fills it: an installed package has its ``.pyc`` files, and an editable checkout without
them would charge source compilation (about 25 ms here) to this provider alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

if "AIRFLOW_HOME" not in os.environ:  # run on its own; ``python -m bench`` sets a throw-away home
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

RUNS = 15
ATTRIBUTION_RUNS = 5
GOAL_MS = 10.0
OURS = ("airflow_flink_k8s.operators", "airflow_flink_k8s.sensors")
THEIRS = ("airflow.providers.apache.flink.operators.flink_kubernetes",)
VARIANTS: dict[str, tuple[str, ...]] = {"sdk": (), "ours": OURS, "theirs": THEIRS}
#: Packages a DAG file should not pay for at parse time; reported when an import pulls them in.
HEAVY = ("kubernetes", "kubernetes_asyncio", "kazoo", "aiohttp", "aiofiles", "requests", "urllib3", "httpx",
         "google", "grpc", "yaml", "pendulum", "sqlalchemy", "pandas", "numpy")

_CHILD = """
import importlib, json, sys, time
started = time.perf_counter()
import airflow.sdk
sdk_done = time.perf_counter()
modules_before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
done = time.perf_counter()
new = set(sys.modules) - modules_before
tops = {m.partition(".")[0] for m in modules_before}
print(json.dumps({"sdk": sdk_done - started, "added": done - sdk_done, "modules": len(new),
                  "packages": sorted({m.partition(".")[0] for m in new} - tops), "sdk_packages": sorted(tops)}))
"""


def _child_env(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": pycache}


def _sample(names: tuple[str, ...], env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *names], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"importing {names or 'airflow.sdk'} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def _package_share_of_sdk_import(env: dict[str, str]) -> float:
    """Seconds ``import airflow.sdk`` spends in ``airflow_flink_k8s`` modules and what they import, per
    ``-X importtime`` (cumulative times of the outermost ``airflow_flink_k8s`` entries)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import airflow.sdk"], capture_output=True,
                          text=True, timeout=120, check=True, env=env)
    total_us, covering_indent = 0, None
    # Children come before their parent and are indented deeper; walk backwards to see parents first.
    for line in reversed(done.stderr.splitlines()):
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name_field = line.split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        indent = len(name_field) - len(name_field.lstrip())
        if covering_indent is not None and indent > covering_indent:
            continue
        covering_indent = None
        if name_field.strip().partition(".")[0] == "airflow_flink_k8s":
            total_us += int(cumulative)
            covering_indent = indent
    return total_us / 1e6


def _describe(packages: list[str]) -> str:
    heavy = [p for p in packages if p in HEAVY]
    others = [p for p in packages if p not in HEAVY and p not in sys.stdlib_module_names and not p.startswith("_")]
    return (f"heavy: {', '.join(heavy) or 'none'}; other new packages: {', '.join(others) or 'none'}")


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        env = _child_env(pycache)
        for names in VARIANTS.values():  # compile bytecode, warm the disk cache
            _sample(names, env)
        samples: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
        for _ in range(RUNS):
            for variant, names in VARIANTS.items():
                samples[variant].append(_sample(names, env))
        share = statistics.median(_package_share_of_sdk_import(env) for _ in range(ATTRIBUTION_RUNS))

    def median(variant: str, field: str) -> float:
        return statistics.median(s[field] for s in samples[variant])

    ours, theirs = median("ours", "added"), median("theirs", "added")
    wall_sdk = median("sdk", "wall")
    quartiles = statistics.quantiles([s["wall"] for s in samples["sdk"]], n=4)
    spread = f"IQR {(quartiles[2] - quartiles[0]) * 1000:.0f} ms"
    last = {variant: runs[-1] for variant, runs in samples.items()}
    sdk_heavy = [p for p in last["sdk"]["sdk_packages"] if p in HEAVY]
    return [
        (f"import airflow.sdk alone: p50 {median('sdk', 'sdk') * 1000:.0f} ms in-process, whole process "
         f"{wall_sdk * 1000:.0f} ms ({RUNS} fresh interpreters per variant, {spread}); of it {share * 1000:.1f} ms is "
         "airflow_flink_k8s/__init__ loaded through the provider entry point"),
        (f"airflow.sdk itself already loads {len(last['sdk']['sdk_packages'])} top-level packages; heavy among "
         f"them: {', '.join(sdk_heavy) or 'none'}"),
        (f"ours (operators + sensors) on top of airflow.sdk: p50 {ours * 1000:.1f} ms; with the package share of "
         f"airflow.sdk: total {(ours + share) * 1000:.1f} ms (goal <= {GOAL_MS:.0f} ms); whole-process difference "
         f"{(median('ours', 'wall') - wall_sdk) * 1000:+.0f} ms"),
        (f"apache-flink provider flink_kubernetes on top of airflow.sdk: p50 {theirs * 1000:.0f} ms; whole-process "
         f"difference {(median('theirs', 'wall') - wall_sdk) * 1000:+.0f} ms"),
        f"import cost ratio theirs/ours = {theirs / (ours + share):.1f}x (ours total incl. the package share)",
        f"ours pulls in {last['ours']['modules']} modules; {_describe(last['ours']['packages'])}",
        f"theirs pulls in {last['theirs']['modules']} modules; {_describe(last['theirs']['packages'])}",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
