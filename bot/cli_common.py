"""What every `newsbot` command shares: one clear line on bad input, and the settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.config import ConfigError, Settings, configure_logging, load_settings


def fail(message: str) -> None:
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
        raise  # unreachable: fail() exits
    configure_logging(settings.log_level, *settings.secrets)
    return settings
