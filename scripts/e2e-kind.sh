#!/usr/bin/env bash
# End-to-end run of example_dags/flink_state_machine.py against a real Kubernetes cluster (kind) with the
# official flink:2.3.0 image and its bundled StateMachineExample.jar.
#
# NOT run in CI here: this machine has no Docker engine. It is for users who have Docker, kind and kubectl.
#
# It creates a kind cluster (and installs nothing else into it), a namespace, the Airflow and Flink service
# accounts with the Roles from docs/rbac/, a kubeconfig that authenticates as the Airflow service account (so the
# run exercises the minimal Role), and runs `airflow dags test flink_state_machine` with Kubernetes HA.
# The cluster is deleted on exit unless KEEP_CLUSTER=1.
#
# Environment: CLUSTER_NAME (default airflow-flink-e2e), NAMESPACE (default flink-e2e), FLINK_IMAGE (default
# flink:2.3.0), FLINK_VERSION (default 2.3), PYTHON (default .venv/bin/python), KEEP_CLUSTER.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_NAME="${CLUSTER_NAME:-airflow-flink-e2e}"
NAMESPACE="${NAMESPACE:-flink-e2e}"
FLINK_IMAGE="${FLINK_IMAGE:-flink:2.3.0}"
FLINK_VERSION="${FLINK_VERSION:-2.3}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
JAR_URI="local:///opt/flink/examples/streaming/StateMachineExample.jar"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' not found on PATH. $2" >&2; exit 1; }
}
need docker "Install Docker: https://docs.docker.com/engine/install/"
need kind "Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "Install kubectl: https://kubernetes.io/docs/tasks/tools/"
docker info >/dev/null 2>&1 || { echo "error: the Docker engine is not reachable (is it running? may you use it?)" >&2; exit 1; }
[ -x "$PYTHON" ] || { echo "error: $PYTHON not found; run 'make test' or 'make demo' once to create .venv" >&2; exit 1; }
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  echo "error: a kind cluster named $CLUSTER_NAME exists already; delete it or set CLUSTER_NAME" >&2; exit 1
fi

WORK="$(mktemp -d -t airflow-flink-e2e.XXXXXX)"
cleanup() {
  status=$?
  if [ "${KEEP_CLUSTER:-0}" = "1" ]; then
    echo "keeping kind cluster $CLUSTER_NAME (kind delete cluster --name $CLUSTER_NAME) and $WORK"
  else
    kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
    if [ "$status" -eq 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK" >&2; fi
  fi
  exit "$status"
}
trap cleanup EXIT

echo "== kind cluster $CLUSTER_NAME"
kind create cluster --name "$CLUSTER_NAME" --wait 120s
ADMIN_KUBECONFIG="$WORK/admin.kubeconfig"
kind get kubeconfig --name "$CLUSTER_NAME" >"$ADMIN_KUBECONFIG"
k() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# The example DAG keeps the reference command's node selector and pull secret.
k label nodes --all kubernetes.io/role=flink-node --overwrite

echo "== image $FLINK_IMAGE"
docker pull "$FLINK_IMAGE"
kind load docker-image "$FLINK_IMAGE" --name "$CLUSTER_NAME"

echo "== namespace, service accounts and RBAC"
k create namespace "$NAMESPACE"
k -n "$NAMESPACE" create secret docker-registry docker-registry-test \
  --docker-server=example.invalid --docker-username=unused --docker-password=unused
k -n "$NAMESPACE" create serviceaccount airflow
k -n "$NAMESPACE" create serviceaccount flink
k -n "$NAMESPACE" apply -f "$REPO/docs/rbac/airflow-native-kubernetes-ha.yaml" -f "$REPO/docs/rbac/flink-jobmanager.yaml"
k -n "$NAMESPACE" create rolebinding airflow-flink \
  --role=airflow-flink-native-kubernetes-ha --serviceaccount="$NAMESPACE:airflow"
k -n "$NAMESPACE" create rolebinding flink-jobmanager --role=flink-jobmanager --serviceaccount="$NAMESPACE:flink"

echo "== kubeconfig for the airflow service account"
SERVER="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$WORK/ca.crt"
TOKEN="$(k -n "$NAMESPACE" create token airflow --duration=2h)"
AIRFLOW_KUBECONFIG="$WORK/airflow.kubeconfig"
kc() { kubectl --kubeconfig "$AIRFLOW_KUBECONFIG" "$@"; }
kc config set-cluster kind --server="$SERVER" --certificate-authority="$WORK/ca.crt" --embed-certs=true >/dev/null
kc config set-credentials airflow --token="$TOKEN" >/dev/null
kc config set-context airflow --cluster=kind --user=airflow --namespace="$NAMESPACE" >/dev/null
kc config use-context airflow >/dev/null
chmod 600 "$AIRFLOW_KUBECONFIG"
kc auth can-i create deployments.apps -n "$NAMESPACE" >/dev/null

echo "== airflow dags test flink_state_machine"
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/example_dags"
export AIRFLOW_CONN_KUBERNETES_DEFAULT="{\"conn_type\": \"kubernetes\", \"extra\": {\"kube_config_path\": \"$AIRFLOW_KUBECONFIG\"}}"
"$PYTHON" -m airflow db migrate >"$WORK/airflow-db.log" 2>&1 \
  || { echo "error: airflow db migrate failed; see $WORK/airflow-db.log" >&2; exit 1; }
CONF="$(cat <<JSON
{"namespace": "$NAMESPACE", "image": "$FLINK_IMAGE", "jar_uri": "$JAR_URI",
 "flink_version": "$FLINK_VERSION", "ha": "kubernetes",
 "ha_storage_dir": "file:///tmp/flink/ha", "checkpoint_base_dir": "file:///tmp/flink/checkpoints"}
JSON
)"
set -o pipefail
if ! "$PYTHON" -m airflow dags test flink_state_machine --conf "$CONF" 2>&1 | tee "$WORK/dags-test.log"; then
  echo "error: airflow dags test failed; log: $WORK/dags-test.log" >&2
  k -n "$NAMESPACE" get all,configmaps -o wide >&2 || true
  exit 1
fi

echo "== Flink objects"
k -n "$NAMESPACE" get deployments,services,configmaps,pods -l app=state-machine-cluster
echo "== e2e passed"
