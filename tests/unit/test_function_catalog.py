"""infra/catalog.py agrees with the code: handlers exist, routes sit under their declared prefixes,
event rules feed workers, and each function may touch what its code touches."""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import ModuleType

import pytest
from agents_meetings.http.routers import ALL_ROUTERS
from agents_meetings.notifications.producers import PRODUCERS, NotificationProducer
from agents_meetings.tables import TABLES
from fastapi import FastAPI
from starlette.routing import BaseRoute

from infra.catalog import EVENT_RULES, FUNCTIONS, QUEUES, REPO_ROOT, SCHEDULES, api_functions, function

pytestmark = pytest.mark.unit

API_FUNCTIONS = api_functions()
# The docs function mounts every router, but only to build the merged OpenAPI document: API
# Gateway sends it nothing but its own prefixes.
DOCS = "docs"
LOGICAL_TABLES = {model.logical_name for model in TABLES}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _paths(routes: list[BaseRoute]) -> set[str]:
    """Every path an app or router serves (FastAPI >= 0.16x keeps included routers as nested routes)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI flattens included routers itself
        return {route.path for route in routes if hasattr(route, "path")}
    return {context.path for context in iter_route_contexts(routes) if context.path}


def _app(load_handler: Callable[[str], ModuleType], folder: str) -> FastAPI:
    module = load_handler(folder)
    assert callable(module.handler)
    assert isinstance(module.app, FastAPI)
    return module.app


def test_function_names_and_folders_are_unique() -> None:
    assert len({decl.name for decl in FUNCTIONS}) == len(FUNCTIONS)
    assert len({decl.folder for decl in FUNCTIONS}) == len(FUNCTIONS)


@pytest.mark.parametrize("decl", FUNCTIONS, ids=lambda decl: decl.name)
def test_every_declared_function_has_its_handler_file(decl: object) -> None:
    assert decl.handler_path.is_file(), decl.handler_path  # type: ignore[attr-defined]
    assert "def handler" in decl.handler_path.read_text() or "handler =" in decl.handler_path.read_text()  # type: ignore[attr-defined]


@pytest.mark.parametrize("decl", FUNCTIONS, ids=lambda decl: decl.name)
def test_only_api_functions_declare_routes(decl: object) -> None:
    assert bool(decl.routes) == (decl.kind == "api")  # type: ignore[attr-defined]


@pytest.mark.parametrize("decl", [d for d in API_FUNCTIONS if d.name != DOCS], ids=lambda decl: decl.name)
def test_every_route_of_an_api_function_is_under_its_declared_prefixes(
    decl: object, load_handler: Callable[[str], ModuleType]
) -> None:
    app = _app(load_handler, decl.folder)  # type: ignore[attr-defined]
    paths = _paths(app.routes)
    assert paths, "the app serves nothing"
    stray = sorted(p for p in paths if not any(_under(p, prefix) for prefix in decl.routes))  # type: ignore[attr-defined]
    assert stray == [], f"{decl.name} serves routes API Gateway never sends it: {stray}"  # type: ignore[attr-defined]
    unused = [prefix for prefix in decl.routes if not any(_under(p, prefix) for p in paths)]  # type: ignore[attr-defined]
    assert unused == [], f"{decl.name} declares prefixes it does not serve: {unused}"  # type: ignore[attr-defined]


def test_the_docs_function_serves_openapi_swagger_and_redoc_and_documents_every_router(
    load_handler: Callable[[str], ModuleType],
) -> None:
    from fastapi.testclient import TestClient

    decl = function(DOCS)
    app = _app(load_handler, decl.folder)
    paths = _paths(app.routes)
    with TestClient(app) as client:
        for prefix in decl.routes:
            assert prefix in paths, prefix
            assert client.get(prefix).status_code == 200, prefix
    documented = set(app.openapi()["paths"])
    for router in ALL_ROUTERS:
        assert _paths(router.routes) <= documented


# Routers written ahead of the function that serves them: the recordings function (its own branch)
# declares /api/v1/recordings and mounts the transcripts router. Checked as soon as it exists.
AWAITING_OWNER = ("/api/v1/recordings",)


def test_every_api_route_is_served_by_exactly_one_function() -> None:
    for router in ALL_ROUTERS:
        for path in _paths(router.routes):
            owners = [d.name for d in API_FUNCTIONS if d.name != DOCS and any(_under(path, p) for p in d.routes)]
            if not owners and any(_under(path, prefix) for prefix in AWAITING_OWNER):
                continue
            assert len(owners) == 1, (path, owners)


def test_route_prefixes_do_not_overlap_between_functions() -> None:
    declared = [(prefix, d.name) for d in API_FUNCTIONS for prefix in d.routes]
    for prefix, owner in declared:
        for other, other_owner in declared:
            if owner != other_owner:
                assert not _under(other, prefix), (prefix, owner, other, other_owner)


@pytest.mark.parametrize("rule", EVENT_RULES, ids=lambda rule: rule.name)
def test_every_event_rule_targets_a_declared_worker(rule: object) -> None:
    target = function(rule.target)  # type: ignore[attr-defined]
    assert target.kind == "worker"
    pattern = rule.pattern()  # type: ignore[attr-defined]
    assert pattern["detail-type"] and all(source.startswith("agents-meetings.") for source in pattern["source"])


def test_every_schedule_targets_a_declared_job() -> None:
    for schedule in SCHEDULES:
        assert function(schedule.target).kind == "job"


def test_every_worker_is_fed_by_a_rule_or_a_queue() -> None:
    fed = {rule.target for rule in EVENT_RULES} | {decl.target for decl in QUEUES}
    assert {d.name for d in FUNCTIONS if d.kind == "worker"} <= fed


@pytest.mark.parametrize("decl", FUNCTIONS, ids=lambda decl: decl.name)
def test_functions_only_list_tables_that_exist(decl: object) -> None:
    assert set(decl.tables) <= LOGICAL_TABLES  # type: ignore[attr-defined]


@pytest.mark.parametrize("decl", [d for d in API_FUNCTIONS if d.publishes_events], ids=lambda decl: decl.name)
def test_every_api_function_that_publishes_events_can_park_them_in_the_outbox(decl: object) -> None:
    assert "event-outbox" in decl.read_write_tables  # type: ignore[attr-defined]


def test_the_outbox_redrive_job_reads_the_outbox_and_publishes() -> None:
    job = function("outbox-redrive")
    assert "event-outbox" in job.tables and job.publishes_events


def test_the_notify_rule_is_the_producers_dispatch_table() -> None:
    [notify] = [rule for rule in EVENT_RULES if rule.name == "notify"]
    assert notify.detail_types == tuple(PRODUCERS)
    # No producer method is left out of the table (a method the rule would never feed).
    methods = {getattr(NotificationProducer, name) for name in vars(NotificationProducer) if name.startswith("_on_")}
    assert methods == set(PRODUCERS.values())


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("infra/catalog.py", ("FUNCTIONS", "EVENT_RULES", "SCHEDULES", "QUEUES", "STATE_MACHINES")),
        ("layers/core/python/agents_meetings/tables.py", ("TABLES",)),
    ],
)
def test_each_declaration_is_assigned_once(module: str, names: tuple[str, ...]) -> None:
    tree = ast.parse((REPO_ROOT / module).read_text())
    assigned = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    ]
    assert {name: assigned.count(name) for name in names} == dict.fromkeys(names, 1)
