"""Imports run one way: the core never imports the Telegram glue, and no handler imports
another handler (they share handlers/common.py; handlers/app.py wires them)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_core_never_imports_telegram_or_the_handlers() -> None:
    """bot/ imports neither python-telegram-bot nor handlers/, except the one hand-over in
    `newsbot run` (bot/cli.py imports handlers.app.run_bot)."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        glue = {m for m in imported(path) if m.split(".")[0] in ("telegram", "handlers")}
        if path.name == "cli.py":
            glue -= {"handlers.app", "handlers.app.run_bot"}
        assert not glue, f"{path.relative_to(ROOT)} imports {sorted(glue)}"


def test_no_handler_imports_another_handler() -> None:
    """Each handlers/ module imports at most handlers.common; only app.py imports them all."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        if path.name in ("app.py", "__init__.py"):
            continue
        others = {
            m.split(".")[1]
            for m in imported(path)
            if m.startswith("handlers.") and m.split(".")[1] != "common"
        }
        assert not others, f"{path.relative_to(ROOT)} imports handlers {sorted(others)}"
