"""The kind of answer a question wants, found in a sentence: a date for "when", an amount
for "how many/much", a person's name for "who", a place for "where", a cause for "why".

Only what the question does not already say counts: "When did Yukos file in Houston in
December?" is not answered by a sentence whose only date is "December".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bot.text import STOP_WORDS

_MONTH = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?"
)
_WHEN = re.compile(
    rf"\b({_MONTH})\b\.?( \d{{1,2}}\b)?|\b(monday|tuesday|wednesday|thursday|friday|saturday"
    r"|sunday|today|yesterday|tomorrow|tonight|weekend|(next|last|this) (week|month|year)"
    r"|(\d+|a|one|two|three|four|five|six|several) (days?|weeks?|months?|years?|decades?)"
    r"( ago| later| time)?)\b|\b(1[89]|20)\d\d\b|\b(spring|summer|autumn|winter)\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"[£$€¥]\s?\d[\d.,]*\s?(bn|m|k|billion|million|trillion)?"
    r"|\b\d[\d.,]*\s?(%|percent|per cent|bn|m|billion|million|trillion|thousand|hundred)?"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    r"|fifty|hundred|dozens?|hundreds|thousands|millions|billions|half|a third|a quarter)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[^\W_]+")
_YEAR = re.compile(r"(1[89]|20)\d\d")
_AFTER_MONTH = re.compile(rf"\b({_MONTH})\.?\s*$", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of\s+|de\s+|van\s+)?[A-Z][\w'’-]*)*")
_PLACE = re.compile(
    r"\b(in|at|from|near|across|outside|inside|to|into|based in|across)\s+(the\s+)?"
    r"([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)"
)
_CAUSE = re.compile(
    r"\b(because|due to|as a result|result of|blamed|reasons?|so that|in order to|amid"
    r"|thanks to|caused?|led to|leading to|owing to|aimed at|designed to|in a bid"
    r"|response to|fears?|concerns?|worries|worried|pressure|since|after|following"
    r"|made|forced|meant|needed|wants?|wanted)\b",
    re.IGNORECASE,
)


def _dates(sentence: str) -> Iterator[str]:
    for match in _WHEN.finditer(sentence):
        yield match.group(0)


def _amounts(sentence: str) -> Iterator[str]:
    for match in _AMOUNT.finditer(sentence):
        found = match.group(0)
        digits = found.strip("£$€¥ ").rstrip(".,")
        if _YEAR.fullmatch(digits):  # a year is a date, not an amount
            continue
        if _AFTER_MONTH.search(sentence[: match.start()]):  # "Sept. 11"
            continue
        yield found


def _people(sentence: str) -> Iterator[str]:
    for match in _CAPITALISED.finditer(sentence):
        found = match.group(0).split()
        while found and found[0].casefold() in STOP_WORDS:  # "The", "But" starting a sentence
            found = found[1:]
        if len(found) >= 2:
            yield " ".join(found)


def _places(sentence: str) -> Iterator[str]:
    for match in _PLACE.finditer(sentence):
        yield match.group(3)


def _causes(sentence: str) -> Iterator[str]:
    for match in _CAUSE.finditer(sentence):
        yield match.group(0)


FINDERS: dict[str, Callable[[str], Iterator[str]]] = {
    "when": _dates,
    "number": _amounts,
    "who": _people,
    "where": _places,
    "why": _causes,
}


def holds_answer(sentence: str, kind: str | None, question_words: frozenset[str]) -> bool:
    """Does the sentence hold what a question of this kind asks for, beyond the question's
    own (case-folded) words? False for kinds without a type (what, yes-no) and for none."""
    finder = FINDERS.get(kind or "")
    if finder is None:
        return False
    return any(
        not set(_WORDS.findall(found.casefold())) <= question_words for found in finder(sentence)
    )
