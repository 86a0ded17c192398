"""AWS API calls of one run, counted by moto's request recorder.

Each run signs with an access key of its own (`-e deployment_access_key=<key>`; the local cloud
accepts any key unless IAM is enforced), so the local cloud's own traffic (its metrics publisher)
and other runs do not count. The recorder keeps every request the server answers:
`/moto-api/recorder/start-recording`, `stop-recording`, `download-recording`.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections import Counter
from urllib.parse import parse_qs, urlparse

CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
# smithy-rpc-v2-cbor (CloudWatch in newer botocore): /service/<Service>/operation/<Action>
RPC_PATH = re.compile(r"/service/[^/]+/operation/([A-Za-z]+)")
S3_CONTROL = "/v20180820"  # S3 Control's REST paths (the account's Block Public Access), signed as s3
S3_SUBRESOURCES = (
    "tagging", "policy", "encryption", "publicAccessBlock", "ownershipControls", "versioning", "acl",
    "versions", "uploads", "location", "delete", "lifecycle", "cors", "website", "logging",
)  # fmt: skip


def _post(endpoint: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=b"", method="POST"), timeout=10).read()


def start(endpoint: str) -> None:
    """Forget what was recorded and record from now on."""
    _post(endpoint, "/moto-api/recorder/reset-recording")
    _post(endpoint, "/moto-api/recorder/start-recording")


def stop(endpoint: str, access_key: str) -> Counter[str]:
    """Stop recording; the calls signed with access_key, as "service:Action" -> count."""
    _post(endpoint, "/moto-api/recorder/stop-recording")
    with urllib.request.urlopen(f"{endpoint}/moto-api/recorder/download-recording", timeout=30) as response:
        lines = response.read().decode().splitlines()
    calls: Counter[str] = Counter()
    for line in lines:
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
        found = CREDENTIAL.search(headers.get("authorization", ""))
        if not found or found.group(1) != access_key:
            continue
        calls[f"{found.group(2)}:{action_of(entry, headers, found.group(2))}"] += 1
    return calls


def action_of(entry: dict, headers: dict[str, str], service: str) -> str:
    """The API action of a recorded request, as AWS names it (S3's REST calls by method and sub-resource)."""
    if "x-amz-target" in headers:
        return headers["x-amz-target"].rsplit(".", 1)[-1]
    url = urlparse(entry["url"])
    rpc = RPC_PATH.search(url.path)
    if rpc:
        return rpc.group(1)
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    action = parse_qs(body).get("Action") or parse_qs(url.query).get("Action")
    if action:
        return action[0]
    if service == "s3" and url.path.startswith(S3_CONTROL):  # the account's settings, not a bucket's
        return f"{entry['method']} S3Control{url.path[len(S3_CONTROL) :]}"
    if service == "s3":
        query = parse_qs(url.query, keep_blank_values=True)
        sub = next((name for name in S3_SUBRESOURCES if name in query), "")
        parts = url.path.strip("/").split("/", 1)
        target = "Object" if len(parts) > 1 and parts[1] else ("Bucket" if parts[0] else "Service")
        return f"{entry['method']} {target}{('?' + sub) if sub else ''}"
    return f"{entry['method']} {url.path}"


def summary(calls: Counter[str]) -> str:
    """'83 calls: ec2 40 (DescribeInstances 5, ...), s3 ...', services by count."""
    by_service: dict[str, Counter[str]] = {}
    for key, count in calls.items():
        service, _, action = key.partition(":")
        by_service.setdefault(service, Counter())[action] += count
    parts = []
    for service, actions in sorted(by_service.items(), key=lambda item: -sum(item[1].values())):
        detail = ", ".join(f"{action} {count}" for action, count in actions.most_common())
        parts.append(f"{service} {sum(actions.values())} ({detail})")
    return f"{sum(calls.values())} calls: " + "; ".join(parts)
