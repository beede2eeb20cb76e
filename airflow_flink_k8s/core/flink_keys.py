"""Which Flink key each spec field becomes in which Flink release, and the keys a spec field manages.

``FIELD_KEYS`` is the table of which spec field becomes which Flink key in which release (README cites it as
``configuration.FIELD_KEYS``; ``configuration`` re-exports these names). Keys were checked against the
``ConfigOption`` classes in the released 1.18.1, 1.20.3 and 2.3.0 jars (``KubernetesConfigOptions``,
``HighAvailabilityOptions``, ``CheckpointingOptions``, ``StateRecoveryOptions``, ``SavepointConfigOptions``,
``PipelineOptionsInternal``); the 1.16/1.17 renames follow the Flink release notes.


"""

from __future__ import annotations

from airflow_flink_k8s.core.versions import FlinkVersion

#: (first release, key) per concept; the newest entry not newer than the launched release is used.
_KEYS: dict[str, tuple[tuple[tuple[int, int], str], ...]] = {
    "image": (((1, 0), "kubernetes.container.image"), ((1, 17), "kubernetes.container.image.ref")),
    "jobmanager_cpu": (((1, 0), "kubernetes.jobmanager.cpu"), ((1, 17), "kubernetes.jobmanager.cpu.amount")),
    "taskmanager_cpu": (((1, 0), "kubernetes.taskmanager.cpu"), ((1, 17), "kubernetes.taskmanager.cpu.amount")),
    "ha": (((1, 0), "high-availability"), ((1, 17), "high-availability.type")),
    "checkpoint_dir": (((1, 0), "state.checkpoints.dir"), ((1, 20), "execution.checkpointing.dir")),
    "savepoint_dir": (((1, 0), "state.savepoints.dir"), ((1, 20), "execution.checkpointing.savepoint-dir")),
    "restore_path": (((1, 0), "execution.savepoint.path"), ((1, 20), "execution.state-recovery.path")),
    "claim_mode": (((1, 0), "execution.savepoint-restore-mode"), ((1, 20), "execution.state-recovery.claim-mode")),
    "ignore_unclaimed": (
        ((1, 0), "execution.savepoint.ignore-unclaimed-state"),
        ((1, 20), "execution.state-recovery.ignore-unclaimed-state"),
    ),
}

_FIXED_KEYS = {
    "cluster_id": "kubernetes.cluster-id",
    "namespace": "kubernetes.namespace",
    "image_pull_policy": "kubernetes.container.image.pull-policy",
    "image_pull_secrets": "kubernetes.container.image.pull-secrets",
    "service_account": "kubernetes.service-account",
    "jobmanager_memory": "jobmanager.memory.process.size",
    "taskmanager_memory": "taskmanager.memory.process.size",
    "task_slots": "taskmanager.numberOfTaskSlots",
    "jobmanager_replicas": "kubernetes.jobmanager.replicas",
    "jobmanager_node_selector": "kubernetes.jobmanager.node-selector",
    "taskmanager_node_selector": "kubernetes.taskmanager.node-selector",
    "jobmanager_tolerations": "kubernetes.jobmanager.tolerations",
    "taskmanager_tolerations": "kubernetes.taskmanager.tolerations",
    "jobmanager_labels": "kubernetes.jobmanager.labels",
    "taskmanager_labels": "kubernetes.taskmanager.labels",
    "jobmanager_annotations": "kubernetes.jobmanager.annotations",
    "taskmanager_annotations": "kubernetes.taskmanager.annotations",
    "pod_template": "kubernetes.pod-template-file.default",
    "taskmanager_pod_template": "kubernetes.pod-template-file.taskmanager",
    "jobmanager_pod_template": "kubernetes.pod-template-file.jobmanager",
    "rest_service_type": "kubernetes.rest-service.exposed.type",
    "ha_storage_dir": "high-availability.storageDir",
    "zookeeper_quorum": "high-availability.zookeeper.quorum",
    "zookeeper_root": "high-availability.zookeeper.path.root",
    "checkpoint_interval": "execution.checkpointing.interval",
    "job_id": "$internal.pipeline.job-id",
    "jar_uri": "pipeline.jars",
    "entry_class": "$internal.application.main",
    "program_args": "$internal.application.program-args",
    "parallelism": "parallelism.default",
    "secret_mounts": "kubernetes.secrets",
    "secret_env": "kubernetes.env.secretKeyRef",
}


JOB_RESULT_STORE_DIR = "job-result-store"
APPLICATION_RESULT_STORE_DIR = "application-result-store"
#: (first release, key, directory) of the result stores Flink keeps on the HA storage dir
#: (``JobResultStoreOptions``, 1.15+; ``ApplicationResultStoreOptions``, 2.3+: checked in the 1.20.3 and 2.3.0
#: jars). Each launch gets its own, ``<ha_storage_dir>/<cluster_id>/<directory>/<job-id>`` (``core.ha_storage``).
RESULT_STORES: tuple[tuple[tuple[int, int], str, str], ...] = (
    ((1, 15), "job-result-store.storage-path", JOB_RESULT_STORE_DIR),
    ((2, 3), "application-result-store.storage-path", APPLICATION_RESULT_STORE_DIR),
)


def key_for(concept: str, version: FlinkVersion) -> str:
    """The Flink key of ``concept`` (a spec field or internal concept) in ``version``."""
    if concept in _FIXED_KEYS:
        return _FIXED_KEYS[concept]
    chosen = ""
    for (major, minor), key in _KEYS[concept]:
        if version.at_least(major, minor):
            chosen = key
    return chosen


def _field_keys() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {name: {"1.16+": key} for name, key in _FIXED_KEYS.items()}
    spec_concepts = {
        "image": "image",
        "jobmanager_cpu": "jobmanager_cpu",
        "taskmanager_cpu": "taskmanager_cpu",
        "ha": "ha",
        "checkpoint_base_dir": "checkpoint_dir",
        "savepoint_base_dir": "savepoint_dir",
        "restore": "restore_path",
        "allow_non_restored_state": "ignore_unclaimed",
    }
    for field_name, concept in spec_concepts.items():
        entries = _KEYS[concept]
        table[field_name] = {
            ("1.16" if index == 0 else f"{major}.{minor}") + "+": key
            for index, ((major, minor), key) in enumerate(entries)
        }
    return table


#: Spec field → {"<first release>+": Flink key}. ``checkpoint_base_dir`` is written as
#: ``<base>/<cluster_id>``; ``restore="latest"`` writes no key (HA metadata resumes the kept job id).
FIELD_KEYS: dict[str, dict[str, str]] = _field_keys()
#: The concepts ``key_for`` knows (spec fields, and keys the client fixes).
KEY_CONCEPTS: tuple[str, ...] = (*_FIXED_KEYS, *_KEYS)

#: Managed keys in every spelling Flink accepts (current and deprecated) → the spec field to use instead.
MANAGED_KEYS: dict[str, str] = {
    **{key: name for name, key in _FIXED_KEYS.items()},
    **{key: name for name, by_release in FIELD_KEYS.items() for key in by_release.values()},
    "high-availability.cluster-id": "cluster_id",
    "recovery.mode": "ha",
    "high-availability.zookeeper.storageDir": "ha_storage_dir",
    "recovery.zookeeper.storageDir": "ha_storage_dir",
    "recovery.zookeeper.quorum": "zookeeper_quorum",
    "recovery.zookeeper.path.root": "zookeeper_root",
    "state.backend.fs.checkpointdir": "checkpoint_base_dir",
    "savepoints.state.backend.fs.dir": "savepoint_base_dir",
    "kubernetes.jobmanager.service-account": "service_account",
    "kubernetes.taskmanager.service-account": "service_account",
    "kubernetes.pod-template-file": "pod_template",
    "execution.target": "none: the launch target is always kubernetes-application",
    "pipeline.classpaths": "none: the job jar must bundle its dependencies",
    "execution.savepoint-restore-mode": "none: the Flink CLI always writes NO_CLAIM",
    "execution.state-recovery.claim-mode": "none: the Flink CLI always writes NO_CLAIM",
    "execution.savepoint.ignore-unclaimed-state": "allow_non_restored_state",
    "execution.state-recovery.ignore-unclaimed-state": "allow_non_restored_state",
    "jobmanager.rpc.address": "none: the launch points it at the cluster's Service",
    "jobmanager.rpc.port": "none: the Kubernetes launch fixes it at 6123",
    "blob.server.port": "none: the Kubernetes launch fixes it at 6124",
    "taskmanager.rpc.port": "none: the Kubernetes launch fixes it at 6122",
    "high-availability.jobmanager.port": "none: the Kubernetes launch fixes it at 6123",
    "rest.port": "none: the rest Service port is fixed at 8081",
    "rest.bind-port": "none: the rest Service port is fixed at 8081",
    "kubernetes.context": "none: the Kubernetes connection's cluster_context sets it",
    "kubernetes.config.file": "none: the Kubernetes connection's kube_config_path or kube_config sets it",
    **{key: "none: every launch gets its own result store under ha_storage_dir/<cluster_id>/, so no earlier "
            "launch's entry can end it" for _, key, _ in RESULT_STORES},
}

