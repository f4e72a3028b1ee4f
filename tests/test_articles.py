"""Loading articles from a folder: parsing, passages, and files that are skipped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles import (
    ArticleError,
    decode_article_bytes,
    load_collection,
    parse_article,
    split_long,
)
from bot.retrieval.search import EmptyCollectionError, SearchIndex
from bot.scan import scan_folder
from tests.support.paths import SEEDS

SEED_FILE = "000_e6af9304790c8bd1.txt"


def test_seed_article_metadata_and_body() -> None:
    """The seed parses into title, dek, dateline and ten body paragraphs without boilerplate."""
    collection = load_collection(SEEDS)
    (article,) = collection.articles
    assert article.id == "000_e6af9304790c8bd1"
    assert article.file_name == SEED_FILE
    assert article.title == "Taliban Attacks Upsurge as US Eyes Total Exit, Afghan Spy Chief Says"
    assert article.subtitle == "US orders staff to leave Kabul due to threats"
    assert article.dateline == "KABUL"
    assert article.paragraphs[0].startswith("The Afghan Taliban have ramped up attacks")
    assert len(article.paragraphs) == 10
    assert not any("Comments are closed" in p or "Newsletter" in p for p in article.paragraphs)


def test_every_passage_is_verbatim_from_the_file() -> None:
    """Passages quote the file's text exactly: the subtitle (paragraph 0), then the ten
    paragraphs."""
    raw = (SEEDS / SEED_FILE).read_text(encoding="utf-8")
    collection = load_collection(SEEDS)
    assert len(collection.passages) == 11
    subtitle = collection.passages[0]
    assert (subtitle.paragraph, subtitle.text) == (
        0,
        "US orders staff to leave Kabul due to threats",
    )
    assert [p.paragraph for p in collection.passages[1:]] == list(range(1, 11))
    for passage in collection.passages:
        assert passage.text in raw
        assert passage.context.startswith(passage.article.title)


def test_front_matter_enriches_the_article() -> None:
    """url, published, outlet and language come from optional front matter."""
    text = (
        '---\nurl: https://example.com/a\npublished: 2021-04-20\noutlet: "Example News"\n'
        "language: en\n---\nA headline\n\nFirst paragraph of the story.\n"
    )
    article = parse_article(text, "a.md")
    assert (article.url, article.published, article.outlet, article.language) == (
        "https://example.com/a",
        "2021-04-20",
        "Example News",
        "en",
    )
    assert article.title == "A headline"
    assert article.paragraphs == ("First paragraph of the story.",)


def test_markdown_heading_and_wrapped_lines() -> None:
    """A '# ' title loses its marker; hard-wrapped lines join into one paragraph."""
    article = parse_article("# Title here\n\nLine one\nline two.\n\nNext one.", "b.md")
    assert article.title == "Title here"
    assert article.paragraphs == ("Line one line two.", "Next one.")


def test_bad_files_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Empty, binary, title-only files are skipped; Latin-1 is decoded; nothing crashes."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "title_only.md").write_text("Just a title\n")
    (tmp_path / "latin1.txt").write_bytes("Café news\n\nLe café était fermé.".encode("latin-1"))
    (tmp_path / "notes.csv").write_text("ignored,file\n")
    with caplog.at_level(logging.WARNING):
        collection = load_collection(tmp_path)
    assert [a.file_name for a in collection.articles] == ["latin1.txt"]
    assert collection.articles[0].paragraphs == ("Le café était fermé.",)
    skipped = dict(collection.skipped)
    assert set(skipped) == {"empty.txt", "binary.txt", "title_only.md"}
    for name in skipped:
        assert name in caplog.text


def test_symlink_outside_the_folder_is_not_followed(tmp_path: Path) -> None:
    """A link pointing outside the articles folder is skipped."""
    outside = tmp_path / "secret.txt"
    outside.write_text("Secret title\n\nSecret body.")
    folder = tmp_path / "articles"
    folder.mkdir()
    os.symlink(outside, folder / "link.txt")
    (folder / "real.txt").write_text("Real title\n\nReal body.")
    assert [a.file_name for a in load_collection(folder).articles] == ["real.txt"]


def test_empty_folder_gives_a_clear_error_not_zero_division(tmp_path: Path) -> None:
    """No articles: the index says so instead of dividing by zero."""
    collection = load_collection(tmp_path)
    assert collection.articles == ()
    with pytest.raises(EmptyCollectionError, match="no articles"):
        SearchIndex(collection)


def test_long_paragraphs_split_on_sentences_verbatim() -> None:
    """A long paragraph becomes several passages, each within the limit, losing no word."""
    paragraph = " ".join(f"Sentence number {i} says something about the war." for i in range(60))
    chunks = split_long(paragraph, limit=300)
    assert len(chunks) > 1
    assert all(len(c) <= 300 and c.endswith(".") for c in chunks)
    assert " ".join(chunks) == paragraph


def test_one_enormous_sentence_is_still_cut() -> None:
    """Text without sentence ends is cut on spaces, or hard when there are none."""
    assert all(len(c) <= 100 for c in split_long("word " * 500, limit=100))
    assert "".join(split_long("x" * 1000, limit=100)) == "x" * 1000


def test_readme_beside_articles_is_not_an_article(tmp_path: Path) -> None:
    """A corpus's README.md or SOURCE.md is not loaded as an article."""
    (tmp_path / "SOURCE.md").write_text("# About this corpus\n\nWhere it comes from.")
    (tmp_path / "001.txt").write_text("Headline\n\nBody text.")
    assert [a.file_name for a in load_collection(tmp_path).articles] == ["001.txt"]


def test_scan_lists_files_in_sorted_path_order(tmp_path: Path) -> None:
    """The folder scan yields the article files in the order of sorted paths (what the
    collection's order, and so every tie between equal scores, rests on), with the rules
    above: hidden files and folders, README-like files and other suffixes left out."""
    names = [
        "a/x.txt", "a b.txt", "a.txt", "a-b/c.md", "B.TXT", "a/b/c/deep.txt", "Z.md", "é.txt",
        ".hidden/in.txt", "a/.dot.txt", "notes.csv", "LICENSE.md", "a/README.txt",
    ]  # fmt: skip
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Title\n\nBody.")
    os.symlink(tmp_path / "a.txt", tmp_path / "inside-link.txt")
    expected = [
        p.relative_to(tmp_path).as_posix()
        for p in sorted(tmp_path.rglob("*"))
        if p.is_file()
        and p.suffix.lower() in (".txt", ".md")
        and p.stem.lower() not in ("readme", "license")
        and not any(part.startswith(".") for part in p.relative_to(tmp_path).parts)
    ]
    scanned = scan_folder(tmp_path)
    assert [f.rel for f in scanned] == expected
    assert "inside-link.txt" in expected
    first = scanned[0]
    info = os.stat(first.path)
    assert (first.size, first.mtime_ns, first.inode) == (
        info.st_size,
        info.st_mtime_ns,
        info.st_ino,
    )


def slow_control_count(text: str) -> int:
    """The binary test's definition, one character at a time (the previous implementation)."""
    sample = text[:8192]
    count = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f")
    return count + sum(1 for c in sample if 0x7F <= ord(c) < 0xA0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=400))
def test_binary_check_counts_control_characters_as_defined(sample: str) -> None:
    """The regular-expression count of control characters equals the character-by-character
    definition: the same files are refused as binary."""
    data = sample.encode("utf-8")
    expected_binary = (
        not data.strip()
        or b"\x00" in data
        or slow_control_count(data.decode("utf-8")) > len(sample[:8192]) * 0.05
    )
    try:
        decode_article_bytes(data)
        refused = False
    except ArticleError:
        refused = True
    assert refused == expected_binary
