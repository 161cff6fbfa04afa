"""The real packaged model: offline load, unit vectors, token counts, thread safety."""

import random
import threading
from pathlib import Path

import pytest

from ingest.embed import SentenceTransformerEmbedder, make_embedder, packaged_model_path
from newsrag.errors import ConfigError, ModelError
from newsrag.settings import EmbeddingSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    model = SentenceTransformerEmbedder(EmbeddingSettings())
    model.embed_query("warm up")
    return model


def test_packaged_model_embeds_unit_vectors(embedder: SentenceTransformerEmbedder) -> None:
    assert packaged_model_path().joinpath("model.safetensors").is_file()
    vectors = embedder.embed_documents(["Trump and Putin will discuss land.",
                                        "They will talk about power plants.",
                                        "The recipe needs two eggs."])
    assert len(vectors) == 3 and len(vectors[0]) == 384
    assert all(abs(sum(v * v for v in vector) - 1.0) < 1e-4 for vector in vectors)
    near = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    far = sum(a * b for a, b in zip(vectors[0], vectors[2], strict=True))
    assert near > far
    assert embedder.max_tokens == 256


def test_token_counts_include_special_tokens(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.count_tokens(["hello world", ""]) == [4, 2]
    long_text = "word " * 1000
    assert embedder.count_tokens([long_text]) == [1002]  # counted, never truncated


def test_counting_while_encoding_in_another_thread(embedder: SentenceTransformerEmbedder) -> None:
    """Regression: a shared fast tokenizer made concurrent encode() calls fail at random."""
    rng = random.Random(0)
    texts = [" ".join(f"word{rng.randrange(999)}" for _ in range(rng.randrange(5, 120)))
             for _ in range(64)]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            embedder.count_tokens(texts[:8])

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    try:
        for _ in range(8):
            assert len(embedder.embed_documents(texts)) == 64
    finally:
        stop.set()
        counter.join()
    # The failure above is timing-dependent; the cause is not: counting must never touch
    # the tokenizer that encode() uses.
    assert embedder._counting_tokenizer is not embedder.model.tokenizer


def test_unknown_backend_and_missing_model_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown embedding\.backend 'nope'"):
        make_embedder(EmbeddingSettings(backend="nope"))
    broken = SentenceTransformerEmbedder(EmbeddingSettings(model=str(tmp_path)))
    with pytest.raises(ModelError, match="no sentence-transformers model"):
        broken.embed_query("x")


def test_concurrent_queries_get_the_vectors_of_sequential_ones(
        embedder: SentenceTransformerEmbedder) -> None:
    """Two UI users embed at once; each must get its own question's vector."""
    questions = [f"What did minister number {i} say about the {w} deal?"
                 for i, w in enumerate(["gas", "grain", "arms", "trade", "water", "power"] * 3)]
    expected = [embedder.embed_query(q) for q in questions]
    found: dict[int, list[float]] = {}

    def ask(i: int) -> None:
        found[i] = embedder.embed_query(questions[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, vector in enumerate(expected):
        assert max(abs(a - b) for a, b in zip(found[i], vector, strict=True)) < 1e-5
