"""Rendering answers: Telegram HTML that is valid, escaped, paged and within 4096 characters."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.articles import Collection, Passage, parse_article, passages_of
from bot.conversation.conversation import hit_rows
from bot.conversation.render import NO_ANSWER, render_pages, render_text, to_json
from bot.markup import MESSAGE_LIMIT, pack, quote_html, tg_len
from bot.retrieval.answer import answer
from bot.retrieval.search import SearchIndex
from tests.support.emulator.telegram_html import parse_html


def test_answer_html_quotes_bolds_and_cites(seed_index: SearchIndex) -> None:
    """Each hit is a blockquote with a bold sentence and a source line with file and ¶."""
    result = answer(seed_index, "When will all US troops leave Afghanistan?", 3)
    (message,) = render_pages(result, per_page=3)
    assert message.count("<blockquote>") == 3
    assert "<b>Earlier this month, President Biden said" in message
    assert "000_e6af9304790c8bd1.txt · ¶ 6 · KABUL" in message
    text = parse_html(message)
    for hit in result.hits:
        assert hit.passage.text in text


def test_pages_hold_per_page_hits_with_a_footer(seed_index: SearchIndex) -> None:
    """More hits than a page takes: pages of `per_page` passages, each saying which ones."""
    result = answer(seed_index, "Taliban", 3, pages=4)
    pages = render_pages(result, per_page=3)
    assert len(pages) == -(-len(result.hits) // 3) > 1
    assert "<i>Passages 1–3 of" in pages[0]
    assert all(page.count("<blockquote>") <= 3 for page in pages)
    shown = "".join(parse_html(page) for page in pages)
    assert all(hit.passage.text in shown for hit in result.hits)  # every hit on some page


def test_no_answer_says_so_and_points_to_sources(seed_index: SearchIndex) -> None:
    """Nothing relevant: a plain sentence and /sources, no passages."""
    result = answer(seed_index, "What is the capital of France?", 3)
    assert not result.answered and not result.closest and result.hits == ()
    assert render_pages(result, 3) == [NO_ANSWER]
    assert "/sources" in NO_ANSWER
    assert "couldn't find" in NO_ANSWER
    assert render_text(result) == NO_ANSWER


def test_json_shape(seed_index: SearchIndex) -> None:
    """to_json has the documented keys and is serialisable."""
    data = to_json(answer(seed_index, "Taliban prisoners", 3))
    assert set(data) == {
        "question",
        "answered",
        "closest",
        "took_ms",
        "searched_for",
        "follows",
        "hits",
    }
    assert data["answered"] is True
    hit = data["hits"][0]
    assert {"rank", "score", "article_id", "title", "source", "paragraph", "text"} <= set(hit)
    json.dumps(data)


def test_hit_rows_are_what_the_log_stores(seed_index: SearchIndex) -> None:
    """hit_rows(answer): rank, article id, paragraph and score of every hit, in order."""
    result = answer(seed_index, "When will all US troops leave Afghanistan?", 3)
    rows = hit_rows(result)
    assert [r.rank for r in rows] == [1, 2, 3]
    assert (rows[0].article_id, rows[0].paragraph) == ("000_e6af9304790c8bd1", 6)
    assert rows[0].score == round(result.hits[0].score, 6)


def hostile_index(body: str) -> SearchIndex:
    article = parse_article(f"<b>Title</b> & <script>x</script>\n\nfiller text\n\n{body}", "x.txt")
    return SearchIndex(Collection((article,), tuple(passages_of(article))))


def test_article_text_is_escaped() -> None:
    """Tags and ampersands from an article are shown, not interpreted."""
    index = hostile_index("The <i>zebra</i> & <a href='x'>lion</a> meet at 5 < 6.")
    (message,) = render_pages(answer(index, "zebra lion", 3), 3)
    shown = parse_html(message)
    assert "The <i>zebra</i> & <a href='x'>lion</a> meet at 5 < 6." in shown
    assert "<b>Title</b> & <script>x</script>" in shown


def test_many_long_hits_split_between_passages_within_the_limit() -> None:
    """Huge passages full of '&' still give pages under 4096 characters that all parse,
    split between passages (a page holds fewer hits than asked when they do not fit)."""
    names = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")
    body = "\n\n".join(f"zebra {name} " + "&" * 700 for name in names)
    result = answer(hostile_index(body), "zebra", 6)
    pages = render_pages(result, per_page=6)
    assert len(pages) > 1
    for page in pages:
        assert tg_len(page) <= MESSAGE_LIMIT
        parse_html(page)
    assert sum(page.count("<blockquote>") for page in pages) == len(result.hits)


def test_a_passage_too_long_for_a_page_is_cut_with_an_ellipsis() -> None:
    """One passage longer than a message: its page shows the start, '…' and its source."""
    article = parse_article("Title\n\nfiller text\n\nzebra crossing", "x.txt")
    long = Passage(article, 1, "The zebra crossed. " + "On and on it went. " * 400)
    index = SearchIndex(Collection((article,), (long,)))
    (page,) = render_pages(answer(index, "zebra", 1), 1)
    assert tg_len(page) <= MESSAGE_LIMIT
    assert "\n…\n" in page and page.rstrip().endswith("¶ 1")
    parse_html(page)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=3000), st.booleans()), min_size=1, max_size=4),
    st.integers(min_value=60, max_value=4096),
)
def test_quote_html_never_cuts_inside_a_tag_or_entity(
    segments: list[tuple[str, bool]], limit: int
) -> None:
    """Any text, any limit: each piece is valid HTML within the limit, and no character is lost."""
    pieces = quote_html(segments, limit)
    assert all(len(p) <= limit for p in pieces)
    shown = "".join(parse_html(p) for p in pieces)
    assert shown == "".join(text for text, _ in segments)


def test_pack_joins_blocks_without_exceeding_the_limit() -> None:
    """Blocks are packed greedily and never split."""
    blocks = ["a" * 3000, "b" * 1000, "c" * 100]
    assert pack(blocks) == ["a" * 3000 + "\n\n" + "b" * 1000, "c" * 100]
