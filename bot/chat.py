"""The conversation: commands and questions to HTML replies, for Telegram and the terminal."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Generic, TypeVar

from bot.answer import (
    EMPTY_QUESTION,
    MESSAGE_LIMIT,
    MORE_PAGES,
    Answer,
    answer,
    esc,
    hit_block,
    pack,
    quote_html,
    render_pages,
    shorten,
    source_line,
    tg_len,
)
from bot.articles import Article, Collection, article_changes
from bot.index import SearchIndex
from bot.text import STOP_WORDS, tokenize, words

SOURCES_PER_PAGE = 20
# /source sends at most this many messages at once; longer articles continue on page 2...
SOURCE_MESSAGES_PER_PAGE = 3
MAX_QUESTION_CHARS = 1000

COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", "Ask a question about the articles"),
    ("new", "Forget the previous question (start a new topic)"),
    ("sources", "List the articles I can quote"),
    ("source", "Show one article: /source N"),
    ("forget", "Delete everything logged about you"),
    ("help", "How to ask, and the commands"),
    ("start", "Greeting and example questions"),
)
# Shown in the command menu of admins only (and answered to admins only).
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Questions, answers and feedback (admins)"),
    ("reload", "Re-read the articles folder (admins)"),
)
STALE_BUTTON = "This answer is from before a restart or an update of the articles: ask again."
INLINE_RESULTS = 5
INLINE_EXCERPT_CHARS = 1500
DEEP_LINK = re.compile(r"source_([1-9]\d{0,8})")


@dataclass(frozen=True, slots=True)
class Button:
    """An inline keyboard button: callback data (at most 64 bytes) or a link."""

    text: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back: HTML messages, and the answer behind them when there is one.

    `buttons` go under the last message; `notice` is the short pop-up acknowledgement of a
    button press.
    """

    messages: tuple[str, ...]
    answer: Answer | None = None
    buttons: Keyboard = ()
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class PageAction:
    page: int


@dataclass(frozen=True, slots=True)
class VoteAction:
    vote: int  # +1 helpful, -1 not helpful


@dataclass(frozen=True, slots=True)
class ForgetAction:
    confirmed: bool
    user_id: int  # the reader who sent /forget: only they may press its buttons


ButtonAction = PageAction | VoteAction | ForgetAction
VOTES = {"f:up": 1, "f:down": -1}


def parse_button(data: str | None) -> ButtonAction | None:
    """The action behind a button's callback data, or None when the data is not ours."""
    if not data or len(data.encode()) > 64:
        return None
    if match := re.fullmatch(r"p:([1-9]\d?)", data):
        return PageAction(int(match[1]))
    if data in VOTES:
        return VoteAction(VOTES[data])
    if match := re.fullmatch(r"forget:(yes|no):([1-9]\d{0,15})", data):
        return ForgetAction(match[1] == "yes", int(match[2]))
    return None


def answer_buttons(page: int, pages: int) -> Keyboard:
    """Back / More when there are several pages, then 👍 / 👎."""
    nav = []
    if page > 1:
        nav.append(Button("« Back", f"p:{page - 1}"))
    if page < pages:
        nav.append(Button("More »", f"p:{page + 1}"))
    votes = (Button("👍", "f:up"), Button("👎", "f:down"))
    return (tuple(nav), votes) if nav else (votes,)


@dataclass(frozen=True, slots=True)
class InlineResult:
    """One inline-mode result: shown as title and description, sent as `message` (HTML)."""

    id: str
    title: str
    description: str
    message: str


@dataclass(frozen=True, slots=True)
class Changes:
    """What a reload changed: article titles added, updated and removed; files skipped."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    total: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.skipped)} skipped; {self.total} articles"
        )

    def html(self) -> str:
        """The reply to /reload."""
        if not self.changed:
            lines = [f"No changes: {self.total} articles, as before."]
        else:
            lines = [f"<b>Articles reloaded</b>: {self.total} articles now."]
            for label, titles in (
                ("Added", self.added),
                ("Updated", self.updated),
                ("Removed", self.removed),
            ):
                if titles:
                    shown = ", ".join(f"<i>{esc(shorten(t, 80))}</i>" for t in titles[:10])
                    more = f" and {len(titles) - 10} more" if len(titles) > 10 else ""
                    lines.append(f"{label} ({len(titles)}): {shown}{more}")
        if self.skipped:
            shown = "; ".join(f"{esc(f)} ({esc(r)})" for f, r in self.skipped[:10])
            lines.append(f"Skipped {len(self.skipped)} unreadable file(s): {shown}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Library:
    """One generation of the articles and their index, swapped whole on reload."""

    collection: Collection
    index: SearchIndex
    examples: tuple[str, ...]
    generation: int
    numbers: dict[str, int] = field(default_factory=dict)  # article id -> /source number


class Newsroom:
    """Answers commands and questions from one collection of articles."""

    def __init__(
        self, collection: Collection, top_k: int = 3, index: SearchIndex | None = None
    ) -> None:
        self.top_k = top_k
        self._library = _library(collection, index or SearchIndex(collection), 1)
        self.memory = Memory()
        self.bot_username: str | None = None
        self._pages: Lru[Hashable, tuple[int, Answer]] = Lru(PAGES_KEPT)
        self._votes: Lru[Hashable, int] = Lru(VOTES_KEPT)
        self.reloading = threading.Lock()

    @property
    def collection(self) -> Collection:
        return self._library.collection

    @property
    def index(self) -> SearchIndex:
        return self._library.index

    @property
    def examples(self) -> tuple[str, ...]:
        return self._library.examples

    @property
    def generation(self) -> int:
        """Starts at 1, one more at each reload that changed the articles."""
        return self._library.generation

    def replace(self, collection: Collection, index: SearchIndex) -> Changes:
        """Swap in a new collection and index (one assignment: atomic for readers)."""
        old = self._library
        changes = compare(old.collection, collection)
        if changes.changed:
            self._library = _library(collection, index, old.generation + 1)
        return changes

    def link(self, article: Article) -> str | None:
        """A t.me deep link that opens `article` in a private chat with the bot."""
        number = self._library.numbers.get(article.id)
        if not self.bot_username or number is None:
            return None
        return f"https://t.me/{self.bot_username}?start=source_{number}"

    # -- commands -------------------------------------------------------------------------

    def start(self, name: str | None = None, payload: str = "") -> Reply:
        """Greeting, how to ask, and example questions; a deep link opens its article."""
        if match := DEEP_LINK.fullmatch(payload.strip()):
            return self.source(match[1])
        hello = f"Hello, {esc(name)}!" if name else "Hello!"
        count = len(self.collection.articles)
        lines = [
            f"{hello} I answer questions about {count} news article{'s' if count != 1 else ''}"
            " with passages quoted word for word, each with its source.",
            "",
            "Just send me a question, for example:",
            *(f"• <i>{esc(q)}</i>" for q in self.examples),
            "",
            "/sources lists the articles, /help shows everything else.",
        ]
        return Reply(("\n".join(lines),))

    def help(self, admin: bool = False) -> Reply:
        """Commands and tips (and the admin commands, for admins)."""
        lines = [
            "<b>How to ask</b>",
            "Send a question in plain words. I reply with the passages from the articles that "
            "answer it best, quoted verbatim, the key sentence in bold, each with its source "
            "(article, file, paragraph). If the articles don't say, I tell you so.",
            "",
            "<b>Commands</b>",
            *(f"/{name} — {esc(text)}" for name, text in COMMANDS),
            "",
            "<b>Tips</b>",
            "• Names, places and numbers work best: <i>Taliban prisoners released</i>.",
            "• Follow up in a few words — <i>and how many were released?</i> — and I read it "
            "with your previous question; /new starts afresh.",
            "• Small typos are fixed; I say what I searched for.",
            "• In groups, use /ask, mention me, or reply to one of my messages.",
            "• Under an answer: <i>More</i> for further passages, 👍 / 👎 to tell the "
            "newsroom whether it helped.",
            f"• In any chat, type @{esc(self.bot_username or 'botname')} and a question to "
            "share a passage.",
        ]
        if admin:
            lines += ["", "<b>Admin commands</b>"]
            lines += [f"/{name} — {esc(text)}" for name, text in ADMIN_COMMANDS]
        return Reply(("\n".join(lines),))

    def sources(self, arg: str = "") -> Reply:
        """Numbered list of the articles, a page at a time."""
        articles = self.collection.articles
        pages = max(1, -(-len(articles) // SOURCES_PER_PAGE))
        page = _number(arg) if arg.strip() else 1
        if page is None or not 1 <= page <= pages:
            return Reply(
                (
                    f"There {'is' if pages == 1 else 'are'} {pages} page"
                    f"{'s' if pages != 1 else ''} of sources: try /sources 1.",
                )
            )
        first = (page - 1) * SOURCES_PER_PAGE
        lines = [f"<b>Sources</b> ({len(articles)} article{'s' if len(articles) != 1 else ''})"]
        for n, article in enumerate(articles[first : first + SOURCES_PER_PAGE], start=first + 1):
            extra = " · ".join(esc(x) for x in (article.published, article.outlet) if x)
            lines.append(
                f"{n}. {esc(shorten(article.title, 120))}" + (f" · {extra}" if extra else "")
            )
        lines.append("")
        lines.append("Open one with /source N.")
        if pages > 1:
            more = f" — /sources {page + 1} for more" if page < pages else ""
            lines.append(f"Page {page} of {pages}{more}.")
        return Reply(tuple(pack(lines, sep="\n")))

    def source(self, arg: str) -> Reply:
        """One article in full: title, subtitle, dateline and paragraphs; paged if long."""
        parts = arg.split()
        number = _number(parts[0]) if parts else None
        total = len(self.collection.articles)
        if number is None:
            return Reply(
                (f"Tell me which article: /source N, with N from 1 to {total} (see /sources).",)
            )
        article = self.collection.article(number)
        if article is None:
            return Reply(
                (f"There is no article {number}: choose one from 1 to {total} (see /sources).",)
            )
        messages = article_messages(article)
        pages = -(-len(messages) // SOURCE_MESSAGES_PER_PAGE)
        page = _number(parts[1]) if len(parts) > 1 else 1
        if page is None or not 1 <= page <= pages:
            return Reply(
                (
                    f"Article {number} has {pages} page{'s' if pages != 1 else ''}: "
                    f"try /source {number} 1.",
                )
            )
        chunk = messages[(page - 1) * SOURCE_MESSAGES_PER_PAGE : page * SOURCE_MESSAGES_PER_PAGE]
        if page < pages:
            chunk.append(f"Page {page} of {pages} — /source {number} {page + 1} for more.")
        return Reply(tuple(chunk))

    def ask(self, question: str, who: Hashable | None = None) -> Reply:
        """The answer to a question, or a plain 'not found'.

        `who` identifies a conversation (chat and user): a short follow-up ("and how many
        were released?") is then read together with that conversation's last question.
        """
        question = " ".join(question.split())
        if not any(w not in STOP_WORDS for w in words(question)):
            return Reply((EMPTY_QUESTION.format(example=esc(self.examples[0])),))
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
        topic = self.memory.topic(who) if who is not None and is_follow_up(question) else None
        library = self._library
        result = answer(library.index, question, self.top_k, follows=topic, pages=MORE_PAGES)
        if who is not None and topic is None:
            self.memory.remember(who, question)
        pages = render_pages(result, self.top_k, self.link)
        buttons = answer_buttons(1, len(pages)) if result.answered else ()
        return Reply((pages[0],), answer=result, buttons=buttons)

    # -- buttons ------------------------------------------------------------------------------

    def keep(self, where: Hashable, result: Answer) -> None:
        """Remember a sent answer (by chat and message id) for its More/Back buttons."""
        self._pages.put(where, (self.generation, result))

    def page(self, where: Hashable, page: int) -> Reply:
        """Page `page` of the answer sent as `where`, or a notice that the button is stale."""
        kept = self._pages.get(where)
        if kept is None or kept[0] != self.generation:
            return Reply((), notice=STALE_BUTTON)
        result = kept[1]
        pages = render_pages(result, self.top_k, self.link)
        if not 1 <= page <= len(pages):
            return Reply((), notice=STALE_BUTTON)
        return Reply(
            (pages[page - 1],),
            answer=result,
            buttons=answer_buttons(page, len(pages)),
            notice=f"Page {page} of {len(pages)}",
        )

    def vote(self, where: Hashable, vote: int) -> Reply:
        """Acknowledge a 👍 / 👎 (where: chat, message and user); pressing again changes it."""
        before = self._votes.get(where)
        self._votes.put(where, vote)
        word = "helpful" if vote > 0 else "not helpful"
        if before == vote:
            return Reply((), notice=f"You already marked this answer as {word}.")
        if before is not None:
            return Reply((), notice=f"Vote changed: marked as {word}.")
        return Reply((), notice=f"Thanks! Marked as {word}.")

    # -- privacy ------------------------------------------------------------------------------

    def forget_prompt(self, user_id: int) -> Reply:
        """/forget: ask `user_id` for confirmation first (their buttons only)."""
        text = (
            "This deletes everything I have logged about you: your questions, my replies, "
            "your 👍/👎 votes and your inline searches. It cannot be undone.\n\n"
            "Delete it all?"
        )
        buttons = (
            (
                Button("Yes, delete", f"forget:yes:{user_id}"),
                Button("No, keep it", f"forget:no:{user_id}"),
            ),
        )
        return Reply((text,), buttons=buttons)

    def forgotten(self, user_id: int, deleted: int) -> Reply:
        """After /forget is confirmed: the conversation memory goes too."""
        self.memory.forget_user(user_id)
        self._votes.drop(partial(_of_user, user_id))
        return Reply(
            (
                f"Done: deleted {deleted} logged message{'s' if deleted != 1 else ''} of yours "
                "and everything linked to them. Anything you send from now on is logged again.",
            ),
            notice="Deleted.",
        )

    def not_your_forget(self) -> Reply:
        """Someone else pressed the buttons of a reader's /forget (in a group)."""
        return Reply((), notice="Only the reader who sent /forget can answer it: send your own.")

    def forget_cancelled(self) -> Reply:
        return Reply(("Nothing was deleted.",), notice="Kept.")

    # -- inline mode --------------------------------------------------------------------------

    def inline(self, query: str) -> list[InlineResult]:
        """`@bot question` in any chat: the best passages; no question: the newest articles."""
        query = " ".join(query.split())[:MAX_QUESTION_CHARS]
        library = self._library
        if not any(w not in STOP_WORDS for w in words(query)):
            newest = sorted(
                library.collection.articles, key=lambda a: a.newest_first_key, reverse=True
            )
            return [self._inline_article(a) for a in newest[:INLINE_RESULTS]]
        result = answer(library.index, query, INLINE_RESULTS)
        found = []
        for hit in result.hits:
            passage = hit.passage
            message = hit_block(hit, self.link)
            start, end = hit.best_sentence
            found.append(
                InlineResult(
                    id=_result_id(
                        f"{passage.article.id}\x00{passage.paragraph}\x00{passage.part}"
                    ),
                    title=shorten(passage.article.title, 100),
                    description=shorten(passage.text[start:end], 200),
                    message=message,
                )
            )
        return found

    def _inline_article(self, article: Article) -> InlineResult:
        first = article.paragraphs[0] if article.paragraphs else ""
        excerpt = shorten(first, INLINE_EXCERPT_CHARS)
        message = (
            f"<b>{esc(shorten(article.title, 300))}</b>\n<blockquote>{esc(excerpt)}</blockquote>"
            f"\n{source_line(article, 1 if first else None, self.link(article))}"
        )
        if tg_len(message) > MESSAGE_LIMIT:
            message = f"<b>{esc(shorten(article.title, 300))}</b>"
        return InlineResult(
            id=_result_id(f"article\x00{article.id}"),
            title=shorten(article.title, 100),
            description=shorten(article.subtitle or first, 200),
            message=message,
        )

    def new(self, who: Hashable | None = None) -> Reply:
        """/new: forget the conversation's last question."""
        if who is not None:
            self.memory.forget(who)
        return Reply(("Fresh start: your next question is read on its own.",))

    def handle(self, text: str, who: Hashable | None = None) -> Reply:
        """Route one line of input, command or question, as the Telegram handlers do."""
        text = text.strip()
        if not text.startswith("/"):
            return self.ask(text, who)
        command, _, arg = text[1:].partition(" ")
        command = command.split("@", 1)[0].lower()
        routes: dict[str, Callable[[], Reply]] = {
            "start": lambda: self.start(payload=arg),
            "help": self.help,
            "sources": lambda: self.sources(arg),
            "source": lambda: self.source(arg),
            "ask": lambda: self.ask(arg, who) if arg.strip() else self.ask_usage(),
            "new": lambda: self.new(who),
        }
        route = routes.get(command)
        return route() if route else self.unknown_command(command)

    def ask_usage(self) -> Reply:
        """/ask without a question."""
        return Reply((f"Put your question after the command: /ask {esc(self.examples[0])}",))

    def unknown_command(self, command: str) -> Reply:
        """A command we don't have."""
        return Reply((f"I don't know /{esc(shorten(command, 40))}. See /help for what I can do.",))


_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|so|then|what about|how about|what else|and what|same for)\b", re.IGNORECASE
)
_BACK_REFERENCE = frozenset(
    "they them their theirs it its he him his she her those these there that this".split()
)
FOLLOW_UP_MAX_WORDS = 8
MEMORY_SECONDS = 30 * 60
MEMORY_SIZE = 10_000


def is_follow_up(question: str) -> bool:
    """A short question that leans on the one before: "and how many?", "when did they leave?"."""
    found = words(question)
    if not found or len(found) > FOLLOW_UP_MAX_WORDS:
        return False
    return bool(_FOLLOW_UP_START.match(question.strip())) or any(
        w in _BACK_REFERENCE for w in found
    )


class Memory:
    """The last topic question of each conversation, forgotten after 30 minutes.

    Thread-safe: questions are answered in worker threads.
    """

    def __init__(self, seconds: float = MEMORY_SECONDS, size: int = MEMORY_SIZE) -> None:
        self.seconds = seconds
        self._topics: Lru[Hashable, tuple[str, float]] = Lru(size)

    def remember(self, who: Hashable, question: str) -> None:
        self._topics.put(who, (question, time.monotonic()))

    def topic(self, who: Hashable) -> str | None:
        found = self._topics.get(who)
        if found is None or time.monotonic() - found[1] > self.seconds:
            return None
        return found[0]

    def forget(self, who: Hashable) -> None:
        self._topics.pop(who)

    def forget_user(self, user_id: int) -> None:
        """Every conversation of this user, in any chat ((chat, user) keys)."""
        self._topics.drop(partial(_of_user, user_id))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
PAGES_KEPT = 20_000
VOTES_KEPT = 20_000


class Lru(Generic[K, V]):
    """A bounded, thread-safe mapping that forgets the least recently used entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._items.get(key)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def drop(self, which: Callable[[K], bool]) -> None:
        with self._lock:
            for key in [k for k in self._items if which(k)]:
                del self._items[key]


def _of_user(user_id: int, key: Hashable) -> bool:
    """Conversation and vote keys end with the user id: (chat, user), (chat, message, user)."""
    return isinstance(key, tuple) and key[-1] == user_id


def _result_id(text: str) -> str:
    """A short, stable inline result id (Telegram allows 1-64 bytes)."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _library(collection: Collection, index: SearchIndex, generation: int) -> Library:
    return Library(
        collection,
        index,
        tuple(example_questions(index)),
        generation,
        {i: n for n, i in enumerate(collection.article_ids(), start=1)},
    )


def compare(old: Collection, new: Collection) -> Changes:
    """What changed between two loads of the articles folder."""
    added, updated, removed = article_changes(old, new)
    return Changes(added, updated, removed, skipped=new.skipped, total=len(new.articles))


def _number(text: str) -> int | None:
    """A positive whole number written plainly (no signs, paths or exponents), else None."""
    text = text.strip()
    if not re.fullmatch(r"\d{1,9}", text):
        return None
    return int(text)


def article_messages(article: Article) -> list[str]:
    """A whole article as HTML messages within Telegram's limit."""
    head = [f"<b>{esc(article.title)}</b>"]
    if article.subtitle:
        head.append(f"<i>{esc(article.subtitle)}</i>")
    head.append(source_line(article))
    blocks = (
        ["\n".join(head)]
        if len("\n".join(head)) <= MESSAGE_LIMIT
        else [f"<b>{esc(shorten(article.title, 1000))}</b>"]
    )
    for number, paragraph in enumerate(article.paragraphs, start=1):
        prefix = f"{esc(article.dateline)} — " if number == 1 and article.dateline else ""
        label = f"<i>¶ {number}</i> {prefix}"
        pieces = quote_html([(paragraph, False)], limit=MESSAGE_LIMIT - len(label) - 1)
        blocks += [
            label + p.removeprefix("<blockquote>").removesuffix("</blockquote>") for p in pieces
        ]
    return pack(blocks)


def example_questions(index: SearchIndex, count: int = 3) -> list[str]:
    """A few questions about names in the collection that are known to find an answer."""
    found: list[str] = []
    articles = index.collection.articles
    picks = [articles[i * len(articles) // count] for i in range(min(count, len(articles)))]
    for article in picks * count:
        if len(found) == count:
            break
        for name in _names(article, index):
            question = f"What do the articles say about {name}?"
            if question not in found and index.search(question, 1):
                found.append(question)
                break
    return found or [shorten(articles[0].title, 60)]


_PHRASE = re.compile(r"(?<![.!?“\"] )(?<!^)\b([A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*)")
_NOT_NAMES = frozenset(
    """
        mr mrs ms dr president minister monday tuesday wednesday thursday friday
        saturday sunday january february march april may june july august september sept
        october november december
    """.split()
)


def _names(article: Article, index: SearchIndex) -> list[str]:
    """Capitalised phrases inside sentences, rarest first (names, places, organisations)."""
    scored: dict[str, float] = {}
    for paragraph in article.paragraphs:
        for match in _PHRASE.finditer(paragraph):
            phrase = re.sub(r"[’']s$", "", match.group(1))
            phrase_words = [w for w in phrase.split() if w.lower() not in _NOT_NAMES]
            if not phrase_words or len(phrase) < 4:
                continue
            phrase = " ".join(phrase_words)
            weight = sum(index.weight(t) for t in set(tokenize(phrase)))
            scored[phrase] = max(scored.get(phrase, 0.0), weight)
    return sorted(scored, key=lambda p: (-scored[p], p))
