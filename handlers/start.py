"""/start and /help."""

from __future__ import annotations

import logging
import time

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError

from bot.chat import ADMIN_COMMANDS, COMMANDS
from handlers.common import Context, Services, get_services, send

log = logging.getLogger(__name__)


async def admin_menu(bot: Bot, services: Services, admin_id: int) -> None:
    """Show the admin commands in an admin's private chat menu (once it exists)."""
    if admin_id in services.admin_menus:
        return
    try:
        await bot.set_my_commands(
            [BotCommand(n, d) for n, d in COMMANDS + ADMIN_COMMANDS],
            scope=BotCommandScopeChat(admin_id),
        )
    except TelegramError as exc:  # the admin has not started a chat with the bot yet
        log.info("No admin command menu for %d yet (%s): set on their first /start", admin_id, exc)
        return
    services.admin_menus.add(admin_id)


async def start(update: Update, context: Context) -> None:
    """Greet the reader and offer example questions; /start source_N opens article N."""
    started = time.perf_counter()
    user = update.effective_user
    payload = " ".join(context.args or [])
    services = get_services(context)
    reply = services.room.start(user.first_name if user else None, payload)
    await send(update, context, reply, kind="command", started=started)
    if user is not None and services.settings.is_admin(user.id):
        await admin_menu(context.bot, services, user.id)


async def help_command(update: Update, context: Context) -> None:
    """List the commands and tips (and the admin commands, to admins)."""
    started = time.perf_counter()
    services = get_services(context)
    user = update.effective_user
    reply = services.room.help(admin=services.settings.is_admin(user.id if user else None))
    await send(update, context, reply, kind="command", started=started)
