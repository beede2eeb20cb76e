# Two commands do all set-up: `make demo` and `make test`. Everything else is a step they call.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLINK_VERSIONS ?= 2.3.0 1.20.3
export AIRFLOW_FLINK_K8S_CACHE ?= $(HOME)/.cache/airflow-flink-k8s

.PHONY: test unit floor demo bench fuzz deps system-deps flink lint clean

# The provider comes first: the sandbox distribution depends on it, and pip 23 resolves editables in order.
$(VENV)/.installed: pyproject.toml sandbox/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[sandbox,test,bench,dev,openlineage]' -e ./sandbox
	touch $@

deps: $(VENV)/.installed

system-deps:
	./scripts/install-system-deps.sh

flink: deps system-deps
	$(PY) -m airflow_flink_k8s_sandbox.flink_dist $(FLINK_VERSIONS)

# Two pytest-xdist workers, one test module each at a time (module-scoped sandboxes stay in one worker): most
# real-Flink tests wait on Flink (leases, back-off, checkpoints), so two overlap well even on two cores.
TEST_WORKERS ?= 2
test: flink
	$(PY) -m pytest -ra --durations=30 -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The unit tier: pure core and flows, no JVM, ZooKeeper or sandbox process (runs before `make flink` is needed).
unit: deps
	CI=$${CI:-true} $(PY) -m pytest -q -n $(TEST_WORKERS) tests/unit $(PYTEST_ARGS)

# The oldest supported Airflow and cncf-kubernetes (constraints-floor.txt) in a venv of their own: the unit tier, the
# example DAGs' parse and one launch + wait on the sandbox (the state-machine example) with dag.test().
FLOOR_VENV ?= .venv-floor
$(FLOOR_VENV)/.installed: pyproject.toml sandbox/pyproject.toml constraints-floor.txt
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/pip install -q --disable-pip-version-check -c constraints-floor.txt -e '.[sandbox,test]' -e ./sandbox
	touch $@

floor: $(FLOOR_VENV)/.installed flink
	$(FLOOR_VENV)/bin/python -c 'import airflow; print("Airflow", airflow.__version__)'
	CI=$${CI:-true} $(FLOOR_VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests/unit \
		tests/integration/test_example_dags.py::test_airflow_lists_no_import_errors_for_the_example_dags \
		tests/integration/test_example_dags.py::test_each_example_dag_parses_alone_into_the_dag_named_after_the_file \
		tests/integration/test_example_dags.py::test_flink_state_machine_runs_end_to_end $(PYTEST_ARGS)

demo: flink
	$(PY) -m airflow_flink_k8s_sandbox.demo

bench: flink
	$(PY) -m bench

# A long fuzz run (the CI suite runs the same properties with a bounded, derandomized budget).
fuzz: deps
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/unit/core/test_fuzz_*.py --hypothesis-show-statistics $(PYTEST_ARGS)

# Ruff, the layer contracts (.importlinter) and mypy (strict on core/).
lint: deps
	VENV=$(VENV) ./scripts/lint.sh

clean:
	rm -rf $(VENV) .pytest_cache
