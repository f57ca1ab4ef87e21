"""The embedded AWS: a moto server in this process, with state that survives restarts.

- Lambda: moto would run functions in Docker; instead every invocation (Step Functions tasks,
  direct invokes) is routed to the real handlers through ``FunctionRegistry``.
- Step Functions: moto's ASL interpreter is switched on, so state machines really execute.
- Persistence (infra/local/durability.py): moto's app is wrapped so that requests moto cannot run
  concurrently run one at a time, and each request's effects on DynamoDB items, S3 objects and SQS
  messages are journaled before its response goes out. On start the newest snapshot and the
  journal after it go straight into moto's backends, with nothing dispatched meanwhile (no events,
  executions or emails fire twice); a clean stop (and a long journal) writes a new snapshot, so a
  restart takes about as long as reading the data once, whatever the history.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import requests

from infra.local.durability import DurabilityMode, DurableMotoApp, Journal, MotoState, RestoreReport
from infra.local.functions import FunctionRegistry

# The request log of earlier versions (moto's recorder); migrated once into the journal.
_LEGACY_LOG = "aws-requests.jsonl"
_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_S3_WRITES = {"PUT", "POST", "DELETE"}


def _is_state_change(entry: dict[str, Any]) -> bool:
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target", "")
    if target.startswith("DynamoDB_"):
        return target.split(".", 1)[1] in _DYNAMODB_WRITES
    if target:
        return False
    if "/s3/aws4_request" not in headers.get("authorization", ""):
        return False
    path = entry.get("url", "").split("?", 1)[0].split("//", 1)[-1]
    has_key = path.count("/") >= 2 and not path.endswith("/")
    return entry.get("method") in _S3_WRITES and has_key


class EmbeddedAws:
    def __init__(
        self,
        port: int,
        data_dir: Path | None,
        registry: FunctionRegistry,
        account_id: str = "123456789012",
        region: str = "us-east-1",
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = data_dir
        self.registry = registry
        self.account_id = account_id
        self.region = region
        self.app: DurableMotoApp | None = None
        self.last_restore = RestoreReport()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def state_dir(self) -> Path | None:
        return self.data_dir / "aws" if self.data_dir else None

    def start(self) -> None:
        # moto reads these when first imported; they must be set before.
        os.environ["MOTO_PORT"] = str(self.port)
        os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self._install_lambda_hook()
        state = None
        if self.state_dir is not None:
            mode = os.environ.get("LOCAL_DURABILITY", DurabilityMode.WRITE)
            state = MotoState(self.account_id, self.region, Journal(self.state_dir, mode))
        self.app = DurableMotoApp(DomainDispatcherApplication(create_backend_app), state)
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        requests.post(
            f"{self.url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
        ).raise_for_status()

    def stop(self, *, snapshot: bool = True) -> None:
        """Stop serving; a clean stop leaves a fresh snapshot and an empty journal behind.

        ``snapshot=False`` leaves the files as a crash (``kill -9``) would: only the journal.
        """
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.app is not None and self.app.journal is not None and self.app.state is not None:
            if snapshot and self.app.journal.lines_in_journal:
                self.app.compact()
            self.app.journal.close()
            self.app.deactivate()

    def _install_lambda_hook(self) -> None:
        from moto.awslambda.models import LambdaFunction

        registry = self.registry

        def invoke(function: Any, event: str | None = None) -> tuple[str, bool, str]:
            return registry.invoke_as_lambda(function.function_name, event)

        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign]

        def no_docker(function: Any) -> Any:
            raise AttributeError("no Docker in the local runtime")

        # /moto-api/data.json reads every model attribute; moto's docker_client property would try to
        # reach a Docker engine and fail the whole dump (tests read sent email from it).
        LambdaFunction.docker_client = property(no_docker)  # type: ignore[assignment,method-assign]

    # --- persistence -----------------------------------------------------------------------

    def restore(self) -> int:
        """Load the newest snapshot and the journal after it into moto; returns how many effects.

        Call after the resources exist (tables, buckets, queues) and before anything is dispatched.
        From then on every change is journaled. A journal that ended in a torn line, or a long one,
        is folded into a new snapshot at once.
        """
        app = self.app
        if app is None or app.state is None or app.journal is None:
            return 0
        started = time.perf_counter()
        journal = app.journal
        report = app.state.apply(journal.read())
        journal.open()
        app.activate()
        legacy = self.data_dir / _LEGACY_LOG if self.data_dir else None
        migrated = self._migrate_request_log(legacy) if legacy is not None and legacy.exists() else 0
        if journal.torn or migrated or journal.lines_in_journal > app.compact_after // 10:
            snapshot_started = time.perf_counter()
            app.compact()
            journal.torn = False
            report.snapshot_seconds = time.perf_counter() - snapshot_started
            if legacy is not None and migrated:
                legacy.rename(legacy.with_name(legacy.name + ".migrated"))
        report.seconds = time.perf_counter() - started
        self.last_restore = report
        return report.effects + migrated

    def _migrate_request_log(self, path: Path) -> int:
        """Replay the request log of earlier versions once, journaling what it changes."""
        entries = []
        with path.open() as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    logging.getLogger(__name__).warning("%s line %d cannot be read; the file is kept", path, number)
                    continue
                if _is_state_change(entry):
                    entries.append(entry)
        for entry in entries:
            self._replay(entry)
        return len(entries)

    def keep_data_key(self, alias: str, account_id: str, region: str) -> None:
        """Give the KMS key behind ``alias`` the same id and key material on every start.

        Values sealed with it (2FA secrets) name the key by id and need its material: a key made
        afresh on each start would leave the persisted data unreadable. The id and material are kept
        in the data directory, beside the local signing keys.
        """
        if self.data_dir is None:
            return
        from moto.kms.models import kms_backends

        backend = kms_backends[account_id][region]
        key = backend.keys[backend.any_id_to_key_id(alias)]
        path = self.data_dir / "kms-data-key.json"
        if not path.exists():
            path.write_text(json.dumps({"key_id": key.id, "material": base64.b64encode(key.key_material).decode()}))
            path.chmod(0o600)
            return
        saved = json.loads(path.read_text())
        backend.keys.pop(key.id)
        key.id = saved["key_id"]
        key.arn = key.arn.rsplit("/", 1)[0] + "/" + key.id
        key.key_material = base64.b64decode(saved["material"])
        for alias_entry in key.aliases.values():
            alias_entry.target_key_id = key.id
        backend.keys[key.id] = key

    def _replay(self, entry: dict[str, Any]) -> None:
        body: Any = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body)
        url = entry["url"]
        path_and_query = url.split("//", 1)[-1]
        path_and_query = path_and_query[path_and_query.find("/") :] if "/" in path_and_query else "/"
        headers = dict(entry.get("headers") or {})
        headers.pop("Transfer-Encoding", None)
        headers["Host"] = f"127.0.0.1:{self.port}"
        requests.request(entry["method"], f"{self.url}{path_and_query}", headers=headers, data=body, timeout=30)
