"""library/web_page_check.py against real servers on loopback: a page and its image over HTTP, and
a TLS port presenting a self-signed certificate. The expected fingerprint is computed here with
cryptography, not with the module's own code."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

IMAGE_URL_PATH = "/public/image.jpg"


class Site(BaseHTTPRequestHandler):
    page: ClassVar[str] = ""
    page_failures: ClassVar[int] = 0  # answer 503 this many times first
    image_type: ClassVar[str] = "image/jpeg"
    requests: ClassVar[list[str]] = []
    agents: ClassVar[list[str]] = []

    def log_message(self, *_args):
        pass

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.requests.append(self.path)
        self.agents.append(self.headers.get("User-Agent", ""))
        if self.path == IMAGE_URL_PATH:
            return self._answer(200, b"\xff\xd8\xff\xe0 jpeg", self.image_type)
        if Site.page_failures > 0:
            Site.page_failures -= 1
            return self._answer(503, b"starting", "text/plain")
        return self._answer(200, self.page.encode(), "text/html")


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def site():
    server = serve(ThreadingHTTPServer(("127.0.0.1", 0), Site))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    Site.page = f'<img src="{base}{IMAGE_URL_PATH}"> i-0123456789abcdef0'
    Site.page_failures, Site.image_type, Site.requests, Site.agents = 0, "image/jpeg", [], []
    yield {"url": f"{base}/", "image_url": f"{base}{IMAGE_URL_PATH}"}
    server.shutdown()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A TLS port on loopback presenting a self-signed certificate; yields (port, its SHA-256 fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serve(server)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":")
    yield server.server_address[1], fingerprint
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(run_module_plain, site, **options):
    args = {"url": site["url"], "contains": [site["image_url"], "i-0123456789abcdef0"], "image_url": site["image_url"]}
    return run_module_plain("web_page_check", **{**args, **options})


def test_page_image_and_certificate_pass_and_the_fingerprint_is_community_cryptos(run_module_plain, site, tls):
    port, fingerprint = tls
    rc, result = check(run_module_plain, site, certificate_host="127.0.0.1", certificate_port=port,
                       certificate_fingerprint=fingerprint.upper())  # fmt: skip
    assert rc == 0, result
    assert result["changed"] is False and result["problem"] == ""
    assert result["page"] == {"status": 200, "missing": [], "error": ""}
    assert result["image"]["content_type"] == "image/jpeg"
    assert result["certificate"] == {"fingerprint_sha256": fingerprint, "error": ""}  # lower case, colons
    # uri's User-Agent, which the monitoring's page-view count leaves out
    assert Site.agents and set(Site.agents) == {"ansible-httpget"}


def test_the_page_is_asked_again_until_it_answers(run_module_plain, site):
    Site.page_failures = 1
    rc, result = check(run_module_plain, site)
    assert rc == 0, result
    assert Site.requests.count("/") == 2


def test_a_page_that_never_answers_is_page_unreachable(run_module_plain, site):
    rc, result = check(run_module_plain, site, url=f"http://127.0.0.1:{closed_port()}/", wait=0)
    assert rc == 1
    assert result["problem"] == "page_unreachable"
    assert result["page"]["status"] == -1 and "refused" in result["page"]["error"].lower()
    assert "did not answer HTTP 200 within 0 s" in result["msg"]


def test_a_page_without_the_instance_is_page_content(run_module_plain, site):
    Site.page = "<html>another site</html>"
    rc, result = check(run_module_plain, site)
    assert rc == 1 and result["problem"] == "page_content"
    assert result["page"]["missing"] == [site["image_url"], "i-0123456789abcdef0"]


def test_an_image_url_that_is_not_an_image_is_image(run_module_plain, site):
    Site.image_type = "application/xml"
    rc, result = check(run_module_plain, site)
    assert rc == 1 and result["problem"] == "image"
    assert "(HTTP 200, application/xml)" in result["msg"]


def test_another_certificate_is_certificate(run_module_plain, site, tls):
    port, _fingerprint = tls
    rc, result = check(run_module_plain, site, certificate_host="127.0.0.1", certificate_port=port,
                       certificate_fingerprint="00:" * 31 + "00")  # fmt: skip
    assert rc == 1 and result["problem"] == "certificate"
    assert result["certificate"]["fingerprint_sha256"] in result["msg"]


def test_a_closed_certificate_port_is_reported_not_failed(run_module_plain, site):
    rc, result = check(run_module_plain, site, certificate_host="127.0.0.1", certificate_port=closed_port(),
                       certificate_fingerprint="00:" * 31 + "00")  # fmt: skip
    assert rc == 0, result
    assert result["certificate"]["fingerprint_sha256"] == ""
    assert "refused" in result["certificate"]["error"].lower()
