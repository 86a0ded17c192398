"""The local cloud's own API, beside AWS's: what only a local cloud can be asked.

POST /localcloud-api/alarms/evaluate   evaluate every alarm now, wait for the actions of the
                                       transitions, answer each alarm's state (JSON)
GET  /localcloud-api/outbox            the SNS deliveries kept in the outbox, newest first (JSON)
GET  /localcloud-api/faults            the fault rules, with how often each fired (localcloud/faults.py)
PUT  /localcloud-api/faults            replace them with the JSON list in the body
POST /localcloud-api/faults            add the JSON rule in the body
DELETE /localcloud-api/faults          remove them all
POST /localcloud-api/instances/<id>/drop  cut an instance's connections on a public port and drop
                                       the next ones: {"port": 22, "count": 1}

Every other request goes on to AWS's APIs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from .errors import LocalCloudError

PREFIX = "/localcloud-api/"


class LocalApi:
    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        evaluator: Any,
        transitions: Any,
        outbox: Any,
        faults: Any,
        cloud: Any,
    ):
        self.app = app
        self.evaluator = evaluator
        self.transitions = transitions
        self.outbox = outbox
        self.faults = faults
        self.cloud = cloud

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        route = (method, path[len(PREFIX) :].rstrip("/"))
        if route == ("POST", "alarms/evaluate"):
            return self._json(start_response, {"alarms": self._evaluate()})
        if route == ("GET", "outbox"):
            return self._json(start_response, {"messages": self.outbox.read()})
        if route[1] == "faults" or route[1].startswith("instances/"):
            try:
                return self._json(start_response, self._faults(method, route[1], _json_body(environ)))
            except (ValueError, LocalCloudError) as exc:
                return self._json(start_response, {"error": str(exc)}, "400 Bad Request")
        return self._json(start_response, {"error": f"no such local-cloud call: {method} {path}"}, "404 Not Found")

    def _faults(self, method: str, path: str, body: Any) -> dict[str, Any]:
        if path.startswith("instances/") and path.endswith("/drop") and method == "POST":
            instance_id = path.split("/")[1]
            body = body or {}
            cut = self.cloud.drop_connections(instance_id, int(body.get("port", 22)), int(body.get("count", 1)))
            return {"instance": instance_id, "cut": cut}
        if path != "faults":
            raise LocalCloudError(f"no such local-cloud call: {method} {path}")
        if method == "PUT":
            self.faults.replace(body)
        elif method == "POST":
            self.faults.add(body)
        elif method == "DELETE":
            self.faults.replace([])
        elif method != "GET":
            raise LocalCloudError(f"no such local-cloud call: {method} {path}")
        if method != "GET":
            self.faults.log(f"fault rules now: {json.dumps(self.faults.listed())}")
        return {"rules": self.faults.listed()}

    def _evaluate(self) -> list[dict[str, Any]]:
        self.evaluator.evaluate_all(force=True)
        deadline = time.monotonic() + 60
        while self.transitions.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.evaluator.states()

    @staticmethod
    def _json(start_response: Callable[..., Any], body: Any, status: str = "200 OK") -> list[bytes]:
        data = json.dumps(body, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def _json_body(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    return json.loads(data) if data.strip() else None
