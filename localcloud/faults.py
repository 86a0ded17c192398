"""Faults the local cloud injects into AWS's APIs, as AWS shows them every day.

In the spirit of LocalStack's chaos API and AWS Fault Injection Service: a list of rules, each
matching requests by service, operation, region and access key (each optional, `*` for any) and
answering them, instead of the API, with an error in that service's own protocol (the code, HTTP
status and message AWS uses), with a probability or for a number of requests, and optionally after
an added latency (a rule with latency and no error only slows the request down).

    {"service": "ec2", "operation": "RunInstances", "error": "throttle", "probability": 0.2}
    {"error": "internal", "probability": 0.05}
    {"service": "s3", "error": "throttle", "count": 3, "latency": 0.5}
    {"access_key": "AKIA...", "error": "expired", "after": 1765100000}

`error` is a kind (`throttle`, `internal`, `unavailable`, `expired`), spelled per service as AWS
spells it (KINDS), or an object {"code", "status", "message"} of one's own. `after` (epoch
seconds) makes a rule apply only from then on: an access key that expires at a set time.
Rules come from LOCALCLOUD_FAULTS (a JSON list) at start, and change at run time through the
local cloud's API (/localcloud-api/faults: GET, PUT replaces, POST adds, DELETE clears) and the
`localcloud faults` command. Every injected fault is logged ("fault: ...").

Requests without a signature (browsers loading the page's image) are never faulted: the faults
are the AWS APIs', which only signed clients call.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

# Signing names as boto3 clients name the services, so a rule may say either.
CLIENT_NAMES = {"monitoring": "cloudwatch", "elasticloadbalancing": "elbv2", "email": "ses"}
# Services whose JSON and CBOR protocols answer their query protocol's error codes (the
# x-amzn-query-error header): CloudWatch.
QUERY_COMPATIBLE = ("monitoring",)
# The sub-resources whose name S3's operations carry (GetBucketPolicy, PutObjectTagging...).
S3_SUBRESOURCES = ("tagging", "policy", "encryption", "publicAccessBlock", "versioning", "ownershipControls")


def _kind(code: str, status: int, message: str, json_code: str = "", s3_code: str = "") -> dict[str, Any]:
    return {"code": code, "status": status, "message": message, "json_code": json_code or code, "s3_code": s3_code}


# What AWS answers, per kind of fault: EC2's code (ec2), the query services' (autoscaling, elbv2,
# sns, sts, iam, cloudwatch), the JSON ones' (ssm, acm, kms, logs) and S3's, with its HTTP status.
KINDS: dict[str, dict[str, dict[str, Any]]] = {
    "throttle": {
        "ec2": _kind("RequestLimitExceeded", 503, "Request limit exceeded."),
        "query": _kind("Throttling", 400, "Rate exceeded"),
        "json": _kind("ThrottlingException", 400, "Rate exceeded"),
        "s3": _kind("SlowDown", 503, "Please reduce your request rate."),
    },
    "internal": {
        "ec2": _kind("InternalError", 500, "An internal error has occurred"),
        "query": _kind("InternalFailure", 500, "An internal error occurred"),
        "json": _kind("InternalFailure", 500, "An internal error occurred"),
        "s3": _kind("InternalError", 500, "We encountered an internal error. Please try again."),
    },
    "unavailable": {
        "ec2": _kind("Unavailable", 503, "The service is unavailable. Please try again shortly."),
        "query": _kind("ServiceUnavailable", 503, "Service is unavailable"),
        "json": _kind("ServiceUnavailableException", 503, "Service is unavailable"),
        "s3": _kind("ServiceUnavailable", 503, "Service is unable to handle request."),
    },
    "expired": {
        "ec2": _kind("ExpiredToken", 400, "The security token included in the request is expired"),
        "query": _kind("ExpiredToken", 403, "The security token included in the request is expired"),
        "json": _kind("ExpiredTokenException", 400, "The security token included in the request is expired"),
        "s3": _kind("ExpiredToken", 400, "The provided token has expired."),
    },
}


class FaultRuleError(ValueError):
    """A rule that cannot be used, and why."""


@dataclass
class Rule:
    service: str = "*"
    operation: str = "*"
    region: str = "*"
    access_key: str = "*"
    error: str | dict[str, Any] | None = None
    probability: float = 1.0
    count: int | None = None  # requests left to fault; None: no limit
    latency: float = 0.0
    after: float = 0.0
    injected: int = 0

    @classmethod
    def parse(cls, data: Any) -> Rule:
        if not isinstance(data, dict):
            raise FaultRuleError(f"a rule is a JSON object, got {data!r}")
        known = {"service", "operation", "region", "access_key", "error", "probability", "count", "latency", "after"}
        unknown = set(data) - known
        if unknown:
            raise FaultRuleError(f"unknown rule field(s) {sorted(unknown)}; known: {sorted(known)}")
        rule = cls(**data)
        if rule.error is None and not rule.latency:
            raise FaultRuleError("a rule needs an error (throttle, internal, unavailable, expired, or {code, status})")
        if isinstance(rule.error, str) and rule.error not in KINDS:
            raise FaultRuleError(f"error {rule.error!r} is not one of {sorted(KINDS)} nor a {{code, status}} object")
        if isinstance(rule.error, dict) and not {"code", "status"} <= set(rule.error):
            raise FaultRuleError("an error object needs a code and an HTTP status")
        if not 0 < float(rule.probability) <= 1:
            raise FaultRuleError(f"probability {rule.probability} is not in (0, 1]")
        if rule.count is not None and int(rule.count) < 1:
            raise FaultRuleError(f"count {rule.count} is not a positive number of requests")
        return rule

    def matches(self, call: Call) -> bool:
        services = {call.service, CLIENT_NAMES.get(call.service, call.service)}
        return (
            (self.service == "*" or self.service in services)
            and self.operation in ("*", call.operation)
            and self.region in ("*", call.region)
            and self.access_key in ("*", call.access_key)
            and time.time() >= self.after
            and self.count != 0
        )

    def as_dict(self) -> dict[str, Any]:
        """The rule as given, less the fields left at their defaults; with how often it fired."""
        shown = {k: v for k, v in self.__dict__.items() if v != getattr(Rule, k, None)}
        return {**shown, "injected": self.injected}


@dataclass
class Call:
    """What a signed request asks of AWS."""

    service: str
    operation: str
    region: str
    access_key: str
    protocol: str  # ec2, query, json, cbor or s3


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    log: Callable[[str], None] = print
    lock: threading.Lock = field(default_factory=threading.Lock)
    chance: Callable[[], float] = random.random

    @classmethod
    def from_json(cls, text: str, log: Callable[[str], None]) -> Faults:
        faults = cls(log=log)
        if text.strip():
            faults.replace(json.loads(text))
        return faults

    def replace(self, rules: Any) -> None:
        if not isinstance(rules, list):
            raise FaultRuleError("the faults are a JSON list of rules")
        parsed = [Rule.parse(r) for r in rules]
        with self.lock:
            self.rules = parsed

    def add(self, rule: Any) -> None:
        parsed = Rule.parse(rule)
        with self.lock:
            self.rules.append(parsed)

    def listed(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_dict() for r in self.rules]

    def choose(self, call: Call) -> Rule | None:
        """The first matching rule that fires for this call (its count spent), or None."""
        with self.lock:
            for rule in self.rules:
                if rule.matches(call) and self.chance() < float(rule.probability):
                    if rule.count is not None:
                        rule.count -= 1
                    rule.injected += 1
                    return rule
        return None


def call_of(environ: dict[str, Any]) -> Call | None:
    """The service, operation, region and key of a SigV4-signed request; None when unsigned.
    It may read the body of a form-encoded request (the query protocols), and puts it back."""
    scope = _credential_scope(environ)
    if scope is None:
        return None
    access_key, region, service = scope
    headers_target = environ.get("HTTP_X_AMZ_TARGET", "")
    path = environ.get("PATH_INFO", "/")
    if environ.get("HTTP_SMITHY_PROTOCOL", "").startswith("rpc-v2-cbor"):
        return Call(service, path.rstrip("/").rsplit("/", 1)[-1], region, access_key, "cbor")
    if headers_target:
        return Call(service, headers_target.rsplit(".", 1)[-1], region, access_key, "json")
    if service in ("s3", "s3-object-lambda") or environ.get("CONTENT_TYPE", "").startswith("application/xml"):
        return Call(service, _s3_operation(environ), region, access_key, "s3")
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action", [""])[0]
    if not action and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _body(environ)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return Call(service, action, region, access_key, "ec2" if service == "ec2" else "query")


def _credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        credential = unquote(parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0])
    parts = credential.strip().split("/")
    if len(parts) < 4:
        return None
    return parts[0], parts[2], parts[3]


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _s3_operation(environ: dict[str, Any]) -> str:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    bucket, _, key = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not bucket:
        return "ListBuckets"
    subresource = next((q for q in S3_SUBRESOURCES if q in query), "")
    noun = ("Object" if key else "Bucket") + subresource[:1].upper() + subresource[1:]
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if not key and not subresource and method == "GET":
        return "ListObjectsV2"
    if not key and not subresource and method == "PUT":
        return "CreateBucket"
    verb = {"GET": "Get", "HEAD": "Head", "PUT": "Put", "POST": "Put", "DELETE": "Delete"}.get(method, method.title())
    return verb + noun


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 256:
        return bytes([major << 5 | 24, length])
    return bytes([major << 5 | 25]) + length.to_bytes(2, "big")


def error_response(call: Call, code: str, status: int, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The HTTP status line, headers and body AWS answers with, in the call's protocol."""
    request_id = str(uuid.uuid4())
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}
    status_line = f"{status} {reason.get(status, 'Error')}"
    headers = [("x-amzn-RequestId", request_id)]
    kind = "Receiver" if status >= 500 else "Sender"
    if call.service in QUERY_COMPATIBLE:
        headers.append(("x-amzn-query-error", f"{code};{kind}"))
    if call.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", code)]
    elif call.protocol == "cbor":
        body = _cbor_head(5, 2) + _cbor_text("__type") + _cbor_text(code) + _cbor_text("message") + _cbor_text(message)
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    elif call.protocol == "ec2":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif call.protocol == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    else:
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    return status_line, headers, body


def spelled(rule: Rule, call: Call) -> tuple[str, int, str]:
    """The rule's error as the call's service spells it: (code, status, message)."""
    if isinstance(rule.error, dict):
        return str(rule.error["code"]), int(rule.error["status"]), str(rule.error.get("message", rule.error["code"]))
    family = {"json": "json", "ec2": "ec2", "s3": "s3"}.get(call.protocol, "query")
    if call.service in QUERY_COMPATIBLE:
        family = "query"
    kind = KINDS[str(rule.error)][family]
    code = kind["json_code"] if family == "json" else kind["code"]
    return code, int(kind["status"]), str(kind["message"])


class FaultInjector:
    """WSGI layer in front of the AWS APIs: a request a rule picks is answered with its error."""

    def __init__(self, app: Callable[..., Iterable[bytes]], faults: Faults):
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.faults.rules:
            return self.app(environ, start_response)
        call = call_of(environ)
        rule = self.faults.choose(call) if call is not None else None
        if rule is None:
            return self.app(environ, start_response)
        if rule.latency:
            time.sleep(float(rule.latency))
        where = f"{call.service}:{call.operation} in {call.region} by {call.access_key}"
        if rule.error is None:
            self.faults.log(f"fault: {where} delayed {rule.latency} s")
            return self.app(environ, start_response)
        code, status, message = spelled(rule, call)
        self.faults.log(f"fault: {where} answered {status} {code}")
        status_line, headers, body = error_response(call, code, status, message)
        start_response(status_line, headers)
        return [body]
