"""The package's imports point one way (README, "Architecture"): a module imports only its own
layer or lower ones, domain packages import each other without cycles, the module import graph has
no cycle, and no function-local import of the package's own modules hides one.

Imports are read with ``ast`` from the source (module level, inside functions and under
``TYPE_CHECKING`` alike), so nothing is imported to check them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = "agents_meetings"
SOURCE = Path(__file__).resolve().parents[2] / "layers" / "core" / "python"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SOURCE / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


# Highest first. A module belongs to the layer of its first dotted part below the package.
LAYERS: dict[str, tuple[str, ...]] = {
    "http": ("http",),
    "domain": (
        "meetings",
        "recordings",
        "notifications",
        "search",
        "materials",
        "identity",
        "users",
        "statistics",
        "transcription",
        "presence",
    ),
    "shared services": ("events", "audit", "ratelimit", "cache", "platform_settings"),
    "adapters": (
        "tables",
        "storage",
        "media",
        "crypto",
        "pagination",
        "observability",
        "request_context",
        "email",
        "aws_clients",
        "secret_values",
        "conditions",
        "workers",
        "backups",
        "persistence",
    ),
    "foundation": ("settings", "clock", "errors"),
}
RANK = {part: len(LAYERS) - index for index, parts in enumerate(LAYERS.values()) for part in parts}
NAMES = {part: name for name, parts in LAYERS.items() for part in parts}
DOMAIN = set(LAYERS["domain"])

# Function-local imports of the package's own modules that exist for a reason other than a cycle.
LAZY_IMPORTS = {
    # tantivy is a `local` extra: the Lambda layer does not ship it.
    ("agents_meetings.search.service", "agents_meetings.search.embedded"),
    # opensearch-py takes about half a second to import: only where SEARCH_BACKEND=opensearch.
    ("agents_meetings.search.service", "agents_meetings.search.opensearch"),
    # Each Lambda function imports only its own router; ALL_ROUTERS (the docs) loads every one.
    *(("agents_meetings.http.routers", m) for m in MODULES if m.startswith("agents_meetings.http.routers.")),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (the longest dotted prefix that is a module of the package)
    line: int
    local: bool  # inside a function


def _module_of(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, name: str, line: int) -> None:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            self.found.append(Import(self.module, _module_of(name), line, self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.split(".")
            base = base[: len(base) - node.level + (1 if self.is_package else 0)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:  # `from package import submodule` imports the submodule
            submodule = f"{source}.{alias.name}"
            self._add(submodule if submodule in MODULES else source, node.lineno)


def _imports() -> list[Import]:
    found: list[Import] = []
    for module, path in sorted(MODULES.items()):
        collector = _Collector(module, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(i for i in collector.found if i.target != module)
    return found


IMPORTS = _imports()


def _part(module: str) -> str:
    """The first dotted part below the package (its layer's key); "" for the package itself."""
    return module.split(".")[1] if "." in module else ""


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its nodes in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(graph.get(node, ())):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following]
            if following not in state and (found := visit(following)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_of_the_package_belongs_to_a_layer() -> None:
    unplaced = sorted({m for m in MODULES if m != PACKAGE and _part(m) not in RANK})
    assert not unplaced, f"add these to a layer in LAYERS (and README's architecture table): {unplaced}"


def test_no_module_imports_a_higher_layer() -> None:
    upward = {
        (i.module, i.target): i
        for i in IMPORTS
        if _part(i.module) and _part(i.target) and RANK[_part(i.target)] > RANK[_part(i.module)]
    }
    assert not upward, "imports pointing up a layer:\n" + "\n".join(
        f"  {m} (line {upward[m, t].line}, {NAMES[_part(m)]}) imports {t} ({NAMES[_part(t)]})"
        for m, t in sorted(upward)
    )


def test_domain_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for i in IMPORTS:
        source, target = _part(i.module), _part(i.target)
        if source in DOMAIN and target in DOMAIN and source != target:
            graph.setdefault(source, set()).add(target)
    assert _cycle(graph) is None, f"domain packages in a cycle: {' -> '.join(_cycle(graph) or [])}"


def test_the_module_import_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for i in IMPORTS:
        graph.setdefault(i.module, set()).add(i.target)
    assert _cycle(graph) is None, f"modules in an import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_no_function_local_import_of_the_packages_own_modules() -> None:
    local = {(i.module, i.target): i for i in IMPORTS if i.local}
    unknown = set(local) - LAZY_IMPORTS
    assert not unknown, (
        "function-local imports of the package's own modules (import at the top; if that makes a "
        "cycle, fix the structure):\n"
        + "\n".join(f"  {m} (line {local[m, t].line}) imports {t}" for m, t in sorted(unknown))
    )


# What the HTTP layer must not see: the storage's library and its models (the services and
# `persistence` stand between). A type named in an annotation only may come under TYPE_CHECKING.
STORAGE_INTERNALS = ("pynamodb", f"{PACKAGE}.tables")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _storage_imports(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """Each import of STORAGE_INTERNALS in ``tree``: its line, what it imports, under TYPE_CHECKING."""
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            if any(name == internal or name.startswith(internal + ".") for internal in STORAGE_INTERNALS):
                found.append((node.lineno, name, typing_only))
                break
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree, False)
    return found


def test_http_imports_neither_pynamodb_nor_the_table_models_outside_type_checking() -> None:
    offending = [
        f"  {module} (line {line}) imports {name}"
        for module, path in sorted(MODULES.items())
        if _part(module) == "http"
        for line, name, typing_only in _storage_imports(ast.parse(path.read_text(encoding="utf-8")))
        if not typing_only
    ]
    assert not offending, (
        "http/ talks to services, not to the storage (a model type for an annotation goes under "
        "`if TYPE_CHECKING:`; storage failures are `persistence.STORAGE_ERRORS`):\n" + "\n".join(offending)
    )


def test_the_storage_import_reader_tells_type_checking_imports_apart() -> None:
    source = (
        "import pynamodb\n"
        "from agents_meetings import tables\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from agents_meetings.tables import UserModel\n"
        "else:\n"
        "    from pynamodb.exceptions import DoesNotExist\n"
        "def f():\n"
        "    from pynamodb.models import Model\n"
    )
    assert _storage_imports(ast.parse(source)) == [
        (1, "pynamodb", False),
        (2, "agents_meetings.tables", False),
        (5, "agents_meetings.tables", True),
        (7, "pynamodb.exceptions", False),
        (9, "pynamodb.models", False),
    ]
    # and it reads the real modules: the schemas name table models for their `.of()` under TYPE_CHECKING
    meetings = MODULES["agents_meetings.http.schemas.meetings"]
    assert any(t for _, _, t in _storage_imports(ast.parse(meetings.read_text(encoding="utf-8"))))


def test_the_checker_sees_upward_local_and_cyclic_imports() -> None:
    """The rules above would pass vacuously if the reader found nothing: pin what it reads."""
    by_pair = {(i.module, i.target): i for i in IMPORTS}
    top = by_pair["agents_meetings.identity.service", "agents_meetings.users.service"]
    assert not top.local and top.line > 0
    assert by_pair["agents_meetings.search.service", "agents_meetings.search.embedded"].local
    assert RANK["http"] > RANK["identity"] > RANK["events"] > RANK["tables"] > RANK["settings"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None
