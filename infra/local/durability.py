"""Durable state for the embedded AWS: a snapshot plus a short journal of effects.

moto keeps everything in memory. This module makes the data the platform stores survive Ctrl-C,
``kill -9`` and restart: DynamoDB items, S3 objects (with metadata, storage class and tags) and
SQS messages (so queued events are delivered after a crash too).

- ``DurableMotoApp`` wraps moto's WSGI app. Requests that change data, and every DynamoDB and S3
  request, run one at a time under one lock (moto is not safe under concurrent writes: a
  transaction deep-copies tables while another request changes them). After a request, what it
  changed is appended to the journal *before* the response goes out, so a 2xx means written.
- The journal holds effects, not requests: the item as it is after the write (or its deletion),
  the object as it is (its bytes in a content-addressed blob file), the message added, received or
  deleted. Replaying effects is exact whatever the order of concurrent requests, never regenerates
  ids (a multipart upload id, a receipt handle), and is fast: straight into moto's backends.
- ``Journal`` keeps generations: ``snapshot-N.jsonl`` (the whole state when generation N began,
  ending with a checksummed trailer) and ``journal-N.jsonl`` (effects since). Compaction rotates
  to N+1, writes the state as snapshot N+1 and drops generation N, so a restart reads the
  current data once plus a bounded journal, whatever the history.
- Restore never throws data away: a line it cannot read in the middle of a file stops the start
  with a message naming the file and line, and the files stay as they are. Only a torn last line
  (a write cut short by a crash, never acknowledged) is skipped, and its file kept aside.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("agents_meetings.local.durability")

# Effects are JSON objects with a kind "k".
DDB_PUT, DDB_DEL = "ddb", "ddb-del"
S3_PUT, S3_DEL = "s3", "s3-del"
SQS_ADD, SQS_RECV, SQS_DEL = "sqs", "sqs-recv", "sqs-del"
END = "end"

# DynamoDB write operations and where their keys are in the request.
_DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# SQS and EventBridge requests that add or remove messages run under the lock; ReceiveMessage does not
# (it long-polls), its effects (receive counts, moves to a dead-letter queue) are journaled all the same.
_LOCKED_TARGETS = {
    "AmazonSQS.SendMessage",
    "AmazonSQS.SendMessageBatch",
    "AmazonSQS.DeleteMessage",
    "AmazonSQS.DeleteMessageBatch",
    "AmazonSQS.PurgeQueue",
    "AWSEvents.PutEvents",
}


class CorruptJournal(RuntimeError):
    """A persisted file has a line that cannot be read: the local runtime refuses to start on it."""


class DurabilityMode:
    WRITE = "write"  # one write(2) per acknowledged request: survives Ctrl-C and kill -9
    FSYNC = "fsync"  # and fsync(2) before answering: survives a power cut too


class _Pending(threading.local):
    """Effects of the request this thread is serving (a thread serves one request at a time)."""

    effects: list[dict[str, Any]] | None = None
    s3_keys: set[tuple[str, str]] | None = None


class Journal:
    """Files of one data directory: generations of snapshot + journal, and S3 blobs by SHA-256."""

    def __init__(self, directory: Path, mode: str = DurabilityMode.WRITE):
        if mode not in (DurabilityMode.WRITE, DurabilityMode.FSYNC):
            raise ValueError(f"LOCAL_DURABILITY must be 'write' or 'fsync', not {mode!r}")
        self.directory = directory
        self.blobs = directory / "blobs"
        self.mode = mode
        self.generation = 0
        self.lines_in_journal = 0
        self.torn = False  # a journal ended in a line cut short by a crash: start a new generation
        self._fd: int | None = None
        self._lock = threading.Lock()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.blobs.mkdir(exist_ok=True)
        for leftover in self.directory.glob("snapshot-*.tmp"):  # a snapshot cut short: its journal is kept
            leftover.unlink()

    # --- files ------------------------------------------------------------------------------

    def snapshot_path(self, generation: int) -> Path:
        return self.directory / f"snapshot-{generation:08d}.jsonl"

    def journal_path(self, generation: int) -> Path:
        return self.directory / f"journal-{generation:08d}.jsonl"

    def _generations(self, prefix: str) -> list[int]:
        found = []
        for path in self.directory.glob(f"{prefix}-*.jsonl"):
            try:
                found.append(int(path.stem.split("-", 1)[1]))
            except ValueError:
                continue
        return sorted(found)

    # --- reading ------------------------------------------------------------------------------

    def read(self) -> Iterator[dict[str, Any]]:
        """Every effect to apply, oldest first: the newest complete snapshot, then its journals."""
        complete = [g for g in self._generations("snapshot") if self._snapshot_is_complete(g)]
        base = complete[-1] if complete else None
        if base is not None:
            yield from self._read_file(self.snapshot_path(base), snapshot=True)
        self.lines_in_journal = 0
        for generation in self._generations("journal"):
            if base is None or generation >= base:
                self.lines_in_journal = 0  # the newest journal read is the one appended to next
                for entry in self._read_file(self.journal_path(generation), snapshot=False):
                    self.lines_in_journal += 1
                    yield entry
        self.generation = max([base or 0, *self._generations("journal")], default=0)

    def _snapshot_is_complete(self, generation: int) -> bool:
        path = self.snapshot_path(generation)
        try:
            with path.open("rb") as file:
                file.seek(0, os.SEEK_END)
                size = file.tell()
                file.seek(max(0, size - 4096))
                last = file.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
            return bool(json.loads(last).get("k") == END)
        except (OSError, ValueError, AttributeError):
            return False

    def _read_file(self, path: Path, *, snapshot: bool) -> Iterator[dict[str, Any]]:
        digest = hashlib.sha256()
        count = 0
        with path.open("rb") as file:
            data = file.read()
        lines = data.split(b"\n")
        torn_tail = bool(lines and lines[-1])  # no newline after the last write: cut short by a crash
        if not torn_tail:
            lines = lines[:-1]
        for number, raw in enumerate(lines, start=1):
            is_last = number == len(lines)
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict) or "k" not in entry:
                    raise ValueError("not an effect")
            except ValueError as exc:
                if is_last and torn_tail and not snapshot:
                    aside = path.with_name(path.name + f".torn-{int(time.time())}")
                    aside.write_bytes(data)
                    self.torn = True
                    log.warning(
                        "the last line of %s was cut short by a crash (never acknowledged); skipped, "
                        "the file as it was is kept as %s",
                        path,
                        aside,
                    )
                    return
                raise CorruptJournal(
                    f"{path}, line {number}: cannot be read ({exc}). Nothing was changed: the local data is "
                    "kept as it is. Move the data directory aside (or restore a backup) to start afresh."
                ) from exc
            if entry["k"] == END:
                if snapshot and (entry.get("count") != count or entry.get("sha256") != digest.hexdigest()):
                    raise CorruptJournal(f"{path}: the snapshot's checksum does not match its contents")
                return
            if snapshot:
                digest.update(raw)
                count += 1
            yield entry
        if snapshot:
            raise CorruptJournal(f"{path}: the snapshot has no trailer (it was not written completely)")

    # --- writing ----------------------------------------------------------------------------------

    def open(self) -> None:
        """Start appending to the current generation's journal (after ``read``)."""
        self._fd = os.open(self.journal_path(self.generation), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def append(self, effects: list[dict[str, Any]]) -> None:
        if not effects:
            return
        data = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in effects)
        with self._lock:
            if self._fd is None:
                raise RuntimeError("the journal is closed")
            written = os.write(self._fd, data)
            while written < len(data):  # a regular file takes it in one call; loop in case it does not
                written += os.write(self._fd, data[written:])
            if self.mode == DurabilityMode.FSYNC:
                os.fsync(self._fd)
            self.lines_in_journal += len(effects)

    def put_blob(self, value: bytes) -> str:
        sha = hashlib.sha256(value).hexdigest()
        path = self.blobs / sha
        if not path.exists():
            temporary = path.with_name(f".{sha}.{threading.get_ident()}.tmp")
            with temporary.open("wb") as file:
                file.write(value)
                if self.mode == DurabilityMode.FSYNC:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, path)
        return sha

    def get_blob(self, sha: str) -> bytes:
        path = self.blobs / sha
        try:
            value = path.read_bytes()
        except FileNotFoundError as exc:
            raise CorruptJournal(f"{path}: an S3 object's contents are missing") from exc
        if hashlib.sha256(value).hexdigest() != sha:
            raise CorruptJournal(f"{path}: an S3 object's contents do not match their checksum")
        return value

    def rotate(self) -> int:
        """Begin the next generation's journal; returns the generation the snapshot must describe."""
        with self._lock:
            if self._fd is not None:
                if self.mode == DurabilityMode.FSYNC:
                    os.fsync(self._fd)
                os.close(self._fd)
            self.generation += 1
            self._fd = os.open(self.journal_path(self.generation), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self.lines_in_journal = 0
            return self.generation

    def write_snapshot(self, generation: int, effects: Iterable[dict[str, Any]]) -> int:
        """Write snapshot ``generation`` atomically, then drop the generations before it."""
        path = self.snapshot_path(generation)
        temporary = path.with_suffix(".tmp")
        digest = hashlib.sha256()
        count = 0
        with temporary.open("wb", buffering=1 << 20) as file:
            temporary.chmod(0o600)
            for effect in effects:
                raw = json.dumps(effect, separators=(",", ":")).encode()
                digest.update(raw)
                file.write(raw + b"\n")
                count += 1
            trailer = {"k": END, "count": count, "sha256": digest.hexdigest(), "at": datetime.now(UTC).isoformat()}
            file.write(json.dumps(trailer).encode() + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _fsync_directory(self.directory)
        for old in self._generations("snapshot"):
            if old < generation:
                self.snapshot_path(old).unlink(missing_ok=True)
        for old in self._generations("journal"):
            if old < generation:
                self.journal_path(old).unlink(missing_ok=True)
        return count

    def collect_blobs(self, keep: set[str]) -> int:
        removed = 0
        for path in self.blobs.iterdir():
            if path.name not in keep and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class RestoreReport:
    effects: int = 0
    items: int = 0
    objects: int = 0
    messages: int = 0
    seconds: float = 0.0
    snapshot_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


class MotoState:
    """Reads and writes the state of moto's backends that the journal keeps."""

    def __init__(self, account_id: str, region: str, journal: Journal):
        self.account_id = account_id
        self.region = region
        self.journal = journal
        self.object_blobs: dict[tuple[str, str], str] = {}  # (bucket, key) -> blob of its current value

    # moto's backends, looked up on each use: /moto-api/reset replaces them.
    @property
    def dynamodb(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account_id][self.region]

    @property
    def s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    @property
    def sqs(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account_id][self.region]

    # --- effects of a request ---------------------------------------------------------------

    def dynamodb_effects(self, operation: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        """The post-image of every item a successful write request named (or its deletion)."""
        touched: list[tuple[str, dict[str, Any]]] = []
        if operation in ("PutItem",):
            touched.append((request["TableName"], self._key_of(request["TableName"], request["Item"])))
        elif operation in ("UpdateItem", "DeleteItem"):
            touched.append((request["TableName"], request["Key"]))
        elif operation == "BatchWriteItem":
            for table, writes in request.get("RequestItems", {}).items():
                for write in writes:
                    if "PutRequest" in write:
                        touched.append((table, self._key_of(table, write["PutRequest"]["Item"])))
                    elif "DeleteRequest" in write:
                        touched.append((table, write["DeleteRequest"]["Key"]))
        elif operation == "TransactWriteItems":
            for action in request.get("TransactItems", []):
                if "Put" in action:
                    table = action["Put"]["TableName"]
                    touched.append((table, self._key_of(table, action["Put"]["Item"])))
                for kind in ("Update", "Delete"):
                    if kind in action:
                        touched.append((action[kind]["TableName"], action[kind]["Key"]))
        effects = []
        for table_name, key in touched:
            table = self.dynamodb.get_table(table_name)
            item = self.dynamodb.get_item(table_name, key)
            if item is None:
                effects.append({"k": DDB_DEL, "t": table.name, "key": key})
            else:
                effects.append({"k": DDB_PUT, "t": table.name, "item": item.to_json()["Attributes"]})
        return effects

    def _key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
        table = self.dynamodb.get_table(table_name)
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {name: item[name] for name in names if name in item}

    def s3_effects(self, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
        effects = []
        for bucket_name, key_name in sorted(keys):
            effect = self._object_effect(bucket_name, key_name)
            if effect is not None:
                effects.append(effect)
        return effects

    def _object_effect(self, bucket_name: str, key_name: str, *, reuse_blob: bool = False) -> dict[str, Any] | None:
        bucket = self.s3.buckets.get(bucket_name)
        if bucket is None:
            return None
        key = bucket.keys.get(key_name)
        if key is None or not hasattr(key, "value"):  # gone, or a versioned bucket's delete marker
            self.object_blobs.pop((bucket_name, key_name), None)
            return {"k": S3_DEL, "b": bucket_name, "key": key_name}
        known = self.object_blobs.get((bucket_name, key_name)) if reuse_blob else None
        sha = known or self.journal.put_blob(key.value)
        self.object_blobs[(bucket_name, key_name)] = sha
        tags = self.s3.tagger.list_tags_for_resource(key.arn).get("Tags", [])
        return {
            "k": S3_PUT,
            "b": bucket_name,
            "key": key_name,
            "blob": sha,
            "meta": dict(key.metadata),
            "sc": key.storage_class,
            "lm": key.last_modified.isoformat(),
            "tags": tags,
        }

    @staticmethod
    def message_effect(queue_name: str, message: Any) -> dict[str, Any]:
        return {
            "k": SQS_ADD,
            "q": queue_name,
            "id": message.id,
            "body": message.body,
            "attrs": message.message_attributes,
            "sent": message.sent_timestamp,
            "group": message.group_id,
            "dedup": message.deduplication_id,
            "seq": message.sequence_number,
            "n": message.approximate_receive_count,
        }

    # --- restore --------------------------------------------------------------------------

    def apply(self, effects: Iterable[dict[str, Any]]) -> RestoreReport:
        started = time.perf_counter()
        report = RestoreReport()
        messages: dict[str, dict[str, Any]] = {}
        objects: dict[tuple[str, str], dict[str, Any]] = {}
        for effect in effects:
            report.effects += 1
            kind = effect["k"]
            report.counts[kind] = report.counts.get(kind, 0) + 1
            if kind == DDB_PUT:
                self.dynamodb.put_item(effect["t"], effect["item"], overwrite=True)
            elif kind == DDB_DEL:
                table = self.dynamodb.get_table(effect["t"])
                hash_key, range_key = self.dynamodb.get_keys_value(table, effect["key"])
                table.delete_item(hash_key, range_key)
            elif kind in (S3_PUT, S3_DEL):
                # Only an object's last state is restored: a blob an earlier write referenced may have
                # been collected after a compaction (the object was written again meanwhile).
                objects[(effect["b"], effect["key"])] = effect
            elif kind == SQS_ADD:
                messages[effect["id"]] = dict(effect)  # a later add of the same id is a move (to a DLQ)
            elif kind == SQS_RECV:
                if effect["id"] in messages:
                    messages[effect["id"]]["n"] = effect["n"]
            elif kind == SQS_DEL:
                messages.pop(effect["id"], None)
            else:
                raise CorruptJournal(f"unknown kind of effect {kind!r}")
        for (bucket_name, key_name), effect in objects.items():
            if effect["k"] == S3_PUT:
                self._restore_object(effect)
                continue
            bucket = self.s3.buckets.get(bucket_name)
            if bucket is not None and key_name in bucket.keys:
                self.s3.delete_object(bucket_name, key_name)
            self.object_blobs.pop((bucket_name, key_name), None)
        for message in sorted(messages.values(), key=lambda m: m.get("sent") or 0):
            self._restore_message(message)
        report.items = sum(_count_items(t) for t in self.dynamodb.tables.values())
        report.objects = len(self.object_blobs)
        report.messages = len(messages)
        report.seconds = time.perf_counter() - started
        return report

    def _restore_object(self, effect: dict[str, Any]) -> None:
        value = self.journal.get_blob(effect["blob"])
        key = self.s3.put_object(effect["b"], effect["key"], value, storage=effect.get("sc"), disable_notification=True)
        key.set_metadata(dict(effect.get("meta") or {}), replace=True)
        if effect.get("lm"):
            key.last_modified = datetime.fromisoformat(effect["lm"])
        if effect.get("tags"):
            self.s3.tagger.tag_resource(key.arn, effect["tags"])
        self.object_blobs[(effect["b"], effect["key"])] = effect["blob"]

    def _restore_message(self, effect: dict[str, Any]) -> None:
        from moto.sqs.models import Message

        queue = self.sqs.queues.get(effect["q"])
        if queue is None:
            log.warning("queue %s no longer exists: %s message(s) for it dropped", effect["q"], 1)
            return
        message = Message(effect["id"], effect["body"])
        message.message_attributes = effect.get("attrs") or {}
        message.sent_timestamp = effect.get("sent")
        message.group_id = effect.get("group")
        message.deduplication_id = effect.get("dedup")
        message.sequence_number = effect.get("seq")
        message.approximate_receive_count = int(effect.get("n") or 0)
        with queue._messages_lock:
            queue._messages.append(message)
            queue._messages_lock.notify_all()

    # --- snapshot ---------------------------------------------------------------------------

    def capture(self) -> list[dict[str, Any]]:
        """The whole kept state as effects (call with writes stopped)."""
        effects: list[dict[str, Any]] = []
        for table in list(self.dynamodb.tables.values()):
            for item in _table_items(table):
                effects.append({"k": DDB_PUT, "t": table.name, "item": item.to_json()["Attributes"]})
        for bucket_name, bucket in list(self.s3.buckets.items()):
            for key_name in list(bucket.keys.keys()):
                # Every object's blob is known since it was written or restored: no re-hashing.
                effect = self._object_effect(bucket_name, key_name, reuse_blob=True)
                if effect is not None and effect["k"] == S3_PUT:
                    effects.append(effect)
        for queue_name, queue in list(self.sqs.queues.items()):
            for message in list(queue._messages):
                effects.append(self.message_effect(queue_name, message))
        return effects


def _table_items(table: Any) -> Iterator[Any]:
    for value in list(table.items.values()):
        if isinstance(value, dict):
            yield from list(value.values())
        else:
            yield value


def _count_items(table: Any) -> int:
    return sum(1 for _ in _table_items(table))


class DurableMotoApp:
    """WSGI middleware around moto's app: serialises what moto cannot do concurrently and journals
    each request's effects before its response is sent."""

    def __init__(self, app: Callable[..., Iterable[bytes]], state: MotoState | None = None):
        self.app = app
        self.state = state  # None: nothing persisted, requests are only serialised
        self.journal = state.journal if state else None
        self.lock = threading.RLock()
        self.pending = _Pending()
        self.compact_after = int(os.environ.get("LOCAL_JOURNAL_COMPACT_LINES", "20000"))
        self._compacting = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        is_dynamodb = target.startswith("DynamoDB_")
        locked = is_dynamodb or target in _LOCKED_TARGETS or _is_s3(environ)
        journaling = self.state is not None and _ACTIVE is self
        operation = target.split(".", 1)[-1] if is_dynamodb else ""
        request_body = _read_body(environ) if journaling and operation in _DDB_WRITES else b""
        captured: dict[str, Any] = {}

        def capture_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["start"] = (status, headers, exc_info)
            return lambda _data: None

        if locked:
            self.lock.acquire()
        self.pending.effects = []
        self.pending.s3_keys = set()
        try:
            body = b"".join(self.app(environ, capture_start))
            if journaling:
                assert self.state is not None and self.journal is not None
                effects = self.pending.effects
                succeeded = int(captured["start"][0].split(" ", 1)[0]) < 300
                if request_body and succeeded:  # a failed DynamoDB write changed nothing
                    effects = effects + self.state.dynamodb_effects(operation, json.loads(request_body))
                if self.pending.s3_keys:
                    effects = effects + self.state.s3_effects(self.pending.s3_keys)
                # Written before the response is sent: an acknowledged change is on disk.
                self.journal.append(effects)
        finally:
            self.pending.effects = None
            self.pending.s3_keys = None
            if locked:
                self.lock.release()
        status, headers, exc_info = captured["start"]
        start_response(status, headers, exc_info)
        if journaling and self.journal is not None and self.journal.lines_in_journal >= self.compact_after:
            self.compact_in_background()
        return [body]

    # --- hooks into moto's models (effects that happen inside a request) -------------------------

    def record(self, effect: dict[str, Any]) -> None:
        if self.pending.effects is not None:
            self.pending.effects.append(effect)
        elif self.journal is not None:  # moto changed a message outside any request: journal it at once
            self.journal.append([effect])

    def touch_object(self, bucket_name: str, key_name: str) -> None:
        if self.pending.s3_keys is not None:
            self.pending.s3_keys.add((bucket_name, key_name))
        elif self.state is not None and self.journal is not None:
            with self.lock:
                self.journal.append(self.state.s3_effects({(bucket_name, key_name)}))

    def activate(self) -> None:
        """From now on moto's changes to objects and messages are journaled (after a restore)."""
        global _ACTIVE
        _install_hooks()
        _ACTIVE = self

    def deactivate(self) -> None:
        global _ACTIVE
        if _ACTIVE is self:
            _ACTIVE = None

    # --- compaction ------------------------------------------------------------------------------

    def compact(self) -> int:
        """Snapshot the state as a new generation and drop the old one; returns the effects written."""
        if self.state is None or self.journal is None:
            return 0
        with self._compacting:
            with self.lock:
                generation = self.journal.rotate()
                effects = self.state.capture()
                keep = {e["blob"] for e in effects if e["k"] == S3_PUT}
            count = self.journal.write_snapshot(generation, effects)
            with self.lock:
                self.journal.collect_blobs(keep | set(self.state.object_blobs.values()))
            return count

    def compact_in_background(self) -> None:
        if self._compacting.locked():
            return
        threading.Thread(target=self._compact_logged, name="journal-compaction", daemon=True).start()

    def _compact_logged(self) -> None:
        try:
            self.compact()
        except Exception:
            log.exception("journal compaction failed")


def _is_s3(environ: dict[str, Any]) -> bool:
    if "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
        return True
    query = environ.get("QUERY_STRING", "")
    return "%2Fs3%2Faws4_request" in query or "/s3/aws4_request" in query


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


# The app whose journal moto's model hooks write to (one embedded AWS per process); None while
# restoring, so that the restore itself is not journaled again.
_ACTIVE: DurableMotoApp | None = None
_HOOKS_INSTALLED = False


def _install_hooks() -> None:
    """Wrap the moto model methods that change objects and messages, once per process."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    from moto.s3.models import FakeKey, S3Backend
    from moto.sqs.models import Message, Queue, SQSBackend

    def after_object_change(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(backend: Any, *args: Any, **kwargs: Any) -> Any:
            result = method(backend, *args, **kwargs)
            app = _ACTIVE
            if app is not None:
                first = args[0] if args else kwargs.get("bucket_name", kwargs.get("key"))
                if isinstance(first, FakeKey):
                    app.touch_object(first.bucket_name, first.name)
                else:
                    key_name = args[1] if len(args) > 1 else kwargs.get("key_name")
                    if key_name is not None:
                        app.touch_object(str(first), str(key_name))
            return result

        return wrapper

    for name in (
        "put_object",
        "delete_object",
        "put_object_tagging",
        "delete_object_tagging",
        "put_object_retention",
        "put_object_legal_hold",
    ):
        setattr(S3Backend, name, after_object_change(getattr(S3Backend, name)))

    add_message = Queue.add_message

    def add(queue: Any, message: Any) -> None:
        before = len(queue._messages)
        add_message(queue, message)
        app = _ACTIVE
        if app is not None and len(queue._messages) > before:  # not a FIFO duplicate
            app.record(MotoState.message_effect(queue.name, message))

    delete_message = Queue.delete_message

    def delete(queue: Any, receipt_handle: str) -> None:
        ids = [m.id for m in queue._messages if m.had_receipt_handle(receipt_handle)]
        delete_message(queue, receipt_handle)
        app = _ACTIVE
        if app is not None:
            remaining = {m.id for m in queue._messages}
            for message_id in ids:
                if message_id not in remaining:
                    app.record({"k": SQS_DEL, "id": message_id})

    purge_queue = SQSBackend.purge_queue

    def purge(backend: Any, queue_name: str) -> None:
        ids = [m.id for m in backend.get_queue(queue_name)._messages]
        purge_queue(backend, queue_name)
        app = _ACTIVE
        if app is not None:
            for message_id in ids:
                app.record({"k": SQS_DEL, "id": message_id})

    mark_received = Message.mark_received

    def received(message: Any, *args: Any, **kwargs: Any) -> None:
        mark_received(message, *args, **kwargs)
        app = _ACTIVE
        if app is not None:
            app.record({"k": SQS_RECV, "id": message.id, "n": message.approximate_receive_count})

    Queue.add_message = add  # type: ignore[method-assign]
    Queue.delete_message = delete  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge  # type: ignore[method-assign]
    Message.mark_received = received  # type: ignore[method-assign]
