"""Stage 1 of retrieval: a question read as a query.

Its search terms (the one tokenizer's stems), spelling fixes for words the articles never
use, the names it mentions (matched as written later on, never by stem), and the kind of
answer it wants (a date for "when", a figure for "how many", ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.retrieval.names import Name, name_of
from bot.text import (
    EQUIVALENT_PHRASES,
    QUESTION_FILLER,
    STOP_WORDS,
    collapse_joined,
    normalize,
    stem,
    tokenize,
    words,
)

_SURFACE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")
_FILLER_STEMS = frozenset(stem(w) for w in QUESTION_FILLER)
# Capitalised at the start of a question for grammar's sake, not because they are names.
_NOT_NAMES = STOP_WORDS | {"i", "is", "are", "was", "were", "did", "does", "do", "has", "have"}
_YES_NO = re.compile(
    r"^(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|shall)\b"
)
# A spelling fix of a word into one the articles use is kept only when that word shares
# passages with at least this share of the question's other known terms, or when the word
# is at least this long and one slip away ("blackbery"): "Tesla" is not turned into "Tessa".
FIX_SUPPORT = 0.5
LONE_FIX_MIN_CHARS = 7


@dataclass(frozen=True, slots=True)
class Query:
    """A question as searched."""

    text: str
    terms: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    # The question's words (as typed) that no article uses, after spelling fixes.
    unknown: tuple[str, ...] = ()
    names: tuple[Name, ...] = ()
    kind: str | None = None  # see question_kind()
    content: frozenset[str] = field(default=frozenset())  # terms minus conversational filler
    words: tuple[tuple[str, tuple[str, ...]], ...] = ()  # content words as typed, their terms
    folded: frozenset[str] = frozenset()  # every word of the question, case-folded
    name_terms: tuple[tuple[str, ...], ...] = ()  # the terms of each name
    language: str = "en"  # the question's language (ISO 639-1), as it was read

    @property
    def corrected(self) -> str | None:
        """The question with its corrections applied, when there were any."""
        if not self.corrections:
            return None
        text = self.text
        for wrong, right in self.corrections:
            text = re.sub(rf"\b{re.escape(wrong)}\b", right, text)
        return text


class Vocabulary:
    """What query analysis needs to know about the collection's words."""

    def __init__(
        self,
        known: Callable[[str], bool],
        used: Callable[[str], bool],
        spellings: Sequence[str],
        together: Callable[[str, Sequence[str]], float],
        capitalised: Callable[[str], bool],
    ) -> None:
        self.known = known  # is this term in some passage?
        self.used = used  # is this case-folded word in some article (titles too)?
        self.spellings = spellings  # the collection's words, most frequent first
        # The share of these terms that share a passage with the term.
        self.together = together
        self.capitalised = capitalised  # is this word written as a name in the articles?
        # The spellings by length, most frequent first: a word of another length is more
        # edits away, so a spelling fix looks only at a few lengths.
        self._lengths: dict[int, list[str]] = {}
        for spelling in spellings:
            self._lengths.setdefault(len(spelling), []).append(spelling)
        self._rank = {spelling: rank for rank, spelling in enumerate(spellings)}

    def of_length(self, shortest: int, longest: int) -> list[str]:
        """The spellings of these lengths."""
        return [s for n in range(shortest, longest + 1) for s in self._lengths.get(n, ())]

    def rank(self, spelling: str) -> int:
        """0 for the collection's most frequent word, 1 for the next..."""
        return self._rank[spelling]


def analyse(question: str, vocabulary: Vocabulary) -> Query:
    """Read a question: terms, spelling fixes for unknown words, names, the answer kind."""
    found = surface_words(question)
    named = [_looks_like_name(w, n) for n, w in enumerate(found)]
    content_terms = [t for w in found for t in tokenize(w)]
    corrections: list[tuple[str, str]] = []
    unknown: list[str] = []
    terms: list[str] = []
    typed: list[tuple[str, tuple[str, ...]]] = []
    names: list[str] = []
    run: list[str] = []
    for word, is_name in zip(found, named, strict=True):
        fixed = _fix(word, is_name, content_terms, vocabulary)
        if fixed is not None:
            corrections.append((word, fixed))
            word = fixed
        stems = tuple(t for t in tokenize(word) if t not in _FILLER_STEMS)
        if stems:
            typed.append((word, stems))
        terms.extend(tokenize(word))
        if (
            stems
            and not all(vocabulary.known(t) for t in stems)
            and not vocabulary.used(_POSSESSIVE.sub("", word.casefold()))
        ):
            unknown.append(word)
        if is_name:
            run.append(word)
        if run and (not is_name or _POSSESSIVE.search(word)):  # "Murdoch's News Corp": two
            names.append(" ".join(run))
            run = []
    if run:
        names.append(" ".join(run))
    kept = without_filler(terms)
    found_names = tuple(name for n in names if (name := name_of(n)) is not None)
    return Query(
        question,
        tuple(kept),
        tuple(corrections),
        tuple(unknown),
        found_names,
        question_kind(question),
        frozenset(t for t in kept if t not in _FILLER_STEMS),
        tuple(typed),
        frozenset(w.casefold() for w in words(question)),
        tuple(tuple(tokenize(n.text)) for n in found_names),
    )


def surface_words(question: str) -> list[str]:
    """The question's words as typed; the words of an equivalent form ("United States") are
    kept together, as the tokenizer reads them as one."""
    found = [m.group(0) for m in _SURFACE.finditer(collapse_joined(normalize(question)))]
    joined: list[str] = []
    at = 0
    while at < len(found):
        for size in (4, 3, 2, 1):
            phrase = " ".join(found[at : at + size])
            if size == 1 or (at + size <= len(found) and phrase.casefold() in EQUIVALENT_PHRASES):
                joined.append(phrase)
                at += size
                break
    return joined


def _looks_like_name(word: str, position: int) -> bool:
    if " " in word:  # an equivalent form: "United States", "European Union"
        return True
    if word == "I":
        return False
    if word.casefold() in _NOT_NAMES and not word.isupper():
        return False
    if (word.isupper() and len(word) > 1) or word.isdigit():  # "BBC", "EU", "2008"
        return True
    if any(c.isupper() for c in word[1:]):  # "iPhone", "eBay"
        return True
    return position > 0 and word[0].isupper()


def _fix(word: str, is_name: bool, others: list[str], vocabulary: Vocabulary) -> str | None:
    """A spelling fix for a word none of whose terms the articles use, or None.

    The fix is the most frequent word within reach that fits the rest of the question: it
    shares passages with at least half of the question's other known terms; a name is only
    fixed into a word the articles write as a name ("iPhone" is not "phone").
    """
    terms = tokenize(word)
    if not terms or all(vocabulary.known(t) or t in _FILLER_STEMS for t in terms):
        return None
    rest = [t for t in others if t not in terms and vocabulary.known(t)]
    for fixed in spellings_near(word, vocabulary):
        fixed_terms = tokenize(fixed)
        if not fixed_terms:  # "wich" -> "which": a function word, dropped like one
            return _cased(fixed, word)
        if is_name and not vocabulary.capitalised(fixed):
            continue
        support = max(vocabulary.together(t, rest) for t in fixed_terms) if rest else 1.0
        slip = OSA.distance(word.casefold(), fixed) == 1
        if support >= FIX_SUPPORT or (len(word) >= LONE_FIX_MIN_CHARS and slip):
            return _cased(fixed, word)
    return None


def _cased(fixed: str, word: str) -> str:
    if word.isupper():
        return fixed.upper()
    if word[0].isupper() and fixed.islower():
        return fixed.capitalize()
    return fixed


def spellings_near(word: str, vocabulary: Vocabulary, count: int = 8) -> list[str]:
    """The collection's words within one edit of `word` (two for long words), nearest first,
    the most frequent first among equally near ones."""
    lower = _POSSESSIVE.sub("", word.casefold())
    if len(lower) < 4 or lower in STOP_WORDS or not lower.isalpha():
        return []
    limit = 1 if len(lower) <= 7 else 2
    found = process.extract(
        lower,
        vocabulary.of_length(len(lower) - limit, len(lower) + limit),
        scorer=OSA.distance,
        score_cutoff=limit,
        limit=None,
    )
    found.sort(key=lambda f: (f[1], vocabulary.rank(str(f[0]))))
    return [str(f[0]) for f in found[:count]]


def without_filler(terms: list[str]) -> list[str]:
    """Terms minus conversational filler, unless nothing else is left."""
    content = [t for t in terms if t not in _FILLER_STEMS]
    return content or terms


_KINDS = (
    (
        "number",
        r"\bhow (many|much|big|large|high|long is|far|old|fast)\b"
        r"|\bwhat (number|percentage|share|amount|proportion|price|figure|rate)\b",
    ),
    ("when", r"\bwhen\b|\b(what|which) (date|time|year|day|month)\b|\bhow long\b"),
    (
        "who",
        r"\bwho(m|se)?\b|\bwhich (company|firm|group|party|politician|minister|person|man"
        r"|woman|bank|country's)\b",
    ),
    ("where", r"\bwhere\b|\b(what|which) (country|city|town|place|part|region|county)\b"),
    ("why", r"\bwhy\b|\bwhat (caused|led|made|prompted)\b|\bhow come\b|\breasons?\b"),
)


def question_kind(question: str) -> str | None:
    """What the question asks for: 'number', 'when', 'who', 'where', 'why', 'yes-no'."""
    found = words(question)
    text = " ".join(found)
    for kind, pattern in _KINDS:
        if re.search(pattern, text):
            return kind
    if found and _YES_NO.match(found[0]):
        return "yes-no"
    return None
