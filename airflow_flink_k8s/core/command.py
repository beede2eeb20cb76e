"""The ``flink`` CLI argv of a launch (launcher ``cli``): ``run-application`` up to 1.20, ``run`` in 2.x."""

from __future__ import annotations

from airflow_flink_k8s.core.configuration import flink_configuration, key_for
from airflow_flink_k8s.core.spec import FlinkApplicationSpec


def build_flink_command(
    spec: FlinkApplicationSpec,
    flink_bin: str = "flink",
    taskmanager_pod_template_file: str | None = None,
    jobmanager_pod_template_file: str | None = None,
) -> list[str]:
    """Argv (no shell) for ``flink … -t kubernetes-application -Dk=v … <jar> [args]``, ``-D`` sorted by key.

    The CLI reads a TaskManager pod template from a local file: when the spec has one, the caller writes
    it (as YAML) and passes its path as ``taskmanager_pod_template_file``; likewise ``jobmanager_pod_template_file``.
    """
    for name, template, path in (
        ("taskmanager", spec.taskmanager_pod_template, taskmanager_pod_template_file),
        ("jobmanager", spec.jobmanager_pod_template, jobmanager_pod_template_file),
    ):
        if (template is None) != (path is None):
            raise ValueError(f"{name}_pod_template_file must be given exactly when the spec has a {name} pod template")
    action = "run" if spec.version.at_least(2, 0) else "run-application"
    conf = flink_configuration(spec)
    if taskmanager_pod_template_file is not None:
        conf[key_for("taskmanager_pod_template", spec.version)] = taskmanager_pod_template_file
    if jobmanager_pod_template_file is not None:
        conf[key_for("jobmanager_pod_template", spec.version)] = jobmanager_pod_template_file
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
