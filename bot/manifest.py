"""The manifest: what the articles folder held when the index was last brought up to date.

As git's index does for a work tree, it keeps per file its path, size, modification time
(ns) and inode, a hash of its bytes, and what the file became: an article of a segment, or
the reason it was skipped. A start scans the folder (one stat per file, no reads) and reads
only the files whose stat fields differ. A file modified within RACY_NS of the scan that
recorded it may have changed again without its stat fields changing ("racily clean"): it is
read once more, and its hash decides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.articles import FileInfo

# Coarse file systems keep modification times to 1 s (HFS+) or 2 s (FAT).
RACY_NS = 2_000_000_000
SKIPPED = -1  # the segment number of a file that is not an article


def digest(data: bytes) -> bytes:
    """The hash the manifest keeps of a file's bytes."""
    return hashlib.blake2b(data, digest_size=16).digest()


@dataclass(frozen=True, slots=True, eq=False)
class Manifest:
    """Rows in path order: a file, its stat fields and hash, and its segment and article
    number there (segment SKIPPED: not an article, for `reasons[row]`)."""

    paths: list[str]
    stats: NDArray[np.int64]  # (rows, 3): size, mtime_ns, inode
    digests: NDArray[np.uint8]  # (rows, 16)
    entries: NDArray[np.int64]  # (rows, 2): segment, local article number
    reasons: dict[int, str] = field(default_factory=dict)
    scanned_ns: int = 0  # when the scan that recorded the stat fields began

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "paths.txt").write_text("\x00".join(self.paths), encoding="utf-8")
        np.save(folder / "stats.npy", self.stats, allow_pickle=False)
        np.save(folder / "digests.npy", self.digests, allow_pickle=False)
        np.save(folder / "entries.npy", self.entries, allow_pickle=False)
        header = {"scanned_ns": self.scanned_ns, "reasons": list(self.reasons.items())}
        (folder / "manifest.json").write_text(json.dumps(header), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        header = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        text = (folder / "paths.txt").read_text(encoding="utf-8")
        paths = text.split("\x00") if text else []
        stats = np.load(folder / "stats.npy", allow_pickle=False)
        digests = np.load(folder / "digests.npy", allow_pickle=False)
        entries = np.load(folder / "entries.npy", allow_pickle=False)
        if not len(paths) == len(stats) == len(digests) == len(entries):
            raise ValueError("manifest files do not agree with each other")
        reasons = {int(row): str(reason) for row, reason in header["reasons"]}
        return cls(paths, stats, digests, entries, reasons, int(header["scanned_ns"]))

    @classmethod
    def empty(cls) -> Manifest:
        return cls(
            [],
            np.zeros((0, 3), dtype=np.int64),
            np.zeros((0, 16), dtype=np.uint8),
            np.zeros((0, 2), dtype=np.int64),
        )

    def articles(self) -> NDArray[np.int64]:
        """The rows that are articles, in order: the collection's order."""
        return np.flatnonzero(self.entries[:, 0] != SKIPPED)


@dataclass(frozen=True, slots=True)
class ScanDiff:
    """A folder scan against a manifest."""

    rows: NDArray[np.int64]  # per scanned file: the manifest row with its path, -1 if none
    read: NDArray[np.bool_]  # per scanned file: must be read (new, stat fields differ, racy)
    racy: NDArray[np.bool_]  # per scanned file: stat fields equal, but read to check the hash
    gone: NDArray[np.int64]  # manifest rows whose file is no longer there


def stat_fields(scan: list[FileInfo]) -> NDArray[np.int64]:
    """(size, mtime_ns, inode) per scanned file (three flat conversions: a list of tuples
    would be one long call that holds the GIL)."""
    stats = np.empty((len(scan), 3), dtype=np.int64)
    stats[:, 0] = np.array([f.size for f in scan], dtype=np.int64)
    stats[:, 1] = np.array([f.mtime_ns for f in scan], dtype=np.int64)
    stats[:, 2] = np.array([f.inode for f in scan], dtype=np.int64)
    return stats


def compare_scan(manifest: Manifest, scan: list[FileInfo]) -> ScanDiff:
    """Which scanned files to read, and which manifest rows are gone."""
    stats = stat_fields(scan)
    paths = [f.rel for f in scan]
    if paths == manifest.paths:  # the common case: no file added or removed
        rows = np.arange(len(paths), dtype=np.int64)
    else:
        where = {p: n for n, p in enumerate(manifest.paths)}
        rows = np.array([where.get(p, -1) for p in paths], dtype=np.int64)
    known = rows >= 0
    same = np.zeros(len(scan), dtype=bool)
    same[known] = (manifest.stats[rows[known]] == stats[known]).all(axis=1)
    racy = same & (stats[:, 1] >= manifest.scanned_ns - RACY_NS)
    present = np.zeros(len(manifest.paths), dtype=bool)
    present[rows[known]] = True
    return ScanDiff(rows, ~same | racy, racy, np.flatnonzero(~present))
