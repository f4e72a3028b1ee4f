"""Source lines and JSON hits cite the original article when its URL is known."""

from __future__ import annotations

from bot.articles import Collection, parse_article, passages_of
from bot.conversation.render import plain_source, source_line, to_json
from bot.retrieval.answer import answer
from bot.retrieval.search import SearchIndex

IMPORTED = """---
url: https://news.example/2024/05/20/strike
published: 2024-05-20
outlet: Daily Meridian
author: Priya Natarajan
fetched: 2024-05-20T07:00:00Z
---
# Rail strike called off

The national rail strike planned for this week was called off on Monday night.
"""
DEEP = "https://t.me/newsbot?start=source_1"


def test_the_title_links_to_the_original_and_the_deep_link_follows() -> None:
    """URL known: title → original article, then "open in bot" → the deep link."""
    article = parse_article(IMPORTED, "news.example/2024-05-20-strike.md")
    line = source_line(article, 1, DEEP)
    assert line.startswith(
        '— <a href="https://news.example/2024/05/20/strike"><i>Rail strike called off</i></a>'
    )
    assert line.endswith(f'· Daily Meridian · <a href="{DEEP}">open in bot</a>')


def test_without_a_url_the_title_is_the_deep_link() -> None:
    """No URL: the title opens the article in the bot, as before; no "open in bot"."""
    article = parse_article("Harbour news\n\nThe harbour opened on Friday.\n", "h.txt")
    line = source_line(article, 1, DEEP)
    assert line.startswith(f'— <a href="{DEEP}"><i>Harbour news</i></a>, h.txt')
    assert "open in bot" not in line


def test_plain_text_citations_end_with_the_url() -> None:
    """The terminal shows the title as text and the URL at the end."""
    article = parse_article(IMPORTED, "s.md")
    assert plain_source(article, 1) == (
        "— Rail strike called off, s.md · ¶ 1 · 2024-05-20 · Daily Meridian"
        " · https://news.example/2024/05/20/strike"
    )


def test_json_hits_carry_the_url_when_known() -> None:
    """`ask --json` hits: the article's URL, or null."""
    imported = parse_article(IMPORTED, "s.md")
    local = parse_article("Strike diary\n\nA diary of the strike on the railway.\n", "d.txt")
    collection = Collection(
        (imported, local), tuple(p for a in (imported, local) for p in passages_of(a))
    )
    hits = to_json(answer(SearchIndex(collection), "rail strike called off", 3))["hits"]
    assert hits[0]["url"] == "https://news.example/2024/05/20/strike"
    assert all(h["url"] is None for h in hits if h["source"] == "d.txt")
