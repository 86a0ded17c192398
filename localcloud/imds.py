"""The instance metadata service, answering inside one instance at 169.254.169.254:80.

It follows EC2's IMDS: a session token from ``PUT /latest/api/token`` (IMDSv2), a 401 for
requests without a valid token when the instance's HttpTokens is ``required``, plain
IMDSv1 requests when it is ``optional``, directory listings, versioned paths
(``/2021-03-23/meta-data/...`` as cloud-init asks), ``user-data`` and the identity document.
Every value is read from moto's record of the instance at the time of the request.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"  # noqa: S105 - a header name
TOKEN_HEADER = "X-aws-ec2-metadata-token"  # noqa: S105 - a header name
MAX_TTL = 21600


class TokenStore:
    """IMDSv2 session tokens with their expiry times."""

    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, ttl: int) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
        with self._lock:
            now = time.monotonic()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + ttl
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()


def _user_data(instance: Any) -> bytes | None:
    if instance.user_data is None:
        return None
    raw = instance.user_data
    if isinstance(raw, list):  # older moto kept a list
        raw = raw[0] if raw else None
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    return base64.b64decode(str(raw))


def metadata_tree(instance: Any) -> dict[str, Any]:
    """The meta-data tree of one moto instance, as nested dicts of strings."""
    nic = instance.nics.get(0)
    subnet = nic.subnet if nic else None
    mac = nic.mac_address if nic else "02:00:00:00:00:00"
    private_ip = instance.private_ip or ""
    public_ip = instance.public_ip or ""
    region = instance.region_name
    local_hostname = instance.private_dns_name or ""
    groups = instance.security_groups or []
    key = instance.ec2_backend.key_pairs.get(instance.key_name) if instance.key_name else None

    mac_tree: dict[str, Any] = {
        "device-number": "0",
        "interface-id": nic.id if nic else "",
        "local-hostname": local_hostname,
        "local-ipv4s": private_ip,
        "mac": mac,
        "owner-id": instance.owner_id,
        "security-group-ids": "\n".join(g.id for g in groups),
        "security-groups": "\n".join(g.name for g in groups),
    }
    if subnet is not None:
        vpc = instance.ec2_backend.vpcs.get(subnet.vpc_id)
        mac_tree.update(
            {
                "subnet-id": subnet.id,
                "subnet-ipv4-cidr-block": subnet.cidr_block,
                "vpc-id": subnet.vpc_id,
                "vpc-ipv4-cidr-block": vpc.cidr_block if vpc else "",
                "vpc-ipv4-cidr-blocks": vpc.cidr_block if vpc else "",
            }
        )
    if public_ip:
        mac_tree["public-ipv4s"] = public_ip
        mac_tree["public-hostname"] = instance.public_dns_name or ""

    tree: dict[str, Any] = {
        "ami-id": instance.image_id,
        "ami-launch-index": str(instance.ami_launch_index),
        "ami-manifest-path": "(unknown)",
        "block-device-mapping": {"ami": "/dev/xvda", "root": "/dev/xvda"},
        "hostname": local_hostname,
        "instance-action": "none",
        "instance-id": instance.id,
        "instance-life-cycle": "on-demand",
        "instance-type": instance.instance_type,
        "local-hostname": local_hostname,
        "local-ipv4": private_ip,
        "mac": mac,
        "network": {"interfaces": {"macs": {mac: mac_tree}}},
        "placement": {
            "availability-zone": instance.placement.zone or "",
            "availability-zone-id": _zone_id(instance),
            "region": region,
        },
        "profile": "default-hvm",
        "reservation-id": _reservation_id(instance),
        "security-groups": "\n".join(g.name for g in groups),
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if public_ip:
        tree["public-ipv4"] = public_ip
        tree["public-hostname"] = instance.public_dns_name or ""
    if key is not None:
        tree["public-keys"] = {"0": {"openssh-key": key.public_key.strip() + f" {key.key_name}\n"}}
    if instance.metadata_options.instance_metadata_tags == "enabled":
        tree["tags"] = {"instance": {t["key"]: t["value"] for t in instance.get_tags()}}
    return tree


def _zone_id(instance: Any) -> str:
    zone = instance.placement.zone or ""
    suffix = zone[-1:] if zone else "a"
    return f"use1-az{ord(suffix) - ord('a') + 1}" if instance.region_name == "us-east-1" else ""


def _reservation_id(instance: Any) -> str:
    for reservation in instance.ec2_backend.reservations.values():
        if instance in reservation.instances:
            return reservation.id
    return ""


def identity_document(instance: Any) -> str:
    return json.dumps(
        {
            "accountId": instance.owner_id,
            "architecture": instance.architecture,
            "availabilityZone": instance.placement.zone,
            "imageId": instance.image_id,
            "instanceId": instance.id,
            "instanceType": instance.instance_type,
            "pendingTime": _iso(instance.launch_time),
            "privateIp": instance.private_ip,
            "region": instance.region_name,
            "version": "2017-09-30",
        },
        indent=2,
    )


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


def _listing(node: dict[str, Any], path: str) -> str:
    if path.rstrip("/").endswith("public-keys"):
        return "\n".join(f"{i}={_key_name(node[i])}" for i in sorted(node))
    return "\n".join(k + "/" if isinstance(v, dict) else k for k, v in node.items())


def _key_name(entry: dict[str, str]) -> str:
    return entry["openssh-key"].split()[-1] if entry.get("openssh-key") else ""


def resolve(instance: Any, path: str) -> tuple[int, str, str]:
    """Answer one GET path: (status, content type, body)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if not parts:
        return 200, "text/plain", "latest\n2021-03-23\n2009-04-04"
    version, rest = parts[0], parts[1:]
    if version != "latest" and not (len(version) == 10 and version[4] == "-" and version[7] == "-"):
        return 404, "text/plain", "Not Found"
    if not rest:
        return 200, "text/plain", "dynamic\nmeta-data\nuser-data"
    if rest[0] == "user-data" and len(rest) == 1:
        data = _user_data(instance)
        if data is None:
            return 404, "text/plain", "Not Found"
        return 200, "application/octet-stream", data.decode("utf-8", "replace")
    if rest[0] == "dynamic":
        if rest[1:] == ["instance-identity", "document"]:
            return 200, "text/plain", identity_document(instance)
        if rest[1:] in ([], ["instance-identity"]):
            return 200, "text/plain", "instance-identity/" if not rest[1:] else "document"
        return 404, "text/plain", "Not Found"
    if rest[0] != "meta-data":
        return 404, "text/plain", "Not Found"
    node: Any = metadata_tree(instance)
    for part in rest[1:]:
        if not isinstance(node, dict) or part not in node:
            return 404, "text/plain", "Not Found"
        node = node[part]
    if isinstance(node, dict):
        return 200, "text/plain", _listing(node, path)
    return 200, "text/plain", node


class MetadataHandler(BaseHTTPRequestHandler):
    server: MetadataServer
    server_version = "EC2ws"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        self.server.log(f"imds {self.server.instance_id}: {format % args}")

    def _send(
        self, status: int, body: str, content_type: str = "text/plain", extra: dict[str, str] | None = None
    ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_PUT(self) -> None:
        if self.path.split("?")[0] != "/latest/api/token":
            self._send(405 if self.path.startswith("/latest/meta-data") else 404, "")
            return
        if self.headers.get("X-Forwarded-For"):
            self._send(403, "Forbidden")
            return
        ttl = self.headers.get(TOKEN_TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TTL:
            self._send(400, "Bad Request")
            return
        token = self.server.tokens.issue(int(ttl))
        self._send(200, token, extra={TOKEN_TTL_HEADER: ttl})

    def do_GET(self) -> None:
        instance = self.server.get_instance()
        if instance is None:
            self._send(404, "Not Found")
            return
        options = instance.metadata_options
        if options.http_endpoint == "disabled":
            self._send(403, "Forbidden")
            return
        token = self.headers.get(TOKEN_HEADER)
        if token is not None and not self.server.tokens.valid(token):
            self._send(401, "Unauthorized")
            return
        if token is None and options.http_tokens == "required":
            self._send(401, "Unauthorized")
            return
        status, content_type, body = resolve(instance, self.path)
        self._send(status, body, content_type)

    do_HEAD = do_GET  # noqa: N815 - http.server dispatches on this name


class MetadataServer(ThreadingHTTPServer):
    """One instance's metadata server, serving on a socket made inside its namespace."""

    daemon_threads = True

    def __init__(
        self, sock: socket.socket, instance_id: str, get_instance: Callable[[], Any], log: Callable[[str], None]
    ):
        super().__init__(sock.getsockname()[:2], MetadataHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.instance_id = instance_id
        self.get_instance = get_instance
        self.tokens = TokenStore()
        self.log = log

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name=f"imds-{self.instance_id}", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def prefix_length(cidr: str) -> int:
    return ipaddress.IPv4Network(cidr).prefixlen
