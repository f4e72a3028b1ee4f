"""Long polling that notices a token refused while the bot runs (revoked with @BotFather).

python-telegram-bot's polling task ends on InvalidToken and nothing else notices: the
process stays up answering nothing, and at SIGTERM the task's error breaks the shutdown
before the log is written or saved. This Updater stops the application at once instead,
lets the shutdown run to its end, and remembers why (run_bot then exits 2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import InvalidToken
from telegram.ext import Updater

log = logging.getLogger(__name__)


class TokenWatch(Updater):
    """The library's Updater, plus: a refused token ends polling and calls `on_refused`."""

    __slots__ = ("on_refused", "refused")

    def __init__(
        self,
        bot: Any,
        update_queue: asyncio.Queue[Update | object],
        on_refused: Callable[[], None],
    ) -> None:
        super().__init__(bot=bot, update_queue=update_queue)
        self.on_refused = on_refused
        self.refused = False

    async def start_polling(self, *args: Any, **kwargs: Any) -> asyncio.Queue[object]:
        queue = await super().start_polling(*args, **kwargs)
        # The library keeps no public handle on its polling task: a renamed attribute fails
        # here, loudly, at start.
        task: asyncio.Task[None] = getattr(self, "_Updater__polling_task")  # noqa: B009
        task.add_done_callback(self._polling_ended)
        return queue

    def _polling_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or not isinstance(task.exception(), InvalidToken):
            return
        log.error("Telegram refused the token while polling: stopping")
        self.refused = True
        self.on_refused()

    async def stop(self) -> None:
        """Stop polling; the refused token's error is known already, and must not keep the
        application from stopping (and the log from being written)."""
        try:
            await super().stop()
        except InvalidToken:
            if not self.refused:
                raise
