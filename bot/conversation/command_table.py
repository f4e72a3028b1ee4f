"""The command table: each slash command's name, description, who may use it, and the core
call that answers it.

/help, the Telegram command menus (everyone's and the admins'), the Telegram handler
registration (handlers/commands.py) and the terminal chat all read this one table.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.conversation import replies
from bot.conversation.conversation import Conversation
from bot.conversation.replies import Reply
from bot.serving.reload import ReloadError
from bot.storage.state import ConversationKey

Surface = Literal["telegram", "terminal"]
DEEP_LINK = re.compile(r"source_([1-9]\d{0,8})")


@dataclass(frozen=True, slots=True)
class Request:
    """A command as the core sees it: the text after it, and who sent it from where."""

    arg: str
    who: ConversationKey
    first_name: str | None = None
    admin: bool = False
    surface: Surface = "telegram"


Call = Callable[[Conversation, Request], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command. `terminal`: offered in `newsbot chat` too."""

    name: str
    description: str
    call: Call
    admin_only: bool = False
    terminal: bool = True


async def _start(conversation: Conversation, request: Request) -> Reply:
    """Greeting and examples; /start source_N (a deep link) opens article N."""
    if match := DEEP_LINK.fullmatch(request.arg.strip()):
        return replies.source(conversation.edition.collection, match[1])
    edition = conversation.edition
    return replies.start(request.first_name, len(edition.collection.articles), edition.examples)


async def _help(conversation: Conversation, request: Request) -> Reply:
    shown = visible(request)
    return replies.help(
        [(c.name, c.description) for c in shown if not c.admin_only],
        [(c.name, c.description) for c in shown if c.admin_only],
        conversation.bot_username,
    )


async def _sources(conversation: Conversation, request: Request) -> Reply:
    return replies.sources(conversation.edition.collection, request.arg)


async def _source(conversation: Conversation, request: Request) -> Reply:
    return replies.source(conversation.edition.collection, request.arg)


async def _ask(conversation: Conversation, request: Request) -> Reply:
    if not request.arg.strip():
        return replies.ask_usage(conversation.edition.examples)
    return await conversation.ask(request.arg, request.who)


async def _new(conversation: Conversation, request: Request) -> Reply:
    return await conversation.new_topic(request.who)


async def _forget(conversation: Conversation, request: Request) -> Reply:
    return await conversation.forget_prompt(request.who.user_id)


async def _stats(conversation: Conversation, request: Request) -> Reply:
    return await conversation.stats()


async def _reload(conversation: Conversation, request: Request) -> Reply:
    try:
        changes = await conversation.reload("/reload", announce=True)
    except ReloadError as exc:
        return replies.reload_failed(str(exc))
    return replies.reloaded(changes)


COMMANDS: tuple[Command, ...] = (
    Command("ask", "Ask a question about the articles", _ask),
    Command("new", "Forget the previous question (start a new topic)", _new),
    Command("sources", "List the articles I can quote", _sources),
    Command("source", "Show one article: /source N", _source),
    # The terminal chat logs nothing, so there is nothing to forget there.
    Command("forget", "Delete everything logged about you", _forget, terminal=False),
    Command("help", "How to ask, and the commands", _help),
    Command("start", "Greeting and example questions", _start),
    Command("stats", "Questions, answers and feedback (admins)", _stats, admin_only=True),
    Command("reload", "Re-read the articles folder (admins)", _reload, admin_only=True),
)


def visible(request: Request) -> list[Command]:
    """The commands the sender of `request` may use where they are."""
    return [
        c
        for c in COMMANDS
        if (request.admin or not c.admin_only) and (request.surface == "telegram" or c.terminal)
    ]


def menu(admin: bool) -> list[tuple[str, str]]:
    """(name, description) for Telegram's command menu: everyone's, or an admin's."""
    return [(c.name, c.description) for c in COMMANDS if admin or not c.admin_only]


async def handle_line(conversation: Conversation, line: str, who: ConversationKey) -> Reply:
    """One line typed in the terminal chat: a command from the table, or a question."""
    text = line.strip()
    if not text.startswith("/"):
        return await conversation.ask(text, who)
    name, _, arg = text[1:].partition(" ")
    name = name.split("@", 1)[0].lower()
    request = Request(arg, who, surface="terminal")
    for command in visible(request):
        if command.name == name:
            return await command.call(conversation, request)
    return replies.unknown_command(name)
