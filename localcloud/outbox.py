"""Where the local cloud's SNS deliveries to people and web hooks go: its outbox.

On AWS a topic mails its e-mail subscribers and POSTs to its HTTP/HTTPS ones. Nothing may leave
this machine, so the local cloud keeps those deliveries in an outbox instead (`<home>/outbox.jsonl`,
one JSON object a line; `localcloud outbox` lists them, newest first), including the subscription
confirmation AWS sends first; the local cloud confirms such subscriptions itself. moto would POST
to the endpoint for real: that never happens here. SQS and Lambda subscribers receive the message
for real, as moto delivers it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HELD = ("email", "email-json", "http", "https", "sms", "application", "firehose")


class Outbox:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def add(self, **message: Any) -> None:
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), **message}
        line = json.dumps(entry, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)

    def read(self) -> list[dict[str, Any]]:
        """Every message, newest first."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in reversed(lines) if line.strip()]


def install(outbox: Outbox) -> None:
    from moto.sns.models import SNSBackend, Subscription

    publish = Subscription.publish
    subscribe = SNSBackend.subscribe

    def _publish(self: Any, message: str, message_id: str, subject: str | None = None, **kwargs: Any) -> None:
        if self.protocol not in HELD:
            return publish(self, message, message_id, subject=subject, **kwargs)
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        body = message
        if self.protocol in ("email-json", "http", "https"):
            body = json.dumps(self.get_post_data(message, message_id, subject), indent=2)
        outbox.add(
            kind="Notification", protocol=self.protocol, endpoint=self.endpoint, topic_arn=self.topic.arn,
            message_id=message_id, subject=subject or "", body=body,
        )  # fmt: skip
        return None

    def _subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str):
        known = self._find_subscription(topic_arn, endpoint, protocol)
        subscription = subscribe(self, topic_arn, endpoint, protocol)
        if known is None and protocol in HELD:
            outbox.add(
                kind="SubscriptionConfirmation", protocol=protocol, endpoint=endpoint, topic_arn=topic_arn,
                subject="AWS Notification - Subscription Confirmation",
                body=(
                    f"You have chosen to subscribe to the topic:\n{topic_arn}\n\n"
                    "The local cloud confirmed this subscription itself: on AWS the subscriber confirms it "
                    "(the link in this message), and it stays 'pending confirmation' until then."
                ),
            )  # fmt: skip
        return subscription

    Subscription.publish = _publish
    SNSBackend.subscribe = _subscribe
