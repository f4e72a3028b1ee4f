"""Parsed articles saved beside their index, read back one article at a time.

A start from the cache must not read or parse the article files, so the parsed articles
(every field of `Article`: title, subtitle, dateline, front matter, paragraphs) are kept in
each segment: one JSON record of metadata per article, the paragraphs as one UTF-8 file, and
where each passage lies (paragraph, part, character range), all memory-mapped. An article and
its passages are built the first time they are asked for, then kept: a question touches a
handful of articles, not the million passages of the archive.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import mmap
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, overload

import numpy as np
from numpy.typing import NDArray

from bot.articles import Article, Passage
from bot.memory import Settler

FORMAT = 2
# Articles and passages built while the bot serves stay for good. A full pass of the cyclic
# garbage collector walks every such object, holding the GIL: at a million passages, 16 full
# passes of up to 180 ms in 10 s of questions, each a stalled event loop. So every so many
# built objects are moved out of its sight (bot/memory.py: Settler), as the objects of a
# start are; they are acyclic, so reference counting still frees them,
# and how often this happens is bounded by the size of the collection.
FREEZE_EVERY = 4096
_FIELDS = tuple(f.name for f in dataclasses.fields(Article) if f.name != "paragraphs")
# Per passage: its `paragraph` and `part` fields, the paragraph (0-based) its text is cut
# from and the character range there; source -1: the text is stored with the article.
_PASSAGE_ARRAYS = ("paragraph", "part", "source", "start", "end")


class ArticleStore:
    """The parsed articles of one segment, by local number."""

    def __init__(self, folder: Path) -> None:
        header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
        if header.get("format") != FORMAT or tuple(header.get("fields", ())) != _FIELDS:
            raise ValueError("article store written for other article fields")
        self._meta = _map(folder / "meta.bin")
        self._text = _map(folder / "text.bin")
        with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
            self.meta_offsets, self.text_offsets = arrays["meta_offsets"], arrays["text_offsets"]
            self.paragraph_start = arrays["paragraph_start"]
            self.passage_start = arrays["passage_start"]
            self.passage = {name: arrays[f"p_{name}"] for name in _PASSAGE_ARRAYS}
        self.size = int(header["articles"])
        # Passages per language its articles are read in (bot/articles.py Article.lang).
        self.languages: dict[str, int] = dict(header.get("languages", {}))
        ids = (folder / "ids.txt").read_text(encoding="utf-8")
        self.ids = ids.split("\x00") if self.size else []
        consistent = (
            len(self.ids) == self.size == len(self.meta_offsets) - 1
            and len(self.paragraph_start) == len(self.passage_start) == self.size + 1
            and int(self.paragraph_start[-1]) == len(self.text_offsets) - 1
            and int(self.meta_offsets[-1]) == len(self._meta)
            and int(self.text_offsets[-1]) == len(self._text)
            and all(len(a) == int(self.passage_start[-1]) for a in self.passage.values())
        )
        if not consistent:
            raise ValueError("article store files do not agree with each other")
        self._articles: list[tuple[Article, list[str]] | None] = [None] * self.size
        self._passages: list[Passage | None] = [None] * int(self.passage_start[-1])
        self._lock = threading.Lock()
        self._settler = Settler(FREEZE_EVERY)
        self._id_array: NDArray[np.object_] | None = None

    def id_array(self) -> NDArray[np.object_]:
        """The ids as an object array (made once)."""
        if self._id_array is None:
            self._id_array = np.array(self.ids, dtype=object)
        return self._id_array

    def article(self, number: int) -> Article:
        """The article with this local number (built once, then the same object)."""
        return self._built(number)[0]

    def _built(self, number: int) -> tuple[Article, list[str]]:
        found = self._articles[number]
        if found is None:
            record = bytes(self._meta[self.meta_offsets[number] : self.meta_offsets[number + 1]])
            *values, extra = json.loads(record)
            first, last = self.paragraph_start[number], self.paragraph_start[number + 1]
            bounds = self.text_offsets[first : last + 1].tolist()
            text = self._text
            paragraphs = tuple(
                text[start:end].decode("utf-8") for start, end in itertools.pairwise(bounds)
            )
            fields: dict[str, Any] = {
                name: tuple(v) if isinstance(v, list) else v
                for name, v in zip(_FIELDS, values, strict=True)
            }
            built = (Article(paragraphs=paragraphs, **fields), extra)
            with self._lock:  # two threads may build it: both then use the first one kept
                found = self._articles[number]
                if found is None:
                    found = self._articles[number] = built
                    self._settler.kept()
        return found

    def passages(self, number: int) -> tuple[Passage, ...]:
        """The passages of the article with this local number, as `passages_of` cut them."""
        first, last = int(self.passage_start[number]), int(self.passage_start[number + 1])
        return tuple(self.passage_at(n, number) for n in range(first, last))

    def passage_at(self, row: int, number: int) -> Passage:
        """Passage `row` of the store (of article `number`): built once, then the same."""
        found = self._passages[row]
        if found is None:
            article, extra = self._built(number)
            paragraph, part, source, a, b = (int(self.passage[n][row]) for n in _PASSAGE_ARRAYS)
            text = _cut(article.paragraphs, extra, source, a, b)
            built = Passage(article, paragraph, text, part)
            with self._lock:
                found = self._passages[row]
                if found is None:
                    found = self._passages[row] = built
                    self._settler.kept()
        return found

    def adopt(self, number: int, other: ArticleStore, theirs: int) -> None:
        """Reuse an article another store built already (a merge copies the records)."""
        built = other._articles[theirs]
        if built is None:
            return
        with self._lock:
            if self._articles[number] is None:
                self._articles[number] = built
                mine, their = int(self.passage_start[number]), int(other.passage_start[theirs])
                count = int(self.passage_start[number + 1]) - mine
                self._passages[mine : mine + count] = other._passages[their : their + count]


def _cut(paragraphs: tuple[str, ...], extra: list[str], source: int, a: int, b: int) -> str:
    if source < 0:
        return extra[a]
    paragraph = paragraphs[source]
    return paragraph if a == 0 and b == len(paragraph) else paragraph[a:b]


def write_store(
    folder: Path, articles: Sequence[Article], passages: Sequence[Sequence[Passage]]
) -> None:
    """Save parsed articles and their passages (`passages[i]`: article i's) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    meta_offsets, text_offsets, paragraph_start, passage_start = [0], [0], [0], [0]
    rows: list[tuple[int, int, int, int, int]] = []
    with open(folder / "meta.bin", "wb") as meta, open(folder / "text.bin", "wb") as text:
        for article, mine in zip(articles, passages, strict=True):
            extra: list[str] = []
            rows += [_locate(article, passage, extra) for passage in mine]
            record = [getattr(article, name) for name in _FIELDS] + [extra]
            meta_offsets.append(meta_offsets[-1] + meta.write(_json(record)))
            for paragraph in article.paragraphs:
                text_offsets.append(text_offsets[-1] + text.write(paragraph.encode("utf-8")))
            paragraph_start.append(len(text_offsets) - 1)
            passage_start.append(len(rows))
    columns = np.array(rows, dtype=np.int64).reshape(len(rows), len(_PASSAGE_ARRAYS))
    languages: Counter[str] = Counter()
    for article, mine in zip(articles, passages, strict=True):
        languages[article.lang] += len(mine)
    _finish(
        folder,
        [a.id for a in articles],
        languages,
        {
            "meta_offsets": np.asarray(meta_offsets, dtype=np.int64),
            "text_offsets": np.asarray(text_offsets, dtype=np.int64),
            "paragraph_start": np.asarray(paragraph_start, dtype=np.int64),
            "passage_start": np.asarray(passage_start, dtype=np.int64),
            **{f"p_{n}": columns[:, i] for i, n in enumerate(_PASSAGE_ARRAYS)},
        },
    )


def _locate(
    article: Article, passage: Passage, extra: list[str]
) -> tuple[int, int, int, int, int]:
    """Where a passage's text lies: (paragraph, part, source paragraph, start, end)."""
    source = passage.paragraph - 1
    if 0 <= source < len(article.paragraphs):
        start = article.paragraphs[source].find(passage.text)
        if start >= 0 and passage.text:
            return (passage.paragraph, passage.part, source, start, start + len(passage.text))
    extra.append(passage.text)
    return (passage.paragraph, passage.part, -1, len(extra) - 1, 0)


def copy_store(folder: Path, parts: Sequence[tuple[ArticleStore, NDArray[np.bool_]]]) -> None:
    """Save the kept articles of several stores as one, in order, copying their records
    (runs of kept articles are copied as whole byte ranges: no article is parsed)."""
    folder.mkdir(parents=True, exist_ok=True)
    offsets: dict[str, list[NDArray[np.int64]]] = {
        name: [np.zeros(1, dtype=np.int64)]
        for name in ("meta_offsets", "text_offsets", "paragraph_start", "passage_start")
    }
    passage: dict[str, list[NDArray[np.int64]]] = {name: [] for name in _PASSAGE_ARRAYS}
    ids: list[str] = []
    with open(folder / "meta.bin", "wb") as meta, open(folder / "text.bin", "wb") as text:
        for store, keep in parts:
            for first, last in _runs(keep):
                p0, p1 = int(store.paragraph_start[first]), int(store.paragraph_start[last])
                q0, q1 = int(store.passage_start[first]), int(store.passage_start[last])
                _copy(
                    meta,
                    store._meta,
                    store.meta_offsets[first : last + 1],
                    offsets["meta_offsets"],
                )
                _copy(text, store._text, store.text_offsets[p0 : p1 + 1], offsets["text_offsets"])
                _shift(store.paragraph_start[first : last + 1], offsets["paragraph_start"])
                _shift(store.passage_start[first : last + 1], offsets["passage_start"])
                for name in _PASSAGE_ARRAYS:
                    passage[name].append(store.passage[name][q0:q1])
                ids.extend(store.ids[first:last])
    arrays = {name: np.concatenate(values) for name, values in offsets.items()}
    for name, values in passage.items():
        arrays[f"p_{name}"] = np.concatenate(values) if values else np.zeros(0, np.int64)
    # Counted before deletions: an upper bound (a language dropped entirely may linger).
    languages: Counter[str] = Counter()
    for store, _ in parts:
        languages.update(store.languages)
    _finish(folder, ids, languages, arrays)


def _copy(
    out: BinaryIO, source: mmap.mmap | bytes, bounds: NDArray[np.int64], done: list[NDArray[Any]]
) -> None:
    """Append source[bounds[0]:bounds[-1]] to `out`, and the new end offsets of its records."""
    start, end = int(bounds[0]), int(bounds[-1])
    out.write(memoryview(source)[start:end])
    _shift(bounds, done)


def _shift(bounds: NDArray[np.int64], done: list[NDArray[Any]]) -> None:
    """Append the ends in `bounds[1:]`, renumbered to follow what `done` holds."""
    done.append(np.asarray(bounds[1:] - bounds[0] + int(done[-1][-1]), dtype=np.int64))


def _runs(keep: NDArray[np.bool_]) -> Iterator[tuple[int, int]]:
    """[first, last) ranges of consecutive True values."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
    yield from zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True)


def _finish(
    folder: Path,
    ids: list[str],
    languages: Mapping[str, int],
    arrays: dict[str, NDArray[np.int64]],
) -> None:
    np.savez(folder / "arrays.npz", allow_pickle=False, **arrays)
    (folder / "ids.txt").write_text("\x00".join(ids), encoding="utf-8")
    header = {
        "format": FORMAT,
        "fields": list(_FIELDS),
        "articles": len(ids),
        "languages": dict(sorted(languages.items())),
    }
    (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _map(path: Path) -> mmap.mmap | bytes:
    """The file's bytes, memory-mapped (the mapping outlives the file's deletion)."""
    with open(path, "rb") as file:
        if not file.seek(0, 2):
            return b""
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


class StoredArticles(Sequence[Article]):
    """A collection's articles, in its order, built from their stores on first use."""

    def __init__(
        self, stores: Sequence[ArticleStore], part: NDArray[np.int64], local: NDArray[np.int64]
    ) -> None:
        self._stores, self._part, self._local = list(stores), part, local
        self._ids: list[str] | None = None

    def __len__(self) -> int:
        return len(self._part)

    @overload
    def __getitem__(self, index: int) -> Article: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Article]: ...
    def __getitem__(self, index: int | slice) -> Article | Sequence[Article]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        store, number = self.location(range(len(self))[index])  # IndexError, negatives back
        return store.article(number)

    def __iter__(self) -> Iterator[Article]:
        for part, local in zip(self._part.tolist(), self._local.tolist(), strict=True):
            yield self._stores[part].article(local)

    @property
    def languages(self) -> dict[str, int]:
        """Passages per language (of their stores: a removed article's may still count)."""
        found: Counter[str] = Counter()
        for store in self._stores:
            found.update(store.languages)
        return dict(found)

    @property
    def ids(self) -> list[str]:
        """The articles' ids, in order, without building the articles (by numpy gathers:
        no Python loop over the collection)."""
        if self._ids is None:
            gathered = np.empty(len(self._part), dtype=object)
            for n, store in enumerate(self._stores):
                mine = self._part == n
                gathered[mine] = store.id_array()[self._local[mine]]
            self._ids = gathered.tolist()
        return self._ids

    def location(self, index: int) -> tuple[ArticleStore, int]:
        """The store holding article `index`, and its number there."""
        return self._stores[int(self._part[index])], int(self._local[index])


class StoredPassages(Sequence[Passage]):
    """A collection's passages, in its order: each article's passages, articles in order."""

    def __init__(self, articles: StoredArticles, article_of: NDArray[np.int64]) -> None:
        self._articles, self._article_of = articles, article_of
        self._first = np.flatnonzero(np.diff(article_of, prepend=-1))

    def __len__(self) -> int:
        return len(self._article_of)

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | Sequence[Passage]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        at = range(len(self))[index]
        article = int(self._article_of[at])
        store, number = self._articles.location(article)
        row = int(store.passage_start[number]) + at - int(self._first[article])
        return store.passage_at(row, number)

    def __iter__(self) -> Iterator[Passage]:
        for article in range(len(self._articles)):
            store, number = self._articles.location(article)
            yield from store.passages(number)
