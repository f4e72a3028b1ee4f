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

import functools
import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.text import DEMONYMS, EQUIVALENT_PHRASES, STOP_WORDS, collapse_joined, normalize

# A word holding a capital letter or a digit (lower-case words never name anything).
_NAME_WORD = re.compile(r"\b\w*[A-Z\d\u00c0-\u00de]\w*(?:['’]\w+)?", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s?$")
# The equivalent forms of several words, written capitalised ("United States").
_PHRASES = re.compile(
    r"\b(?:"
    + "|".join(re.escape(p.title()) for p in sorted(EQUIVALENT_PHRASES, key=len, reverse=True))
    + r")\b"
)
# Words before a surname that do not name another person.
TITLES = frozenset(
    """
    mr mrs ms miss dr prof sir lady lord dame president chancellor minister secretary
    senator governor general judge justice king queen prince princess rev father
    chairman chief captain
    """.split()
)


@dataclass(frozen=True, slots=True)
class Name:
    """A capitalised word or run of words in a question ("Gerard Jugnot", "US"), or a
    number ("2008"): `keys` are what it is matched by."""

    text: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Names:
    """The capitalised words of a text, in order: their keys, and whether each follows the
    one before it with only a space between them."""

    keys: tuple[str, ...]
    joined: tuple[bool, ...]

    @property
    def present(self) -> frozenset[str]:
        return frozenset(self.keys)


@functools.lru_cache(maxsize=200_000)
def key(word: str) -> str:
    """A word's key: case-folded, possessive and plural "s" dropped, equivalent forms of
    countries and bodies folded ("Britain's" -> "uk")."""
    folded = word.casefold()
    if "'" in folded or "’" in folded:
        folded = _POSSESSIVE.sub("", folded)
    folded = DEMONYMS.get(folded, folded)
    plural = folded.endswith("s") and not folded.endswith("ss")
    if plural and (len(folded) > 4 or folded[:-1].isdigit()):
        folded = folded[:-1]  # "Conservatives", "the 70s"
    return folded


def names_of(text: str) -> Names:
    """The capitalised words of `text` ("United States" and its kin as one)."""
    text = collapse_joined(normalize(text))
    if _PHRASES.search(text):
        text = _PHRASES.sub(lambda m: EQUIVALENT_PHRASES[m.group(0).casefold()].upper(), text)
    keys: list[str] = []
    joined: list[bool] = []
    end = -2
    for match in _NAME_WORD.finditer(text):
        start = match.start()
        keys.append(key(match.group()))
        joined.append(start == end + 1 and text[end] == " ")
        end = match.end()
    return Names(tuple(keys), tuple(joined))


def name_of(text: str) -> Name | None:
    """A question's name as searched, or None when it has no capitalised word."""
    keys = names_of(text).keys
    return Name(text, keys) if keys else None


def holds(names: Names, name: Name) -> bool:
    """Does a text, given by its capitalised words, name `name`?"""
    size = len(name.keys)
    if size == 0:
        return True
    if size == 1:
        return name.keys[0] in names.keys
    wanted = " ".join(name.keys)
    limit = 1 if len(wanted) <= 10 else 2
    keys, joined = names.keys, names.joined
    for at in range(len(keys) - size + 1):
        if not all(joined[at + 1 : at + size]):
            continue
        window = " ".join(keys[at : at + size])
        if OSA.distance(window, wanted, score_cutoff=limit) <= limit:
            return True
    return _by_surname(names, name)


def _by_surname(names: Names, name: Name) -> bool:
    """The last word of the name, never after a first name other than the name's own."""
    surname, first = name.keys[-1], name.keys[-2]
    seen = False
    for at, k in enumerate(names.keys):
        if k != surname:
            continue
        before = names.keys[at - 1] if at and names.joined[at] else None
        if before is not None and len(before) == 1:  # a middle initial: "George W Bush"
            before = names.keys[at - 2] if at > 1 and names.joined[at - 1] else None
        if before not in (None, first) and before not in TITLES and before not in STOP_WORDS:
            return False
        seen = True
    return seen
