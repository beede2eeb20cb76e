"""The Flink REST client behind the readiness evaluator's ``fetch``: one async implementation, a thin sync facade.

:class:`FlinkRestClient` does GETs with aiohttp against a :class:`~airflow_flink_k8s.core.rest_endpoint.RestEndpoint`
(plain HTTP, TLS with a CA bundle and an optional client certificate, or the Kubernetes API server's service
proxy with its auth headers). :class:`SyncFlinkRestClient` runs the same coroutines on a private event loop for
``poke``. Both honour the evaluator's contract: HTTP and network failures come back as a
:class:`~airflow_flink_k8s.core.readiness.RestResponse`, never as an exception.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from airflow_flink_k8s.core import rest_api
from airflow_flink_k8s.core.readiness import RestRequest, RestResponse
from airflow_flink_k8s.core.rest_endpoint import RestEndpoint

if TYPE_CHECKING:
    import aiohttp

#: Seconds one GET may take, connection included, unless the caller says otherwise.
DEFAULT_TIMEOUT = 10.0


def ssl_context(endpoint: RestEndpoint) -> ssl.SSLContext | bool:
    """The TLS settings for ``endpoint``: its CA bundle and client certificate, or no verification at all.

    Returns ``True`` (aiohttp's default verification) when the endpoint names no TLS material.
    """
    if endpoint.client_key and not endpoint.client_cert:
        raise ValueError("client_key: given without client_cert")
    if not endpoint.verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif endpoint.ca_file or endpoint.client_cert:
        context = ssl.create_default_context(cafile=endpoint.ca_file)
    else:
        return True
    if endpoint.client_cert:
        context.load_cert_chain(endpoint.client_cert, endpoint.client_key)
    return context


class FlinkRestClient:
    """Async GETs on one JobManager REST endpoint; open it with ``async with`` or close it with :meth:`close`."""

    def __init__(self, endpoint: RestEndpoint, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout: must be > 0 seconds, got {timeout}")
        self.endpoint = endpoint
        self.timeout = timeout
        self._ssl = ssl_context(endpoint)
        self._session: aiohttp.ClientSession | None = None

    def _client_session(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=dict(self.endpoint.headers),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit_per_host=4),
            )
        return self._session

    async def fetch(self, request: RestRequest) -> RestResponse:
        """GET ``request.path``; any HTTP status is an answer, a network failure is ``status=None``."""
        return await self.send("GET", request.path)

    async def send(self, method: str, path: str, body: Any = None) -> RestResponse:
        """``method`` ``path`` with an optional JSON ``body``, under the same never-raise contract as ``fetch``."""
        import aiohttp

        url = self.endpoint.url(path)
        try:
            async with self._client_session().request(method, url, json=body,
                                                      headers={"Accept": "application/json"}) as response:
                text = await response.text(errors="replace")
                return RestResponse(response.status, _json_or_none(text))
        except (aiohttp.ClientError, TimeoutError, OSError, ssl.SSLError) as error:
            return RestResponse(None, error=f"{method} {url}: {type(error).__name__}: {error}".rstrip(": "))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


class SyncFlinkRestClient:
    """The blocking facade for ``poke``: :class:`FlinkRestClient` on an event loop of its own.

    Call it from a thread with no running event loop (an Airflow worker's task), and :meth:`close` it after use.
    """

    def __init__(self, endpoint: RestEndpoint, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._client = FlinkRestClient(endpoint, timeout=timeout)
        self._loop = asyncio.new_event_loop()

    @property
    def endpoint(self) -> RestEndpoint:
        return self._client.endpoint

    def fetch(self, request: RestRequest) -> RestResponse:
        return self._loop.run_until_complete(self._client.fetch(request))

    def send(self, method: str, path: str, body: Any = None) -> RestResponse:
        return self._loop.run_until_complete(self._client.send(method, path, body))

    def trigger_stop_with_savepoint(self, job_id: str, target_directory: str | None, drain: bool) -> RestResponse:
        """``POST /jobs/<id>/stop``: Flink answers 202 with the savepoint's trigger (``request-id``)."""
        return self.send("POST", rest_api.stop_with_savepoint_path(job_id),
                         {"targetDirectory": target_directory, "drain": drain})

    def savepoint_status(self, job_id: str, trigger_id: str) -> RestResponse:
        """``GET /jobs/<id>/savepoints/<trigger>``: whether the savepoint is done, where, or why it failed."""
        return self.send("GET", rest_api.savepoint_status_path(job_id, trigger_id))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.close())
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _json_or_none(text: str) -> Any:
    """The parsed body, or ``None`` when it is empty or not JSON (an HTML error page from a proxy, say)."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None
