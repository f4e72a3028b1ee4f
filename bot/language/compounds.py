"""German compounds, on the question's side: a compound the articles never write is read as
its parts ("Samsunghandy" -> "Samsung", "Handy"), and two words of the question that the
articles write as one compound are searched as that compound too ("Unterkunft für
Flüchtlinge" -> "Flüchtlingsunterkunft").

The parts are the collection's own words: a split is kept only when every part is a term some
passage holds, and among several the one with the most common parts wins (Koehn and Knight,
"Empirical methods for compound splitting", EACL 2003). The passages are indexed as written,
so what the index holds does not depend on the words of other articles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

# The joints German puts between the parts of a compound ("Flüchtling-s-unterkunft").
LINKS = ("", "s", "es", "n", "en", "e", "er")
# A part is a word of at least MIN_PART letters that at least MIN_PART_PASSAGES passages
# use: rarer pieces are more often bits of names ("Ingeborg" is not "Ing" + "Borg").
MIN_PART = 4
MIN_PART_PASSAGES = 1
MIN_COMPOUND = 8


def split(
    word: str, stem: Callable[[str], str], count: Callable[[str], int]
) -> tuple[str, ...] | None:
    """The terms of the parts of a case-folded, folded compound (two or three parts), or None.

    `count` is how many passages use a term; the split whose parts are most used (the
    geometric mean of the counts, as Koehn and Knight) wins.
    """
    best: tuple[float, tuple[str, ...]] | None = None
    for parts in _splits(word, stem, count, depth=2):
        score = math.prod(count(p) for p in parts) ** (1 / len(parts))
        if best is None or score > best[0]:
            best = (score, parts)
    return best[1] if best else None


def _splits(
    word: str, stem: Callable[[str], str], count: Callable[[str], int], depth: int
) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    if len(word) < 2 * MIN_PART:
        return found
    for at in range(MIN_PART, len(word) - MIN_PART + 1):
        head, tail = word[:at], word[at:]
        tail_term = stem(tail)
        tails: list[tuple[str, ...]] = []
        if count(tail_term) >= MIN_PART_PASSAGES:
            tails = [(tail_term,)]
        elif depth > 1:
            tails = _splits(tail, stem, count, depth - 1)[:1]
        if not tails:
            continue
        for link in LINKS:
            if link and not head.endswith(link):
                continue
            base = head[: len(head) - len(link)] if link else head
            if len(base) >= MIN_PART and count(head_term := stem(base)) >= MIN_PART_PASSAGES:
                found.extend((head_term, *t) for t in tails)
                break
    return found


def joined(
    first: str, second: str, stem: Callable[[str], str], known: Callable[[str], bool]
) -> str | None:
    """The term of a compound of two folded question words the articles use, or None: the
    modifier is either word ("Samsung Handy", "Handy von Samsung"), then a joint, then the
    other as the head."""
    for modifier, head in ((first, second), (second, first)):
        for form in dict.fromkeys((stem(modifier), modifier)):
            for link in LINKS:
                term = stem(form + link + head)
                if known(term):
                    return term
    return None


def joins(
    words: Sequence[str], stem: Callable[[str], str], known: Callable[[str], bool]
) -> list[str]:
    """The compound terms the articles use that pairs of the question's words make."""
    found: list[str] = []
    for i, first in enumerate(words):
        for second in words[i + 1 :]:
            if len(first) >= MIN_PART and len(second) >= MIN_PART:
                term = joined(first, second, stem, known)
                if term is not None and term not in found:
                    found.append(term)
    return found
