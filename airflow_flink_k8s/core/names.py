"""Names Flink and this provider give to Kubernetes objects, labels, annotations, ports and mount paths: each
defined once, here. Flink's own names are the ones its native Kubernetes client uses (1.13 to 2.3)."""

from __future__ import annotations

from airflow_flink_k8s.core.versions import FlinkVersion

# ----------------------------------------------------------------- HA modes
#: ``ha`` values a launch accepts; a wait needs leader data, so it accepts the HA ones only.
HA_MODES = ("none", "kubernetes", "zookeeper")
LEADER_HA_MODES = ("kubernetes", "zookeeper")

# ----------------------------------------------------------------- Flink's object names
CONTAINER_NAME = "flink-main-container"
#: The label every object of a native Flink cluster carries (its HA ConfigMaps too, in every version).
NATIVE_TYPE = "flink-native-kubernetes"
NATIVE_TYPE_SELECTOR = f"type={NATIVE_TYPE}"


def config_map_name(cluster_id: str) -> str:
    """``flink-config-<cid>``: the cluster's Flink configuration and logging files."""
    return f"flink-config-{cluster_id}"


def rest_service_name(cluster_id: str) -> str:
    """``<cid>-rest``: the Service Flink's client creates for the REST API."""
    return f"{cluster_id}-rest"


def pod_template_config_map_name(cluster_id: str) -> str:
    """``pod-template-<cid>``: the TaskManager pod template the client ships."""
    return f"pod-template-{cluster_id}"


def cluster_config_map_name(cluster_id: str) -> str:
    """``<cid>-cluster-config-map``: Kubernetes HA leader data (1.15+)."""
    return f"{cluster_id}-cluster-config-map"


def legacy_leader_config_map_name(cluster_id: str, component: str) -> str:
    """``<cid>-<component>-leader``: Kubernetes HA leader data of one component (1.13-1.14; a job's component is
    ``<job-id>-jobmanager``)."""
    return f"{cluster_id}-{component}-leader"


def leader_config_map_name(cluster_id: str, flink_version: str, component: str = "restserver") -> str:
    """The ConfigMap holding ``component``'s leader in that Flink version: ``<cid>-cluster-config-map`` (1.15+),
    else ``<cid>-<component>-leader``."""
    if FlinkVersion.parse(flink_version).at_least(1, 15):
        return cluster_config_map_name(cluster_id)
    return legacy_leader_config_map_name(cluster_id, component)


def selector_labels(cluster_id: str) -> dict[str, str]:
    """Labels selecting the JobManager pods of ``cluster_id``."""
    return {"app": cluster_id, "component": "jobmanager", "type": NATIVE_TYPE}


def common_labels(cluster_id: str) -> dict[str, str]:
    """Labels on every object of the cluster (Services, ConfigMaps)."""
    return {"app": cluster_id, "type": NATIVE_TYPE}


def label_selector(labels: dict[str, str]) -> str:
    """``k=v,k=v`` for a label selector query."""
    return ",".join(f"{key}={value}" for key, value in labels.items())


def cluster_pods_selector(cluster_id: str) -> str:
    """Every pod of the cluster (JobManager and TaskManagers)."""
    return label_selector(common_labels(cluster_id))


def jobmanager_pods_selector(cluster_id: str) -> str:
    """The JobManager pods of the cluster."""
    return label_selector(selector_labels(cluster_id))


def taskmanager_pods_selector(cluster_id: str) -> str:
    """The TaskManager pods Flink's ResourceManager created for the cluster."""
    return label_selector({**common_labels(cluster_id), "component": "taskmanager"})


# ----------------------------------------------------------------- ports and paths in the pod
REST_PORT, JOBMANAGER_RPC_PORT, BLOB_SERVER_PORT, TASKMANAGER_RPC_PORT = 8081, 6123, 6124, 6122
FLINK_CONF_DIR_IN_POD = "/opt/flink/conf"
#: Volume names of Flink's pod decorators: the Flink configuration and the TaskManager pod template.
FLINK_CONFIG_VOLUME, POD_TEMPLATE_VOLUME = "flink-config-volume", "pod-template-volume"
USER_ARTIFACTS_DIR_IN_POD = "/opt/flink/artifacts"
POD_TEMPLATE_DIR = "/opt/flink/pod-template"
#: Where Flink mounts its own volumes; a Secret cannot be mounted there too.
FLINK_MOUNT_PATHS = (FLINK_CONF_DIR_IN_POD, USER_ARTIFACTS_DIR_IN_POD, POD_TEMPLATE_DIR)
#: The Flink distribution in the image (scripts, jars, plugins; the log dir it writes): no volume may hide one.
FLINK_DIST_DIRS = ("/opt/flink/bin", "/opt/flink/lib", "/opt/flink/opt", "/opt/flink/plugins", "/opt/flink/log")

# ----------------------------------------------------------------- this provider's marks
ANNOTATION_PREFIX = "airflow-flink-k8s.apache.org"
ANNOTATION_JOB_ID = f"{ANNOTATION_PREFIX}/job-id"
ANNOTATION_SPEC_HASH = f"{ANNOTATION_PREFIX}/spec-hash"
ANNOTATION_RUN = f"{ANNOTATION_PREFIX}/run"
ANNOTATION_TRY = f"{ANNOTATION_PREFIX}/try-number"
#: The uids of the ownerReferences the launch itself gave the Deployment (``kubernetes.jobmanager.owner.reference``),
#: as a JSON list: a controller among them is the user's choice, not another controller's claim.
ANNOTATION_OWNER_UIDS = f"{ANNOTATION_PREFIX}/owner-uids"
ANNOTATION_LOCK_EXPIRES = f"{ANNOTATION_PREFIX}/lock-expires"
LAUNCH_LOCK_PREFIX = "flink-launch-lock-"
#: Marks the ConfigMap that records an unfinished ``if_exists="upgrade"`` of the cluster id it names.
ANNOTATION_UPGRADE_OF = f"{ANNOTATION_PREFIX}/upgrade-of"
UPGRADE_RECORD_PREFIX = "flink-upgrade-"
#: The key of the upgrade record's JSON in that ConfigMap's data.
UPGRADE_RECORD_KEY = "upgrade.json"


def launch_lock_name(cluster_id: str) -> str:
    """The cli launcher's lock ConfigMap (no ``app`` label, so HA clean-up never selects it)."""
    return f"{LAUNCH_LOCK_PREFIX}{cluster_id}"


def upgrade_record_name(cluster_id: str) -> str:
    """The ConfigMap recording an unfinished upgrade of the cluster (owned by nothing, so it outlives the old
    Deployment; no ``app`` label, so HA clean-up never selects it)."""
    return f"{UPGRADE_RECORD_PREFIX}{cluster_id}"


def owned_object_names(cluster_id: str) -> tuple[tuple[str, str], ...]:
    """(kind, name) of what a launch creates: the Deployment and the objects it owns."""
    return (("Deployment", cluster_id), ("Service", rest_service_name(cluster_id)),
            ("ConfigMap", config_map_name(cluster_id)))


def service_rest_url(cluster_id: str, namespace: str, scheme: str = "http", port: int = REST_PORT) -> str:
    """REST through cluster DNS: ``http://<cid>-rest.<ns>:8081``."""
    return f"{scheme}://{rest_service_name(cluster_id)}.{namespace}:{port}"
