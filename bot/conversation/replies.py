"""Every reply the bot sends, as pure functions: the wording of all of them is here (an
answer's passages are rendered by bot/retrieval/answer.py).

A `Reply` is HTML messages (each within Telegram's limits) with optional buttons, a pop-up
notice for a button press, and what the log and the reader state need to know about it.
The Telegram handlers and the terminal chat only deliver replies; they write no text.

Each reply is in the language of its `tr` (bot/i18n: the reader's, or the question's, else
English); the constants here are English, marked for the catalogs, and translated where used.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.articles import Collection
from bot.conversation.render import article_messages
from bot.i18n.catalogs import ENGLISH, N_, Translator
from bot.markup import esc, pack, shorten, tg_len
from bot.retrieval.answer import Answer
from bot.serving.library import Changes
from bot.storage.state import KeptAnswer

SOURCES_PER_PAGE = 20
# /source sends at most this many messages at once; longer articles continue on page 2...
SOURCE_MESSAGES_PER_PAGE = 3

STALE_BUTTON = N_("This answer is from before a restart or an update of the articles: ask again.")
UNKNOWN_BUTTON = N_("This button no longer works: please ask again.")
NOT_ALLOWED = N_(
    "Sorry, this bot only answers in the chats its newsroom has allowed. "
    "Ask the people who run it for access."
)
TEXT_ONLY = N_(
    "I can only read text: send me a question about the articles in words, "
    "or see what they cover with /sources."
)
SORRY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
FORGET_FAILED = N_("I couldn't delete your data just now: please try /forget again in a minute.")
FORGET_EXPIRED = N_("This confirmation has expired: send /forget again.")
CHART_CAPTION = N_("Questions per day and the share answered, last 30 days")
# What the log stores for a /stats reply: its top questions are other readers' words.
STATS_LOGGED = "[stats report]"
EMPTY_QUESTION = N_("Please ask a question in words, e.g. <i>{example}</i>")


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


def unknown_button(tr: Translator = ENGLISH) -> str:
    """The notice for a press on a button that is not ours (any more)."""
    return tr.gettext(UNKNOWN_BUTTON)


def answer_buttons(page: int, pages: int, tr: Translator = ENGLISH) -> Keyboard:
    """Back / More when there are several pages, then 👍 / 👎."""
    nav = []
    if page > 1:
        nav.append(Button(tr.gettext("« Back"), f"p:{page - 1}"))
    if page < pages:
        nav.append(Button(tr.gettext("More »"), f"p:{page + 1}"))
    votes = (Button("👍", "f:up"), Button("👎", "f:down"))
    return (tuple(nav), votes) if nav else (votes,)


# -- commands -------------------------------------------------------------------------------


def start(
    name: str | None, articles: int, examples: Sequence[str], tr: Translator = ENGLISH
) -> Reply:
    """Greeting, how to ask, and example questions."""
    hello = tr.gettext("Hello, {name}!").format(name=esc(name)) if name else tr.gettext("Hello!")
    about = tr.ngettext(
        "I answer questions about {n} news article with passages quoted word for word, "
        "each with its source.",
        "I answer questions about {n} news articles with passages quoted word for word, "
        "each with its source.",
        articles,
    ).format(n=tr.number(articles))
    lines = [
        f"{hello} {esc(about)}",
        "",
        esc(tr.gettext("Just send me a question, for example:")),
        *(f"• <i>{esc(q)}</i>" for q in examples),
        "",
        esc(tr.gettext("/sources lists the articles, /help shows everything else.")),
    ]
    return Reply(("\n".join(lines),))


def help(
    commands: Sequence[tuple[str, str]],
    admin_commands: Sequence[tuple[str, str]],
    bot_username: str | None,
    tr: Translator = ENGLISH,
) -> Reply:
    """Commands and tips; the admin commands when given (to admins). The descriptions come
    translated (the command table's)."""
    # The tips are Telegram HTML: translations keep their <i> tags.
    lines = [
        _bold(tr.gettext("How to ask")),
        esc(
            tr.gettext(
                "Send a question in plain words. I reply with the passages from the articles "
                "that answer it best, quoted verbatim, the key sentence in bold, each with its "
                "source (article, file, paragraph). If the articles don't say, I tell you so."
            )
        ),
        "",
        _bold(tr.gettext("Commands")),
        *(f"/{name} — {esc(text)}" for name, text in commands),
        "",
        _bold(tr.gettext("Tips")),
        tr.gettext("• Names, places and numbers work best: <i>Taliban prisoners released</i>."),
        tr.gettext(
            "• Follow up in a few words — <i>and how many were released?</i> — and I read it "
            "with your previous question; /new starts afresh."
        ),
        esc(tr.gettext("• Small typos are fixed; I say what I searched for.")),
        esc(tr.gettext("• In groups, use /ask, mention me, or reply to one of my messages.")),
        tr.gettext(
            "• Under an answer: <i>More</i> for further passages, 👍 / 👎 to tell the "
            "newsroom whether it helped."
        ),
        # TRANSLATORS: {bot} is the bot's @username.
        tr.gettext("• In any chat, type @{bot} and a question to share a passage.").format(
            bot=esc(bot_username or "botname")
        ),
    ]
    if admin_commands:
        lines += ["", _bold(tr.gettext("Admin commands"))]
        lines += [f"/{name} — {esc(text)}" for name, text in admin_commands]
    return Reply(("\n".join(lines),))


def _bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def number(text: str) -> int | None:
    """A positive whole number written plainly (no signs, paths or exponents), else None."""
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None


def sources(collection: Collection, arg: str = "", tr: Translator = ENGLISH) -> Reply:
    """Numbered list of the articles, a page at a time."""
    articles = collection.articles
    pages = max(1, -(-len(articles) // SOURCES_PER_PAGE))
    page = number(arg) if arg.strip() else 1
    if page is None or not 1 <= page <= pages:
        line = tr.ngettext(
            "There is {n} page of sources: try /sources 1.",
            "There are {n} pages of sources: try /sources 1.",
            pages,
        )
        return Reply((esc(line.format(n=tr.number(pages))),))
    first = (page - 1) * SOURCES_PER_PAGE
    count = tr.ngettext("{n} article", "{n} articles", len(articles))
    count = count.format(n=tr.number(len(articles)))
    lines = [_bold(tr.gettext("Sources")) + f" ({esc(count)})"]
    for n, article in enumerate(articles[first : first + SOURCES_PER_PAGE], start=first + 1):
        extra = " · ".join(esc(shorten(x, 60)) for x in (article.published, article.outlet) if x)
        lines.append(f"{n}. {esc(shorten(article.title, 120))}" + (f" · {extra}" if extra else ""))
    lines += ["", esc(tr.gettext("Open one with /source N."))]
    if pages > 1:
        if page < pages:
            more = tr.gettext("Page {page} of {pages} — /sources {next} for more.")
        else:
            more = tr.gettext("Page {page} of {pages}.")
        lines.append(esc(more.format(page=page, pages=pages, next=page + 1)))
    return Reply(tuple(pack(lines, sep="\n")))


def source(collection: Collection, arg: str, tr: Translator = ENGLISH) -> Reply:
    """One article in full: title, subtitle, dateline and paragraphs; paged if long."""
    parts = arg.split()
    chosen = number(parts[0]) if parts else None
    total = len(collection.articles)
    if chosen is None:
        line = tr.gettext(
            "Tell me which article: /source N, with N from 1 to {total} (see /sources)."
        )
        return Reply((esc(line.format(total=total)),))
    article = collection.article(chosen)
    if article is None:
        line = tr.gettext(
            "There is no article {chosen}: choose one from 1 to {total} (see /sources)."
        )
        return Reply((esc(line.format(chosen=chosen, total=total)),))
    messages = article_messages(article, tr)
    pages = -(-len(messages) // SOURCE_MESSAGES_PER_PAGE)
    page = number(parts[1]) if len(parts) > 1 else 1
    if page is None or not 1 <= page <= pages:
        line = tr.ngettext(
            "Article {chosen} has {n} page: try /source {chosen} 1.",
            "Article {chosen} has {n} pages: try /source {chosen} 1.",
            pages,
        )
        return Reply((esc(line.format(chosen=chosen, n=tr.number(pages))),))
    chunk = messages[(page - 1) * SOURCE_MESSAGES_PER_PAGE : page * SOURCE_MESSAGES_PER_PAGE]
    if page < pages:
        more = tr.gettext("Page {page} of {pages} — /source {chosen} {next} for more.")
        chunk.append(esc(more.format(page=page, pages=pages, chosen=chosen, next=page + 1)))
    return Reply(tuple(chunk))


def ask_usage(examples: Sequence[str], tr: Translator = ENGLISH) -> Reply:
    """/ask without a question."""
    line = esc(tr.gettext("Put your question after the command: /ask {example}"))
    return Reply((line.format(example=esc(examples[0])),))


def unknown_command(command: str, tr: Translator = ENGLISH) -> Reply:
    """A command we don't have."""
    line = esc(tr.gettext("I don't know /{command}. See /help for what I can do."))
    return Reply((line.format(command=esc(shorten(command, 40))),))


def text_only(tr: Translator = ENGLISH) -> Reply:
    """A photo, sticker, voice message...: only text is read."""
    return Reply((esc(tr.gettext(TEXT_ONLY)),))


def not_allowed(tr: Translator = ENGLISH) -> Reply:
    """The one refusal a chat outside the allowlist gets."""
    return Reply((esc(tr.gettext(NOT_ALLOWED)),))


def silence() -> Reply:
    """No reply (logged as an empty one)."""
    return Reply(("",))


def sorry(tr: Translator = ENGLISH) -> Reply:
    """Something failed while answering."""
    return Reply((esc(tr.gettext(SORRY)),))


def fresh_start(tr: Translator = ENGLISH) -> Reply:
    """/new."""
    return Reply((esc(tr.gettext("Fresh start: your next question is read on its own.")),))


# -- questions ------------------------------------------------------------------------------


def empty_question(question: str, examples: Sequence[str], tr: Translator = ENGLISH) -> Reply:
    """A message with no words to search for."""
    line = tr.gettext(EMPTY_QUESTION).format(example=esc(examples[0]))
    return Reply((line,), question=question)


def answer_page(
    result: Answer,
    pages: Sequence[str],
    page: int = 1,
    keep: KeptAnswer | None = None,
    question: str | None = None,
    tr: Translator = ENGLISH,
) -> Reply:
    """Page `page` of an answer; with buttons when it quotes passages."""
    if not result.answered:
        return Reply((pages[0],), answer=result, question=question)
    return Reply(
        (pages[page - 1],),
        answer=result,
        buttons=answer_buttons(page, len(pages), tr),
        notice=tr.gettext("Page {page} of {pages}").format(page=page, pages=len(pages)),
        question=question,
        keep=keep,
    )


def stale_button(tr: Translator = ENGLISH) -> Reply:
    return Reply((), notice=tr.gettext(STALE_BUTTON))


def vote_notice(before: int | None, vote: int, tr: Translator = ENGLISH) -> Reply:
    """Acknowledge a 👍 / 👎; pressing again changes it."""
    if vote > 0:
        if before == vote:
            return Reply((), notice=tr.gettext("You already marked this answer as helpful."))
        if before is not None:
            return Reply((), notice=tr.gettext("Vote changed: marked as helpful."))
        return Reply((), notice=tr.gettext("Thanks! Marked as helpful."))
    if before == vote:
        return Reply((), notice=tr.gettext("You already marked this answer as not helpful."))
    if before is not None:
        return Reply((), notice=tr.gettext("Vote changed: marked as not helpful."))
    return Reply((), notice=tr.gettext("Thanks! Marked as not helpful."))


# -- privacy --------------------------------------------------------------------------------


def forget_prompt(user_id: int, tr: Translator = ENGLISH) -> Reply:
    """/forget: ask `user_id` for confirmation first (their buttons only)."""
    text = tr.gettext(
        "This deletes everything I have logged about you: your questions, my replies, "
        "your 👍/👎 votes and your inline searches. It cannot be undone."
    )
    text = esc(text) + "\n\n" + esc(tr.gettext("Delete it all?"))
    yes = Button(tr.gettext("Yes, delete"), f"forget:yes:{user_id}")
    no = Button(tr.gettext("No, keep it"), f"forget:no:{user_id}")
    return Reply((text,), buttons=((yes, no),))


def forgotten(deleted: int, tr: Translator = ENGLISH) -> Reply:
    line = tr.ngettext(
        "Done: deleted {n} logged message of yours and everything linked to them. "
        "Anything you send from now on is logged again.",
        "Done: deleted {n} logged messages of yours and everything linked to them. "
        "Anything you send from now on is logged again.",
        deleted,
    )
    return Reply((esc(line.format(n=tr.number(deleted))),), notice=tr.gettext("Deleted."))


def forget_cancelled(tr: Translator = ENGLISH) -> Reply:
    return Reply((esc(tr.gettext("Nothing was deleted.")),), notice=tr.gettext("Kept."))


def not_your_forget(tr: Translator = ENGLISH) -> Reply:
    """Someone else pressed the buttons of a reader's /forget (in a group)."""
    notice = tr.gettext("Only the reader who sent /forget can answer it: send your own.")
    return Reply((), notice=notice)


def forget_expired(tr: Translator = ENGLISH) -> Reply:
    """A confirmation already answered, or from before a restart."""
    return Reply((), notice=tr.gettext(FORGET_EXPIRED))


def forget_failed(tr: Translator = ENGLISH) -> Reply:
    return Reply((), notice=tr.gettext(FORGET_FAILED), alert=True)


# -- operators ------------------------------------------------------------------------------


def reloaded(changes: Changes, tr: Translator = ENGLISH) -> Reply:
    """The reply to /reload."""
    total = tr.number(changes.total)
    if not changes.changed:
        line = tr.ngettext(
            "No changes: {n} article, as before.",
            "No changes: {n} articles, as before.",
            changes.total,
        )
        lines = [esc(line.format(n=total))]
    else:
        now = tr.ngettext("{n} article now.", "{n} articles now.", changes.total)
        heading = esc(tr.gettext("Articles reloaded"))
        lines = [f"<b>{heading}</b>: {esc(now.format(n=total))}"]
        for label, titles in (
            (tr.gettext("Added"), changes.added),
            (tr.gettext("Updated"), changes.updated),
            (tr.gettext("Removed"), changes.removed),
        ):
            if titles:
                shown = ", ".join(f"<i>{esc(shorten(t, 80))}</i>" for t in titles[:10])
                more = _and_more(len(titles) - 10, tr) if len(titles) > 10 else ""
                lines.append(f"{esc(label)} ({len(titles)}): {shown}{more}")
    if changes.skipped:
        lines.append(_skipped_line(changes.skipped, tr=tr))
    return Reply(tuple(pack(lines, sep="\n")))


def _and_more(n: int, tr: Translator) -> str:
    """ " and 5 more", after a list cut short."""
    return esc(tr.gettext(" and {n} more").format(n=tr.number(n)))


def _skipped_line(
    skipped: Sequence[tuple[str, str]], room: int = 3000, tr: Translator = ENGLISH
) -> str:
    """The unreadable files and why, as many as fit in `room` (their names come from the
    folder: any length, any characters)."""
    shown: list[str] = []
    for file, reason in skipped[:10]:
        entry = f"{esc(shorten(file, 200))} ({esc(shorten(reason, 200))})"
        if shown and tg_len("; ".join([*shown, entry])) > room:
            break
        shown.append(entry)
    more = _and_more(len(skipped) - len(shown), tr) if len(skipped) > len(shown) else ""
    line = tr.ngettext(
        "Skipped {n} unreadable file: {files}",
        "Skipped {n} unreadable files: {files}",
        len(skipped),
    )
    return esc(line).format(n=tr.number(len(skipped)), files="; ".join(shown)) + more


def reload_failed(reason: str, tr: Translator = ENGLISH) -> Reply:
    line = tr.gettext("Reload failed, nothing changed: {reason}")
    return Reply((esc(line.format(reason=reason)),))


def stats(report: str, chart: Callable[[], Awaitable[Photo]]) -> Reply:
    """/stats: the report (bot/conversation/report.py renders it), then its chart; logged without
    it.
    """
    return Reply((report,), photo=chart, logged_as=STATS_LOGGED)


def log_unreadable(reason: str, tr: Translator = ENGLISH) -> Reply:
    return Reply((esc(tr.gettext("Cannot read the log: {reason}").format(reason=reason)),))
