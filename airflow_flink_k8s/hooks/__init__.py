"""I/O adapters: Kubernetes, ZooKeeper, Flink REST and the Flink CLI."""
