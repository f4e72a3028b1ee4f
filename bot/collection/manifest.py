"""The manifest: what the articles folder held when the index was last brought up to date.

As git's index does for a work tree, it keeps per file its path, size, modification time
(ns) and inode, a hash of its bytes, and what the file became: an article of a segment, or
the reason it was skipped. A start scans the folder (one stat per file, no reads) and reads
only the files whose stat fields differ. A file modified within RACY_NS of the scan that
recorded it may have changed again without its stat fields changing ("racily clean"): it is
read once more, and its hash decides.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.scan import FileInfo, scan_columns, stat_article

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


@dataclass(frozen=True, slots=True, eq=False)
class Scan:
    """The article files of a folder, in path order, with their stat fields."""

    folder: str
    paths: list[str]
    stats: NDArray[np.int64]  # (files, 3): size, mtime_ns, inode
    mtimes: NDArray[np.float64] | dict[int, float]  # st_mtime, what Article.modified keeps
    started_ns: int = 0  # when the scan began (time.time_ns)

    @classmethod
    def now(cls, folder: Path) -> Scan:
        """The folder scanned here and now."""
        started = time.time_ns()
        found = scan_columns(folder)
        stats = np.empty((len(found.rels), 3), dtype=np.int64)
        stats[:, 0], stats[:, 1], stats[:, 2] = found.sizes, found.mtimes_ns, found.inodes
        mtimes = np.array(found.mtimes, dtype=np.float64)
        return cls(str(folder), found.rels, stats, mtimes, started)

    @classmethod
    def in_child(cls, folder: Path) -> Scan:
        """`scan_folder` in a spawned process. In the bot a whole scan competes with the
        searches for the GIL (12 s instead of 1 s at 178k files under load) and its 178k
        short-lived objects set off full garbage collections; the child returns three flat
        buffers that become the scan in a few C calls."""
        context = multiprocessing.get_context("spawn")  # safe from any thread
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            paths, stats, mtimes, started = pool.submit(_packed_scan, str(folder)).result()
        return cls(
            str(folder),
            paths.split("\x00") if paths else [],
            np.frombuffer(stats, dtype=np.int64).reshape(-1, 3).copy(),
            np.frombuffer(mtimes, dtype=np.float64).copy(),
            started,
        )

    def info(self, n: int) -> FileInfo:
        size, mtime_ns, inode = (int(v) for v in self.stats[n])
        path = os.path.join(self.folder, self.paths[n])
        return FileInfo(self.paths[n], path, size, mtime_ns, inode, float(self.mtimes[n]))


def _packed_scan(folder: str) -> tuple[str, bytes, bytes, int]:
    scan = Scan.now(Path(folder))
    mtimes = np.asarray(scan.mtimes, dtype=np.float64)
    return "\x00".join(scan.paths), scan.stats.tobytes(), mtimes.tobytes(), scan.started_ns


def compare_scan(manifest: Manifest, scan: Scan) -> ScanDiff:
    """Which scanned files to read, and which manifest rows are gone."""
    rows = _rows(manifest.paths, scan.paths)
    known = rows >= 0
    same = np.zeros(len(rows), dtype=bool)
    same[known] = (manifest.stats[rows[known]] == scan.stats[known]).all(axis=1)
    racy = same & (scan.stats[:, 1] >= manifest.scanned_ns - RACY_NS)
    present = np.zeros(len(manifest.paths), dtype=bool)
    present[rows[known]] = True
    return ScanDiff(rows, ~same | racy, racy, np.flatnonzero(~present))


def patch_scan(manifest: Manifest, folder: Path, changed: Iterable[str]) -> tuple[Scan, ScanDiff]:
    """The folder as the manifest recorded it, with the `changed` files (paths under the
    folder, from the folder watch) looked at again: no other file is listed or stat'ed."""
    paths, stats = list(manifest.paths), manifest.stats.copy()
    rows = np.arange(len(paths), dtype=np.int64)
    read: list[str] = []
    mtimes_by_path: dict[str, float] = {}
    racy_paths: set[str] = set()
    for rel in sorted(set(changed), key=path_key, reverse=True):  # later rows first
        at = bisect.bisect_left(paths, path_key(rel), key=path_key)
        listed = at < len(paths) and paths[at] == rel
        info = stat_article(folder, rel)
        if info is None and listed:
            del paths[at]
            stats, rows = np.delete(stats, at, axis=0), np.delete(rows, at)
        elif info is not None:
            fields = np.array([[info.size, info.mtime_ns, info.inode]], dtype=np.int64)
            if listed:
                same_stat = bool((stats[at] == fields[0]).all())
                stats[at] = fields[0]
                if same_stat:  # reported, but stat fields equal: the hash decides
                    racy_paths.add(rel)
            else:
                paths.insert(at, rel)
                stats, rows = np.insert(stats, at, fields, axis=0), np.insert(rows, at, -1)
            read.append(rel)
            mtimes_by_path[rel] = info.mtime
    again = np.zeros(len(paths), dtype=bool)
    where = {rel: bisect.bisect_left(paths, path_key(rel), key=path_key) for rel in read}
    again[list(where.values())] = True
    mtimes = {where[rel]: mtime for rel, mtime in mtimes_by_path.items()}
    present = np.zeros(len(manifest.paths), dtype=bool)
    present[rows[rows >= 0]] = True
    racy = np.zeros(len(paths), dtype=bool)
    racy[[where[rel] for rel in racy_paths]] = True
    scan = Scan(str(folder), paths, stats, mtimes)
    return scan, ScanDiff(rows, again, racy, np.flatnonzero(~present))


def _rows(before: list[str], after: list[str]) -> NDArray[np.int64]:
    """Per path of `after`, its row in `before` (-1: new). Both are in path order, so only
    the few paths added and removed are placed one by one (set differences run in C)."""
    if after == before:  # the common case: no file added or removed
        return np.arange(len(after), dtype=np.int64)
    removed = sorted(set(before) - set(after), key=path_key)
    added = sorted(set(after) - set(before), key=path_key)
    gone = [bisect.bisect_left(before, path_key(p), key=path_key) for p in removed]
    rows = np.delete(np.arange(len(before), dtype=np.int64), gone)
    for path in added:  # in order: each goes where it sorts among those placed already
        at = bisect.bisect_left(after, path_key(path), key=path_key)
        rows = np.insert(rows, at, -1)
    return rows


def path_key(rel: str) -> str:
    """Sorting by this sorts paths as sorting their parts does ("a/b" before "a-b")."""
    return rel.replace("/", "\x00")
