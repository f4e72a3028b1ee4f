"""What every `newsbot` command shares: one clear line on bad input, the settings, and
progress bars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.config import ConfigError, Settings, configure_logging, load_settings


def fail(message: str) -> NoReturn:
    """Print one clear line and exit with code 2 (bad setting or input)."""
    click.echo(f"newsbot: {message}", err=True)
    sys.exit(2)


def settings_from(articles: Path | None) -> Settings:
    """Settings from the environment and .env, with a command-line override of the folder."""
    overrides: dict[str, Any] = {}
    if articles is not None:
        overrides["NEWSBOT_ARTICLES_DIR"] = articles
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
    configure_logging(settings.log_level, *settings.secrets)
    return settings


class GivenPath(click.Path):
    """click.Path that refuses an empty value: click would turn "" into Path("."), the
    current folder (served as articles, read as cases, written over), before any setting's
    own check could see it was blank."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            name = param.opts[0] if isinstance(param, click.Option) else "a path"
            if isinstance(param, click.Argument):
                name = param.human_readable_name
            fail(f"{name} is empty: name a {'file' if not self.dir_okay else 'folder'}")
        return super().convert(value, param, ctx)


class Bars:
    """Progress bars on stderr, one per stage of `load_cached` (reading, indexing)."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.labels = {
            "reading": "Reading articles",
            "indexing": "Indexing passages",
            "embedding": "Embedding passages",
        }

    def update(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            label = self.labels.get(stage, stage)
            bar = self.bars[stage] = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done)

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.update(max(0, bar.length - bar.pos))
            bar.__exit__(None, None, None)
