"""405 Method Not Allowed, answered before routing, with ``Allow`` listing every method of the path.

Starlette answers a wrong method with the ``Allow`` of the first route whose path matched (one
method of several), and when a templated route of another path also matches (``DELETE
/notifications/read-all`` against ``DELETE /notifications/{id}``) it runs that route instead (a
422 or a 404). Here a path is the most specific template that matches it: a literal path wins over
templates, and fewer parameters win over more, as a reader of the API expects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from agents_meetings.http.errors import error_response


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    parameters: int
    methods: frozenset[str]


class _MethodTable:
    """Every path template of the app and its methods; built once from the app's routes."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        literal: dict[str, set[str]] = {}
        templated: dict[str, tuple[re.Pattern[str], int, set[str]]] = {}
        # FastAPI includes routers lazily: their routes are reached through the route contexts.
        for route in iter_route_contexts(routes):
            methods, path = route.methods, route.path
            if not methods or not path:
                continue  # WebSocket routes and mounts: not ours to judge
            pattern, _, convertors = compile_path(path)
            if not convertors:
                literal.setdefault(path, set()).update(methods)
            else:
                templated.setdefault(path, (pattern, len(convertors), set()))[2].update(methods)
        self.literal = {path: frozenset(methods) for path, methods in literal.items()}
        self.templated = sorted(
            (_Template(pattern, parameters, frozenset(methods)) for pattern, parameters, methods in templated.values()),
            key=lambda template: template.parameters,
        )

    def methods_of(self, path: str) -> frozenset[str] | None:
        """The methods of the path's most specific template(s); None if no route has that path."""
        if path in self.literal:
            return self.literal[path]
        found: set[str] = set()
        fewest: int | None = None
        for template in self.templated:  # sorted: fewest parameters first
            if fewest is not None and template.parameters > fewest:
                break
            if template.pattern.match(path):
                fewest = template.parameters
                found.update(template.methods)
        return frozenset(found) if found else None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path") or ""
    return path[len(root) :] or "/" if root and path.startswith(root) else path


class MethodNotAllowedMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._table: _MethodTable | None = None
        self._routes_seen = -1

    def _methods_table(self, scope: Scope) -> _MethodTable | None:
        routes = getattr(scope.get("app"), "routes", None)
        if routes is None:
            return None
        if self._table is None or self._routes_seen != len(routes):
            self._table, self._routes_seen = _MethodTable(routes), len(routes)
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            table = self._methods_table(scope)
            allowed = table.methods_of(_route_path(scope)) if table is not None else None
            if allowed is not None and scope["method"] not in allowed:
                request = Request(scope)
                listed = ", ".join(sorted(allowed))
                response = error_response(
                    request,
                    405,
                    "method_not_allowed",
                    f"{scope['method']} is not allowed on {scope['path']}; use {listed}.",
                    {"allowed_methods": sorted(allowed)},
                    headers={"Allow": listed},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
