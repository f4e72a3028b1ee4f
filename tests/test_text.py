"""tokenize() and sentence splitting."""

from __future__ import annotations

from bot.text import sentence_spans, tokenize


def test_case_punctuation_and_quotes_do_not_matter() -> None:
    """Case, punctuation and typographic quotes are folded away."""
    assert tokenize("Biden’s TROOPS!") == tokenize("biden's troops")


def test_numbers_with_thousands_separators_match_plain_numbers() -> None:
    """'3,000' and '3000' give the same token, and numbers are kept."""
    assert tokenize("3,000 troops") == tokenize("3000 troops") == ["3000", "troop"]


def test_stop_words_are_dropped_but_us_is_kept() -> None:
    """Function words go; 'US' survives case folding as the country."""
    assert tokenize("When will all the US troops leave?") == ["us", "troop", "leav"]


def test_stemming_joins_word_forms() -> None:
    """Inflected forms share a stem."""
    assert tokenize("released releases releasing") == ["releas"] * 3


def test_dotted_acronyms_and_hyphens() -> None:
    """'U.S.-led' matches 'US led'."""
    assert tokenize("U.S.-led") == tokenize("US led")


def test_zero_width_and_compatibility_characters_are_normalised() -> None:
    """Invisible characters and full-width letters do not split or hide words."""
    assert tokenize("Tali\u200bban ＴＡＬＩＢＡＮ") == ["taliban", "taliban"]


def test_sentences_respect_abbreviations() -> None:
    """'Sept. 11' and 'Mr. Joe Biden' are not sentence ends."""
    text = "Troops leave by Sept. 11, said Mr. Joe Biden. Ghani agreed. “Fine,” he said."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Troops leave by Sept. 11, said Mr. Joe Biden.",
        "Ghani agreed.",
        "“Fine,” he said.",
    ]


def test_sentence_spans_are_verbatim_offsets() -> None:
    """Every span slices the original text exactly."""
    text = "One thing.  Two things!\nThree?"
    assert [text[a:b] for a, b in sentence_spans(text)] == ["One thing.", "Two things!", "Three?"]


def test_equivalent_forms_of_countries_and_bodies_are_one_term() -> None:
    """US / U.S. / United States / America, UK / Britain / United Kingdom, UN / United
    Nations, EU / European Union each tokenize to one term; Latin America is not the US."""
    assert tokenize("US") == tokenize("U.S.") == tokenize("United States") == tokenize("America")
    assert tokenize("American troops") == tokenize("US troops")
    assert tokenize("UK") == tokenize("Britain") == tokenize("United Kingdom") == ["uk"]
    assert tokenize("British") == tokenize("Great Britain") == ["uk"]
    assert tokenize("UN") == tokenize("United Nations") == tokenize("U.N.") == ["un"]
    assert tokenize("EU") == tokenize("European Union") == ["eu"]
    assert tokenize("Latin America") != tokenize("America")
    assert tokenize("South American") != tokenize("American")
