"""Counter storage behind one small interface: DynamoDB (one atomic UpdateItem per decision) and
an in-process dictionary (RATE_LIMIT_STORAGE=memory: the local runtime, single-process use).

A caller's item holds each window's count as attribute ``w<window index>``. Taking a request is one
UpdateItem: ``ADD`` 1 to this window (only while it is below the limit, so refused requests do not
inflate it), drop the window before the previous one, push the TTL out, and return the whole item,
whose previous-window count the sliding window needs. A refused update returns the item as it was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from agents_meetings.conditions import is_condition_failure
from agents_meetings.tables import RateLimitCounterModel


class RateLimitStoreError(Exception):
    """The counter store could not answer (the caller fails open)."""


@dataclass(frozen=True)
class Counts:
    """This window's count (including the request, if ``taken``) and the previous window's."""

    current: int
    previous: int
    taken: bool


def attribute(window: int) -> str:
    return f"w{window}"


class CounterStore(Protocol):
    def take(self, key: str, window: int, cap: int, expires_at: int) -> Counts:
        """Count one request in ``window`` unless the window already holds ``cap``."""
        ...

    def add(self, key: str, window: int, expires_at: int) -> Counts: ...

    def peek(self, key: str, window: int) -> Counts: ...

    def delete(self, key: str) -> None: ...


def _counts(item: dict[str, Any] | None, window: int, taken: bool) -> Counts:
    item = item or {}

    def number(name: str) -> int:
        value = item.get(name)
        return int(value["N"]) if value else 0

    return Counts(current=number(attribute(window)), previous=number(attribute(window - 1)), taken=taken)


class DynamoDBCounterStore:
    """The cloud store. Speaks to DynamoDB through the botocore client of pynamodb's connection (one
    client per container): the per-window attribute names are dynamic, which a model cannot declare."""

    def _client_and_table(self) -> tuple[Any, str]:
        connection = RateLimitCounterModel._get_connection()
        return connection.connection.client, RateLimitCounterModel.Meta.table_name

    def take(self, key: str, window: int, cap: int, expires_at: int) -> Counts:
        client, table = self._client_and_table()
        try:
            answer = client.update_item(
                TableName=table,
                Key={"key": {"S": key}},
                UpdateExpression="ADD #cur :one SET #exp = :exp REMOVE #old",
                ConditionExpression="attribute_not_exists(#cur) OR #cur < :cap",
                ExpressionAttributeNames={
                    "#cur": attribute(window),
                    "#exp": "expires_at",
                    "#old": attribute(window - 2),
                },
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":exp": {"N": str(expires_at)},
                    ":cap": {"N": str(cap)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            if is_condition_failure(exc):
                return _counts(response.get("Item"), window, taken=False)
            raise RateLimitStoreError(str(exc)) from exc
        return _counts(answer.get("Attributes"), window, taken=True)

    def add(self, key: str, window: int, expires_at: int) -> Counts:
        client, table = self._client_and_table()
        try:
            answer = client.update_item(
                TableName=table,
                Key={"key": {"S": key}},
                UpdateExpression="ADD #cur :one SET #exp = :exp",
                ExpressionAttributeNames={"#cur": attribute(window), "#exp": "expires_at"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":exp": {"N": str(expires_at)}},
                ReturnValues="ALL_NEW",
            )
        except Exception as exc:
            raise RateLimitStoreError(str(exc)) from exc
        return _counts(answer.get("Attributes"), window, taken=True)

    def peek(self, key: str, window: int) -> Counts:
        client, table = self._client_and_table()
        try:
            answer = client.get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True)
        except Exception as exc:
            raise RateLimitStoreError(str(exc)) from exc
        return _counts(answer.get("Item"), window, taken=False)

    def delete(self, key: str) -> None:
        client, table = self._client_and_table()
        try:
            client.delete_item(TableName=table, Key={"key": {"S": key}})
        except Exception as exc:
            raise RateLimitStoreError(str(exc)) from exc


class MemoryCounterStore:
    """Same semantics in one process; expired windows are dropped as keys are touched."""

    def __init__(self) -> None:
        self._windows: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()

    def _item(self, key: str, window: int) -> dict[int, int]:
        windows = self._windows.setdefault(key, {})
        for stale in [w for w in windows if w < window - 1]:
            del windows[stale]
        return windows

    def take(self, key: str, window: int, cap: int, expires_at: int) -> Counts:
        with self._lock:
            windows = self._item(key, window)
            current = windows.get(window, 0)
            if current >= cap:
                return Counts(current, windows.get(window - 1, 0), taken=False)
            windows[window] = current + 1
            return Counts(current + 1, windows.get(window - 1, 0), taken=True)

    def add(self, key: str, window: int, expires_at: int) -> Counts:
        with self._lock:
            windows = self._item(key, window)
            windows[window] = windows.get(window, 0) + 1
            return Counts(windows[window], windows.get(window - 1, 0), taken=True)

    def peek(self, key: str, window: int) -> Counts:
        with self._lock:
            windows = self._windows.get(key, {})
            return Counts(windows.get(window, 0), windows.get(window - 1, 0), taken=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
