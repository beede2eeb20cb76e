#!/usr/bin/env bash
# Static checks: ruff (pyproject.toml), the import contracts (.importlinter) and mypy (mypy.ini).
# Every check runs; the script fails if any of them failed. Tools come from $VENV/bin (default .venv).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
status=0
run() {
    echo "+ $*"
    "$@" || status=1
}
run "$BIN/ruff" check airflow_flink_k8s sandbox tests bench example_dags scripts
run "$BIN/lint-imports" --no-cache
run "$BIN/mypy" airflow_flink_k8s
exit "$status"
