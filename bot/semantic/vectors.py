"""Vectors kept by the text they embed: identical passages, sentences and titles are embedded
once, whatever article or segment holds them, and a merge of segments embeds nothing again.

In memory: int8 vectors with a scale each (a quarter of float32; cosine within 0.01 of the
float vectors). On disk: one append-only file per model in the cache folder, `vec-<model>`,
of fixed-size records (key, scale, vector); a torn last record (a killed process) is ignored
and written over.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

KEY_BYTES = 16
MAGIC = b"newsbot-vectors-1\n"
# Dense search converts this many int8 rows to float32 at a time (bounded memory).
CHUNK = 65_536


class VectorStore:
    """Vectors by text key, for one model. Thread-safe for one writer and many readers."""

    def __init__(self, dimension: int, path: Path | None = None) -> None:
        self.dimension = dimension
        self.path = path
        self._record = KEY_BYTES + 4 + dimension
        self._rows: dict[bytes, int] = {}
        self._codes = np.zeros((1024, dimension), dtype=np.int8)
        self._scales = np.zeros(1024, dtype=np.float32)
        self._size = 0
        self._lock = threading.Lock()
        if path is not None:
            self._read(path)

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Memory the vectors take (int8 codes and scales)."""
        return self._size * (self.dimension + 4)

    def row(self, key: bytes) -> int:
        """The row of a key's vector, -1 if none."""
        return self._rows.get(key, -1)

    def rows(self, keys: Iterable[bytes]) -> NDArray[np.int64]:
        get = self._rows.get
        return np.fromiter((get(k, -1) for k in keys), dtype=np.int64)

    def rows_of(self, keys: NDArray[np.uint8]) -> NDArray[np.int64]:
        """The rows of keys given as an array (one 16-byte row each), distinct keys looked
        up once (a story filed many times costs one lookup)."""
        if not len(keys):
            return np.zeros(0, dtype=np.int64)
        flat = np.ascontiguousarray(keys).view(np.dtype((np.void, KEY_BYTES))).ravel()
        distinct, back = np.unique(flat, return_inverse=True)
        return self.rows(bytes(k) for k in distinct)[back.ravel()]

    def vectors(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        """float32 vectors of rows (all >= 0)."""
        codes, scales = self._codes, self._scales  # one read: a grown array replaces both
        return codes[rows].astype(np.float32) * scales[rows, None]

    def similarities(self, query: NDArray[np.float32]) -> NDArray[np.float32]:
        """Cosine of `query` with every stored vector, by row."""
        size, codes, scales = self._size, self._codes, self._scales
        out = np.empty(size, dtype=np.float32)
        for start in range(0, size, CHUNK):
            stop = min(size, start + CHUNK)
            out[start:stop] = (codes[start:stop].astype(np.float32) @ query) * scales[start:stop]
        return out

    def add(self, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        """Keep new vectors (keys already kept are skipped), appended to the file."""
        fresh = [n for n, k in enumerate(keys) if k not in self._rows]
        if not fresh:
            return
        scales = np.maximum(np.abs(vectors[fresh]).max(axis=1), 1e-12) / 127.0
        codes = np.clip(np.rint(vectors[fresh] / scales[:, None]), -127, 127).astype(np.int8)
        scales = scales.astype(np.float32)
        fresh_keys = [keys[n] for n in fresh]
        with self._lock:
            self._append(fresh_keys, codes, scales)
            if self.path is not None:
                self._write(fresh_keys, codes, scales)

    def _append(
        self, keys: Sequence[bytes], codes: NDArray[np.int8], scales: NDArray[np.float32]
    ) -> None:
        start, stop = self._size, self._size + len(keys)
        if stop > len(self._scales):
            capacity = max(stop, 2 * len(self._scales))
            grown_codes = np.zeros((capacity, self.dimension), dtype=np.int8)
            grown_scales = np.zeros(capacity, dtype=np.float32)
            grown_codes[:start], grown_scales[:start] = self._codes[:start], self._scales[:start]
            self._codes, self._scales = grown_codes, grown_scales
        self._codes[start:stop], self._scales[start:stop] = codes, scales
        for n, key in enumerate(keys):
            self._rows.setdefault(key, start + n)
        self._size = stop  # last: readers see rows only once their vectors are there

    def _write(
        self, keys: Sequence[bytes], codes: NDArray[np.int8], scales: NDArray[np.float32]
    ) -> None:
        records = b"".join(
            key + scale.tobytes() + code.tobytes()
            for key, scale, code in zip(keys, scales, codes, strict=True)
        )
        assert self.path is not None
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "ab") as file:  # owner-only, as the rest of the cache
                fcntl.flock(file, fcntl.LOCK_EX)  # two processes on one cache: whole records
                size = file.seek(0, os.SEEK_END)
                torn = (size - len(MAGIC)) % self._record if size else 0
                if size == 0:
                    file.write(MAGIC)
                elif torn:
                    file.truncate(size - torn)
                file.write(records)
        except OSError as exc:  # a read-only or full disk: the vectors stay in memory
            log.warning("vectors not saved in %s: %s", self.path, exc.strerror or exc)
            self.path = None

    def _read(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("vectors in %s not read: %s", path, exc.strerror or exc)
            return
        if not data.startswith(MAGIC):
            log.warning("%s is not a vector file of this version: not used", path)
            self.path = None
            return
        count = (len(data) - len(MAGIC)) // self._record
        if not count:
            return
        records = np.frombuffer(
            data, dtype=np.uint8, offset=len(MAGIC), count=count * self._record
        )
        records = records.reshape(count, self._record)
        keys = [bytes(k) for k in records[:, :KEY_BYTES]]
        scales = records[:, KEY_BYTES : KEY_BYTES + 4].copy().view(np.float32).ravel()
        codes = records[:, KEY_BYTES + 4 :].copy().view(np.int8)
        self._append(keys, codes, scales)
