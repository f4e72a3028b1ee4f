"""The services every handler shares (bot/runtime's), reached through the Application."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.runtime.services import Services

SERVICES_KEY = "services"
CHATS_KEY = "chats"


@dataclass(slots=True, eq=False)
class Chats:
    """What this process remembers of Telegram chats while it runs (Telegram's, not the
    core's): chats told once that they are not allowed, admins whose menu is set."""

    refused: set[int] = field(default_factory=set)
    admin_menus: set[int] = field(default_factory=set)


BotData = dict[object, object]


Context = CallbackContext[ExtBot[None], dict[object, object], dict[object, object], BotData]


NewsApp = Application[
    ExtBot[None],
    Context,
    dict[object, object],
    dict[object, object],
    BotData,
    JobQueue[Context],
]


def _services(bot_data: BotData) -> Services:
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def get_services(context: Context) -> Services:
    """The shared services, from a handler's context."""
    return _services(context.bot_data)


def get_services_of(app: NewsApp) -> Services:
    """The shared services, from the Application (start-up, shutdown, tests)."""
    return _services(app.bot_data)


def get_chats(bot_data: BotData) -> Chats:
    """This process's memory of chats (made on first use)."""
    chats = bot_data.setdefault(CHATS_KEY, Chats())
    assert isinstance(chats, Chats)
    return chats
