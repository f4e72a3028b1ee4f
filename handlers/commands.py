"""Every slash command, registered from the core's command table, and the command menus."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.conversation import replies
from bot.conversation.command_table import COMMANDS, Command, Request, menu
from bot.i18n.catalogs import ENGLISH, catalog_languages, for_reader, translator
from handlers.delivery import Exchange, with_typing
from handlers.reading import conversation_of, is_admin, is_group, language_of
from handlers.services import Chats, Context, NewsApp, get_chats, get_services, get_services_of

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def register(app: NewsApp) -> None:
    """One handler per command of the table, then unknown commands (private chats only)."""
    # New messages only: an edited message (Telegram sends it again) re-runs nothing, as
    # an edited question is not answered again (handlers/ask.py).
    only_messages = filters.UpdateType.MESSAGE
    for command in COMMANDS:
        app.add_handler(CommandHandler(command.name, _handler(command), filters=only_messages))
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & only_messages, unknown)
    )


def _handler(command: Command) -> Callback:
    async def handle(update: Update, context: Context) -> None:
        await answer_command(command, update, context)

    handle.__doc__ = f"/{command.name}: {command.description}."
    return handle


def request_of(update: Update, context: Context) -> Request:
    user = update.effective_user
    return Request(
        arg=" ".join(context.args or []),
        who=conversation_of(update),
        first_name=user.first_name if user else None,
        admin=is_admin(update, context),
        language=language_of(update),
    )


async def answer_command(command: Command, update: Update, context: Context) -> None:
    """Reply with the command's core call; to anyone but admins an admin command is unknown
    (silence in groups)."""
    exchange = Exchange(update, context)
    request = request_of(update, context)
    services = get_services(context)
    if command.admin_only and not request.admin:
        if not is_group(update.effective_chat):
            await exchange.reply(replies.unknown_command(command.name, request.tr))
        return
    reply = await with_typing(update, context, command.call(services.conversation, request))
    await exchange.reply(reply)
    if request.admin:
        await admin_menu(context.bot, get_chats(context.bot_data), request.who.user_id)


async def unknown(update: Update, context: Context) -> None:
    """A command the bot does not have."""
    exchange = Exchange(update, context)
    text = (update.effective_message.text if update.effective_message else None) or "/"
    name = text[1:].split(maxsplit=1)[0].split("@", 1)[0] if len(text) > 1 else ""
    await exchange.reply(replies.unknown_command(name, for_reader(language_of(update))))


def menu_languages() -> list[str | None]:
    """Each command menu's language_code: None (the default, English), then one per catalog."""
    return [None, *catalog_languages()]


def commands_in(language: str | None, admin: bool) -> list[BotCommand]:
    tr = translator(language) if language else ENGLISH
    return [BotCommand(n, d) for n, d in menu(admin=admin, tr=tr)]


async def register_menus(app: NewsApp) -> None:
    """The command menu, in English and in each catalog's language (Telegram shows a reader
    the one for their `language_code`): everyone's commands, plus the admin commands in
    admins' chats."""
    try:
        for language in menu_languages():
            await app.bot.set_my_commands(
                commands_in(language, admin=False), language_code=language
            )
    except TelegramError as exc:
        log.warning("Could not register the command menu: %s", exc)
    chats = get_chats(app.bot_data)
    for admin_id in sorted(get_services_of(app).settings.admin_ids):
        await admin_menu(app.bot, chats, admin_id)


async def admin_menu(bot: Bot, chats: Chats, admin_id: int) -> None:
    """Show the admin commands in an admin's private chat menu (once that chat exists)."""
    if admin_id in chats.admin_menus:
        return
    try:
        for language in menu_languages():
            await bot.set_my_commands(
                commands_in(language, admin=True),
                scope=BotCommandScopeChat(admin_id),
                language_code=language,
            )
    except TelegramError as exc:  # the admin has not started a chat with the bot yet
        log.info("No admin command menu for %d yet (%s): set on their next command", admin_id, exc)
        return
    chats.admin_menus.add(admin_id)
