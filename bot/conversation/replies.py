"""Every reply the bot sends, as pure functions: the wording of all of them is here (an
answer's passages are rendered by bot/retrieval/answer.py).

A `Reply` is HTML messages (each within Telegram's limits) with optional buttons, a pop-up
notice for a button press, and what the log and the reader state need to know about it.
The Telegram handlers and the terminal chat only deliver replies; they write no text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.articles import Collection
from bot.conversation.render import article_messages
from bot.markup import esc, pack, shorten, tg_len
from bot.retrieval.answer import Answer
from bot.serving.library import Changes
from bot.storage.state import KeptAnswer
from bot.text import plural

SOURCES_PER_PAGE = 20
# /source sends at most this many messages at once; longer articles continue on page 2...
SOURCE_MESSAGES_PER_PAGE = 3

STALE_BUTTON = "This answer is from before a restart or an update of the articles: ask again."
UNKNOWN_BUTTON = "This button no longer works: please ask again."
NOT_ALLOWED = (
    "Sorry, this bot only answers in the chats its newsroom has allowed. "
    "Ask the people who run it for access."
)
TEXT_ONLY = (
    "I can only read text: send me a question about the articles in words, "
    "or see what they cover with /sources."
)
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
FORGET_FAILED = "I couldn't delete your data just now: please try /forget again in a minute."
FORGET_EXPIRED = "This confirmation has expired: send /forget again."
CHART_CAPTION = "Questions per day and the share answered, last 30 days"
# What the log stores for a /stats reply: its top questions are other readers' words.
STATS_LOGGED = "[stats report]"
EMPTY_QUESTION = "Please ask a question in words, e.g. <i>{example}</i>"


@dataclass(frozen=True, slots=True)
class Button:
    """An inline keyboard button: callback data (at most 64 bytes) or a link."""

    text: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Photo:
    """A picture sent after a reply's messages (the /stats chart)."""

    png: bytes
    caption: str
    filename: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back: HTML messages, and what the log and reader state need about them.

    `buttons` go under the last message; `notice` is the pop-up acknowledging a button press
    (`alert`: one the reader must dismiss). `question` is set when the message was a question
    (the log records the turn as one); `keep` is remembered for More/Back once the answer is
    sent; `photo` is made and sent after the messages. `logged_as` is what the log stores
    instead of the messages, for replies that quote other readers (they can be recomputed,
    and /forget must not leave a reader's words in someone else's reply).
    """

    messages: tuple[str, ...]
    answer: Answer | None = None
    buttons: Keyboard = ()
    notice: str | None = None
    alert: bool = False
    question: str | None = None
    keep: KeptAnswer | None = None
    photo: Callable[[], Awaitable[Photo]] | None = None
    logged_as: str | None = None

    @property
    def logged(self) -> str:
        """The reply as the conversation log stores it."""
        return self.logged_as if self.logged_as is not None else "\n\n".join(self.messages)


# -- buttons --------------------------------------------------------------------------------


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


# -- commands -------------------------------------------------------------------------------


def start(name: str | None, articles: int, examples: Sequence[str]) -> Reply:
    """Greeting, how to ask, and example questions."""
    hello = f"Hello, {esc(name)}!" if name else "Hello!"
    lines = [
        f"{hello} I answer questions about {plural(articles, 'news article')}"
        " with passages quoted word for word, each with its source.",
        "",
        "Just send me a question, for example:",
        *(f"• <i>{esc(q)}</i>" for q in examples),
        "",
        "/sources lists the articles, /help shows everything else.",
    ]
    return Reply(("\n".join(lines),))


def help(
    commands: Sequence[tuple[str, str]],
    admin_commands: Sequence[tuple[str, str]],
    bot_username: str | None,
) -> Reply:
    """Commands and tips; the admin commands when given (to admins)."""
    lines = [
        "<b>How to ask</b>",
        "Send a question in plain words. I reply with the passages from the articles that "
        "answer it best, quoted verbatim, the key sentence in bold, each with its source "
        "(article, file, paragraph). If the articles don't say, I tell you so.",
        "",
        "<b>Commands</b>",
        *(f"/{name} — {esc(text)}" for name, text in commands),
        "",
        "<b>Tips</b>",
        "• Names, places and numbers work best: <i>Taliban prisoners released</i>.",
        "• Follow up in a few words — <i>and how many were released?</i> — and I read it "
        "with your previous question; /new starts afresh.",
        "• Small typos are fixed; I say what I searched for.",
        "• In groups, use /ask, mention me, or reply to one of my messages.",
        "• Under an answer: <i>More</i> for further passages, 👍 / 👎 to tell the "
        "newsroom whether it helped.",
        f"• In any chat, type @{esc(bot_username or 'botname')} and a question to "
        "share a passage.",
    ]
    if admin_commands:
        lines += ["", "<b>Admin commands</b>"]
        lines += [f"/{name} — {esc(text)}" for name, text in admin_commands]
    return Reply(("\n".join(lines),))


def number(text: str) -> int | None:
    """A positive whole number written plainly (no signs, paths or exponents), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None


def sources(collection: Collection, arg: str = "") -> Reply:
    """Numbered list of the articles, a page at a time."""
    articles = collection.articles
    pages = max(1, -(-len(articles) // SOURCES_PER_PAGE))
    page = number(arg) if arg.strip() else 1
    if page is None or not 1 <= page <= pages:
        are = "is" if pages == 1 else "are"
        return Reply((f"There {are} {plural(pages, 'page')} of sources: try /sources 1.",))
    first = (page - 1) * SOURCES_PER_PAGE
    lines = [f"<b>Sources</b> ({plural(len(articles), 'article')})"]
    for n, article in enumerate(articles[first : first + SOURCES_PER_PAGE], start=first + 1):
        extra = " · ".join(esc(shorten(x, 60)) for x in (article.published, article.outlet) if x)
        lines.append(f"{n}. {esc(shorten(article.title, 120))}" + (f" · {extra}" if extra else ""))
    lines += ["", "Open one with /source N."]
    if pages > 1:
        more = f" — /sources {page + 1} for more" if page < pages else ""
        lines.append(f"Page {page} of {pages}{more}.")
    return Reply(tuple(pack(lines, sep="\n")))


def source(collection: Collection, arg: str) -> Reply:
    """One article in full: title, subtitle, dateline and paragraphs; paged if long."""
    parts = arg.split()
    chosen = number(parts[0]) if parts else None
    total = len(collection.articles)
    if chosen is None:
        return Reply(
            (f"Tell me which article: /source N, with N from 1 to {total} (see /sources).",)
        )
    article = collection.article(chosen)
    if article is None:
        return Reply(
            (f"There is no article {chosen}: choose one from 1 to {total} (see /sources).",)
        )
    messages = article_messages(article)
    pages = -(-len(messages) // SOURCE_MESSAGES_PER_PAGE)
    page = number(parts[1]) if len(parts) > 1 else 1
    if page is None or not 1 <= page <= pages:
        return Reply((f"Article {chosen} has {plural(pages, 'page')}: try /source {chosen} 1.",))
    chunk = messages[(page - 1) * SOURCE_MESSAGES_PER_PAGE : page * SOURCE_MESSAGES_PER_PAGE]
    if page < pages:
        chunk.append(f"Page {page} of {pages} — /source {chosen} {page + 1} for more.")
    return Reply(tuple(chunk))


def ask_usage(examples: Sequence[str]) -> Reply:
    """/ask without a question."""
    return Reply((f"Put your question after the command: /ask {esc(examples[0])}",))


def unknown_command(command: str) -> Reply:
    """A command we don't have."""
    return Reply((f"I don't know /{esc(shorten(command, 40))}. See /help for what I can do.",))


def text_only() -> Reply:
    """A photo, sticker, voice message...: only text is read."""
    return Reply((TEXT_ONLY,))


def not_allowed() -> Reply:
    """The one refusal a chat outside the allowlist gets."""
    return Reply((NOT_ALLOWED,))


def silence() -> Reply:
    """No reply (logged as an empty one)."""
    return Reply(("",))


def sorry() -> Reply:
    """Something failed while answering."""
    return Reply((SORRY,))


def fresh_start() -> Reply:
    """/new."""
    return Reply(("Fresh start: your next question is read on its own.",))


# -- questions ------------------------------------------------------------------------------


def empty_question(question: str, examples: Sequence[str]) -> Reply:
    """A message with no words to search for."""
    return Reply((EMPTY_QUESTION.format(example=esc(examples[0])),), question=question)


def answer_page(
    result: Answer,
    pages: Sequence[str],
    page: int = 1,
    keep: KeptAnswer | None = None,
    question: str | None = None,
) -> Reply:
    """Page `page` of an answer; with buttons when it quotes passages."""
    if not result.answered:
        return Reply((pages[0],), answer=result, question=question)
    return Reply(
        (pages[page - 1],),
        answer=result,
        buttons=answer_buttons(page, len(pages)),
        notice=f"Page {page} of {len(pages)}",
        question=question,
        keep=keep,
    )


def stale_button() -> Reply:
    return Reply((), notice=STALE_BUTTON)


def vote_notice(before: int | None, vote: int) -> Reply:
    """Acknowledge a 👍 / 👎; pressing again changes it."""
    word = "helpful" if vote > 0 else "not helpful"
    if before == vote:
        return Reply((), notice=f"You already marked this answer as {word}.")
    if before is not None:
        return Reply((), notice=f"Vote changed: marked as {word}.")
    return Reply((), notice=f"Thanks! Marked as {word}.")


# -- privacy --------------------------------------------------------------------------------


def forget_prompt(user_id: int) -> Reply:
    """/forget: ask `user_id` for confirmation first (their buttons only)."""
    text = (
        "This deletes everything I have logged about you: your questions, my replies, "
        "your 👍/👎 votes and your inline searches. It cannot be undone.\n\n"
        "Delete it all?"
    )
    yes = Button("Yes, delete", f"forget:yes:{user_id}")
    return Reply((text,), buttons=((yes, Button("No, keep it", f"forget:no:{user_id}")),))


def forgotten(deleted: int) -> Reply:
    return Reply(
        (
            f"Done: deleted {plural(deleted, 'logged message')} of yours "
            "and everything linked to them. Anything you send from now on is logged again.",
        ),
        notice="Deleted.",
    )


def forget_cancelled() -> Reply:
    return Reply(("Nothing was deleted.",), notice="Kept.")


def not_your_forget() -> Reply:
    """Someone else pressed the buttons of a reader's /forget (in a group)."""
    return Reply((), notice="Only the reader who sent /forget can answer it: send your own.")


def forget_expired() -> Reply:
    """A confirmation already answered, or from before a restart."""
    return Reply((), notice=FORGET_EXPIRED)


def forget_failed() -> Reply:
    return Reply((), notice=FORGET_FAILED, alert=True)


# -- operators ------------------------------------------------------------------------------


def reloaded(changes: Changes) -> Reply:
    """The reply to /reload."""
    if not changes.changed:
        lines = [f"No changes: {plural(changes.total, 'article')}, as before."]
    else:
        lines = [f"<b>Articles reloaded</b>: {plural(changes.total, 'article')} now."]
        for label, titles in (
            ("Added", changes.added),
            ("Updated", changes.updated),
            ("Removed", changes.removed),
        ):
            if titles:
                shown = ", ".join(f"<i>{esc(shorten(t, 80))}</i>" for t in titles[:10])
                more = f" and {len(titles) - 10} more" if len(titles) > 10 else ""
                lines.append(f"{label} ({len(titles)}): {shown}{more}")
    if changes.skipped:
        lines.append(_skipped_line(changes.skipped))
    return Reply(tuple(pack(lines, sep="\n")))


def _skipped_line(skipped: Sequence[tuple[str, str]], room: int = 3000) -> str:
    """The unreadable files and why, as many as fit in `room` (their names come from the
    folder: any length, any characters)."""
    shown: list[str] = []
    for file, reason in skipped[:10]:
        entry = f"{esc(shorten(file, 200))} ({esc(shorten(reason, 200))})"
        if shown and tg_len("; ".join([*shown, entry])) > room:
            break
        shown.append(entry)
    more = f" and {len(skipped) - len(shown)} more" if len(skipped) > len(shown) else ""
    return f"Skipped {plural(len(skipped), 'unreadable file')}: {'; '.join(shown)}{more}"


def reload_failed(reason: str) -> Reply:
    return Reply((esc(f"Reload failed, nothing changed: {reason}"),))


def stats(report: str, chart: Callable[[], Awaitable[Photo]]) -> Reply:
    """/stats: the report (bot/conversation/report.py renders it), then its chart; logged without
    it.
    """
    return Reply((report,), photo=chart, logged_as=STATS_LOGGED)


def log_unreadable(reason: str) -> Reply:
    return Reply((esc(f"Cannot read the log: {reason}"),))
