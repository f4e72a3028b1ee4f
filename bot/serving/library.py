"""The articles being served: one edition at a time, swapped whole when the folder is reloaded.

An `Edition` is immutable (collection, index, example questions, /source numbers); the
`Library` holds the current one and replaces it with one assignment, so a reader's question
is always answered from one whole edition. Reloading itself is bot/serving/reload.py.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from bot.articles import Article, Collection, article_changes
from bot.articles import fingerprint as article_fingerprint
from bot.collection.snapshots import Snapshot
from bot.i18n.catalogs import N_, SOURCE, languages, translator
from bot.markup import shorten
from bot.retrieval.search import SearchIndex
from bot.serving.semantic import SemanticStage
from bot.text import plural, tokenize


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
            {i: n for n, i in enumerate(collection.article_ids(), start=1)},
            fingerprint(collection, index),
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
            f"{len(self.skipped)} skipped; {plural(self.total, 'article')}"
        )


class Library:
    """The current edition, swapped atomically; `reloading` keeps reloads one at a time."""

    def __init__(self, edition: Edition, semantic: SemanticStage | None = None) -> None:
        self.current = edition
        self.reloading = threading.Lock()  # /reload and the folder watch may coincide
        self.semantic = semantic  # every new edition's index is attached to it

    @classmethod
    def of(
        cls,
        collection: Collection,
        index: SearchIndex | None = None,
        semantic: SemanticStage | None = None,
    ) -> Library:
        return cls(Edition.of(collection, index or SearchIndex(collection)), semantic)

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
            if self.semantic is not None:
                self.semantic.attach(index)
            self.current = Edition.of(collection, index, old.generation + 1)
        return changes


def fingerprint(collection: Collection, index: SearchIndex | None = None) -> str:
    """A hash of the articles' ids and what readers are shown of them, in order (BLAKE2b).

    For a collection opened from the index cache, the manifest already holds a hash of each
    article file's bytes: those are hashed with the paths, so no article is built or read.
    """
    digest = hashlib.blake2b(digest_size=12)
    origin = index.built.origin if index is not None and index.collection is collection else None
    if isinstance(origin, Snapshot):
        manifest = origin.manifest
        rows = manifest.articles()
        digest.update(f"manifest\x00{origin.key}\x00".encode())  # the key: parser and index code
        digest.update("\x00".join(manifest.paths[r] for r in rows.tolist()).encode())
        digest.update(np.ascontiguousarray(manifest.digests[rows]).tobytes())
        return digest.hexdigest()
    for article in collection.articles:
        shown = article_fingerprint(article)
        fields = (*shown[:3], *shown[4:])  # [3] is the paragraphs, hashed one by one
        for part in (article.id, *map(str, fields), *article.paragraphs):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        digest.update(b"\x01")
    return digest.hexdigest()


def compare(old: Collection, new: Collection) -> Changes:
    """What changed between two loads of the articles folder."""
    added, updated, removed = article_changes(old, new)
    return Changes(added, updated, removed, skipped=new.skipped, total=len(new.articles))


# An example question, in the language of the article whose name it asks about (a German
# article's name in a German question: the one its words are read in).
EXAMPLE = N_("What do the articles say about {name}?")


def example_questions(index: SearchIndex, count: int = 3) -> list[str]:
    """A few questions about names in the collection that are known to find an answer, each
    in its article's language (English where the bot has no catalog of that language)."""
    found: list[str] = []
    articles = index.collection.articles
    picks = [articles[i * len(articles) // count] for i in range(min(count, len(articles)))]
    for article in picks * count:
        if len(found) == count:
            break
        template = translator(article.lang if article.lang in languages() else SOURCE)
        for name in _names(article, index):
            question = template.gettext(EXAMPLE).format(name=name)
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
            weight = sum(index.weight(t) for t in set(tokenize(phrase, article.lang)))
            scored[phrase] = max(scored.get(phrase, 0.0), weight)
    return sorted(scored, key=lambda p: (-scored[p], p))
