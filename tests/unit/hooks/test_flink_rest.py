"""The REST client against a real HTTPS server on loopback: CA bundles, client certificates, timeouts, failures.

Certificates are made with the real ``openssl`` CLI; the server is aiohttp with Python's ``ssl``. Every failure must
come back as a response (``status=None`` plus the reason), never as an exception, as the evaluator's contract says.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from airflow_flink_k8s.core.readiness import RestRequest, RestResponse
from airflow_flink_k8s.core.rest_endpoint import RestEndpoint
from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient, SyncFlinkRestClient

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


def _signed(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
             "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = _ca(directory, "flink-ca")
    server = _signed(directory, "jobmanager", ca, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    client = _signed(directory, "airflow", ca, "extendedKeyUsage=clientAuth\n")
    other = _ca(directory, "other-ca")
    return Pki(ca[0], server[0], server[1], client[0], client[1], other[0])


@dataclass
class Server:
    base_url: str


def _serve(pki: Pki, require_client_cert: bool) -> Iterator[Server]:
    async def config(request: web.Request) -> web.Response:
        return web.json_response({"flink-version": "2.3.0", "authorization": request.headers.get("Authorization"),
                                  "peer": bool(request.transport.get_extra_info("peercert"))})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)  # well past the 0.5 s client timeout; the module teardown waits for it
        return web.json_response({})

    async def html(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>bad gateway</html>", content_type="text/html")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.load_verify_locations(pki.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.add_routes([web.get("/config", config), web.get("/slow", slow), web.get("/html", html)])
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"https://127.0.0.1:{port}")
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def https(pki: Pki) -> Iterator[Server]:
    yield from _serve(pki, require_client_cert=False)


@pytest.fixture(scope="module")
def mutual_tls(pki: Pki) -> Iterator[Server]:
    yield from _serve(pki, require_client_cert=True)


def _get(endpoint: RestEndpoint, path: str, timeout: float = 5.0) -> RestResponse:
    with SyncFlinkRestClient(endpoint, timeout=timeout) as client:
        return client.fetch(RestRequest(path))


def test_https_with_the_ca_bundle_answers(https: Server, pki: Pki) -> None:
    response = _get(RestEndpoint(https.base_url, ca_file=str(pki.ca)), "/config")
    assert (response.status, response.body["flink-version"]) == (200, "2.3.0")


def test_an_untrusted_server_certificate_is_a_failed_answer_not_an_exception(https: Server, pki: Pki) -> None:
    for endpoint in (RestEndpoint(https.base_url), RestEndpoint(https.base_url, ca_file=str(pki.other_ca))):
        response = _get(endpoint, "/config")
        assert response.status is None
        assert "certificate verify failed" in response.error
    assert _get(RestEndpoint(https.base_url, verify=False), "/config").status == 200


def test_a_client_certificate_is_presented_when_given(mutual_tls: Server, pki: Pki) -> None:
    with_cert = RestEndpoint(mutual_tls.base_url, ca_file=str(pki.ca), client_cert=str(pki.client_cert),
                             client_key=str(pki.client_key))
    response = _get(with_cert, "/config")
    assert response.status == 200 and response.body["peer"] is True
    assert _get(RestEndpoint(mutual_tls.base_url, ca_file=str(pki.ca)), "/config").status is None


def test_timeouts_refusals_and_non_json_bodies_are_answers(https: Server, pki: Pki) -> None:
    endpoint = RestEndpoint(https.base_url, ca_file=str(pki.ca))
    slow = _get(endpoint, "/slow", timeout=0.5)
    assert slow.status is None and "Timeout" in slow.error
    html = _get(endpoint, "/html")
    assert (html.status, html.body) == (502, None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    refused = _get(RestEndpoint(f"http://127.0.0.1:{closed_port}"), "/config")
    assert refused.status is None and f"127.0.0.1:{closed_port}" in refused.error


def test_the_async_client_sends_the_endpoint_headers(pki: Pki, https: Server) -> None:
    async def fetch() -> object:
        async with FlinkRestClient(RestEndpoint(https.base_url, ca_file=str(pki.ca),
                                                headers={"Authorization": "Bearer t0k3n"})) as client:
            return (await client.fetch(RestRequest("/config"))).body

    assert asyncio.run(fetch())["authorization"] == "Bearer t0k3n"


def test_bad_settings_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValueError, match="timeout"):
        FlinkRestClient(RestEndpoint("http://127.0.0.1:1"), timeout=0)
    with pytest.raises(ValueError, match="client_key"):
        FlinkRestClient(RestEndpoint("https://127.0.0.1:1", client_key="/k.pem"))
