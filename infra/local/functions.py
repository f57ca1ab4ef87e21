"""Loading the real Lambda handlers from functions/ and invoking them as Lambda would."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from infra.catalog import FUNCTIONS, FunctionDecl

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that Powertools and Mangum read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_seconds: int = 29
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_thread_state = threading.local()


def _ensure_event_loop() -> None:
    """Lambda calls handlers on a thread with an event loop (Mangum uses it); worker threads have none."""
    if getattr(_thread_state, "loop", None) is None:
        _thread_state.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_thread_state.loop)


def load_module(decl: FunctionDecl) -> ModuleType:
    """Import functions/<folder>/handler.py under a unique module name (folders are not packages)."""
    name = f"agents_meetings_fn_{decl.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, decl.handler_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {decl.handler_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FunctionRegistry:
    """The platform's functions, loaded once (a warm container each), invoked by name."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._decls: dict[str, FunctionDecl] = {decl.name: decl for decl in FUNCTIONS}
        self._lock = threading.Lock()

    def register(self, name: str, handler: Handler, decl: FunctionDecl | None = None) -> None:
        self._handlers[name] = handler
        if decl is not None:
            self._decls[name] = decl

    def handler(self, name: str) -> Handler:
        with self._lock:
            if name not in self._handlers:
                self._handlers[name] = load_module(self._decls[name]).handler
        return self._handlers[name]

    def knows(self, name: str) -> bool:
        return name in self._handlers or name in self._decls

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        _ensure_event_loop()
        decl = self._decls.get(name)
        context = LocalLambdaContext(
            function_name=name,
            memory_limit_in_mb=decl.memory_mb if decl else 1024,
            timeout_seconds=decl.timeout_seconds if decl else 60,
        )
        return self.handler(name)(event, context)

    def invoke_as_lambda(self, name: str, payload: Any) -> tuple[str, bool, str]:
        """moto's Lambda invoke contract: (payload_json, errored, logs); errors in Lambda's shape.

        moto hands over the payload as JSON text from ``lambda.invoke`` but already parsed from
        the Step Functions interpreter; both are accepted.
        """
        try:
            event = json.loads(payload) if isinstance(payload, str | bytes | bytearray) else payload
            result = self.invoke(name, {} if event is None else event)
            return json.dumps(result, default=str), False, ""
        except Exception as exc:  # noqa: BLE001 - a failed invocation is reported, as Lambda does
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc),
            }
            return json.dumps(error), True, "".join(traceback.format_exception(exc))
