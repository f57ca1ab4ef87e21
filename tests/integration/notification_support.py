"""Helpers for the notification tests: a recording WebSocket sender, the email queue in moto."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agents_meetings.notifications.websocket import ConnectionGone


@dataclass
class RecordingSender:
    """The ConnectionSender port in memory: frames by connection; ids in ``gone`` answer 410."""

    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)

    def post(self, connection_id: str, data: bytes) -> None:
        self.attempts[connection_id] = self.attempts.get(connection_id, 0) + 1
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.frames.setdefault(connection_id, []).append(json.loads(data))

    def close(self, connection_id: str) -> None:
        self.gone.add(connection_id)

    def notifications(self, connection_id: str) -> list[dict[str, Any]]:
        return [f["notification"] for f in self.frames.get(connection_id, []) if f["type"] == "notification"]


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
