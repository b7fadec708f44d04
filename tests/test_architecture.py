"""The map of contexts holds: each context imports only the contexts below it
(``docs/architecture.md``), the pure core imports no I/O, no import cycle exists, and modules
and functions stay small enough to read."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each context of server/ may import (besides itself and the pure core). Keep in step
# with the table in docs/architecture.md.
ALLOWED: dict[str, set[str]] = {
    "platform": set(),
    "web": {"platform"},
    "identity": {"platform", "web"},
    "realtime": {"platform", "identity"},
    "seating": {"platform", "web", "identity", "realtime"},
    "catalog": {"platform", "web", "identity", "seating"},
    "sales": {"platform", "web", "identity", "seating", "catalog"},
    "door": {"platform", "web", "identity", "realtime", "seating", "catalog"},
    "articles": {"platform", "web", "identity", "realtime"},
    "cash": {"platform", "web", "identity", "seating", "catalog", "sales", "articles"},
    "wallet": {"platform", "web", "identity", "realtime", "sales", "door", "articles", "cash"},
    "accounting": {"platform", "web", "identity", "realtime"},
    "payments": {"platform", "web", "identity", "seating", "catalog", "sales", "door"},
    # export jobs write the accounting's statements and the door's signed ticket codes
    "exports": {"platform", "web", "identity", "accounting", "door"},
    # the website API reads the catalogue and the live seat state, and offers the shop's
    # own hold calls (sales) and cart (shop) to websites
    "siteapi": {"platform", "web", "identity", "seating", "catalog", "sales", "shop"},
    # the shop's cart sells what sales, the door (passes) and articles sell, in one order
    # paid through payments (which reach back only through their CartOrders protocol)
    "shop": {"platform", "web", "seating", "catalog", "sales", "door", "articles", "payments"},
}
COMPOSITION = "composition"  # server/app.py, cli.py, demo.py: wire everything together
PURE_CORE = ("seatmap", "scanning", "till")
IO_LIBRARIES = {"redis", "asyncpg", "starlette", "uvicorn", "websockets", "server"}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import stands (functions and
    ``TYPE_CHECKING`` blocks included: a cycle for typing is still a cycle)."""
    found: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def server_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sources("server")}


def context_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ALLOWED:
        return parts[1]
    return COMPOSITION


def internal_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    return {name for name in imports_of(path) if name in modules and name != "server"}


def test_every_context_package_is_in_the_map() -> None:
    packages = {p.parent.name for p in (ROOT / "server").glob("*/__init__.py")}
    assert packages == set(ALLOWED), "add the new context to ALLOWED and docs/architecture.md"


def test_contexts_import_only_what_the_map_allows() -> None:
    modules = server_modules()
    wrong = []
    for name, path in modules.items():
        source = context_of(name)
        if source == COMPOSITION:
            continue
        for target in internal_imports(path, modules):
            dest = context_of(target)
            if dest != source and dest not in ALLOWED[source]:
                wrong.append(f"{name} imports {target} ({source} -> {dest})")
    assert wrong == []


def test_no_context_imports_the_composition_root() -> None:
    modules = server_modules()
    wrong = [
        f"{name} imports {target}"
        for name, path in modules.items()
        if context_of(name) != COMPOSITION
        for target in internal_imports(path, modules)
        if context_of(target) == COMPOSITION
    ]
    assert wrong == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_find_cycle_sees_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_modules() -> None:
    modules = server_modules()
    graph = {name: internal_imports(path, modules) - {name} for name, path in modules.items()}
    # A package's __init__ is not a dependency of its modules for this purpose.
    graph = {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in graph.items()
    }
    assert find_cycle(graph) is None


def test_no_import_cycle_between_contexts() -> None:
    modules = server_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        source = context_of(name)
        for target in internal_imports(path, modules):
            if context_of(target) != source:
                graph.setdefault(source, set()).add(context_of(target))
    assert find_cycle(graph) is None


@pytest.mark.parametrize("package", PURE_CORE)
def test_pure_core_does_no_io(package: str) -> None:
    wrong = [
        f"{module_name(path)} imports {name}"
        for path in sources(package)
        for name in imports_of(path)
        if name.split(".")[0] in IO_LIBRARIES
    ]
    assert wrong == []


def test_modules_stay_under_the_size_limit() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sources("server", *PURE_CORE)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function without its docstring (a handler's is its OpenAPI description)."""
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_functions_stay_under_the_size_limit() -> None:
    long = []
    for path in sources("server", *PURE_CORE):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if (count := function_lines(node)) > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {count}")
    assert long == []
