"""`newsbot chat`: the conversation in a terminal, through the same command table as Telegram,
in the terminal's language (its locale, or `--lang`)."""

from __future__ import annotations

import asyncio
import sys

import click

from bot.conversation.command_table import handle_line
from bot.conversation.conversation import Conversation
from bot.i18n.catalogs import for_reader
from bot.markup import html_to_text
from bot.storage.state import ConversationKey

# The terminal is one reader in one chat (ids no Telegram chat or user has).
TERMINAL = ConversationKey(chat_id=0, user_id=0)


def chat_loop(conversation: Conversation, language: str | None = None) -> None:
    """Read lines until end of input or /quit; print each reply as plain text. `language`:
    the reader's, as a Telegram reader's `language_code` is (a locale or a language tag)."""
    interactive = sys.stdin.isatty()
    with asyncio.Runner() as runner:
        if interactive:
            greeting = runner.run(handle_line(conversation, "/start", TERMINAL, language))
            click.echo(html_to_text(greeting.messages[0]))
            click.echo(for_reader(language).gettext("(Ctrl-D or /quit to leave.)") + "\n")
        while True:
            try:
                line = input("you> " if interactive else "")
            except (EOFError, KeyboardInterrupt):
                click.echo()
                return
            if line.strip() in ("/quit", "/exit"):
                return
            if not line.strip():
                continue
            reply = runner.run(handle_line(conversation, line, TERMINAL, language))
            for message in reply.messages:
                click.echo(html_to_text(message))
                click.echo()
