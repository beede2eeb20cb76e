"""The ``flink`` CLI argv of a launch (launcher ``cli``): ``run-application`` up to 1.20, ``run`` in 2.x."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_flink_k8s.core.configuration import flink_configuration, key_for
from airflow_flink_k8s.core.spec import FlinkApplicationSpec


def build_flink_command(
    spec: FlinkApplicationSpec,
    flink_bin: str = "flink",
    taskmanager_pod_template_file: str | None = None,
    jobmanager_pod_template_file: str | None = None,
    pod_template_file: str | None = None,
) -> list[str]:
    """Argv (no shell) for ``flink … -t kubernetes-application -Dk=v … <jar> [args]``, ``-D`` sorted by key.

    The CLI reads pod templates from local files: the caller writes each template of ``template_files(spec)`` (as
    YAML) and passes its path. ``pod_template`` goes as ``kubernetes.pod-template-file.default``, the template the
    client falls back to for the JobManager and the TaskManagers; a JobManager or TaskManager template of its own
    goes as ``.jobmanager``/``.taskmanager``.
    """
    given = {"taskmanager": taskmanager_pod_template_file, "jobmanager": jobmanager_pod_template_file,
             "default": pod_template_file}
    for name, template in template_files(spec).items():
        if (template is None) != (given[name] is None):
            parameter = "pod_template_file" if name == "default" else f"{name}_pod_template_file"
            raise ValueError(f"{parameter} must be given exactly when template_files(spec) has a {name} template")
    action = "run" if spec.version.at_least(2, 0) else "run-application"
    conf = flink_configuration(spec)
    for name, concept in (("taskmanager", "taskmanager_pod_template"), ("jobmanager", "jobmanager_pod_template"),
                          ("default", "pod_template")):
        path = given[name]
        if path is not None:
            conf[key_for(concept, spec.version)] = path
    argv = [flink_bin, action, "-t", "kubernetes-application"]
    argv += [f"-D{key}={conf[key]}" for key in sorted(conf)]
    if spec.parallelism is not None:
        argv += ["-p", str(spec.parallelism)]
    if spec.entry_class is not None:
        argv += ["-c", spec.entry_class]
    if spec.allow_non_restored_state and spec.restore != "none":
        argv += ["-s", spec.restore, "-n"]  # the client honours -n only beside -s (and overwrites the -D key)
    argv.append(spec.jar_uri)
    argv += list(spec.program_args)
    return argv


def template_files(spec: FlinkApplicationSpec) -> dict[str, Mapping[str, Any] | None]:
    """The pod templates the ``cli`` launcher writes to local files, by ``taskmanager``/``jobmanager``/``default``:
    a JobManager or TaskManager template the same as ``pod_template`` is left to the client's fallback."""
    default = spec.pod_template
    return {"taskmanager": None if spec.taskmanager_pod_template == default else spec.taskmanager_pod_template,
            "jobmanager": None if spec.jobmanager_pod_template == default else spec.jobmanager_pod_template,
            "default": default}
