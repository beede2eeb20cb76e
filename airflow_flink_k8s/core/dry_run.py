"""Dry-run: what a fresh launch of a spec would create and run, computed without a cluster (pure, no I/O).

``render_launch`` builds, the way the launchers do, the Kubernetes objects of the launch (Deployment first, then
the objects it owns, in creation order) and the equivalent ``flink`` argv:

* objects: ``render_kubernetes_objects`` with the native launcher's logging files, marked with the launch's labels
  and annotations (``launch_plan.mark``) and, for the owned objects, the ownerReference to the Deployment. A launch
  then creates exactly these; the API server adds only what it assigns: uid, resourceVersion, creation time,
  generation, managedFields, ``status``, the Deployment's uid in ``ownerReferences`` (it exists only once the
  Deployment is created), and its defaults (Service cluster IPs, node ports, port protocols; Deployment strategy).
* argv: ``build_flink_command`` as the ``cli`` launcher calls it: credential options (``sensitive_keys``) off the
  argv (the launcher passes them through a copy of the client's conf dir) and the TaskManager pod template as a
  file the launcher writes into its temporary dir.

Credential values of ``flink_conf`` are shown as ``REDACTED`` in the objects, so the preview is safe to log and to
keep as an XCom. What a preview cannot know without a cluster is named in ``notes``.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_k8s.core.arguments import LAUNCHERS
from airflow_flink_k8s.core.command import build_flink_command, template_files
from airflow_flink_k8s.core.configuration import TASKMANAGER_POD_TEMPLATE_FILE
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.job_id import derive_job_id
from airflow_flink_k8s.core.jobmanager_options import unrendered_options
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects, with_owner_references
from airflow_flink_k8s.core.launch_plan import RunIdentity, launch_annotations, launch_labels, mark
from airflow_flink_k8s.core.logging_files import distribution_logging_files
from airflow_flink_k8s.core.names import launch_lock_name, owned_object_names
from airflow_flink_k8s.core.sensitive_keys import sensitive_options, values_to_mask
from airflow_flink_k8s.core.spec import FlinkApplicationSpec

#: What a credential value of ``flink_conf`` shows as (Airflow's mask).
REDACTED = "***"
#: Where the ``cli`` launcher writes the TaskManager pod template: a temporary dir made per launch.
CLI_TEMPLATE_FILE = f"<temporary dir>/{TASKMANAGER_POD_TEMPLATE_FILE}"
#: Where it writes the JobManager pod template, which the client merges into the Deployment itself.
CLI_JOBMANAGER_TEMPLATE_FILE = "<temporary dir>/jobmanager-pod-template.yaml"
#: Where the ``cli`` launcher writes ``pod_template`` (``kubernetes.pod-template-file.default``).
CLI_DEFAULT_TEMPLATE_FILE = "<temporary dir>/default-pod-template.yaml"

@dataclass(frozen=True)
class LaunchPreview:
    """A dry run's result: the objects a launch creates and the ``flink`` argv, plus what it could not know."""

    launcher: str
    cluster_id: str
    namespace: str
    job_id: str
    #: True when the spec has no ``job_id``: a launch draws its own, so the one shown is an example.
    job_id_generated: bool
    objects: list[dict[str, Any]]
    argv: list[str]
    #: Files the ``cli`` launcher writes for the client: path in ``argv`` → content.
    files: dict[str, str] = field(default_factory=dict)
    #: ``flink_conf`` keys kept off the argv (credentials): the ``cli`` launcher passes them in a conf dir copy.
    conf_dir_options: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the operator's XCom): every field, and ``command``, the argv as one shell line."""
        return {"dry_run": True, **dataclasses.asdict(self), "command": shlex.join(self.argv)}

    def to_text(self) -> str:
        """For people: the command and the notes as YAML comments, then the objects as a YAML stream."""
        import yaml  # here: the operator imports this module only in a dry run, the CLI always

        lines = [f"# Dry run (launcher {self.launcher}): nothing was created.",
                 f"# Equivalent flink command: {shlex.join(self.argv)}",
                 *(f"# Note: {note}" for note in self.notes)]
        for path, text in self.files.items():
            lines += [f"# File {path}:", *(f"#   {line}" for line in text.splitlines())]
        documents = [yaml.safe_dump(obj, sort_keys=False, allow_unicode=True) for obj in self.objects]
        return "\n".join(lines) + "\n---\n" + "---\n".join(documents)


def render_launch(spec: FlinkApplicationSpec, launcher: str = "native", *, run: RunIdentity | None,
                  nonce: bytes, flink_bin: str = "flink", sensitive_fields: Iterable[str] = (),
                  namespace_given: bool = True) -> LaunchPreview:
    """What a fresh launch of ``spec`` by ``launcher`` creates, and the ``flink`` argv of the same launch.

    ``run`` is the task try (None: the launch's labels and annotations are left out); ``nonce`` random bytes for the
    example job id when ``spec`` has none; ``sensitive_fields`` Airflow's sensitive field names, which decide what
    is redacted and kept off the argv as they do in a launch; ``namespace_given`` False when ``spec.namespace`` is a
    fallback (a launch takes the connection's ``namespace`` extra).
    """
    if launcher not in LAUNCHERS:
        raise FlinkSpecError("launcher", f"must be one of {', '.join(LAUNCHERS)}", launcher)
    fields = tuple(sensitive_fields)
    notes: list[str] = []
    generated = spec.job_id is None
    if generated and spec.restore == "latest":
        raise FlinkSpecError("job_id", "must be set for a dry run with restore='latest': a launch reads which "
                             "checkpointed job it resumes from the cluster's HA data, which a dry run does not read")
    if generated:
        spec = dataclasses.replace(spec, job_id=derive_job_id(
            spec.cluster_id, run.run_key if run else "dry-run", run.task_id if run else "dry-run", nonce))
        notes.append("job_id: not set, so each launch draws a new one; the one shown here is an example")
    assert spec.job_id is not None
    objects = _objects(spec, launcher, run, fields)
    hidden = sensitive_options(spec.flink_conf, fields)
    argv_spec = dataclasses.replace(spec, flink_conf={k: v for k, v in spec.flink_conf.items() if k not in hidden})
    paths = {"taskmanager": CLI_TEMPLATE_FILE, "jobmanager": CLI_JOBMANAGER_TEMPLATE_FILE,
             "default": CLI_DEFAULT_TEMPLATE_FILE}
    templates = template_files(spec)
    argv = build_flink_command(argv_spec, flink_bin, *(None if templates[name] is None else paths[name]
                                                       for name in ("taskmanager", "jobmanager", "default")))
    files = {paths[name]: _template_yaml(content) for name, content in templates.items() if content is not None}
    if not namespace_given:
        notes.append(f"namespace: not set, shown as {spec.namespace!r}; a launch takes the connection's "
                     "'namespace' extra when it has one")
    if run is None:
        notes.append("launch labels (dag_id, task_id, run_id, try_number) and annotations (job id, spec hash, run) "
                     "are added by the operator's launch and left out here")
    if hidden:
        notes.append(f"{', '.join(sorted(hidden))}: credentials, kept off the argv (the cli launcher passes them "
                     f"through a copy of the client's conf dir) and shown as {REDACTED!r} in the objects")
    if launcher == "native":
        notes.append("launcher 'native' runs no flink client: the command is the equivalent one")
    else:
        notes += ["the cli launcher adds -Dkubernetes.context=<context> after -t kubernetes-application when the "
                  "Kubernetes connection sets 'cluster_context'",
                  "launcher 'cli': the Flink client creates these objects; it adds the options and logging files of "
                  "its conf dir (FLINK_CONF_DIR), which a dry run does not read. The launch also creates, then "
                  f"deletes, its lock ConfigMap {launch_lock_name(spec.cluster_id)}"]
        notes += [f"flink_conf[{key!r}]: the Flink client applies it to the objects; they are shown without it"
                  for key in unrendered_options(spec)]
        if spec.logging_files:
            notes.append(f"logging_files: {', '.join(sorted(spec.logging_files))} replace the client's own, written "
                         "into a copy of its conf dir")
    return LaunchPreview(launcher=launcher, cluster_id=spec.cluster_id, namespace=spec.namespace,
                         job_id=spec.job_id, job_id_generated=generated, objects=objects, argv=argv, files=files,
                         conf_dir_options=sorted(hidden), notes=notes)


def _objects(spec: FlinkApplicationSpec, launcher: str, run: RunIdentity | None,
             fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The launch's objects as the API server stores them, minus ``SERVER_ASSIGNED``."""
    assert spec.job_id is not None
    labels = launch_labels(run) if run else {}
    annotations = launch_annotations(spec, run, spec.job_id) if run else {}
    secrets = set(values_to_mask(spec.flink_conf, fields))
    shown = dataclasses.replace(spec, flink_conf={k: REDACTED if str(v) in secrets else v
                                                  for k, v in spec.flink_conf.items()})
    rendered = render_kubernetes_objects(shown, distribution_logging_files(spec.version) if launcher == "native"
                                         else None, partial=launcher == "cli")
    # The cli launcher labels only what ``owned_object_names`` lists; the native launcher creates every object marked.
    marked = set(owned_object_names(spec.cluster_id)) if launcher == "cli" else None
    for obj in rendered:
        if marked is None or (obj["kind"], obj["metadata"]["name"]) in marked:
            mark(obj, labels, annotations)
        obj["metadata"]["namespace"] = spec.namespace
    objects = with_owner_references(rendered, deployment_uid="")
    for obj in objects[1:]:
        for ref in obj["metadata"]["ownerReferences"]:
            del ref["uid"]
    return objects


def _template_yaml(template: Mapping[str, Any]) -> str:
    """A pod template file the cli launcher writes, as it writes it."""
    import yaml

    return str(yaml.safe_dump(dict(template)))
