"""The local cloud's own API, beside AWS's: what only a local cloud can be asked.

POST /localcloud-api/alarms/evaluate   evaluate every alarm now, wait for the actions of the
                                       transitions, answer each alarm's state (JSON)
GET  /localcloud-api/outbox            the SNS deliveries kept in the outbox, newest first (JSON)

Every other request goes on to AWS's APIs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "/localcloud-api/"


class LocalApi:
    def __init__(self, app: Callable[..., Iterable[bytes]], evaluator: Any, transitions: Any, outbox: Any):
        self.app = app
        self.evaluator = evaluator
        self.transitions = transitions
        self.outbox = outbox

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
        return self._json(start_response, {"error": f"no such local-cloud call: {method} {path}"}, "404 Not Found")

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
