"""The documentation against the code: settings, commands, links, size and the MkDocs build."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import click
import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_LIMIT = 15 * 1024

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
TABLE_KEY = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)


def prose(text: str) -> str:
    """The Markdown text without fenced code blocks (blank lines keep line numbers)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """An anchor as MkDocs' toc extension makes it: markup dropped, ASCII, lower case,
    punctuation dropped, runs of spaces and hyphens one hyphen."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_]{1,2}([^*_]+)[*_]{1,2}", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as toc does (_1, _2)."""
    found: set[str] = set()
    for match in HEADING.finditer(prose(path.read_text(encoding="utf-8"))):
        base = candidate = slug(match.group(2))
        n = 0
        while candidate in found:
            n += 1
            candidate = f"{base}_{n}"
        found.add(candidate)
    return found


def relative_links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file, outside code."""
    text = CODE_SPAN.sub("", prose(path.read_text(encoding="utf-8")))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)
    ]


def markdown_files() -> list[Path]:
    """The README and every page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def section(text: str, title: str) -> str:
    """The text under the heading `title` up to the next heading of its level or above."""
    for match in HEADING.finditer(text):
        if match.group(2).strip() == title:
            level = len(match.group(1))
            rest = text[match.end() :]
            end = re.search(rf"^#{{1,{level}}}[ \t]", rest, re.MULTILINE)
            return rest[: end.start()] if end else rest
    raise AssertionError(f"no heading {title!r} in docs/cli.md")


def env_names() -> set[str]:
    """The environment key of every field of the settings class."""
    prefix = str(Settings.model_config.get("env_prefix") or "")
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add(alias if isinstance(alias, str) else (prefix + name).upper())
    return names


def newsbot_command() -> click.Group:
    """The `newsbot` click group, found through the entry point in pyproject.toml."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    module, _, attribute = scripts["newsbot"].partition(":")
    group = getattr(importlib.import_module(module), attribute)
    assert isinstance(group, click.Group)
    return group


def option_names(params: list[click.Parameter]) -> list[str]:
    """The option strings (`--json`, `-h`...) of a command's parameters."""
    return [
        name
        for p in params
        if isinstance(p, click.Option) and not p.hidden
        for name in (*p.opts, *p.secondary_opts)
    ]


def mentions(text: str, option: str) -> bool:
    """Whether `option` appears in `text` as a whole word (`--json`, not `--json-lines`)."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_readme_is_at_most_15_kb() -> None:
    """The README stays a front page: at most 15 KB, the rest lives in docs/."""
    size = README.stat().st_size
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


def test_slugs_follow_the_toc_rule() -> None:
    """The anchor rule drops markup and punctuation and joins words with hyphens."""
    assert slug("Stopping the bot (SIGTERM)") == "stopping-the-bot-sigterm"
    assert slug("`newsbot migrate-log`") == "newsbot-migrate-log"
    assert slug("Several instances: webhooks, PostgreSQL and a load balancer") == (
        "several-instances-webhooks-postgresql-and-a-load-balancer"
    )


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link in the README and docs/ names an existing file and heading."""
    broken = []
    for target in relative_links(page):
        where, _, anchor = target.partition("#")
        file = (page.parent / where).resolve() if where else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT)}")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_configuration_page_matches_the_settings() -> None:
    """docs/configuration.md documents every setting of bot/config.py, and nothing else."""
    documented = set(TABLE_KEY.findall((DOCS / "configuration.md").read_text(encoding="utf-8")))
    names = env_names()
    assert names - documented == set(), "settings missing from docs/configuration.md"
    assert documented - names == set(), "docs/configuration.md lists settings the code lacks"


def test_cli_page_lists_every_command_and_option() -> None:
    """docs/cli.md has a section for every `newsbot` command naming each of its options."""
    text = prose((DOCS / "cli.md").read_text(encoding="utf-8"))
    group = newsbot_command()
    missing = [o for o in option_names(group.params) if not mentions(text, o)]
    for name, command in group.commands.items():
        if command.hidden:
            continue
        body = section(text, f"`newsbot {name}`")
        missing += [f"{name} {o}" for o in option_names(command.params) if not mentions(body, o)]
    assert not missing, "options missing from docs/cli.md: " + ", ".join(missing)
    headed = set(re.findall(r"^#{2,6} `newsbot ([\w-]+)`", text, re.MULTILINE))
    assert headed <= set(group.commands), "docs/cli.md documents commands the code lacks"


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    """`mkdocs build --strict` renders every page in the nav without a warning."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (it is in the dev extra: pip install -e '.[dev]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
