"""The import contracts of ``.importlinter`` (layers, a pure core, no sandbox import, no cycles) hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter")
    # From the repository root: lint-imports puts the working directory first on sys.path, so it analyses this
    # checkout's airflow_flink_k8s, not whichever copy is installed.
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
