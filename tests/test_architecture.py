"""The folder tree is the architecture: imports run one way, between packages that each say
what they may import, with no circle anywhere (bot/, handlers/, newsbot/, tests/, bench/)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT

CODE = ("bot", "handlers", "newsbot", "tests", "bench")

# Each package of the core, with the packages it may import: the graph as it is, so that a
# new dependency is a deliberate change here. "bot" is the core's base modules (settings,
# logging, text, articles, the folder scan, markup, memory, loop watch).
ALLOWED: dict[str, set[str]] = {
    "bot.language": set(),
    "bot": {"bot.language"},
    "bot.lexical": {"bot"},
    "bot.collection": {"bot", "bot.lexical", "bot.language"},
    "bot.semantic": {"bot"},
    "bot.retrieval": {"bot", "bot.lexical", "bot.semantic", "bot.language"},
    "bot.ingest": {"bot"},
    "bot.storage": {"bot"},
    "bot.serving": {
        "bot", "bot.lexical", "bot.collection", "bot.retrieval", "bot.ingest", "bot.semantic",
        "bot.language", "bot.i18n",
    },
    "bot.i18n": {"bot", "bot.language"},
    "bot.conversation": {"bot", "bot.retrieval", "bot.serving", "bot.storage", "bot.i18n"},
    "bot.runtime": {
        "bot", "bot.collection", "bot.retrieval", "bot.serving", "bot.storage", "bot.conversation",
        "bot.semantic", "bot.language", "bot.i18n",
    },
}  # fmt: skip
# What the Telegram glue may use of the core, and the handler modules every other may import.
HANDLERS_USE = {"bot", "bot.conversation", "bot.runtime", "bot.serving", "bot.storage", "bot.i18n"}
SHARED_HANDLERS = {"handlers.services", "handlers.reading", "handlers.delivery"}
MOST_MODULES = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for top in CODE
        for path in sorted((ROOT / top).rglob("*.py"))
        if ".venv" not in path.parts
    }


def imports(path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(module, line) for every project module a file imports, at any depth (function-level
    and TYPE_CHECKING imports too). `from package import name` is the submodule `name` when
    there is one, else the package."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in known else base), node.lineno


def package_of(module: str) -> str:
    """The core package a module of bot/ belongs to ("bot" for the core's own modules)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if (ROOT / "bot" / parts[1]).is_dir() else "bot"


def test_every_core_package_says_what_it_does_and_may_import() -> None:
    """Each package of bot/ is in the table above, and its docstring's "May import:" names
    exactly the packages the table allows ("bot" for the base modules)."""
    packages = {"bot"} | {
        f"bot.{p.name}" for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()
    }
    assert packages == set(ALLOWED)
    for package in packages:
        init = ROOT / package.replace(".", "/") / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        said = doc.partition("May import:")[2]
        assert said, f"{package}'s docstring says nothing of its imports"
        named = set(re.findall(r"\bbot(?:\.\w+)?", said.replace("\n", " ")))
        assert named == ALLOWED[package], f"{package}'s docstring names {sorted(named)}"


def test_core_packages_import_only_what_they_may() -> None:
    """A module of bot/ imports bot/ packages its own may use; never telegram, handlers/ or the
    command line (newsbot/)."""
    known = modules()
    for name, path in known.items():
        if not name.startswith("bot.") and name != "bot":
            continue
        mine = package_of(name) if name != "bot" else "bot"
        for target, line in imports(path, known):
            top = target.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            assert top not in ("telegram", "handlers", "newsbot"), where
            if top == "bot" and target != "bot":
                theirs = package_of(target)
                assert theirs == mine or theirs in ALLOWED[mine], where


def test_handlers_use_the_core_and_never_each_other() -> None:
    """handlers/ import the core's packages in HANDLERS_USE, never the command line; a
    handler module imports only the shared ones (services, reading, delivery), which import
    only each other; app.py alone wires them all."""
    known = modules()
    for path in sorted((ROOT / "handlers").glob("*.py")):
        mine = module_name(path)
        for target, line in imports(path, known):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            assert not target.startswith("newsbot"), where
            if target.startswith("bot.") or target == "bot":
                assert (package_of(target) if target != "bot" else "bot") in HANDLERS_USE, where
            if not target.startswith("handlers.") or path.name in ("app.py", "__init__.py"):
                continue
            assert target in SHARED_HANDLERS, where
            if mine in SHARED_HANDLERS:
                assert target in SHARED_HANDLERS, where


def test_no_module_imports_one_that_imports_it_back() -> None:
    """No import circle, direct or through others, anywhere in the project's code."""
    known = modules()
    graph = {
        name: {t for t, _ in imports(path, known) if t in known and t != name}
        for name, path in known.items()
    }
    circles = _strongly_connected(graph)
    assert not circles, f"import circles: {circles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    """The circle test can fail: a two-module and a three-module circle are found."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_strongly_connected(graph)) == [["a", "b"], ["c", "d", "e"]]


@pytest.mark.parametrize("folder", sorted(p for p in (ROOT / "bot").rglob("*") if p.is_dir()))
def test_no_folder_of_the_core_holds_more_than_twelve_modules(folder: Path) -> None:
    """A folder of bot/ is a room with one job: at most twelve modules besides __init__."""
    if folder.name == "__pycache__":
        return
    count = len([p for p in folder.glob("*.py") if p.name not in ("__init__.py", "__main__.py")])
    assert count <= MOST_MODULES, f"{folder.relative_to(ROOT)} holds {count} modules"


def test_tests_and_benches_share_code_only_through_test_support() -> None:
    """No module imports a test module: bench/, tests/support/ and the tests themselves share
    code through tests/support/ (and conftest's fixtures) only."""
    known = modules()
    for name, path in known.items():
        if not name.startswith(("bench", "tests")):
            continue
        for target, line in imports(path, known):
            if target.startswith("tests.test_"):
                raise AssertionError(f"{path.relative_to(ROOT)}:{line} imports {target}")
