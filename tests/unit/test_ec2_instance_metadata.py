"""library/ec2_instance_metadata.py against a stand-in metadata service on loopback (IMDSv2 rules:
a token from PUT /latest/api/token, then every read carries it)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

MAC = "0e:11:22:33:44:55"
TOKEN = "token-abc"
VALUES = {
    "mac": MAC,
    "instance-id": "i-0123456789abcdef0",
    "instance-type": "t3.nano",
    "ami-id": "ami-0abc",
    "placement/region": "us-east-1",
    "placement/availability-zone": "us-east-1b",
    f"network/interfaces/macs/{MAC}/subnet-id": "subnet-1",
    f"network/interfaces/macs/{MAC}/vpc-id": "vpc-1",
    "local-ipv4": "172.31.0.5",
    "public-ipv4": "54.0.0.1",
    "security-groups": "web-web\nextra",
}


class FakeImds(BaseHTTPRequestHandler):
    values: ClassVar[dict[str, str]] = {}
    reads: ClassVar[list[str]] = []

    def log_message(self, *_args):
        pass

    def _answer(self, status: int, body: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self):
        ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self._answer(200, TOKEN) if ok else self._answer(400)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self._answer(401)
        path = self.path.removeprefix("/latest/meta-data/")
        self.reads.append(path)
        return self._answer(200, self.values[path]) if path in self.values else self._answer(404)


@pytest.fixture
def imds():
    FakeImds.values, FakeImds.reads = dict(VALUES), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_values_the_page_shows_are_read_with_a_token(run_module_plain, imds):
    rc, result = run_module_plain("ec2_instance_metadata", endpoint=imds)
    assert rc == 0, result
    assert result["changed"] is False
    assert result["metadata"] == {
        "instance_id": "i-0123456789abcdef0", "instance_type": "t3.nano", "ami_id": "ami-0abc",
        "region": "us-east-1", "availability_zone": "us-east-1b", "subnet_id": "subnet-1", "vpc_id": "vpc-1",
        "private_ip": "172.31.0.5", "public_ip": "54.0.0.1", "security_groups": "web-web, extra",
    }  # fmt: skip
    assert len(FakeImds.reads) == 11  # the values and the MAC, nothing else


def test_an_instance_without_a_public_address_has_an_empty_one(run_module_plain, imds):
    del FakeImds.values["public-ipv4"]
    rc, result = run_module_plain("ec2_instance_metadata", endpoint=imds)
    assert rc == 0 and result["metadata"]["public_ip"] == ""


def test_a_missing_value_is_named(run_module_plain, imds):
    del FakeImds.values["placement/region"]
    rc, result = run_module_plain("ec2_instance_metadata", endpoint=imds)
    assert rc != 0 and "has no placement/region" in result["msg"]


def test_no_metadata_service_is_explained(run_module_plain):
    rc, result = run_module_plain("ec2_instance_metadata", endpoint="http://127.0.0.1:9", timeout=2)
    assert rc != 0 and "Could not reach the instance metadata service" in result["msg"]
