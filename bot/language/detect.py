"""Which language a text is in: py3langid (langid.py's naive Bayes model over byte n-grams,
shipped in the package; 97 languages), loaded on first use.

Articles are long enough to tell; a question may be two words ("brexit", "Merkel"), so it is
read only among the languages the collection holds, and a short or unsure one takes the
reader's language (Telegram's `language_code`) when the collection holds that language.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection
from typing import Any

# An article is judged on its title and first paragraphs: enough for a sure answer, and the
# classifier's cost grows with the text.
ARTICLE_SAMPLE_CHARS = 600
# Below this many words or this confidence a question's language is the reader's, when the
# collection holds the reader's language.
SHORT_QUESTION_WORDS = 4
SURE = 0.9
# An article the classifier is less sure of than this is read as English (text with little
# language in it: lists, figures, names).
ARTICLE_SURE = 0.8

_lock = threading.Lock()
# NEWSBOT_LANGUAGE: the language of every article that does not name its own (None: detect).
_articles_in: str | None = None
_identifiers: dict[frozenset[str] | None, Any] = {}
_CODE = re.compile(r"^([a-z]{2,3})(?:$|[-_.@])")


def code_of(value: str | None) -> str | None:
    """An ISO 639-1 code from a language tag or locale: "de-AT", "de_DE.UTF-8", "DE" -> "de"."""
    if not value:
        return None
    match = _CODE.match(value.strip().casefold())
    return match.group(1) if match else None


def _identifier(among: frozenset[str] | None) -> Any:
    """The classifier restricted to `among` (None: every language it knows)."""
    with _lock:
        found = _identifiers.get(among)
        if found is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            if among is not None:
                found.set_languages(sorted(among & set(found.nb_classes)))
            _identifiers[among] = found
        return found


def known_languages() -> frozenset[str]:
    """The codes the classifier can tell apart."""
    return frozenset(_identifier(None).nb_classes)


def detect(text: str, among: Collection[str] | None = None) -> tuple[str, float]:
    """(language code, confidence 0..1) of `text`, chosen from `among` when given."""
    restricted = frozenset(among) if among is not None else None
    if restricted is not None and len(restricted) == 1:
        return next(iter(restricted)), 1.0
    identifier = _identifier(restricted)
    with _lock:  # the classifier keeps no state per call, but numpy scratch is shared
        code, confidence = identifier.classify(text)
    return str(code), float(confidence)


def set_article_language(code: str | None) -> None:
    """Read every article whose front matter names no language as `code` (None: detect)."""
    global _articles_in
    _articles_in = code


def articles_language() -> str | None:
    """The language set for articles that name none (None: detected)."""
    return _articles_in


def article_language(title: str, paragraphs: tuple[str, ...]) -> str:
    """The language of an article, from its title and first paragraphs (or the setting)."""
    if _articles_in is not None:
        return _articles_in
    sample = title
    for paragraph in paragraphs:
        if len(sample) >= ARTICLE_SAMPLE_CHARS:
            break
        sample = f"{sample}\n{paragraph}"
    code, confidence = detect(sample[:ARTICLE_SAMPLE_CHARS])
    return code if confidence >= ARTICLE_SURE else "en"


def question_language(
    question: str,
    present: Collection[str],
    hint: str | None = None,
    covered: Callable[[str], float] | None = None,
) -> str:
    """The language of a question among the collection's languages (`present`). For a short
    or unsure question the reader's language `hint` decides, else the language whose
    articles hold most of the question's words (`covered`: their share, 0..1), so that
    "novomatic anteil casinos austria" is German among German and English articles."""
    languages = frozenset(present) or frozenset({"en"})
    if len(languages) == 1:
        return next(iter(languages))
    code, confidence = detect(question, languages)
    if len(question.split()) >= SHORT_QUESTION_WORDS and confidence >= SURE:
        return code
    hinted = code_of(hint)
    if hinted in languages:
        return hinted
    if covered is None:
        return code
    return max(sorted(languages), key=lambda language: (covered(language), language == code))
