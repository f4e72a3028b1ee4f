"""An answer: what the articles say about a question, as retrieval found it.

An Answer is the hits for a question; its verdict (bot/retrieval/choice.py) says what kind of
reply it is: an answer, the closest passages, or nothing. How it is shown (Telegram HTML, plain
text, JSON) is bot/conversation/render.py's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.retrieval.choice import NOTHING, Verdict
from bot.retrieval.search import Hit, SearchIndex

# An answer fetches this many pages of hits; "More" shows the pages after the first.
MORE_PAGES = 4


@dataclass(frozen=True, slots=True)
class Answer:
    """What the articles say about a question: ranked hits, and whether they answer it
    (when they do not, the hits are the closest passages, or none)."""

    question: str
    hits: tuple[Hit, ...]
    took_ms: float
    # What was searched when it differs from the question: spelling fixed, or a follow-up
    # read together with the question before it.
    searched_for: str | None = None
    follows: str | None = None
    verdict: Verdict = NOTHING
    language: str = "en"  # the question's language (ISO 639-1), as retrieval read it

    @property
    def answered(self) -> bool:
        return self.verdict.answers

    @property
    def closest(self) -> bool:
        """Not answered, but the hits are the closest passages (shown as such)."""
        return self.verdict.closest and bool(self.hits)


def answer(
    index: SearchIndex,
    question: str,
    top_k: int,
    follows: str | None = None,
    pages: int = 1,
    hint: str | None = None,
) -> Answer:
    """Search the index for `question` (read after `follows`, if given) and time it.

    With `pages` > 1 the answer holds up to `pages * top_k` hits, for "More". `hint` is the
    reader's language (Telegram's `language_code`), which decides for short questions.
    """
    started = time.perf_counter()
    searched = f"{follows} {question}" if follows else question
    found = index.find(searched, top_k * max(1, pages), hint=hint)
    hits = found.hits if found.answered else found.hits[:top_k]
    return Answer(
        question,
        hits,
        (time.perf_counter() - started) * 1000,
        searched_for=found.query.corrected,
        follows=follows,
        verdict=found.verdict,
        language=found.query.language,
    )
