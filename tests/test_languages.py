"""Articles and questions in other languages: detection, the reading of each language for
search (German folds, stop words, stems, compounds), datelines in other conventions, and a
collection that mixes languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.articles import load_collection, parse_article
from bot.language import detect
from bot.language.analysis import fold_german, language
from bot.retrieval.search import SearchIndex
from bot.text import tokenize
from tests.support.cli import newsbot
from tests.support.paths import SEEDS

GERMAN = {
    "fluechtlinge.txt": (
        "Flüchtlingsunterkunft in Villingen-Schwenningen angegriffen\n\n"
        "Villingen-Schwenningen – Auf eine Flüchtlingsunterkunft im Schwarzwald ist in der "
        "Nacht eine Handgranate geworfen worden. In dem Heim wohnten 170 Menschen, verletzt "
        "wurde niemand.\n\n"
        "Die Polizei ermittelt wegen versuchten Mordes. Der Sprengkörper war nicht explodiert."
    ),
    "samsung.txt": (
        "Samsung ruft Handys zurück\n\n"
        "Seoul (AFP) – Der Konzern Samsung ruft weltweit 2,5 Millionen Samsung-Handys zurück, "
        "weil deren Akkus beim Aufladen Feuer fangen können.\n\n"
        "Der Austausch der Geräte soll zwei Wochen dauern, teilte das Unternehmen mit."
    ),
    "bellen.txt": (
        "Van der Bellen als Bundespräsident angelobt\n\n"
        "Wien – Alexander Van der Bellen ist am Donnerstag vor der Bundesversammlung als "
        "Bundespräsident vereidigt worden. Er versprach, ein Präsident für alle zu sein.\n\n"
        "Zur Angelobung kamen Gäste aus dem In- und Ausland in das Parlament."
    ),
    "oesterreich.txt": (
        "Österreichs Wirtschaft wächst wieder\n\n"
        "BERLIN (dpa) – Die Wirtschaft in Österreich ist im dritten Quartal um 0,6 Prozent "
        "gewachsen, teilte das Wirtschaftsforschungsinstitut mit.\n\n"
        "Vor allem der Konsum der privaten Haushalte stützte das Wachstum, hieß es."
    ),
}
ENGLISH = {
    "troops.txt": (
        "US troops to leave Afghanistan by September\n\n"
        "WASHINGTON - American troops will leave Afghanistan by September 11, the president "
        "said on Wednesday.\n\n"
        "The withdrawal ends the longest war in the country's history."
    ),
}


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_articles_and_questions_are_detected_in_their_language() -> None:
    """An article's language is detected from its text; a question's is chosen among the
    collection's languages, and a short one takes the reader's language."""
    german = parse_article(GERMAN["samsung.txt"], "samsung.txt")
    english = parse_article(ENGLISH["troops.txt"], "troops.txt")
    assert (german.language, english.language) == ("de", "en")
    both = {"en", "de"}
    assert detect.question_language("Wann wurde Van der Bellen vereidigt?", both) == "de"
    assert detect.question_language("When will US troops leave Afghanistan?", both) == "en"
    assert detect.question_language("brexit", both, hint="de-AT") == "de"
    assert detect.question_language("Merkel", {"en"}, hint="de") == "en"  # English only


def test_front_matter_names_the_language() -> None:
    """`lang:` (or `language:`) in the front matter overrides detection, as a code or tag."""
    text = "---\nlang: de-AT\n---\nA title in English\n\nBut the body is said to be German."
    assert parse_article(text, "a.md").language == "de"
    text = "---\nlanguage: en_GB\n---\nEin Titel\n\nDer Text ist angeblich Englisch."
    assert parse_article(text, "b.md").language == "en"


def test_the_setting_reads_articles_without_front_matter_in_one_language() -> None:
    """NEWSBOT_LANGUAGE (set_article_language) replaces detection for articles that name no
    language; front matter still wins."""
    detect.set_article_language("de")
    try:
        assert parse_article(ENGLISH["troops.txt"], "troops.txt").language == "de"
        text = "---\nlang: en\n---\n" + ENGLISH["troops.txt"]
        assert parse_article(text, "t.md").language == "en"
    finally:
        detect.set_article_language(None)


@pytest.mark.parametrize(
    ("typed", "written"),
    [("Oesterreich", "Österreich"), ("Buergermeister", "Bürgermeister"), ("Strasse", "Straße")],
)
def test_german_spellings_of_umlauts_and_sharp_s_are_one_word(typed: str, written: str) -> None:
    """ae/oe/ue/ss and ä/ö/ü/ß fold alike, so typed ASCII finds the written word."""
    assert tokenize(typed, "de") == tokenize(written, "de") != []


def test_german_function_words_are_stop_words_and_inflections_share_a_stem() -> None:
    """German stop words are dropped ("hat", "das", "die"), inflected forms share a stem, and
    "neue" or "Quelle" keep their "ue" (after a vowel or q)."""
    assert tokenize("Was hat das mit der Regierung zu tun", "de") == ["regier", "tun"]
    assert tokenize("Regierungen", "de") == tokenize("Regierung", "de")
    assert fold_german("neue") == "neue" and fold_german("quelle") == "quelle"
    assert language("de").is_stop("fuer")
    # English is read as before: the German words are content words there.
    assert "hat" in tokenize("Was hat das", "en")


def test_german_questions_find_german_articles(tmp_path: Path) -> None:
    """Compounds split ("Samsunghandy") or joined ("Unterkunft für Flüchtlinge"), ASCII umlauts
    and other inflections find the passage that answers; German function words are not
    named as missing."""
    index = SearchIndex(load_collection(write(tmp_path / "de", GERMAN)))
    cases = {
        "Warum ruft Samsung das Samsunghandy zurück?": "Akkus beim Aufladen",
        "Wie viele Menschen wohnten in der Unterkunft für Fluechtlinge?": "170 Menschen",
        "wann wurde van der bellen vereidigt": "am Donnerstag",
        "Um wie viel Prozent wuchs die Wirtschaft in Oesterreich?": "0,6 Prozent",
    }
    for question, phrase in cases.items():
        found = index.find(question, 3)
        assert found.query.language == "de"
        assert found.hits and phrase in found.hits[0].passage.text, question
        assert found.answered, question


def test_an_inflected_word_is_not_spelling_fixed_into_another_word(tmp_path: Path) -> None:
    """A German word one letter from another ("verteidigt" / "vereidigt") is not rewritten:
    only swapped letters count as a typing slip in languages other than English."""
    index = SearchIndex(load_collection(write(tmp_path / "de", GERMAN)))
    assert index.query("Wer hat verteidigt?").corrections == ()
    assert index.query("Wann wurde Van der Bellen verediigt?").corrections == (
        ("verediigt", "vereidigt"),
    )


@pytest.mark.parametrize(
    ("opening", "place"),
    [
        ("Wien – Die Gewerkschaft sieht Handlungsbedarf.", "Wien"),
        ("BERLIN (dpa) – Die Wirtschaft wächst.", "BERLIN (dpa)"),
        ("Paris (AFP) – Le gouvernement a annoncé.", "Paris (AFP)"),
        ("Villingen-Schwenningen – Auf eine Unterkunft.", "Villingen-Schwenningen"),
        ("KABUL - The Taliban attacked.", "KABUL"),
    ],
)
def test_datelines_in_other_conventions(opening: str, place: str) -> None:
    """Datelines are recognised in German and French agency styles as in English, and cut
    from the first paragraph."""
    article = parse_article(f"A title\n\n{opening} More text follows here.", "a.txt")
    assert article.dateline == place
    assert not article.paragraphs[0].startswith(place)


def test_an_ordinary_first_sentence_is_not_a_dateline() -> None:
    """A sentence that starts with a capitalised word and a dash later is not a dateline."""
    text = "A title\n\nThe minister – who resigned on Monday – said nothing more."
    assert parse_article(text, "a.txt").dateline is None


def test_a_mixed_collection_answers_each_question_from_its_own_language(tmp_path: Path) -> None:
    """In a collection of English and German articles, a German question is answered from the
    German articles and an English one from the English articles."""
    folder = write(tmp_path / "mixed", {**GERMAN, **ENGLISH})
    index = SearchIndex(load_collection(folder))
    assert index.languages == {"en", "de"}
    german = index.find("Wie viele Menschen wohnten im Heim in Villingen-Schwenningen?", 3)
    assert german.query.language == "de" and german.answered
    assert all(h.passage.article.language == "de" for h in german.hits)
    english = index.find("When will the troops leave Afghanistan?", 3)
    assert english.query.language == "en" and english.answered
    assert all(h.passage.article.language == "en" for h in english.hits)


def test_the_language_setting_through_the_command_line(tmp_path: Path) -> None:
    """NEWSBOT_LANGUAGE=de reads an article that names no language as German (its German
    question is answered from it); a value that is no language exits 2 naming the key."""
    folder = write(tmp_path / "de", {"samsung.txt": GERMAN["samsung.txt"]})
    env = {"NEWSBOT_CACHE_DIR": str(tmp_path / "cache"), "NEWSBOT_MODEL": "none"}
    asked = newsbot(
        "ask", "--json", "--articles", str(folder), "Warum ruft Samsung Handys zurueck?",
        env={**env, "NEWSBOT_LANGUAGE": "de"},
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answered"] and "Akkus" in answer["hits"][0]["text"]
    bad = newsbot("ask", "x", "--articles", str(folder), env={**env, "NEWSBOT_LANGUAGE": "!!"})
    assert bad.returncode == 2
    assert "NEWSBOT_LANGUAGE" in bad.stderr and "Traceback" not in bad.stderr


def test_a_question_is_not_answered_from_another_languages_articles(tmp_path: Path) -> None:
    """An English question that only a German article's name matches is not answered from
    it: each question is matched against its own language's passages."""
    folder = write(tmp_path / "mixed", {**GERMAN, **ENGLISH})
    index = SearchIndex(load_collection(folder))
    found = index.find("Why is Samsung recalling 2.5 million phones?", 3)
    assert found.query.language == "en"
    assert all(h.passage.article.language == "en" for h in found.hits)
    assert not found.answered


def test_an_unsure_question_takes_the_language_whose_articles_use_its_words(
    tmp_path: Path,
) -> None:
    """Keywords the classifier finds English ("adele sony plattenvertrag summe") are read as
    German when only the German articles use them, and answered from them; an English
    question the classifier finds German ("Doha") stays English when English articles use it."""
    adele = (
        "Adele unterschreibt bei Sony\n\n"
        "London – Die Sängerin Adele hat einen Plattenvertrag mit Sony unterschrieben. Die "
        "Summe soll bei 90 Millionen Pfund liegen, berichtet die Presse."
    )
    doha = (
        "Talks in Doha stall\n\n"
        "DOHA - The peace talks in Doha between the government and the insurgents stalled "
        "on Monday, officials said."
    )
    folder = write(tmp_path / "mixed", {**GERMAN, "adele.txt": adele, "doha.txt": doha})
    index = SearchIndex(load_collection(folder))
    german = index.find("adele sony plattenvertrag summe", 3)
    assert german.query.language == "de" and german.answered
    assert "90 Millionen" in german.hits[0].passage.text
    assert index.query("Doha").language == "en"


def test_a_spelling_fix_stays_within_the_questions_language(tmp_path: Path) -> None:
    """An English word the English articles lack is not "fixed" into a German article's word
    one letter away ("weather" is not "Heather"); the English collection alone fixes typos
    into English words as before."""
    heather = (
        "Heather Nova spielt in Wien\n\n"
        "Wien – Die Sängerin Heather Nova gibt im Herbst ein Konzert im Konzerthaus, teilte "
        "der Veranstalter mit."
    )
    folder = write(tmp_path / "mixed", {**GERMAN, **ENGLISH, "nova.txt": heather})
    index = SearchIndex(load_collection(folder))
    query = index.query("What will the weather be in Afghanistan in September?")
    assert query.language == "en" and query.corrections == ()
    english = SearchIndex(load_collection(write(tmp_path / "en", ENGLISH)))
    assert english.query("When will the trops leave?").corrections == (("trops", "troops"),)


def test_a_word_only_another_languages_articles_use_is_unknown_to_a_question(
    tmp_path: Path,
) -> None:
    """ "weather" in a German article does not make an English question about the weather in
    Kabul answerable from the seed, which never mentions the weather (as the seed alone
    refuses it)."""
    wetter = (
        "Das Wetter in Wien\n\n"
        "Wien – Der Wetterdienst sprach von weather extremes, wie sie auf Englisch heißen: "
        "Am Wochenende soll es in Wien bis zu 35 Grad heiß werden."
    )
    folder = write(tmp_path / "mixed", {**GERMAN, "wetter.txt": wetter})
    seed = next(SEEDS.glob("*.txt"))
    (folder / seed.name).write_bytes(seed.read_bytes())
    question = "What will the weather be in Kabul tomorrow?"
    assert not SearchIndex(load_collection(SEEDS)).find(question, 3).answered
    found = SearchIndex(load_collection(folder)).find(question, 3)
    assert found.query.language == "en"
    assert "weather" in found.query.unknown
    assert not found.answered
