"""Stage 1 of retrieval: a question read as a query.

Its search terms (the one tokenizer's stems), spelling fixes for words the articles never
use, the names it mentions (matched as written later on, never by stem), and the kind of
answer it wants (a date for "when", a figure for "how many", ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.language import compounds
from bot.language.analysis import fold_german
from bot.language.analysis import language as reading
from bot.retrieval.names import Name, name_of
from bot.text import (
    EQUIVALENT_PHRASES,
    QUESTION_FILLER,
    STOP_WORDS,
    collapse_joined,
    is_stop_word,
    normalize,
    stem,
    stem_in,
    tokenize,
    words,
)

_SURFACE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")
_FILLER_STEMS = frozenset(stem(w) for w in QUESTION_FILLER)


@functools.cache
def filler_stems(language: str) -> frozenset[str]:
    """The terms of a language's conversational filler (dropped from questions only)."""
    if language == "en":
        return _FILLER_STEMS
    other = reading(language)
    return frozenset(other.stem(w) for w in other.filler)


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
        count: Callable[[str], int] = lambda term: 0,
        in_language: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.known = known  # is this term in some passage?
        self.count = count  # how many passages hold the term (German compounds' parts)
        # Do passages in this language use the term? None: the collection has one language.
        self.in_language = in_language
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


def analyse(question: str, vocabulary: Vocabulary, language: str = "en") -> Query:
    """Read a question in `language`: terms, spelling fixes for unknown words, names, the
    answer kind (and in German, compounds split or joined as the articles write them)."""
    found = surface_words(question)
    named = [_looks_like_name(w, n, language) for n, w in enumerate(found)]
    filler = filler_stems(language)

    def terms_of(word: str) -> list[str]:
        return tokenize(word, language)

    content_terms = [t for w in found for t in terms_of(w)]
    corrections: list[tuple[str, str]] = []
    unknown: list[str] = []
    terms: list[str] = []
    typed: list[tuple[str, tuple[str, ...]]] = []
    names: list[str] = []
    run: list[str] = []
    for word, is_name in zip(found, named, strict=True):
        parts = _parts(word, language, vocabulary)
        fixed = None if parts else _fix(word, is_name, content_terms, vocabulary, language)
        if fixed is not None:
            corrections.append((word, fixed))
            word = fixed
        stems = parts or tuple(t for t in terms_of(word) if t not in filler)
        if stems:
            typed.append((word, stems))
        terms.extend(parts or terms_of(word))
        if stems and not parts and _unknown(word, stems, vocabulary, language):
            unknown.append(word)
        if is_name:
            run.append(word)
        if run and (not is_name or _POSSESSIVE.search(word)):  # "Murdoch's News Corp": two
            names.append(" ".join(run))
            run = []
    if run:
        names.append(" ".join(run))
    if language == "de":
        terms.extend(_joined(found, vocabulary))
    kept = without_filler(terms, filler)
    content = frozenset(t for t in kept if t not in filler)
    found_names = tuple(name for n in names if (name := name_of(n)) is not None)
    return Query(
        question,
        tuple(kept),
        tuple(corrections),
        tuple(unknown),
        found_names,
        question_kind(question, language),
        content,
        tuple(typed),
        frozenset(w.casefold() for w in words(question)),
        tuple(tuple(terms_of(n.text)) for n in found_names),
        language,
    )


def _unknown(word: str, stems: tuple[str, ...], vocabulary: Vocabulary, language: str) -> bool:
    """Do the articles (in the question's language, in a mixed collection) not use it?"""
    here = vocabulary.in_language
    if here is None:
        if all(vocabulary.known(t) for t in stems):
            return False
        return not vocabulary.used(_POSSESSIVE.sub("", word.casefold()))
    return len(word) > 2 and not all(here(t, language) for t in stems)


def _parts(word: str, language: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The terms of a German compound's parts when the articles do not use it whole
    ("Samsunghandy" -> samsung, handy), else ()."""
    if language != "de" or " " in word or len(word) < compounds.MIN_COMPOUND:
        return ()
    folded = word.casefold()
    if not folded.isalpha() or vocabulary.known(stem_in(folded, language)):
        return ()
    german = reading(language)
    found = compounds.split(fold_german(folded), german.stem, vocabulary.count)
    return found or ()


def _joined(found: list[str], vocabulary: Vocabulary) -> list[str]:
    """The terms of compounds the articles use that two of the question's words make."""
    german = reading("de")
    content = [
        fold_german(w.casefold())
        for w in found
        if w.isalpha() and not german.is_stop(w.casefold())
    ]
    return compounds.joins(content, german.stem, vocabulary.known)


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


def _looks_like_name(word: str, position: int, language: str = "en") -> bool:
    if " " in word:  # an equivalent form: "United States", "European Union"
        return True
    if word == "I":
        return False
    if language == "en":
        if word.casefold() in _NOT_NAMES and not word.isupper():
            return False
    elif is_stop_word(word.casefold(), language) and not word.isupper():
        return False
    if (word.isupper() and len(word) > 1) or word.isdigit():  # "BBC", "EU", "2008"
        return True
    if any(c.isupper() for c in word[1:]):  # "iPhone", "eBay"
        return True
    if language != "en" and reading(language).nouns_capitalised:
        return False  # German writes every noun capitalised: "Geld" names nothing
    return position > 0 and word[0].isupper()


def _fix(
    word: str, is_name: bool, others: list[str], vocabulary: Vocabulary, language: str = "en"
) -> str | None:
    """A spelling fix for a word none of whose terms the articles use, or None.

    The fix is the most frequent word within reach that fits the rest of the question: it
    shares passages with at least half of the question's other known terms; a name is only
    fixed into a word the articles write as a name ("iPhone" is not "phone").
    """
    terms = tokenize(word, language)
    filler = filler_stems(language)
    if not terms or all(vocabulary.known(t) or t in filler for t in terms):
        return None
    rest = [t for t in others if t not in terms and vocabulary.known(t)]
    for fixed in spellings_near(word, vocabulary, language=language):
        if language != "en" and not _swapped(word.casefold(), fixed):
            # An inflected word one letter from another word is that word's form, not a
            # slip ("pflanzten"/"pflanzen", "vereidigt"/"verteidigt"): only a swap is fixed.
            continue
        fixed_terms = tokenize(fixed, language)
        if not fixed_terms:  # "wich" -> "which": a function word, dropped like one
            return _cased(fixed, word)
        if vocabulary.in_language and not any(
            vocabulary.in_language(t, language) for t in fixed_terms
        ):
            continue  # a word of another language's articles ("weather" is not "Heather")
        if is_name and not vocabulary.capitalised(fixed):
            continue
        support = max(vocabulary.together(t, rest) for t in fixed_terms) if rest else 1.0
        slip = OSA.distance(word.casefold(), fixed) == 1
        if support >= FIX_SUPPORT or (len(word) >= LONE_FIX_MIN_CHARS and slip):
            return _cased(fixed, word)
    return None


def _swapped(typed: str, fixed: str) -> bool:
    """Is `fixed` `typed` with two neighbouring letters swapped ("Merkle" / "Merkel")?"""
    if len(typed) != len(fixed):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, fixed, strict=True)) if a != b]
    return (
        len(differ) == 2
        and differ[1] == differ[0] + 1
        and typed[differ[0]] == fixed[differ[1]]
        and typed[differ[1]] == fixed[differ[0]]
    )


def _cased(fixed: str, word: str) -> str:
    if word.isupper():
        return fixed.upper()
    if word[0].isupper() and fixed.islower():
        return fixed.capitalize()
    return fixed


def spellings_near(
    word: str, vocabulary: Vocabulary, count: int = 8, language: str = "en"
) -> list[str]:
    """The collection's words within one edit of `word` (two for long words), nearest first,
    the most frequent first among equally near ones."""
    lower = _POSSESSIVE.sub("", word.casefold())
    if len(lower) < 4 or is_stop_word(lower, language) or not lower.isalpha():
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


def without_filler(terms: list[str], filler: frozenset[str] = _FILLER_STEMS) -> list[str]:
    """Terms minus conversational filler, unless nothing else is left."""
    content = [t for t in terms if t not in filler]
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


# The same kinds in German (matched on folded words: "hohe" is "Höhe").
_KINDS_DE = (
    (
        "number",
        r"\bwie ?(viele?|hoch|gross|lange?|alt|weit|schnell|teuer|stark|oft)\b"
        r"|\b(welche[mnrs]?|was fur eine?) (zahl|summe|hohe|anteil|betrag|preis|wert)\b",
    ),
    ("when", r"\b(seit |bis )?wann\b|\b(welche[mnrs]?|an welchem) (datum|jahr|tag|monat)\b"),
    ("who", r"\b(wer|wem|wen|wessen)\b|\bwelche[mnrs]? (firma|partei|politiker\w*|person)\b"),
    ("where", r"\b(wo|woher|wohin)\b|\b(in |aus )?welche[mnrs]? (land|stadt|ort|region)\b"),
    ("why", r"\b(warum|wieso|weshalb|weswegen)\b|\bgrund\b|\bgrunde\b"),
)
_YES_NO_DE = re.compile(
    r"^(ist|sind|war|waren|hat|haben|hatte|wird|werden|wurde|kann|konnen|gibt|gab|soll)\b"
)


def question_kind(question: str, language: str = "en") -> str | None:
    """What the question asks for: 'number', 'when', 'who', 'where', 'why', 'yes-no' (in
    English or German; None in other languages)."""
    found = words(question)
    if language == "de":
        found = [fold_german(w) for w in found]
        kinds, yes_no = _KINDS_DE, _YES_NO_DE
    elif language == "en":
        kinds, yes_no = _KINDS, _YES_NO
    else:
        return None
    text = " ".join(found)
    for kind, pattern in kinds:
        if re.search(pattern, text):
            return kind
    if found and yes_no.match(found[0]):
        return "yes-no"
    return None
