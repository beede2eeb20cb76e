"""Locations the tests read, independent of where a test module sits under ``tests/``."""

from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
#: Recorded inputs: ``ha/`` (HA ConfigMaps and ZooKeeper bytes of real clusters), ``failure/`` (pods, logs).
DATA_DIR = TESTS_DIR / "data"
REPO_ROOT = TESTS_DIR.parent
