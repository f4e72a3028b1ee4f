"""The command table: each slash command's name, description, who may use it, and the core
call that answers it.

/help, the Telegram command menus (everyone's and the admins', one per language the bot
speaks), the Telegram handler registration (handlers/commands.py) and the terminal chat all
read this one table. Descriptions are English, translated for each reader (bot/i18n).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.conversation import replies
from bot.conversation.conversation import Conversation
from bot.conversation.replies import Reply
from bot.i18n.catalogs import ENGLISH, N_, Translator, for_reader
from bot.serving.reload import ReloadError
from bot.storage.state import ConversationKey

Surface = Literal["telegram", "terminal"]
DEEP_LINK = re.compile(r"source_([1-9]\d{0,8})")


@dataclass(frozen=True, slots=True)
class Request:
    """A command as the core sees it: the text after it, and who sent it from where;
    `language`: the reader's (Telegram's `language_code`, the terminal's locale)."""

    arg: str
    who: ConversationKey
    first_name: str | None = None
    admin: bool = False
    surface: Surface = "telegram"
    language: str | None = None

    @property
    def tr(self) -> Translator:
        """The reply's language: the reader's, else English (a command has no question)."""
        return for_reader(self.language)


Call = Callable[[Conversation, Request], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    """One slash command. `terminal`: offered in `newsbot chat` too. `description` is the
    English one, marked for the catalogs (`describe` gives it in a reader's language)."""

    name: str
    description: str
    call: Call
    admin_only: bool = False
    terminal: bool = True

    def describe(self, tr: Translator = ENGLISH) -> str:
        return tr.gettext(self.description)


async def _start(conversation: Conversation, request: Request) -> Reply:
    """Greeting and examples; /start source_N (a deep link) opens article N."""
    if match := DEEP_LINK.fullmatch(request.arg.strip()):
        return replies.source(conversation.edition.collection, match[1], request.tr)
    edition = conversation.edition
    return replies.start(
        request.first_name, len(edition.collection.articles), edition.examples, request.tr
    )


async def _help(conversation: Conversation, request: Request) -> Reply:
    shown, tr = visible(request), request.tr
    return replies.help(
        [(c.name, c.describe(tr)) for c in shown if not c.admin_only],
        [(c.name, c.describe(tr)) for c in shown if c.admin_only],
        conversation.bot_username,
        tr,
    )


async def _sources(conversation: Conversation, request: Request) -> Reply:
    return replies.sources(conversation.edition.collection, request.arg, request.tr)


async def _source(conversation: Conversation, request: Request) -> Reply:
    return replies.source(conversation.edition.collection, request.arg, request.tr)


async def _ask(conversation: Conversation, request: Request) -> Reply:
    if not request.arg.strip():
        return replies.ask_usage(conversation.edition.examples, request.tr)
    return await conversation.ask(request.arg, request.who, request.language)


async def _new(conversation: Conversation, request: Request) -> Reply:
    return await conversation.new_topic(request.who, request.language)


async def _forget(conversation: Conversation, request: Request) -> Reply:
    return await conversation.forget_prompt(request.who.user_id, request.language)


async def _stats(conversation: Conversation, request: Request) -> Reply:
    return await conversation.stats(request.language)


async def _reload(conversation: Conversation, request: Request) -> Reply:
    try:
        changes = await conversation.reload("/reload", announce=True)
    except ReloadError as exc:
        return replies.reload_failed(str(exc), request.tr)
    return replies.reloaded(changes, request.tr)


COMMANDS: tuple[Command, ...] = (
    Command("ask", N_("Ask a question about the articles"), _ask),
    Command("new", N_("Forget the previous question (start a new topic)"), _new),
    Command("sources", N_("List the articles I can quote"), _sources),
    Command("source", N_("Show one article: /source N"), _source),
    # The terminal chat logs nothing, so there is nothing to forget there.
    Command("forget", N_("Delete everything logged about you"), _forget, terminal=False),
    Command("help", N_("How to ask, and the commands"), _help),
    Command("start", N_("Greeting and example questions"), _start),
    Command("stats", N_("Questions, answers and feedback (admins)"), _stats, admin_only=True),
    Command("reload", N_("Re-read the articles folder (admins)"), _reload, admin_only=True),
)


def visible(request: Request) -> list[Command]:
    """The commands the sender of `request` may use where they are."""
    return [
        c
        for c in COMMANDS
        if (request.admin or not c.admin_only) and (request.surface == "telegram" or c.terminal)
    ]


def menu(admin: bool, tr: Translator = ENGLISH) -> list[tuple[str, str]]:
    """(name, description) for Telegram's command menu: everyone's, or an admin's, in the
    language of `tr`."""
    return [(c.name, c.describe(tr)) for c in COMMANDS if admin or not c.admin_only]


async def handle_line(
    conversation: Conversation, line: str, who: ConversationKey, language: str | None = None
) -> Reply:
    """One line typed in the terminal chat: a command from the table, or a question;
    `language`: the terminal's (its locale, or `--lang`)."""
    text = line.strip()
    if not text.startswith("/"):
        return await conversation.ask(text, who, language)
    name, _, arg = text[1:].partition(" ")
    name = name.split("@", 1)[0].lower()
    request = Request(arg, who, surface="terminal", language=language)
    for command in visible(request):
        if command.name == name:
            return await command.call(conversation, request)
    return replies.unknown_command(name, request.tr)
