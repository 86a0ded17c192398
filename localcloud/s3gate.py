"""Anonymous S3 requests, judged by the bucket policy as S3 judges them.

moto answers an unsigned request (no Authorization header, no presigned query) almost as if
the owner had made it: anyone may list a bucket, put or delete objects in it. On AWS an
anonymous request is allowed only when the bucket policy grants the action to everyone
(Principal "*") on the resource, no statement denies it, and Block Public Access's
RestrictPublicBuckets (the account's or the bucket's) is off; otherwise S3 answers
403 AccessDenied. This WSGI layer in front of moto does the same, so a bucket policy that
opens too much, or too little, shows here as it would on AWS.

Statements with a Condition are not evaluated: an Allow with one is taken not to apply (the
deployment's policy has none). Requests are read path-style (`/<bucket>/<key>`), the form the
local endpoint uses; the moto-api paths and requests that name no bucket go through unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from . import config
from .awsrules import PUBLIC_PRINCIPALS, effective_block, statements
from .iam_policy import iam_match

# Sub-resources that change which action a request is (S3's "Actions, resources, and condition
# keys"): the object's and the bucket's. Any other query (versionId, prefix...) keeps the plain action.
OBJECT_SUBRESOURCES = {"tagging": "Tagging", "acl": "Acl", "retention": "Retention", "legal-hold": "LegalHold"}
BUCKET_SUBRESOURCES = {
    "policy": "Policy", "acl": "Acl", "tagging": "Tagging", "encryption": "Encryption",
    "publicAccessBlock": "PublicAccessBlock", "versioning": "Versioning", "cors": "Cors",
    "lifecycle": "Lifecycle", "logging": "Logging", "website": "Website", "ownershipControls": "OwnershipControls",
    "notification": "Notification", "location": "Location",
}  # fmt: skip
OBJECT_ACTIONS = {
    "GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "POST": "PutObject", "DELETE": "DeleteObject",
}  # fmt: skip
BUCKET_VERBS = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "POST": "Put", "DELETE": "Delete"}
ACCESS_DENIED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
    "<RequestId>{id}</RequestId><HostId>{id}</HostId></Error>"
)


def is_signed(environ: dict[str, Any]) -> bool:
    query = environ.get("QUERY_STRING", "")
    return "HTTP_AUTHORIZATION" in environ or "X-Amz-Signature=" in query or "Signature=" in query


def action_of(method: str, key: str, query: dict[str, list[str]]) -> str:
    """The IAM action S3 checks for an anonymous request."""
    if key:
        sub = next((name for q, name in OBJECT_SUBRESOURCES.items() if q in query), "")
        if sub:
            return f"s3:{BUCKET_VERBS.get(method, 'Put')}Object{sub}"
        return f"s3:{OBJECT_ACTIONS.get(method, 'PutObject')}"
    sub = next((name for q, name in BUCKET_SUBRESOURCES.items() if q in query), "")
    if sub:
        return f"s3:{BUCKET_VERBS.get(method, 'Put')}Bucket{sub}"
    if method in ("GET", "HEAD"):
        return "s3:ListBucketVersions" if "versions" in query else "s3:ListBucket"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObject"
    return "s3:DeleteBucket" if method == "DELETE" else "s3:CreateBucket"


def _matches(element: Any, value: str) -> bool:
    patterns = [element] if isinstance(element, str) else list(element or [])
    return any(iam_match(pattern, value) for pattern in patterns)


def allows_everyone(bucket: Any, action: str, resource: str) -> bool:
    """Whether the bucket lets an anonymous caller do action on resource."""
    allowed = False
    for statement in statements(bucket.policy):
        if statement.get("Principal") not in PUBLIC_PRINCIPALS:
            continue
        if not _matches(statement.get("Action"), action) or not _matches(statement.get("Resource"), resource):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or (statement.get("Effect") == "Allow" and not statement.get("Condition"))
    return allowed and not effective_block(bucket, "restrict_public_buckets")


def _bucket(name: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[config.ACCOUNT_ID]["aws"].buckets.get(name)


class AnonymousS3Gate:
    """WSGI middleware: refuses the anonymous S3 requests AWS would refuse, passes everything else."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: Callable[[str], None]):
        self.app = app
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if is_signed(environ) or method == "OPTIONS" or path.startswith("/moto-api"):
            return self.app(environ, start_response)
        bucket_name, _, key = path.lstrip("/").partition("/")
        if not bucket_name:
            return self.app(environ, start_response)
        bucket = _bucket(bucket_name)
        if bucket is None:
            if method in ("GET", "HEAD"):
                return self.app(environ, start_response)  # NoSuchBucket, as S3 says to anyone
            return self._deny(environ, start_response, method, f"s3:CreateBucket on {bucket_name}")
        key = unquote(key)
        action = action_of(method, key, parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        resource = f"arn:aws:s3:::{bucket_name}" + (f"/{key}" if key else "")
        if allows_everyone(bucket, action, resource):
            return self.app(environ, start_response)
        return self._deny(environ, start_response, method, f"{action} on {resource}")

    def _deny(self, environ: dict[str, Any], start_response: Callable[..., Any], method: str, what: str) -> list[bytes]:
        self.log(f"anonymous {what}: AccessDenied (no bucket policy statement grants it to everyone)")
        body = b"" if method == "HEAD" else ACCESS_DENIED.format(id=uuid.uuid4().hex[:16].upper()).encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
