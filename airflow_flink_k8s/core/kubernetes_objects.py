"""The Kubernetes objects ``flink run-application -t kubernetes-application`` creates, as plain dicts.

``render_kubernetes_objects(spec)`` returns them in the client's creation order: the JobManager Deployment
``<cid>``, then the objects the Deployment owns: the headless internal Service ``<cid>`` (HA off only), the
rest Service ``<cid>-rest``, the ConfigMap ``flink-config-<cid>`` and, with a TaskManager pod template,
the ConfigMap ``pod-template-<cid>``. A JobManager pod template is merged into the Deployment's pod as the
client merges it (``core.pod_template``), and the ``flink_conf`` options that shape these objects as the client
applies them (``core.jobmanager_options``; the others are refused by name). Checked field by field against the
JobManager specification the real 1.18.1, 1.20.3 and 2.3.0 clients build (``KubernetesJobManagerFactory`` and its
decorators, reached through the real ``CliFrontend``; see tests/test_kubernetes_objects.py). Version differences:
from 1.19 the pod has the emptyDir ``user-artifacts-volume`` at ``/opt/flink/artifacts``, and the configuration file is
``config.yaml`` (standard YAML) instead of ``flink-conf.yaml`` (flat lines).

Not rendered, so normalise these when comparing with what an API server holds:

* server-assigned: ``metadata.uid/resourceVersion/creationTimestamp/generation/managedFields``, ``status``,
  Service ``clusterIP(s)``/``ipFamilies``/``ipFamilyPolicy``/``nodePort``/``sessionAffinity``/
  ``internalTrafficPolicy``, and defaulted pod fields (``restartPolicy``, ``terminationMessage*``,
  ``schedulerName``, ``securityContext``, ``strategy``, ``revisionHistoryLimit``, ``progressDeadlineSeconds``…);
* the owned objects' ``metadata.ownerReferences``: filled in by ``with_owner_references`` once the Deployment's
  uid is known (the Deployment's own, from ``kubernetes.jobmanager.owner.reference``, are rendered);
* the client's local default config: keys its ``conf/config.yaml`` adds (e.g. ``env.java.opts.all``,
  ``jobmanager.bind-host``), the logging files it finds there (pass them as ``logging_files``), and the
  client-local paths in ``kubernetes.pod-template-file.taskmanager``, ``.jobmanager`` and ``.default`` (the
  JobManager reads none of the latter two, so they are not rendered); key order in the configuration file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from airflow_flink_k8s.core.configuration import (
    TASKMANAGER_POD_TEMPLATE_FILE,
    cluster_configuration,
    configuration_file_name,
    serialise_configuration,
)
from airflow_flink_k8s.core.jobmanager_options import (
    ENTRY_PATH,
    ENTRYPOINT_ARGS,
    HADOOP_CONF_DIR_ENV,
    HADOOP_CONF_DIR_IN_POD,
    HADOOP_CONF_VOLUME,
    INTERNAL_SERVICE_ANNOTATIONS,
    INTERNAL_SERVICE_LABELS,
    LOG_DIR,
    REST_SERVICE_ANNOTATIONS,
    REST_SERVICE_LABELS,
    artifacts_dir,
    check_native_options,
    conf_dir,
    conf_value,
    cpu_limit,
    hadoop_config_map,
    host_network,
    master_env,
    memory_limit_mebibytes,
    option_map,
    owner_references,
    persistent_volume_claims,
)
from airflow_flink_k8s.core.logging_files import LOGGING_FILES as LOGGING_FILES
from airflow_flink_k8s.core.logging_files import shipped_logging_files
from airflow_flink_k8s.core.names import (
    BLOB_SERVER_PORT,
    FLINK_CONFIG_VOLUME,
    JOBMANAGER_RPC_PORT,
    POD_TEMPLATE_DIR,
    POD_TEMPLATE_VOLUME,
    REST_PORT,
    common_labels,
    config_map_name,
    pod_template_config_map_name,
    rest_service_name,
    selector_labels,
)
from airflow_flink_k8s.core.names import CONTAINER_NAME as CONTAINER_NAME
from airflow_flink_k8s.core.names import FLINK_MOUNT_PATHS as FLINK_MOUNT_PATHS
from airflow_flink_k8s.core.pod_template import apply_pod_template
from airflow_flink_k8s.core.spec import FlinkApplicationSpec, memory_mebibytes


def render_kubernetes_objects(
    spec: FlinkApplicationSpec, logging_files: Mapping[str, str] | None = None, *, partial: bool = False
) -> list[dict[str, Any]]:
    """The objects the Flink client of ``spec.flink_version`` creates, Deployment first, the owned ones after.

    ``logging_files`` maps names from ``shipped_logging_files`` to their text, as the client would copy them
    from its local conf dir (the native launcher passes ``distribution_logging_files``); the spec's own
    ``logging_files`` replace those of the same name, as the ``cli`` launcher writes them into its conf dir copy.
    Without either the ConfigMap holds only the configuration file. A ``flink_conf`` option that shapes these
    objects and is not rendered (``jobmanager_options.NATIVE_REFUSED``) raises ``FlinkSpecError`` unless
    ``partial`` (a preview of the ``cli`` launcher, which says so).
    """
    if not partial:
        check_native_options(spec)
    logging_files = {**(logging_files or {}), **spec.logging_files}
    shipped = shipped_logging_files(spec.version)
    unknown = set(logging_files) - set(shipped)
    if unknown:
        raise ValueError(f"logging_files: names must be among {', '.join(shipped)}, got {sorted(unknown)}")
    cid = spec.cluster_id
    conf_file = configuration_file_name(spec.version)
    conf_data = {name: logging_files[name] for name in shipped if name in logging_files}
    configuration = cluster_configuration(spec)
    conf_data[conf_file] = serialise_configuration(configuration, spec.version)
    # The client's configuration also holds its conf dir ($internal.deployment.config-dir), which it does not ship.
    objects = [_deployment(spec, list(conf_data), len(configuration) + 1)]
    if spec.ha == "none":
        objects.append(_internal_service(spec))
    objects.append(_rest_service(spec))
    objects.append(_config_map(config_map_name(cid), cid, conf_data))
    if spec.taskmanager_pod_template is not None:
        template = yaml.safe_dump(dict(spec.taskmanager_pod_template), sort_keys=False)
        objects.append(_config_map(pod_template_config_map_name(cid), cid, {TASKMANAGER_POD_TEMPLATE_FILE: template}))
    return objects


def with_owner_references(objects: list[dict[str, Any]], deployment_uid: str) -> list[dict[str, Any]]:
    """Copies of ``objects`` where every object but the Deployment is owned by it, as Flink sets it."""
    deployment = objects[0]
    owner = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
        "uid": deployment_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    owned = [copy.deepcopy(obj) for obj in objects[1:]]
    for obj in owned:
        obj["metadata"]["ownerReferences"] = [dict(owner)]
    return [copy.deepcopy(deployment), *owned]


def _deployment(spec: FlinkApplicationSpec, conf_items: list[str], configuration_size: int) -> dict[str, Any]:
    cid = spec.cluster_id
    labels = {**spec.jobmanager_labels, **selector_labels(cid)}
    metadata: dict[str, Any] = {"labels": labels, "name": cid}
    pod_metadata: dict[str, Any] = {"labels": dict(labels)}
    if spec.jobmanager_annotations:
        metadata["annotations"] = dict(spec.jobmanager_annotations)
        pod_metadata["annotations"] = dict(spec.jobmanager_annotations)
    mebibytes = memory_mebibytes(spec.jobmanager_memory)
    memory, memory_limit = f"{mebibytes}Mi", f"{memory_limit_mebibytes(spec, mebibytes)}Mi"
    cpu = repr(float(spec.jobmanager_cpu if spec.jobmanager_cpu is not None else 1.0))
    # InitJobManagerDecorator: containerized.master.env.*, the pod IP, FLINK_LOG_DIR; then EnvSecretsDecorator.
    log_dir = conf_value(spec, LOG_DIR)
    start = f"kubernetes-jobmanager.sh kubernetes-application {conf_value(spec, ENTRYPOINT_ARGS) or ''}"
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if spec.version.at_least(1, 19):
        mounts.append({"mountPath": artifacts_dir(spec), "name": "user-artifacts-volume"})
        volumes.append({"emptyDir": {}, "name": "user-artifacts-volume"})
    for secret, path in spec.secret_mounts.items():  # Flink's MountSecretsDecorator
        mounts.append({"mountPath": path, "name": f"{secret}-volume"})
        volumes.append({"name": f"{secret}-volume", "secret": {"secretName": secret}})
    claims, read_only = persistent_volume_claims(spec)
    for volume, claim, path in claims:  # PersistentVolumeClaimMountDecorator (2.3+)
        mounts.append({"mountPath": path, "name": volume, "readOnly": read_only})
        volumes.append({"name": volume, "persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}})
    hadoop = hadoop_config_map(spec)
    if hadoop is not None:  # HadoopConfMountDecorator, with an existing ConfigMap
        mounts.append({"mountPath": HADOOP_CONF_DIR_IN_POD, "name": HADOOP_CONF_VOLUME})
        volumes.append({"configMap": {"name": hadoop}, "name": HADOOP_CONF_VOLUME})
    mounts.append({"mountPath": conf_dir(spec), "name": FLINK_CONFIG_VOLUME})
    volumes.append(
        {
            "configMap": {"items": [{"key": k, "path": k} for k in conf_items], "name": config_map_name(cid)},
            "name": FLINK_CONFIG_VOLUME,
        }
    )
    if spec.taskmanager_pod_template is not None:
        mounts.append({"mountPath": POD_TEMPLATE_DIR, "name": POD_TEMPLATE_VOLUME})
        item = {"key": TASKMANAGER_POD_TEMPLATE_FILE, "path": TASKMANAGER_POD_TEMPLATE_FILE}
        volumes.append({"configMap": {"items": [item], "name": pod_template_config_map_name(cid)},
                        "name": POD_TEMPLATE_VOLUME})
    on_host_network = host_network(spec)
    container = {
        "args": ["bash", "-c", start],  # CmdJobManagerDecorator
        "command": [conf_value(spec, ENTRY_PATH) or "/docker-entrypoint.sh"],
        "env": [
            *({"name": name, "value": value} for name, value in master_env(spec, configuration_size)),
            {"name": "_POD_IP_ADDRESS", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
            *([{"name": "FLINK_LOG_DIR", "value": log_dir}] if log_dir is not None else []),
            *({"name": entry["env"], "valueFrom": {"secretKeyRef": {"key": entry["key"], "name": entry["secret"]}}}
              for entry in spec.secret_env),  # Flink's EnvSecretsDecorator
            *([{"name": HADOOP_CONF_DIR_ENV, "value": HADOOP_CONF_DIR_IN_POD}] if hadoop is not None else []),
        ],
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "name": CONTAINER_NAME,
        # InitJobManagerDecorator: no container ports on the host network.
        **({} if on_host_network else {"ports": [
            {"containerPort": REST_PORT, "name": "rest"},
            {"containerPort": JOBMANAGER_RPC_PORT, "name": "jobmanager-rpc"},
            {"containerPort": BLOB_SERVER_PORT, "name": "blobserver"},
        ]}),
        "resources": {"limits": {"cpu": cpu_limit(spec), "memory": memory_limit},
                      "requests": {"cpu": cpu, "memory": memory}},
        "volumeMounts": mounts,
    }
    service_account = spec.service_account or "default"
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "dnsPolicy": "ClusterFirstWithHostNet" if on_host_network else "ClusterFirst",
        "hostNetwork": on_host_network,
        "serviceAccount": service_account,
        "serviceAccountName": service_account,
    }
    if spec.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in spec.image_pull_secrets]
    if spec.jobmanager_node_selector:
        pod_spec["nodeSelector"] = dict(spec.jobmanager_node_selector)
    if spec.jobmanager_tolerations:
        pod_spec["tolerations"] = [dict(t) for t in spec.jobmanager_tolerations]
    pod_spec["volumes"] = volumes
    pod = {"metadata": pod_metadata, "spec": pod_spec}
    if spec.jobmanager_pod_template is not None:
        pod = apply_pod_template(pod, spec.jobmanager_pod_template, spec.service_account is not None)
    if owner_references(spec):  # KubernetesJobManagerFactory: the Deployment's owners
        metadata["ownerReferences"] = owner_references(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": spec.jobmanager_replicas,
            "selector": {"matchLabels": selector_labels(cid)},
            "template": pod,
        },
    }


def _service_metadata(spec: FlinkApplicationSpec, name: str, annotations: str, labels: str) -> dict[str, Any]:
    """A Service's metadata: Flink's labels, then the option's labels, and the option's annotations."""
    metadata: dict[str, Any] = {"labels": {**common_labels(spec.cluster_id), **option_map(spec, labels)}, "name": name}
    if option_map(spec, annotations):
        metadata["annotations"] = option_map(spec, annotations)
    return metadata


def _internal_service(spec: FlinkApplicationSpec) -> dict[str, Any]:
    cid = spec.cluster_id
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _service_metadata(spec, cid, INTERNAL_SERVICE_ANNOTATIONS, INTERNAL_SERVICE_LABELS),
        "spec": {
            "clusterIP": "None",
            "ports": [
                {"name": "jobmanager-rpc", "port": JOBMANAGER_RPC_PORT},
                {"name": "blobserver", "port": BLOB_SERVER_PORT},
            ],
            "selector": selector_labels(cid),
        },
    }


def _rest_service(spec: FlinkApplicationSpec) -> dict[str, Any]:
    cid = spec.cluster_id
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _service_metadata(spec, rest_service_name(cid), REST_SERVICE_ANNOTATIONS, REST_SERVICE_LABELS),
        "spec": {
            "ports": [{"name": "rest", "port": REST_PORT, "targetPort": REST_PORT}],
            "selector": selector_labels(cid),
            "type": spec.rest_service_type,
        },
    }


def _config_map(name: str, cid: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": common_labels(cid), "name": name}, "data": data,
    }
