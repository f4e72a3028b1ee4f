"""Embedding a collection in the background, article by article, while the bot answers
lexically: the vectors already in the store are looked up first (a restart embeds nothing
again), then the missing texts are embedded in chunks, each chunk sorted by length (padding
costs as much as text), and each article's passages join the semantic stage when its chunk
is stored. Only the newest edition is worked on: a reload supersedes the one before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bot.semantic.dense import DenseIndex, texts_of
from bot.text import text_key

log = logging.getLogger(__name__)

# Texts embedded per chunk (passages, their sentences and titles): a chunk's articles join
# the semantic stage together.
CHUNK_TEXTS = 256
LOG_EVERY = 10.0  # seconds between progress lines


@dataclass(frozen=True, slots=True)
class Progress:
    """How far embedding the current edition is: passages with a vector of all, and the
    rate of the last run in passages per second (0 until measured)."""

    embedded: int
    passages: int
    rate: float = 0.0

    @property
    def complete(self) -> bool:
        return self.embedded >= self.passages

    def summary(self) -> str:
        share = 100 * self.embedded / self.passages if self.passages else 100.0
        rate = f", {self.rate:.0f} passages/s" if self.rate else ""
        of = f"{self.passages:,} passage{'' if self.passages == 1 else 's'}"
        return f"{self.embedded:,} of {of} embedded ({share:.0f}%{rate})"


def embed_all(
    dense: DenseIndex,
    report: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> Progress:
    """Give every passage of `dense` a vector, in this thread; `report` is told after each
    chunk. Returns early (incomplete) when `stop` is set."""
    total = len(dense.rows)
    pending = _look_up_all(dense, stop)
    if pending is None:
        return Progress(0, total)
    dense.mapped.set()
    dense.embedded = int((dense.rows >= 0).sum())
    started, before = time.monotonic(), dense.embedded
    progress = Progress(dense.embedded, total)
    for chunk in _chunks(dense, pending):
        if stop is not None and stop.is_set():
            return progress
        _embed_chunk(dense, chunk)
        dense.embedded = int((dense.rows >= 0).sum())
        took = time.monotonic() - started
        progress = Progress(
            dense.embedded, total, (dense.embedded - before) / took if took else 0.0
        )
        if report is not None:
            report(progress)
    dense.done.set()
    return progress


def _chunks(dense: DenseIndex, numbers: list[int]) -> Iterator[dict[int, list[str]]]:
    """Articles with their texts to embed, about CHUNK_TEXTS texts at a time."""
    chunk: dict[int, list[str]] = {}
    size = 0
    for number in numbers:
        chunk[number] = texts_of(dense.collection.articles[number], dense.passages_of(number))
        size += len(chunk[number])
        if size >= CHUNK_TEXTS:
            yield chunk
            chunk, size = {}, 0
    if chunk:
        yield chunk


def _embed_chunk(dense: DenseIndex, chunk: dict[int, list[str]]) -> None:
    """Embed the texts of a chunk's articles that have no vector yet (each once)."""
    store = dense.space.store
    texts: dict[bytes, str] = {}
    for mine in chunk.values():
        for text in mine:
            key = text_key(text)
            if key not in texts and store.row(key) < 0:
                texts[key] = text
    if texts:
        keys = list(texts)
        store.add(keys, dense.space.encoder.passages([texts[k] for k in keys]))
    for number in chunk:
        _look_up(dense, number)


def _look_up_all(dense: DenseIndex, stop: threading.Event | None) -> list[int] | None:
    """Set every passage's row from the store; the articles with a passage left without
    one (None if stopped)."""
    keys = dense.all_keys()
    if keys is not None:  # recorded by the segments: one vectorised lookup
        dense.rows[:] = dense.space.store.rows_of(keys)
        missing = np.concatenate([[0], np.cumsum(dense.rows < 0)])[dense.first_passage]
        pending: list[int] = np.flatnonzero(np.diff(missing) > 0).tolist()
        return pending
    pending = []
    for number in range(len(dense.collection.articles)):
        if stop is not None and stop.is_set():
            return None
        if not _look_up(dense, number):
            pending.append(number)
    return pending


def _look_up(dense: DenseIndex, number: int) -> bool:
    """Set the rows of article `number`'s passages from the store; do all have one?"""
    start, stop = int(dense.first_passage[number]), int(dense.first_passage[number + 1])
    rows = dense.space.store.rows_of(dense.keys(number))
    dense.rows[start:stop] = rows
    return bool((rows >= 0).all())


class Embedder:
    """The background thread: embeds the newest edition it was given, logging progress."""

    def __init__(self, name: str = "newsbot-embed") -> None:
        self.name = name
        self.progress = Progress(0, 0)
        self._latest: DenseIndex | None = None
        self._wake = threading.Condition()
        self._superseded = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._logged = 0.0

    def follow(self, dense: DenseIndex) -> None:
        """Embed `dense` next (dropping an older edition still in progress)."""
        with self._wake:
            self._latest = dense
            self._superseded.set()
            self.progress = Progress(0, len(dense.rows))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def close(self, timeout: float = 0.5) -> None:
        """Stop after the current chunk; wait `timeout` s at most (a daemon thread: a chunk
        cut short by the exit leaves at most a torn record, which the store skips)."""
        with self._wake:
            self._closed = True
            self._superseded.set()
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._latest is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                dense, self._latest = self._latest, None
                self._superseded.clear()
            if dense is None:
                continue
            try:
                self.progress = embed_all(dense, self._report, self._superseded)
            except Exception:  # the bot goes on lexically; the cause is in the log
                log.exception("embedding stopped; answers stay lexical for passages not embedded")
                continue
            if dense.complete:
                log.info("semantic stage ready: %s", self.progress.summary())

    def _report(self, progress: Progress) -> None:
        self.progress = progress
        now = time.monotonic()
        if now - self._logged >= LOG_EVERY:
            self._logged = now
            log.info("embedding: %s", progress.summary())
