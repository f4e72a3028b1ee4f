"""Telegram glue: thin python-telegram-bot handlers over the core in `bot/`."""
