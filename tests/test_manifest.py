"""The manifest's view of the folder: whole scans (here or in a child process), scans of the
files a watch reported, and which files they say to read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.collection.manifest import Manifest, Scan, _rows, compare_scan, patch_scan, path_key

OLD = time.time() - 86_400


def write(folder: Path, rel: str, body: str = "Title\n\nBody.\n") -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    os.utime(path, (OLD, OLD))


def recorded(scan: Scan) -> Manifest:
    """A manifest that saw exactly `scan` (every file an article of segment 0)."""
    count = len(scan.paths)
    entries = np.stack([np.zeros(count, np.int64), np.arange(count)], axis=1)
    return Manifest(
        list(scan.paths),
        scan.stats.copy(),
        np.zeros((count, 16), np.uint8),
        entries,
        scanned_ns=time.time_ns(),
    )


paths = st.lists(
    st.text(alphabet="ab/-. ", min_size=1, max_size=6).filter(
        lambda p: not p.startswith("/") and not p.endswith("/") and "//" not in p
    ),
    unique=True,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(paths, paths)
def test_rows_of_a_rescan_match_by_path(before: list[str], after: list[str]) -> None:
    """For two path-ordered lists, each path of the second gets its row in the first (-1 if
    new): what a dictionary lookup gives, without one."""
    before, after = sorted(before, key=path_key), sorted(after, key=path_key)
    where = {p: n for n, p in enumerate(before)}
    assert _rows(before, after).tolist() == [where.get(p, -1) for p in after]


def test_scan_in_a_child_process_equals_the_scan_here(tmp_path: Path) -> None:
    """The child process's scan gives the same paths, stat fields and times."""
    for n in range(30):
        write(tmp_path, f"d{n % 4}/a{n}.txt")
    here, there = Scan.now(tmp_path), Scan.in_child(tmp_path)
    assert here.paths == there.paths
    assert np.array_equal(here.stats, there.stats)
    assert np.array_equal(np.asarray(here.mtimes), np.asarray(there.mtimes))
    assert there.started_ns <= time.time_ns()


def test_watched_files_are_the_only_ones_looked_at(tmp_path: Path) -> None:
    """Given the files a watch reported (added, changed, deleted, and one reported but not
    changed), the patched scan says to read exactly the added and changed ones, drops the
    deleted one, and agrees with a whole new scan on every path and stat field."""
    for n in range(20):
        write(tmp_path, f"a{n:02d}.txt")
    manifest = recorded(Scan.now(tmp_path))
    write(tmp_path, "a03.txt", "Title\n\nA longer body now.\n")
    write(tmp_path, "b/new.txt")
    (tmp_path / "a07.txt").unlink()
    write(tmp_path, "a11.txt", "Title\n\nBody two\n")  # changed, not reported
    reported = {"a03.txt", "b/new.txt", "a07.txt", "a15.txt", "notes.csv"}
    scan, diff = patch_scan(manifest, tmp_path, reported)
    whole = Scan.now(tmp_path)
    assert scan.paths == whole.paths
    same = [p != "a11.txt" for p in whole.paths]
    assert np.array_equal(scan.stats[same], whole.stats[same])
    read = [scan.paths[n] for n in np.flatnonzero(diff.read)]
    assert sorted(read) == ["a03.txt", "a15.txt", "b/new.txt"]
    assert [scan.paths[n] for n in np.flatnonzero(diff.racy)] == ["a15.txt"]  # hash decides
    assert [manifest.paths[r] for r in diff.gone] == ["a07.txt"]
    full = compare_scan(manifest, whole)
    assert sorted(whole.paths[n] for n in np.flatnonzero(full.read)) == [
        "a03.txt",
        "a11.txt",
        "b/new.txt",
    ]
