"""The conversation: questions, answer pages, votes, inline results and /forget.

`Conversation` answers from the library's current edition and keeps what it must remember
about readers in a ReaderState. Searches run in a thread pool (they are CPU work); the
reader state is used on the event loop only.

`language` is the reader's (Telegram's `language_code`, the terminal's locale or `--lang`):
replies are in it when the bot speaks it, else in the question's language, else in English
(bot/i18n); it is also retrieval's hint for the question's language.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from functools import partial
from pathlib import Path
from typing import TypeVar

from bot.articles import Article
from bot.conversation import replies
from bot.conversation.render import InlineResult, inline_article, inline_hit, render_pages
from bot.conversation.replies import ForgetAction, Photo, Reply
from bot.conversation.report import chart_png, stats_html
from bot.i18n.catalogs import ENGLISH, Translator, for_reader
from bot.retrieval.answer import MORE_PAGES, Answer, answer
from bot.serving.library import Changes, Edition, Library
from bot.serving.reload import ReloadError, reload_articles
from bot.storage import ConversationLog, DatabaseError, HitRow, read_stats
from bot.storage.state import ConversationKey, KeptAnswer, MessageKey, ReaderState, VoteKey
from bot.text import STOP_WORDS, words

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUESTION_CHARS = 1000
INLINE_RESULTS = 5
FOLLOW_UP_MAX_WORDS = 8
_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|so|then|what about|how about|what else|and what|same for)\b", re.IGNORECASE
)
_BACK_REFERENCE = frozenset(
    "they them their theirs it its he him his she her those these there that this".split()
)


def hit_rows(result: Answer) -> tuple[HitRow, ...]:
    """The passages behind a reply, as the log stores them."""
    return tuple(
        HitRow(h.rank, h.passage.article.id, h.passage.paragraph, round(h.score, 6))
        for h in result.hits
    )


def is_follow_up(question: str) -> bool:
    """A short question that leans on the one before: "and how many?", "when did they leave?"."""
    found = words(question)
    if not found or len(found) > FOLLOW_UP_MAX_WORDS:
        return False
    return bool(_FOLLOW_UP_START.match(question.strip())) or any(
        w in _BACK_REFERENCE for w in found
    )


def has_words(text: str) -> bool:
    """Anything to search for: a word that is not a stop word."""
    return any(w not in STOP_WORDS for w in words(text))


class Conversation:
    """Answers readers from the current articles; remembers what buttons and follow-ups need.

    `log` (absent in the terminal chat) is where /forget deletes and /stats reads;
    `folders` (articles folder, index cache) is what /reload re-reads; `searches` runs the
    searches (None: the event loop's default thread pool).
    """

    def __init__(
        self,
        library: Library,
        state: ReaderState,
        *,
        top_k: int = 3,
        bot_username: str | None = None,
        log: ConversationLog | None = None,
        folders: tuple[Path, Path] | None = None,
        searches: Executor | None = None,
        peers: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.library = library
        self.state = state
        self.top_k = top_k
        self.bot_username = bot_username
        self.log = log
        self.folders = folders
        self.searches = searches
        self.peers = peers

    @property
    def edition(self) -> Edition:
        return self.library.current

    def link(self, article: Article) -> str | None:
        """A t.me deep link that opens `article` in a private chat with the bot."""
        number = self.library.current.numbers.get(article.id)
        if not self.bot_username or number is None:
            return None
        return f"https://t.me/{self.bot_username}?start=source_{number}"

    async def _search(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.searches, call)

    def _pages(
        self, edition: Edition, question: str, follows: str | None, language: str | None
    ) -> tuple[Answer, list[str], Translator]:
        """Search and render the pages of an answer (in a search thread), in the reader's
        language, else the question's."""
        result = answer(
            edition.index, question, self.top_k, follows=follows, pages=MORE_PAGES, hint=language
        )
        tr = for_reader(language, result.language)
        return result, render_pages(result, self.top_k, self.link, tr), tr

    # -- questions and their buttons ----------------------------------------------------------

    async def ask(self, text: str, who: ConversationKey, language: str | None = None) -> Reply:
        """The answer to a question, or a plain 'not found'.

        A short follow-up ("and how many were released?") is read together with the
        conversation's last question.
        """
        question = " ".join(text.split())[:MAX_QUESTION_CHARS]
        edition = self.library.current
        if not has_words(question):
            return replies.empty_question(text, edition.examples, for_reader(language))
        topic = await self.state.topic(who) if is_follow_up(question) else None
        result, pages, tr = await self._search(
            partial(self._pages, edition, question, topic, language)
        )
        if topic is None:
            await self.state.set_topic(who, question)
        keep = KeptAnswer(question, topic, edition.fingerprint, who.user_id)
        return replies.answer_page(result, pages, keep=keep, question=text, tr=tr)

    async def keep(self, where: MessageKey, reply: Reply) -> None:
        """The answer in `reply` was sent as `where`: remember it for its buttons."""
        if reply.keep is not None:
            await self.state.keep_answer(where, reply.keep)

    async def page(self, where: MessageKey, page: int, language: str | None = None) -> Reply:
        """Page `page` of the answer sent as `where`, or a notice that the button is stale."""
        kept = await self.state.kept_answer(where)
        edition = self.library.current
        if kept is None or kept.edition != edition.fingerprint:
            return replies.stale_button(for_reader(language))
        result, pages, tr = await self._search(
            partial(self._pages, edition, kept.question, kept.follows, language)
        )
        if not 1 <= page <= len(pages) or not result.answered:
            return replies.stale_button(tr)
        return replies.answer_page(result, pages, page, tr=tr)

    async def vote(self, key: VoteKey, vote: int, language: str | None = None) -> Reply:
        """Acknowledge a 👍 / 👎; pressing again changes it."""
        return replies.vote_notice(await self.state.vote(key, vote), vote, for_reader(language))

    async def new_topic(self, who: ConversationKey, language: str | None = None) -> Reply:
        """/new: forget the conversation's last question."""
        await self.state.set_topic(who, None)
        return replies.fresh_start(for_reader(language))

    async def inline(self, query: str, language: str | None = None) -> list[InlineResult]:
        """`@bot question` in any chat: the best passages; no question: the newest articles."""
        query = " ".join(query.split())[:MAX_QUESTION_CHARS]
        edition = self.library.current
        if not has_words(query):
            tr = for_reader(language)
            newest = sorted(
                edition.collection.articles, key=lambda a: a.newest_first_key, reverse=True
            )
            return [inline_article(a, self.link(a), tr) for a in newest[:INLINE_RESULTS]]
        result = await self._search(
            partial(answer, edition.index, query, INLINE_RESULTS, hint=language)
        )
        tr = for_reader(language, result.language)
        return [inline_hit(hit, self.link, tr) for hit in result.hits if result.answered]

    # -- privacy ------------------------------------------------------------------------------

    async def forget_prompt(self, user_id: int, language: str | None = None) -> Reply:
        """/forget: ask the reader to confirm first."""
        await self.state.expect_forget(user_id)
        return replies.forget_prompt(user_id, for_reader(language))

    async def answer_forget(
        self, action: ForgetAction, user_id: int, language: str | None = None
    ) -> Reply:
        """A press on a /forget confirmation's buttons by `user_id`."""
        tr = for_reader(language)
        if action.user_id != user_id:
            return replies.not_your_forget(tr)
        if not await self.state.take_forget(user_id):
            return replies.forget_expired(tr)
        if not action.confirmed:
            return replies.forget_cancelled(tr)
        try:
            deleted = await self.log.forget(user_id) if self.log is not None else 0
        except DatabaseError as exc:
            logger.warning("Could not forget user %d: %s", user_id, exc)
            await self.state.expect_forget(user_id)  # the same buttons may try again
            return replies.forget_failed(tr)
        await self.state.forget_user(user_id)
        return replies.forgotten(deleted, tr)

    # -- operators ----------------------------------------------------------------------------

    async def reload(
        self, trigger: str, announce: bool = False, changed: frozenset[str] | None = None
    ) -> Changes:
        """Re-read the articles folder off the event loop (only the `changed` files, when
        the folder watch names them); raises ReloadError. `announce`: then have the other
        instances (if any) reload too."""
        if self.folders is None:
            raise ReloadError("this conversation has no articles folder to re-read")
        try:
            changes = await asyncio.to_thread(
                reload_articles, self.library, *self.folders, changed
            )
        except ReloadError as exc:
            logger.warning("Reload by %s failed, nothing changed: %s", trigger, exc)
            raise
        logger.info("Articles reloaded by %s: %s", trigger, changes.summary())
        if announce and self.peers is not None:
            try:
                await self.peers()
            except DatabaseError as exc:
                logger.warning("Could not ask the other instances to reload: %s", exc)
        return changes

    async def stats(self, language: str | None = None) -> Reply:
        """The /stats report (counting the latest turns too), its chart after it."""
        tr = for_reader(language)
        if self.log is None:
            return replies.log_unreadable(tr.gettext("there is no conversation log here"), tr)
        await self.log.flush()
        try:
            async with self.log.database.read() as db:
                report = await read_stats(db)
        except DatabaseError as exc:
            return replies.log_unreadable(str(exc), tr)
        titles = {a.id: a.title for a in self.library.collection.articles}

        async def chart() -> Photo:
            png = await asyncio.to_thread(chart_png, report, tr)
            return Photo(png, tr.gettext(replies.CHART_CAPTION), "stats.png")

        return replies.stats(stats_html(report, titles, self.semantic_status(tr), tr), chart)

    def semantic_status(self, tr: Translator = ENGLISH) -> str:
        """How far embedding the articles is (as bot/semantic says it, in English), or that
        answers are lexical."""
        semantic = self.library.semantic
        if semantic is None:
            return tr.gettext("off (lexical answers; NEWSBOT_MODEL)")
        return semantic.progress().summary()
