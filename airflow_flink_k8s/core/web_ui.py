"""The Flink Web UI URL a person opens from the task's extra link (pure, no I/O).

The Kubernetes API server's service-proxy URL needs a bearer token, which a browser does not send, so a deployment
that exposes the REST service (an Ingress, a gateway, an authenticating proxy) gives a URL template instead: the
``web_ui_url_template`` operator argument, else the ``flink_web_ui_url_template`` extra of the Kubernetes
connection, e.g. ``https://flink.example.com/{namespace}/{cluster_id}/``. Placeholders are ``str.format`` fields
(``{{``/``}}`` for a literal brace); only the names in ``WEB_UI_PLACEHOLDERS`` are allowed. Without a template the
link is the service-proxy URL.
"""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from airflow_flink_k8s.core.errors import FlinkSpecError

#: The placeholders a Web UI URL template may use.
WEB_UI_PLACEHOLDERS = ("namespace", "cluster_id", "job_id")
#: The connection extra holding a template (on the ``kubernetes_conn_id`` connection).
CONNECTION_EXTRA = "flink_web_ui_url_template"
_SAMPLE = {"namespace": "ns", "cluster_id": "cid", "job_id": "0" * 32}


def check_web_ui_url_template(template: object, field_name: str = "web_ui_url_template") -> str:
    """Return ``template`` when it is a valid Web UI URL template, else raise ``FlinkSpecError`` naming
    ``field_name`` and the rule it breaks."""
    if not isinstance(template, str) or not template.strip():
        raise FlinkSpecError(field_name, "must be a non-empty URL template string", template)
    allowed = ", ".join("{" + name + "}" for name in WEB_UI_PLACEHOLDERS)
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as error:
        raise FlinkSpecError(field_name, f"is not a valid template ({error}; write {{{{ or }}}} for a literal "
                                         "brace)", template) from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in WEB_UI_PLACEHOLDERS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise FlinkSpecError(field_name, f"placeholder {shown} is not allowed: use only {allowed}", template)
    rendered = urlsplit(template.format(**_SAMPLE))
    if rendered.scheme not in ("http", "https") or not rendered.netloc or any(c.isspace() for c in template):
        raise FlinkSpecError(field_name, "must be an absolute http:// or https:// URL without spaces", template)
    return template


def web_ui_url(template: str, *, namespace: str, cluster_id: str, job_id: str | None) -> str | None:
    """``template`` with the cluster's values; None when it needs the job id and there is none."""
    if job_id is None and any(name == "job_id" for _, name, _, _ in string.Formatter().parse(template)):
        return None
    return template.format(namespace=namespace, cluster_id=cluster_id, job_id=job_id or "")
