"""The articles being served: one edition at a time, swapped whole when the folder is reloaded.

An `Edition` is immutable (collection, index, example questions, /source numbers); the
`Library` holds the current one and replaces it with one assignment, so a reader's question
is always answered from one whole edition. Reloading itself is bot/reload.py.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field

from bot.answer import shorten
from bot.articles import Article, Collection
from bot.index import SearchIndex
from bot.text import tokenize


@dataclass(frozen=True, slots=True)
class Edition:
    """One generation of the articles and their index.

    `generation` counts this process's reloads; `fingerprint` names the articles' content,
    the same in every process serving the same articles (an answer kept by one instance is
    re-derived by another only when both serve the same edition).
    """

    collection: Collection
    index: SearchIndex
    examples: tuple[str, ...]
    generation: int
    numbers: dict[str, int] = field(default_factory=dict)  # article id -> /source number
    fingerprint: str = ""

    @classmethod
    def of(cls, collection: Collection, index: SearchIndex, generation: int = 1) -> Edition:
        return cls(
            collection,
            index,
            tuple(example_questions(index)),
            generation,
            {a.id: n for n, a in enumerate(collection.articles, start=1)},
            fingerprint(collection),
        )


@dataclass(frozen=True, slots=True)
class Changes:
    """What a reload changed: article titles added, updated and removed; files skipped."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    total: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.skipped)} skipped; {self.total} articles"
        )


class Library:
    """The current edition, swapped atomically; `reloading` keeps reloads one at a time."""

    def __init__(self, edition: Edition) -> None:
        self.current = edition
        self.reloading = threading.Lock()  # /reload and the folder watch may coincide

    @classmethod
    def of(cls, collection: Collection, index: SearchIndex | None = None) -> Library:
        return cls(Edition.of(collection, index or SearchIndex(collection)))

    @property
    def collection(self) -> Collection:
        return self.current.collection

    @property
    def generation(self) -> int:
        """Starts at 1, one more at each reload that changed the articles."""
        return self.current.generation

    def replace(self, collection: Collection, index: SearchIndex) -> Changes:
        """Swap in a new collection and index (one assignment: atomic for readers)."""
        old = self.current
        changes = compare(old.collection, collection)
        if changes.changed:
            self.current = Edition.of(collection, index, old.generation + 1)
        return changes


def _fingerprint(article: Article) -> tuple[object, ...]:
    return (article.title, article.subtitle, article.dateline, article.paragraphs)


def fingerprint(collection: Collection) -> str:
    """A hash of the articles' ids and what readers are shown of them, in order (BLAKE2b)."""
    digest = hashlib.blake2b(digest_size=12)
    for article in collection.articles:
        for part in (article.id, *map(str, _fingerprint(article)[:3]), *article.paragraphs):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        digest.update(b"\x01")
    return digest.hexdigest()


def compare(old: Collection, new: Collection) -> Changes:
    """What changed between two loads of the articles folder."""
    before = {a.id: a for a in old.articles}
    after = {a.id: a for a in new.articles}
    return Changes(
        added=tuple(a.title for i, a in after.items() if i not in before),
        updated=tuple(
            a.title
            for i, a in after.items()
            if i in before and _fingerprint(before[i]) != _fingerprint(a)
        ),
        removed=tuple(a.title for i, a in before.items() if i not in after),
        skipped=new.skipped,
        total=len(new.articles),
    )


def example_questions(index: SearchIndex, count: int = 3) -> list[str]:
    """A few questions about names in the collection that are known to find an answer."""
    found: list[str] = []
    articles = index.collection.articles
    picks = [articles[i * len(articles) // count] for i in range(min(count, len(articles)))]
    for article in picks * count:
        if len(found) == count:
            break
        for name in _names(article, index):
            question = f"What do the articles say about {name}?"
            if question not in found and index.search(question, 1):
                found.append(question)
                break
    return found or [shorten(articles[0].title, 60)]


_PHRASE = re.compile(r"(?<![.!?“\"] )(?<!^)\b([A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*)")
_NOT_NAMES = frozenset(
    """
        mr mrs ms dr president minister monday tuesday wednesday thursday friday
        saturday sunday january february march april may june july august september sept
        october november december
    """.split()
)


def _names(article: Article, index: SearchIndex) -> list[str]:
    """Capitalised phrases inside sentences, rarest first (names, places, organisations)."""
    scored: dict[str, float] = {}
    for paragraph in article.paragraphs:
        for match in _PHRASE.finditer(paragraph):
            phrase = re.sub(r"[’']s$", "", match.group(1))
            phrase_words = [w for w in phrase.split() if w.lower() not in _NOT_NAMES]
            if not phrase_words or len(phrase) < 4:
                continue
            phrase = " ".join(phrase_words)
            weight = sum(index.weight(t) for t in set(tokenize(phrase)))
            scored[phrase] = max(scored.get(phrase, 0.0), weight)
    return sorted(scored, key=lambda p: (-scored[p], p))
