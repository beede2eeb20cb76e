"""The "Flink Web UI" extra link on launch tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class FlinkWebUILink(BaseOperatorLink):
    """Opens the JobManager Web UI at the launch's ``web_ui_url``: the ``web_ui_url_template`` argument's (or the
    connection's ``flink_web_ui_url_template`` extra's) URL, else the API server's service-proxy URL
    (:mod:`airflow_flink_k8s.core.web_ui`)."""

    name = "Flink Web UI"
    XCOM_KEY: ClassVar[str] = "flink_web_ui_url"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=self.XCOM_KEY) or ""
