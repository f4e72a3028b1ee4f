"""Names as written: how a question's names are found in an article.

A name in a question ("Taylor Swift", "Titanic", "2008") is matched against the words of an
article that are capitalised or hold digits, never through the stemmer ("Titanic" is not
"Titan") or the spelling fixer ("Tesla" is not "Tessa"). A name of several words matches:
- the same words next to each other, allowing one typing slip (two in long names:
  "Shri Lanka" / "Sri Lanka", "Vince Cable" / "Vincent Cable"); or
- its last word alone where the article only ever writes it alone or after a title ("Lord
  Archer" for "Jeffrey Archer"), never where it writes it after another first name
  ("Robert Jackson" is not "Michael Jackson").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from bot.text import DEMONYMS, EQUIVALENT_PHRASES, STOP_WORDS, collapse_joined, normalize

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")
# Words before a surname that do not name another person.
TITLES = frozenset(
    """
    mr mrs ms miss dr prof sir lady lord dame president chancellor minister secretary
    senator governor general judge justice king queen prince princess rev father
    chairman chief captain
    """.split()
)
LOWER = ""  # the key of a word written in lower case: it matches no name


@dataclass(frozen=True, slots=True)
class Name:
    """A capitalised word or run of words in a question ("Gerard Jugnot", "US"), or a
    number ("2008"): `keys` are what it is matched by."""

    text: str
    keys: tuple[str, ...]


def key(word: str) -> str:
    """A word's key: case-folded, possessive and plural "s" dropped, equivalent forms of
    countries and bodies folded ("Britain's" -> "uk"); LOWER for a lower-case word."""
    if not any(c.isupper() or c.isdigit() for c in word):
        return LOWER
    folded = _POSSESSIVE.sub("", word.casefold())
    folded = DEMONYMS.get(folded, folded)
    if (
        folded.endswith("s")
        and not folded.endswith("ss")
        and (len(folded) > 4 or folded[:-1].isdigit())
    ):
        folded = folded[:-1]  # "Conservatives", "the 70s"
    return folded


def keys_of(text: str) -> list[str]:
    """The key of every word of `text`, in order; an equivalent form of several words
    ("United States") is one word."""
    found = [m.group(0) for m in _WORD.finditer(collapse_joined(normalize(text)))]
    keys: list[str] = []
    at = 0
    while at < len(found):
        for size in (4, 3, 2, 1):
            phrase = " ".join(found[at : at + size])
            if size == 1:
                keys.append(key(phrase))
            elif at + size <= len(found) and phrase.casefold() in EQUIVALENT_PHRASES:
                capitalised = phrase[0].isupper()
                keys.append(EQUIVALENT_PHRASES[phrase.casefold()] if capitalised else LOWER)
            else:
                continue
            at += size
            break
    return keys


def name_of(text: str) -> Name | None:
    """A question's name as searched, or None when it has no capitalised word."""
    keys = tuple(k for k in keys_of(text) if k)
    return Name(text, keys) if keys else None


def holds(keys: Sequence[str], name: Name) -> bool:
    """Does a text, given by its keys, name `name`?"""
    size = len(name.keys)
    if size == 0:
        return True
    if size == 1:
        return name.keys[0] in keys
    wanted = " ".join(name.keys)
    limit = 1 if len(wanted) <= 10 else 2
    for at in range(len(keys) - size + 1):
        window = keys[at : at + size]
        if window[0] == LOWER or window[-1] == LOWER:
            continue
        if DamerauLevenshtein.distance(" ".join(window), wanted, score_cutoff=limit) <= limit:
            return True
    return _by_surname(keys, name)


def _by_surname(keys: Sequence[str], name: Name) -> bool:
    """The last word of the name, never after a first name other than the name's own."""
    surname, first = name.keys[-1], name.keys[-2]
    seen = False
    for at, k in enumerate(keys):
        if k != surname:
            continue
        before = keys[at - 1] if at else LOWER
        if before not in (LOWER, first) and before not in TITLES and before not in STOP_WORDS:
            return False
        seen = True
    return seen
