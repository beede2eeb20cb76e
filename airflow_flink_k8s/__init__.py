"""Launch Apache Flink application clusters natively on Kubernetes from Airflow.

The names exported here are the pure core: importing this package never imports ``kubernetes``,
``kazoo`` or an HTTP client, so DAG files stay cheap to parse.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
