"""A synthetic news-like corpus: Zipf-distributed words over a vocabulary that grows with size.

Word frequencies follow Zipf's law (exponent 1.07, as measured on English news); the
vocabulary follows Heaps' law (V = 44 * tokens^0.49), so a larger collection brings new rare
words, as a growing archive does. The most frequent ranks are real English function words,
which the tokenizer drops as it would in real text. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

from bot.text import STOP_WORDS

ZIPF_EXPONENT = 1.07
HEAPS_K, HEAPS_BETA = 44.0, 0.49
MEAN_WORDS = 45
_ONSETS = [
    "",
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "ch",
    "cl",
    "dr",
    "fl",
    "gr",
    "pl",
    "pr",
    "sh",
    "st",
    "th",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
_CODAS = ["", "n", "r", "s", "t", "l", "m", "nd", "st", "rk"]


def pseudo_word(rank: int) -> str:
    """A pronounceable, unique word for a frequency rank."""
    parts = []
    n = rank + 1
    while n:
        n, digit = divmod(n, len(_ONSETS) * len(_VOWELS))
        onset, vowel = divmod(digit, len(_VOWELS))
        parts.append(_ONSETS[onset] + _VOWELS[vowel])
    return "".join(parts) + _CODAS[rank % len(_CODAS)]


def vocabulary(size: int) -> list[str]:
    """Function words first (they are the most frequent), then pseudo-words."""
    function_words = sorted(STOP_WORDS - {"s", "t", "d", "ll", "m", "re", "ve"})
    words = function_words + [pseudo_word(r) for r in range(size)]
    seen: set[str] = set()
    unique = [w for w in words if not (w in seen or seen.add(w))]  # type: ignore[func-returns-value]
    return unique[:size]


def generate(passages: int, seed: int = 42) -> list[str]:
    """`passages` texts of 15-80 words each."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(15, 2 * MEAN_WORDS - 10, size=passages)
    total = int(lengths.sum())
    size = int(HEAPS_K * total**HEAPS_BETA)
    words = np.array(vocabulary(size), dtype=object)
    weights = 1.0 / np.arange(1, len(words) + 1) ** ZIPF_EXPONENT
    cumulative = np.cumsum(weights / weights.sum())
    ranks = np.searchsorted(cumulative, rng.random(total), side="right")
    ranks = np.minimum(ranks, len(words) - 1)
    texts, start = [], 0
    for length in lengths.tolist():
        chunk = words[ranks[start : start + length]]
        texts.append(" ".join(chunk).capitalize() + ".")
        start += length
    return texts


def questions(texts: list[str], count: int, seed: int = 7) -> list[str]:
    """Reader-like questions: 2-5 words taken from a passage, with function words."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        text = texts[int(rng.integers(0, len(texts)))]
        words = [w for w in text.rstrip(".").lower().split() if w not in STOP_WORDS]
        if not words:
            continue
        size = min(len(words), int(rng.integers(1, 5)))
        picked = sorted(rng.choice(len(words), size=size, replace=False).tolist())
        found.append("what about the " + " ".join(words[j] for j in picked) + "?")
    return found
