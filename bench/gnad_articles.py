"""The German evaluation collection: 10kGNAD's test split as an articles folder.

10kGNAD (github.com/tblock/10kGNAD, CC BY-NC-SA 4.0: read it from where you fetched it, never
commit it) is 10,273 derStandard.at articles in one CSV, `label;'text'` per line. Its
test split, `test.csv`, has 1,028; each becomes `gnad_test_NNNN.txt` (NNNN: its row), with
the text's first sentence (the teaser the corpus starts every article with) as the title:

    python -m bench.gnad_articles /path/to/10kGNAD/test.csv /tmp/gnad/articles
    newsbot eval bench/gnad_qa_test.jsonl bench/gnad_qa_tune.jsonl --articles /tmp/gnad/articles

`gnad_qa_tune.jsonl` (even-numbered articles) and `gnad_qa_test.jsonl` (odd-numbered, never
tuned on) are German questions by two writers who read only these articles.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

# The teaser: the text up to its first sentence end followed by a capital or a quote.
_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(?:\s+(?=[A-ZÄÖÜ„\"])|$)")
TITLE_CHARS = 300


def convert(source: Path, folder: Path) -> int:
    """Write one article file per row of `source` into `folder` (new or empty: nothing in it
    is ever overwritten); the number written."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty: name a new folder for the articles")
    with source.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file, delimiter=";", quotechar="'"))
    for number, (_label, text) in enumerate(rows):
        text = text.strip()
        match = _FIRST_SENTENCE.match(text)
        title = (match.group(1) if match else text)[:TITLE_CHARS]
        path = folder / f"gnad_test_{number:04d}.txt"
        path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="10kGNAD's test.csv")
    parser.add_argument("folder", type=Path, help="the articles folder to write")
    args = parser.parse_args()
    print(f"{convert(args.csv, args.folder)} articles written to {args.folder}")


if __name__ == "__main__":
    main()
