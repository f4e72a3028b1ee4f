"""Retrieval stages: names as written, the kind of answer, one decision, passages shown."""

from __future__ import annotations

import gc

import pytest

from bot.articles import Collection, parse_article, passages_of
from bot.conversation.render import render_pages, render_text
from bot.retrieval import evidence
from bot.retrieval.answer import answer
from bot.retrieval.answer_types import holds_answer
from bot.retrieval.names import holds, name_of, names_of
from bot.retrieval.search import LARGE_COLLECTION, SearchIndex
from bot.text import tokenize


def index_of(*texts: str, filler: int = 0) -> SearchIndex:
    """An index of articles given as text, plus `filler` unrelated one-paragraph articles."""
    articles = [parse_article(t, f"{n:03}.txt") for n, t in enumerate(texts)]
    articles += [
        parse_article(f"Notice {n}\n\nItem {n} of the council agenda is closed.", f"f{n}.txt")
        for n in range(filler)
    ]
    return SearchIndex(
        Collection(tuple(articles), tuple(p for a in articles for p in passages_of(a)))
    )


def test_the_answering_paragraph_comes_before_the_lede(seed_index: SearchIndex) -> None:
    """'how many troops' shows the 3,000-troops paragraph first; 'who is Saraj' the one
    that names him, not the lede or the prisoners paragraph."""
    troops = seed_index.search("how many troops", 3)
    assert "approximately 3,000 American troops" in troops[0].passage.text
    saraj = seed_index.search("who is Saraj", 3)
    assert saraj[0].passage.paragraph == 2
    assert "Ahmad Zia Saraj" in saraj[0].passage.text


def test_several_passages_are_shown_when_several_answer(seed_index: SearchIndex) -> None:
    """The Doha-deal question shows the deal's paragraphs, "United States" matching "US"."""
    hits = seed_index.search("What did the Taliban agree in the deal with the United States?", 5)
    assert len(hits) >= 3
    assert {2, 3, 4} <= {h.passage.paragraph for h in hits}


def test_the_subtitle_is_a_quotable_cited_passage(seed_index: SearchIndex) -> None:
    """The seed's subtitle answers 'why did the US order its staff to leave Kabul' and is
    cited as the subtitle."""
    result = answer(seed_index, "Why did the US order its staff to leave Kabul?", 3)
    first = result.hits[0].passage
    assert (first.paragraph, first.text) == (0, "US orders staff to leave Kabul due to threats")
    assert "· subtitle ·" in render_text(result).splitlines()[1]


def test_a_shared_first_name_is_not_the_person_asked_about() -> None:
    """'Taylor Swift' is not Matthew Taylor: the reply says so, with the closest passages,
    and is not an answer."""
    index = index_of(
        "Party chairman writes to watchdog\n\nLib Dem chairman Matthew Taylor wrote to the "
        "watchdog about swift action on phone calls.\n\nMr Taylor wants new guidelines.",
        filler=3,
    )
    found = index.find("How old is Taylor Swift?", 3)
    assert not found.answered
    assert found.verdict.closest and found.verdict.missing == ("Taylor Swift",)
    result = answer(index, "How old is Taylor Swift?", 3)
    page = render_pages(result, 3)[0]
    assert page.startswith("I couldn't find an answer to that in the articles.")
    assert "but not “Taylor Swift”" in page


def test_a_stem_shared_with_another_name_does_not_answer() -> None:
    """'Titanic' and 'Titan' share a stem; a question about the Titanic is not answered by
    the Titan corporation."""
    index = index_of(
        "Titan fined\n\nThe Titan corporation was fined by the SEC for payments in Benin.",
        filler=3,
    )
    assert tokenize("Titanic") == tokenize("Titan")  # the stemmer merges them
    assert index.search("How many people died when the Titanic sank?", 3) == []


def test_a_name_is_not_spelled_into_another_name() -> None:
    """'Tesla' is one letter from 'Tessa' but is not corrected into it."""
    index = index_of(
        "Minister opens gallery\n\nCulture Secretary Tessa Jowell opened a gallery.",
        "Factory expands\n\nThe car factory hired 300 workers.",
        filler=3,
    )
    query = index.query("Who founded Tesla cars?")
    assert query.corrections == ()
    assert index.search(query, 3) == []


def test_a_typo_in_a_name_is_still_fixed_where_it_fits() -> None:
    """'Afganistan' becomes 'Afghanistan' when it shares passages with the other words."""
    index = index_of(
        "Troops leave\n\nAll US troops will leave Afghanistan by September.", filler=3
    )
    query = index.query("When will US troops leave Afganistan?")
    assert query.corrections == (("Afganistan", "Afghanistan"),)
    assert index.search(query, 1)


def test_names_match_as_written() -> None:
    """A name of several words matches with one slip, or by surname after a title, never
    after another first name; equivalent forms of a country match."""
    text = names_of(
        "Robert Jackson spoke. Mr Jackson left. Lord Archer met Vincent Cable in Sri Lanka "
        "and the United States."
    )
    assert not holds(text, name_of("Michael Jackson"))  # type: ignore[arg-type]
    assert holds(text, name_of("Jeffrey Archer"))  # type: ignore[arg-type]
    assert holds(text, name_of("Vince Cable"))  # type: ignore[arg-type]
    assert holds(text, name_of("Shri Lanka"))  # type: ignore[arg-type]
    assert holds(text, name_of("America"))  # type: ignore[arg-type]
    assert not holds(names_of("the euro fell"), name_of("Euro 2004"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "sentence", "question", "expected"),
    [
        ("when", "The act takes effect on 1 January.", "when does the act start", True),
        ("when", "The act was debated in December.", "did it start in december", False),
        ("number", "Some 3,000 troops remain.", "how many troops remain", True),
        ("number", "They leave by Sept. 11.", "how many troops", False),
        ("number", "Sales rose in 2004.", "how many sales", False),
        ("who", "The post goes to Noel Forgeard.", "who takes over", True),
        ("who", "Philippe Camus is to leave.", "who replaces philippe camus", False),
        ("where", "The case was filed in Houston.", "where was the case filed", True),
        ("why", "Prices fell because demand slumped.", "why did prices fall", True),
        (None, "Anything at all.", "tell me", False),
    ],
)
def test_the_kind_of_answer_is_found_beyond_the_question(
    kind: str | None, sentence: str, question: str, expected: bool
) -> None:
    """A date, amount, name, place or cause counts only when the question does not say it."""
    assert holds_answer(sentence, kind, frozenset(question.split())) is expected


def test_a_word_no_article_uses_means_no_answer_in_a_large_collection() -> None:
    """In a collection of thousands of passages, 'banana' appearing nowhere means the
    articles do not cover the question, whatever else matches."""
    index = index_of(
        "Food makers cut calories\n\nMajor food manufacturers cut the calories in snacks.",
        filler=LARGE_COLLECTION,
    )
    assert index.large
    found = index.find("How many calories are there in a banana?", 3)
    assert not found.answered
    assert index.search("How many calories did food manufacturers cut?", 3)


def test_sentence_cache_exempts_what_it_keeps_from_the_garbage_collector() -> None:
    """Every SETTLE_EVERY new entries, the cache's long-lived objects are frozen (a full
    collection pass over them would stall the event loop); what it returns is unchanged."""
    text = "Harbour news\n\n" + "\n\n".join(f"Ship {n} docked at Quay {n}." for n in range(40))
    passages = list(passages_of(parse_article(text, "h.txt")))
    cache = evidence.SentenceCache()
    gc.unfreeze()
    for n in range(evidence.SETTLE_EVERY - 1):
        cache.keys(n, passages[n % len(passages)])
    assert gc.get_freeze_count() == 0
    cache.passage(3, passages[3])
    assert gc.get_freeze_count() > 0
    assert cache.passage(3, passages[3]) == evidence.split(passages[3])
    assert cache.keys(5, passages[5]) == names_of(f"Harbour news\n\n{passages[5].text}")
