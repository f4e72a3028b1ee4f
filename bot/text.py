"""Text processing shared by passages and questions: one `tokenize()`, sentence splitting."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import Stemmer
from numpy.typing import NDArray

from bot.language.analysis import language as other_language

# A compact English stop list (function words, auxiliaries, question words). "us" is left
# out on purpose: after case folding it is mostly "US" in news text, and dropping it would
# erase "US troops".
STOP_WORDS = frozenset(
    """
        a about above after again against all am an and any are as at be because been
        before being below between both but by can could did do does doing down during
        each few for from further had has have having he her here hers herself him
        himself his how i if in into is it its itself just me more most my myself no nor
        not now of off on once only or other our ours ourselves out over own same she
        should so some such than that the their theirs them themselves then there these
        they this those through to too under until up very was we were what when where
        which while who whom why will with would you your yours yourself yourselves s t
        d ll m re ve also may might must shall whose upon via many much
    """.split()
)
# Words that make a question polite or conversational but say nothing about the answer.
# Only questions drop them (after tokenizing): "can you tell me about the Qatar accord".
QUESTION_FILLER = frozenset(
    """
        tell know please explain say happen happened think find show give want like
        article articles news story stories anything something thing things
        hes shes dont doesnt didnt isnt wasnt arent werent wont cant couldnt wouldnt
        shouldnt im ive youre theyre whats wheres whos thats theres hows whens
        still ever yet already really exactly actually currently recently nowadays date
    """.split()
)

# Typographic variants folded to ASCII before tokenizing, so "Biden’s" and "Biden's" agree.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Thousands separators inside numbers ("3,000" -> "3000"), before punctuation is dropped.
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")
# Dotted acronyms ("U.S.", "U.K.") collapse to one word, so "U.S." and "US" match.
_ACRONYM = re.compile(r"\b[^\W\d_](?:\.[^\W\d_])+\b\.?")
_JOINED = re.compile(r"\w[.,]\w")
# A cheaper necessary condition for _JOINED (the regex engine scans for [.,] quickly).
_JOINED_HINT = re.compile(r"[.,]\w")
# Every ASCII character that is not a letter or a digit separates words (as [^\W_]+ does);
# bytes.translate with a 256-byte table is several times faster than str.translate.
_ASCII_SEPARATORS = bytes(c if c < 128 and chr(c).isalnum() else 32 for c in range(256))
_POSSESSIVE = re.compile(r"'s\b|(?<=s)'(?=\s|$)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_stemmer = Stemmer.Stemmer("english")
# word -> stem, filled as words are met: a dict lookup is ~10x faster than asking the
# stemmer, and a collection's vocabulary repeats. Emptied when it grows past the bound.
_STEMS: dict[str, str] = {}
STEM_CACHE_SIZE = 1_000_000

# News names a country and its people interchangeably ("German jobs" / "Germany's economy");
# the stemmer does not join them, so the adjective and plural forms map to the country.
_DEMONYMS = {
    "afghanistan": "afghan afghans",
    "argentina": "argentine argentinian argentinians",
    "australia": "australian australians",
    "austria": "austrian austrians",
    "belgium": "belgian belgians",
    "brazil": "brazilian brazilians",
    "canada": "canadian canadians",
    "china": "chinese",
    "cuba": "cuban cubans",
    "denmark": "danish dane danes",
    "egypt": "egyptian egyptians",
    "europe": "european europeans",
    "finland": "finnish finn finns",
    "france": "french frenchman",
    "germany": "german germans",
    "greece": "greek greeks",
    "india": "indian indians",
    "indonesia": "indonesian indonesians",
    "iran": "iranian iranians",
    "iraq": "iraqi iraqis",
    "ireland": "irish",
    "israel": "israeli israelis",
    "italy": "italian italians",
    "japan": "japanese",
    "korea": "korean koreans",
    "mexico": "mexican mexicans",
    "netherlands": "dutch",
    "nigeria": "nigerian nigerians",
    "norway": "norwegian norwegians",
    "pakistan": "pakistani pakistanis",
    "poland": "polish pole poles",
    "portugal": "portuguese",
    "qatar": "qatari qataris",
    "russia": "russian russians",
    "saudi": "saudis",
    "scotland": "scottish scot scots",
    "spain": "spanish spaniard spaniards",
    "sweden": "swedish swede swedes",
    "switzerland": "swiss",
    "syria": "syrian syrians",
    "taiwan": "taiwanese",
    "thailand": "thai thais",
    "turkey": "turkish turk turks",
    "ukraine": "ukrainian ukrainians",
    "vietnam": "vietnamese",
    "wales": "welsh",
    "africa": "african africans",
    "asia": "asian asians",
    "arabia": "arab arabs arabian",
}
DEMONYMS = {form: country for country, forms in _DEMONYMS.items() for form in forms.split()}
# Other words news writes two ways.
DEMONYMS.update({"percentage": "percent", "pct": "percent"})

# News names the same country or body several ways: US / U.S. / United States / America,
# UK / Britain / United Kingdom, UN / United Nations, EU / European Union. Each is one term.
# Phrases are joined into one word before the single words are mapped; "Latin America" and
# its kin are joined first so that they do not become the US.
EQUIVALENT_PHRASES = {
    "united states of america": "us",
    "united states": "us",
    "united kingdom": "uk",
    "great britain": "uk",
    "united nations": "un",
    "european union": "eu",
    "latin america": "latinamerica",
    "latin american": "latinamerican",
    "south america": "southamerica",
    "south american": "southamerican",
    "north america": "northamerica",
    "north american": "northamerican",
    "central america": "centralamerica",
    "central american": "centralamerican",
}
EQUIVALENT_WORDS = {
    "usa": "us",
    "america": "us",
    "american": "us",
    "americans": "us",
    "britain": "uk",
    "british": "uk",
    "briton": "uk",
    "britons": "uk",
}
DEMONYMS.update(EQUIVALENT_WORDS)
_PHRASE_HINT = re.compile(r"\b(?:united|great|european|latin|south|north|central) [a-z]")
_PHRASES = re.compile(
    r"\b(?:"
    + "|".join(re.escape(p) for p in sorted(EQUIVALENT_PHRASES, key=len, reverse=True))
    + r")\b"
)


def normalize(text: str) -> str:
    """NFKC-normalise, fold typographic quotes and dashes, drop invisible characters."""
    if text.isascii():  # nothing to normalise, and the common case
        return text
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _INVISIBLE.sub("", text)


def stem(word: str) -> str:
    """Snowball (Porter2) English stem of a case-folded word (country for demonyms)."""
    found = _STEMS.get(word)
    if found is None:
        if len(_STEMS) >= STEM_CACHE_SIZE:
            _STEMS.clear()
        found = _STEMS[word] = str(_stemmer.stemWord(DEMONYMS.get(word, word)))
    return found


def words(text: str) -> list[str]:
    """Case-folded words of `text`, punctuation-insensitive, numbers kept whole."""
    text = normalize(text).casefold()
    # Each rewrite only where it can apply: this runs for every passage of the collection.
    text = collapse_joined(text)
    if _PHRASE_HINT.search(text):  # "united states" -> "us" (EQUIVALENT_PHRASES)
        text = _PHRASES.sub(lambda m: EQUIVALENT_PHRASES[m.group(0)], text)
    if "%" in text:
        text = text.replace("%", " percent ")
    if "'" in text:
        text = _POSSESSIVE.sub("", text)
    if text.isascii():  # the same split as _WORD, without the regex engine
        return text.encode("ascii").translate(_ASCII_SEPARATORS).decode("ascii").split()
    return _WORD.findall(text)


def collapse_joined(text: str) -> str:
    """Numbers and acronyms written with marks as one word: "3,000" -> "3000", "U.S." -> "US"."""
    if _JOINED_HINT.search(text) and _JOINED.search(text):  # "3,000", "U.S.", "1.5"
        text = _THOUSANDS.sub("", text)
        text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    return text


def tokenize(text: str, language: str = "en") -> list[str]:
    """The one tokenizer for passages and questions: words minus stop words, stemmed (English
    as above; any other language as bot/language/analysis.py reads it)."""
    if language != "en":
        return other_language(language).terms(words(text))
    cached = _STEMS.get
    return [cached(w) or stem(w) for w in words(text) if w not in STOP_WORDS]


def stem_in(word: str, language: str) -> str:
    """The term of a case-folded word in `language`."""
    return stem(word) if language == "en" else other_language(language).stem(word)


def is_stop_word(word: str, language: str) -> bool:
    """Is this case-folded word a function word of `language`?"""
    return word in STOP_WORDS if language == "en" else other_language(language).is_stop(word)


# -- a whole collection at once ---------------------------------------------------------------

# Below this many texts, encoding in worker processes costs more than it saves.
PARALLEL_MIN_TEXTS = 50_000
CHUNKS_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class Encoded:
    """Many texts tokenized at once, as term ids: `tokenize(texts[i])` is
    `[terms[j] for j in ids[starts[i]:starts[i] + lengths[i]]]`."""

    terms: dict[str, int]  # stemmed term -> id, in order of first appearance
    ids: NDArray[np.int32]  # every text's term ids, concatenated
    lengths: NDArray[np.int64]  # terms per text
    surface: Counter[str]  # case-folded words (stop words included) and their counts


def _encode_chunk(
    texts: Sequence[str], surface: bool, languages: Sequence[str] | None = None
) -> tuple[list[str], bytes, bytes, Counter[str]]:
    """Term ids of `texts` (each in its language, English when `languages` is None) in a
    vocabulary of their own (merged by `encode`)."""
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived strings: the collector would only rescan them
    try:
        # Per language: case-folded word -> term id, -1 for stop words.
        term_ofs: dict[str, dict[str, int]] = {"en": {}}
        terms: dict[str, int] = {}
        out = array("i")
        lengths = array("q")
        counts: Counter[str] = Counter()
        for n, text in enumerate(texts):
            code = "en" if languages is None else languages[n]
            term_of = term_ofs.get(code)
            if term_of is None:
                term_of = term_ofs[code] = {}
            get = term_of.get
            found = words(text)
            if surface:
                counts.update(found)
            # -1: a stop word, dropped; -2: a word not met yet.
            ids = [i for i in map(get, found, repeat(-2)) if i != -1]
            if -2 in ids:
                for word in found:
                    if word not in term_of:
                        term_of[word] = (
                            -1
                            if is_stop_word(word, code)
                            else terms.setdefault(stem_in(word, code), len(terms))
                        )
                ids = [i for i in map(get, found, repeat(-2)) if i != -1]
            out.extend(ids)
            lengths.append(len(ids))
        return list(terms), out.tobytes(), lengths.tobytes(), counts
    finally:
        if collecting:
            gc.enable()


def text_key(text: str) -> bytes:
    """A text's 16-byte key (BLAKE2b): what the semantic stage keeps its vector under, and
    what each segment records for its passages (bot/collection/segments.py)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def text_keys(texts: Iterable[str]) -> NDArray[np.uint8]:
    """The keys of `texts`, one row of 16 bytes each."""
    keys = [text_key(t) for t in texts]
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def encode(
    texts: Sequence[str],
    workers: int | None = None,
    surface: bool = False,
    progress: Callable[[int], None] | None = None,
    languages: Sequence[str] | None = None,
) -> Encoded:
    """Tokenize every text (exactly as `tokenize`), in worker processes for large inputs.

    `surface` also counts the case-folded words; `progress` is called with texts done;
    `languages` holds each text's language (all English when None).
    """
    workers = default_workers() if workers is None else workers
    if workers > 1 and len(texts) >= PARALLEL_MIN_TEXTS:
        size = -(-len(texts) // (workers * CHUNKS_PER_WORKER))
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        tags = [
            None if languages is None else languages[i : i + size]
            for i in range(0, len(texts), size)
        ]
        # "spawn": safe from any thread (the bot reloads articles in a worker thread).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = []
            results = pool.map(_encode_chunk, chunks, repeat(surface), tags)
            for chunk, part in zip(chunks, results, strict=True):
                parts.append(part)
                if progress is not None:
                    progress(len(chunk))
    else:
        parts = [_encode_chunk(texts, surface, languages)]
        if progress is not None:
            progress(len(texts))
    terms: dict[str, int] = {}
    ids: list[NDArray[np.int32]] = []
    lengths: list[NDArray[np.int64]] = []
    counts: Counter[str] = Counter()
    for local_terms, raw_ids, raw_lengths, local_counts in parts:
        remap = np.array(
            [terms.setdefault(t, len(terms)) for t in local_terms] or [0], dtype=np.int32
        )
        ids.append(remap[np.frombuffer(raw_ids, dtype=np.int32)])
        lengths.append(np.frombuffer(raw_lengths, dtype=np.int64))
        counts.update(local_counts)
    return Encoded(
        terms,
        np.concatenate(ids) if ids else np.empty(0, dtype=np.int32),
        np.concatenate(lengths) if lengths else np.empty(0, dtype=np.int64),
        counts,
    )


# Sentence ends: ., !, ? (optionally followed by a closing quote or bracket) then space and
# a capital, digit or opening quote. Common abbreviations are protected first.
_ABBREVIATIONS = """
    Mr Mrs Ms Dr Prof Sr Jr St Gen Col Lt Sgt Capt Gov Sen Rep Pres Rev Jan Feb Mar Apr
    Jun Jul Aug Sep Sept Oct Nov Dec No Inc Ltd Co Corp vs etc U.S U.K U.N
""".split()
_ABBREV = re.compile(r"\b(" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\.")
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"'”’)\]]?)\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_GUARD = "\u0000"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of a paragraph, whitespace between them excluded."""
    guarded = _ABBREV.sub(lambda m: m.group(1) + _GUARD, text)  # same length as `text`
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(guarded):
        spans.append((start, match.start() + len(match.group(1))))
        start = match.end()
    spans.append((start, len(text)))
    return [_trim(text, a, b) for a, b in spans if text[a:b].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the word for that many: "1 article", "2 articles" (`words` when the plural
    is not just an s: "1 entry", "2 entries")."""
    return f"{n} {word if n == 1 else words or word + 's'}"
