"""Pure core: spec → Flink configuration → CLI argv / Kubernetes objects, HA leader parsing, readiness evaluation
and launch decisions. No I/O, no Airflow, no Kubernetes/ZooKeeper/HTTP client (an import contract enforces it)."""
