"""Local sandbox: Kubernetes API emulator, local kubelet, ZooKeeper and Flink from PyPI, for development and tests."""
