"""The ONNX Runtime backends against the real packaged model: same vectors and token counts as
the torch backend, a cached export, and an index built with them under the data dir."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import ingest.onnx_embed as onnx_embed
from ingest.embed import SentenceTransformerEmbedder, make_embedder
from ingest.index import open_index
from ingest.onnx_embed import OnnxEmbedder
from ingest.pipeline import ingest
from newsrag.errors import ModelError
from newsrag.settings import EmbeddingSettings, Settings
from rag.search import SearchOptions, retrieve
from rag.services import build_services

pytestmark = pytest.mark.slow

RNG = random.Random(7)
TEXTS = [
    "Trump and Putin will discuss land and power plants in a call on Tuesday.",
    "The recipe needs two eggs.",
    "",
    " ".join(f"word{RNG.randrange(5000)}" for _ in range(400)),  # past the 256-piece limit
    *(" ".join(f"news{RNG.randrange(999)}" for _ in range(RNG.randrange(3, 90)))
      for _ in range(20)),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return np.array(SentenceTransformerEmbedder(EmbeddingSettings()).embed_documents(TEXTS))


def onnx(cache: Path, backend: str = "onnx", batch_size: int = 8) -> OnnxEmbedder:
    embedder = make_embedder(EmbeddingSettings(backend=backend, cache_dir=str(cache),
                                               batch_size=batch_size))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


def test_onnx_gives_the_torch_vectors_and_counts(cache: Path, torch_vectors: np.ndarray) -> None:
    embedder = onnx(cache)
    vectors = np.array(embedder.embed_documents(TEXTS))
    assert vectors.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.9999
    assert embedder.name == SentenceTransformerEmbedder(EmbeddingSettings()).name
    assert embedder.max_tokens == 256
    assert embedder.count_tokens(["hello world", "", "word " * 1000]) == [4, 2, 1002]
    # Length-sorted batches come back in the caller's order.
    assert np.allclose(embedder.embed_query(TEXTS[5]), vectors[5], atol=1e-5)


def test_the_export_is_cached_and_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx(cache).embed_query("warm")  # exported by now, whatever ran first
    (exported,) = cache.glob("all-MiniLM-L6-v2/*/model.onnx")
    stamp = exported.stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embed, "_export", no_export)
    onnx(cache).embed_query("a new process would load the cached file")
    assert exported.stat().st_mtime_ns == stamp


def test_int8_is_a_separate_close_vector_space(cache: Path, torch_vectors: np.ndarray) -> None:
    embedder = onnx(cache, "onnx-int8")
    vectors = np.array(embedder.embed_documents(TEXTS))
    assert embedder.name == "onnx-int8:all-MiniLM-L6-v2"
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.mean() > 0.97 and cosines.min() > 0.9
    assert (cache.glob("all-MiniLM-L6-v2/*/model.int8.onnx")).__next__().stat().st_size < (
        cache.glob("all-MiniLM-L6-v2/*/model.onnx")).__next__().stat().st_size / 3


def test_an_index_on_onnx_ingests_and_retrieves(
        make_settings: Callable[..., Settings], corpus_dir: Path, cache: Path) -> None:
    settings = make_settings(NEWSRAG_EMBEDDING__BACKEND="onnx",
                             NEWSRAG_EMBEDDING__CACHE_DIR=str(cache))
    index = open_index(settings)
    report = ingest([str(corpus_dir)], settings, index)
    assert report.added and report.chunks > 0
    hits = retrieve("What did Putin and Trump discuss?", build_services(settings, index), SearchOptions(k=3))
    assert hits and "Putin" in hits[0].text + hits[0].title
    assert isinstance(index.embedder, OnnxEmbedder)
    assert not (settings.resolved_data_dir() / "models").exists()


def test_the_default_cache_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert OnnxEmbedder(EmbeddingSettings())._cache_root() == tmp_path / "newsrag" / "models"


def test_concurrent_embedding_and_counting_give_sequential_results(cache: Path) -> None:
    """Two UI users embed at once while an ingest counts tokens: each gets its own vector."""
    embedder = onnx(cache)
    questions = [f"What did minister number {i} say about the {w} deal?"
                 for i, w in enumerate(["gas", "grain", "arms", "trade", "water"] * 3)]
    expected = [embedder.embed_query(q) for q in questions]
    counts = embedder.count_tokens(TEXTS)
    found: dict[int, list[float]] = {}
    counted: list[list[int]] = []

    def ask(i: int) -> None:
        found[i] = embedder.embed_query(questions[i])
        counted.append(embedder.count_tokens(TEXTS))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, vector in enumerate(expected):
        assert np.allclose(found[i], vector, atol=1e-5)
    assert counted == [counts] * len(questions)


def test_a_folder_without_a_model_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    broken = OnnxEmbedder(EmbeddingSettings(model=str(tmp_path), cache_dir=str(cache)))
    with pytest.raises(ModelError, match=r"no tokenizer\.json"):
        broken.embed_query("x")
