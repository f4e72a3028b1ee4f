"""Rendering answers: Telegram HTML that is valid, escaped and within 4096 characters."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import (
    MESSAGE_LIMIT,
    NO_ANSWER,
    answer,
    pack,
    quote_html,
    render_html,
    render_text,
    to_json,
)
from bot.articles import Collection, parse_article, passages_of
from bot.chat import Newsroom
from bot.index import SearchIndex
from tests.emulator.telegram_html import parse_html


def test_answer_html_quotes_bolds_and_cites(seed_room: Newsroom) -> None:
    """Each hit is a blockquote with a bold sentence and a source line with file and ¶."""
    result = answer(seed_room.index, "When will all US troops leave Afghanistan?", 3)
    (message,) = render_html(result)
    assert message.count("<blockquote>") == 3
    assert "<b>Earlier this month, President Biden said" in message
    assert "000_e6af9304790c8bd1.txt · ¶ 6 · KABUL" in message
    text = parse_html(message)
    for hit in result.hits:
        assert hit.passage.text in text


def test_no_answer_says_so_and_points_to_sources(seed_room: Newsroom) -> None:
    """Nothing relevant: a plain sentence and /sources, no passages."""
    result = answer(seed_room.index, "What is the capital of France?", 3)
    assert render_html(result) == [NO_ANSWER]
    assert "/sources" in NO_ANSWER
    assert "couldn't find" in NO_ANSWER
    assert render_text(result) == NO_ANSWER


def test_json_shape(seed_room: Newsroom) -> None:
    """to_json has the documented keys and is serialisable."""
    data = to_json(answer(seed_room.index, "Taliban prisoners", 3))
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


def hostile_index(body: str) -> SearchIndex:
    article = parse_article(f"<b>Title</b> & <script>x</script>\n\nfiller text\n\n{body}", "x.txt")
    return SearchIndex(Collection((article,), tuple(passages_of(article))))


def test_article_text_is_escaped() -> None:
    """Tags and ampersands from an article are shown, not interpreted."""
    index = hostile_index("The <i>zebra</i> & <a href='x'>lion</a> meet at 5 < 6.")
    (message,) = render_html(answer(index, "zebra lion", 3))
    shown = parse_html(message)
    assert "The <i>zebra</i> & <a href='x'>lion</a> meet at 5 < 6." in shown
    assert "<b>Title</b> & <script>x</script>" in shown


def test_many_long_hits_split_between_passages_within_the_limit() -> None:
    """Huge passages full of '&' still give messages under 4096 characters that all parse."""
    body = "\n\n".join(("zebra " + "&" * 880) for _ in range(6))
    index = hostile_index(body)
    messages = render_html(answer(index, "zebra", 6))
    assert len(messages) > 1
    for message in messages:
        assert len(message) <= MESSAGE_LIMIT
        parse_html(message)


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
