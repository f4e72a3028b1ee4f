"""`newsbot chat`: the conversation in a terminal, through the same command table as Telegram."""

from __future__ import annotations

import asyncio
import sys

import click

from bot.conversation.command_table import handle_line
from bot.conversation.conversation import Conversation
from bot.markup import html_to_text
from bot.storage.state import ConversationKey

# The terminal is one reader in one chat (ids no Telegram chat or user has).
TERMINAL = ConversationKey(chat_id=0, user_id=0)


def chat_loop(conversation: Conversation) -> None:
    """Read lines until end of input or /quit; print each reply as plain text."""
    interactive = sys.stdin.isatty()
    with asyncio.Runner() as runner:
        if interactive:
            greeting = runner.run(handle_line(conversation, "/start", TERMINAL))
            click.echo(html_to_text(greeting.messages[0]))
            click.echo("(Ctrl-D or /quit to leave.)\n")
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
            for message in runner.run(handle_line(conversation, line, TERMINAL)).messages:
                click.echo(html_to_text(message))
                click.echo()
