"""Hypothesis settings of the ``test_fuzz_*`` modules: bounded and reproducible in CI, long on demand.

* ``fuzz-ci`` (env ``CI`` set): derandomized, no example database, so every CI run tries the same inputs;
* ``fuzz-dev`` (default locally): the same budget, random, failures kept in ``.pytest_cache/hypothesis``
  and replayed first on the next run;
* ``fuzz`` (env ``HYPOTHESIS_PROFILE=fuzz``): 100 times the examples, for a long local run.

The profiles are applied per test with :func:`fuzz_settings`, never loaded globally, so other tests that
use hypothesis keep their own settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

#: Examples per property in CI and default local runs (a weight scales it per property).
BASE_EXAMPLES = 200
_LOCAL_DATABASE = DirectoryBasedExampleDatabase(Path(__file__).resolve().parents[1] / ".pytest_cache" / "hypothesis")
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}

settings.register_profile("fuzz-ci", max_examples=BASE_EXAMPLES, derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz-dev", max_examples=BASE_EXAMPLES, database=_LOCAL_DATABASE, **_COMMON)
settings.register_profile("fuzz", max_examples=100 * BASE_EXAMPLES, database=_LOCAL_DATABASE, **_COMMON)


def profile_name() -> str:
    """``fuzz`` when ``HYPOTHESIS_PROFILE=fuzz``, else ``fuzz-ci`` under CI, else ``fuzz-dev``."""
    if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz":
        return "fuzz"
    return "fuzz-ci" if os.environ.get("CI") else "fuzz-dev"


def fuzz_settings(weight: float = 1.0) -> settings:
    """The active profile with ``weight`` times its examples (cheap properties get more, slow ones fewer)."""
    parent = settings.get_profile(profile_name())
    return settings(parent, max_examples=max(10, round(parent.max_examples * weight)))
