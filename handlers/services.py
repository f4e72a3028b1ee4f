"""The services every handler shares (bot/runtime's), reached through the Application."""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.runtime.services import Services

SERVICES_KEY = "services"


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
