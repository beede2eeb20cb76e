"""``python -m airflow_flink_k8s render <spec.json|yaml>``: print what a launch of the spec would create and run.

The file holds a mapping of ``FlinkApplicationSpec`` fields (the operator's spec arguments). Nothing is created and
no cluster is contacted; the output is the dry run of ``FlinkApplicationOperator(..., dry_run=True)``
(``core.dry_run``): the equivalent ``flink`` command and notes as YAML comments, then the objects as a YAML stream
(``--output json``: the operator's XCom). Exit status 2 when the spec breaks a rule (the message names the field).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from airflow_flink_k8s.core.arguments import LAUNCHERS
from airflow_flink_k8s.core.dry_run import render_launch
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.job_id import NONCE_BYTES
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.spec import FlinkApplicationSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m airflow_flink_k8s", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="print a launch's Kubernetes objects and flink argv; create nothing")
    render.add_argument("spec", type=Path, help="JSON or YAML file: a mapping of FlinkApplicationSpec fields")
    render.add_argument("--launcher", choices=LAUNCHERS, default="native")
    render.add_argument("--flink-bin", default="flink", help="the flink executable the cli launcher runs")
    render.add_argument("--output", choices=("yaml", "json"), default="yaml")
    render.add_argument("--dag-id", help="with --task-id and --run-id: show the launch's labels and annotations")
    render.add_argument("--task-id")
    render.add_argument("--run-id")
    render.add_argument("--try-number", type=int, default=1)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        values = yaml.safe_load(args.spec.read_text())
        if not isinstance(values, dict):
            raise FlinkSpecError(str(args.spec), "must hold a mapping of FlinkApplicationSpec fields")
        identity = (args.dag_id, args.task_id, args.run_id)
        if any(identity) and not all(identity):
            raise FlinkSpecError("--dag-id/--task-id/--run-id", "must be given together")
        run = RunIdentity(args.dag_id, args.task_id, args.run_id, args.try_number) if all(identity) else None
        spec = FlinkApplicationSpec.from_dict({"namespace": "default", **values})
        preview = render_launch(spec, args.launcher, run=run, nonce=secrets.token_bytes(NONCE_BYTES),
                                flink_bin=args.flink_bin, sensitive_fields=_airflow_sensitive_fields(),
                                namespace_given="namespace" in values)
    except (OSError, yaml.YAMLError, FlinkSpecError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(preview.to_dict(), indent=2) if args.output == "json" else preview.to_text(), end="\n")
    return 0


def _airflow_sensitive_fields() -> frozenset[str]:
    """Airflow's sensitive field names, as the operator's launch uses them (read from this Airflow's config).
    Loading Airflow's config may log to stdout: that goes to stderr, so stdout stays a clean YAML or JSON stream."""
    with contextlib.redirect_stdout(sys.stderr):
        from airflow_flink_k8s.operators import airflow_sensitive_fields

        return airflow_sensitive_fields()


if __name__ == "__main__":
    sys.exit(main())
