"""How a language other than English is read for search: its words folded (German "ä" and
"ae" alike), its stop words dropped, the rest reduced to their Snowball stem.

English keeps bot/text.py's own reading (its stop list, demonyms and equivalent names), which
the English figures were measured with. Every other language takes the Snowball stemmer
PyStemmer has for it and the stop words of the `stop-words` package; a language with neither
is matched by its case-folded words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import Stemmer

# ISO 639-1 code -> Snowball algorithm (the ones PyStemmer ships).
SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "cs": "czech", "da": "danish", "de": "german",
    "el": "greek", "eo": "esperanto", "es": "spanish", "et": "estonian", "eu": "basque",
    "fa": "persian", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
    "hu": "hungarian", "hy": "armenian", "id": "indonesian", "it": "italian",
    "lt": "lithuanian", "nb": "norwegian", "ne": "nepali", "nl": "dutch", "nn": "norwegian",
    "no": "norwegian", "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip

# Words that make a question polite or conversational in German, dropped from questions only
# (as bot/text.py's QUESTION_FILLER in English): "kannst du mir bitte sagen, ...".
_GERMAN_FILLER = """
    bitte sag sage sagen erzahl erzahle erzahlen erklar erklare erklaren weisst wissen
    artikel nachricht nachrichten meldung meldungen bericht berichte infos info
    information informationen eigentlich genau gerade denn mal gibt gab gegeben
"""
# German folds: "ß" is "ss"; "ä", "ö", "ü" and "ae", "oe", "ue" (not after a vowel or "q":
# "neue", "Quelle") are "a", "o", "u", so "Oesterreich" and "Österreich" are one word. The
# rules of Lucene's GermanNormalizationFilter, applied to passages and questions alike.
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_DIGRAPH = re.compile(r"(?<![aeiouyq])([aou])e")
STEM_CACHE_SIZE = 500_000


def fold_german(word: str) -> str:
    """A case-folded German word with umlauts and their ASCII spellings folded alike."""
    if "e" in word:
        word = _DIGRAPH.sub(r"\1", word)
    return word.translate(_UMLAUTS)


def _identity(word: str) -> str:
    return word


@dataclass(eq=False)
class Language:
    """How the words of one language are matched: `fold` then, unless a stop word, `stem`."""

    code: str
    stop_words: frozenset[str]  # folded
    filler: frozenset[str]  # folded; dropped from questions only
    fold: Callable[[str], str] = _identity
    algorithm: str | None = None  # the Snowball stemmer's name
    # German writes every noun with a capital, so a capital does not make a word a name.
    nouns_capitalised: bool = False
    _stems: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._stemmer = Stemmer.Stemmer(self.algorithm) if self.algorithm else None

    def stem(self, word: str) -> str:
        """The term of a case-folded word (folded, then stemmed)."""
        found = self._stems.get(word)
        if found is None:
            if len(self._stems) >= STEM_CACHE_SIZE:
                self._stems.clear()
            folded = self.fold(word)
            stemmer = self._stemmer
            found = str(stemmer.stemWord(folded)) if stemmer is not None else folded
            self._stems[word] = found
        return found

    def is_stop(self, word: str) -> bool:
        """Is this case-folded word a function word of the language?"""
        return self.fold(word) in self.stop_words

    def terms(self, words: Iterable[str]) -> list[str]:
        """The terms of case-folded words: stop words dropped, the rest stemmed."""
        return [self.stem(w) for w in words if not self.is_stop(w)]


def _stop_words(code: str) -> list[str]:
    from stop_words import StopWordError, get_stop_words

    try:
        return list(get_stop_words(code))
    except StopWordError:  # a language the package has no list for
        return []


@functools.cache
def language(code: str) -> Language:
    """The reading of language `code` (ISO 639-1; not "en", which bot/text.py reads)."""
    algorithm = SNOWBALL.get(code)
    if algorithm not in Stemmer.algorithms():
        algorithm = None
    fold = fold_german if code == "de" else _identity
    stop = frozenset(fold(w.casefold()) for w in _stop_words(code))
    filler = frozenset(fold(w) for w in _GERMAN_FILLER.split()) if code == "de" else frozenset()
    return Language(code, stop, filler, fold, algorithm, nouns_capitalised=code == "de")


def languages_read() -> frozenset[str]:
    """The codes with a Snowball stemmer, read as their language (English too)."""
    return frozenset(c for c, a in SNOWBALL.items() if a in Stemmer.algorithms()) | {"en"}
