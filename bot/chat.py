"""The conversation: commands and questions to HTML replies, for Telegram and the terminal."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from bot.answer import (
    EMPTY_QUESTION,
    MESSAGE_LIMIT,
    Answer,
    answer,
    esc,
    pack,
    quote_html,
    render_html,
    shorten,
    source_line,
)
from bot.articles import Article, Collection
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
    ("help", "How to ask, and the commands"),
    ("start", "Greeting and example questions"),
)


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back: HTML messages, and the answer behind them when there is one."""

    messages: tuple[str, ...]
    answer: Answer | None = None


class Newsroom:
    """Answers commands and questions from one collection of articles."""

    def __init__(
        self, collection: Collection, top_k: int = 3, index: SearchIndex | None = None
    ) -> None:
        self.collection = collection
        self.index = index or SearchIndex(collection)
        self.top_k = top_k
        self.examples = example_questions(self.index)
        self.memory = Memory()

    # -- commands -------------------------------------------------------------------------

    def start(self, name: str | None = None) -> Reply:
        """Greeting, how to ask, and example questions."""
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

    def help(self) -> Reply:
        """Commands and tips."""
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
        ]
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
        result = answer(self.index, question, self.top_k, follows=topic)
        if who is not None and topic is None:
            self.memory.remember(who, question)
        return Reply(tuple(render_html(result)), answer=result)

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
            "start": lambda: self.start(),
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
        self.size = size
        self._topics: OrderedDict[Hashable, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, who: Hashable, question: str) -> None:
        with self._lock:
            self._topics[who] = (question, time.monotonic())
            self._topics.move_to_end(who)
            while len(self._topics) > self.size:
                self._topics.popitem(last=False)

    def topic(self, who: Hashable) -> str | None:
        with self._lock:
            found = self._topics.get(who)
        if found is None or time.monotonic() - found[1] > self.seconds:
            return None
        return found[0]

    def forget(self, who: Hashable) -> None:
        with self._lock:
            self._topics.pop(who, None)


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
