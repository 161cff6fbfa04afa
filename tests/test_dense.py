"""Exact in-memory dense search: ranking, filters, the two-step search of large stores, and the
snapshot's vectors following the store (real Chroma, fake embedder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ingest.dense as dense
from ingest.dense import DenseMatrix
from ingest.dense_search import search_dense
from ingest.pipeline import ingest
from rag.search import SearchOptions, search
from rag.services import Services
from tests.test_chain import ARTICLES, ingest_articles
from tests.test_retrieval import write_feed


def unit_rows(count: int, dims: int = 32, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dims)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


def test_exact_search_ranks_by_cosine_and_respects_the_mask() -> None:
    vectors = unit_rows(200)
    query = vectors[17] * 0.8 + vectors[42] * 0.2
    query /= np.linalg.norm(query)
    matrix = DenseMatrix.build(vectors)
    assert matrix.reduced is None  # small: every vector is scanned
    found = matrix.nearest(query, 5)
    assert [row for row, _ in found] == exact_top(vectors, query, 5)
    assert found[0][0] == 17 and found[0][1] == pytest.approx(float(vectors[17] @ query))
    allowed = np.ones(200, dtype=bool)
    allowed[17] = False
    assert 17 not in [row for row, _ in matrix.nearest(query, 5, allowed)]
    only_three = np.zeros(200, dtype=bool)
    only_three[[3, 4, 5]] = True
    assert sorted(row for row, _ in matrix.nearest(query, 10, only_three)) == [3, 4, 5]
    assert DenseMatrix.build(np.zeros((0, 32), dtype=np.float32)).nearest(query, 5) == []


def test_large_stores_are_searched_in_two_steps_and_keep_the_exact_top(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dense, "EXACT_ROWS", 500)
    monkeypatch.setattr(dense, "REDUCED_DIMS", 16)
    monkeypatch.setattr(dense, "SHORTLIST", 300)
    # Clustered vectors, like embeddings of news on a few topics, not uniform noise.
    centres = unit_rows(8, seed=1)
    vectors = centres[np.arange(3000) % 8] + 0.35 * unit_rows(3000, seed=2)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = DenseMatrix.build(vectors)
    assert matrix.reduced is not None and matrix.reduced.shape == (3000, 16)
    queries = unit_rows(20, seed=3) * 0.5 + centres[np.arange(20) % 8]
    recalls = []
    for query in queries / np.linalg.norm(queries, axis=1, keepdims=True):
        found = matrix.nearest(query, 20)
        recalls.append(len({r for r, _ in found} & set(exact_top(vectors, query, 20))) / 20)
        for row, similarity in found:  # the shortlist is re-scored exactly
            assert similarity == pytest.approx(float(vectors[row] @ query), abs=1e-5)
    assert np.mean(recalls) >= 0.95

    matrix.save(tmp_path)
    loaded = DenseMatrix.load(tmp_path)
    assert isinstance(loaded.vectors, np.memmap)
    assert loaded.nearest(queries[0], 5) == matrix.nearest(queries[0], 5)


def test_the_snapshot_holds_every_live_vector_and_reads_only_new_ones(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    index = services.index
    snapshot = index.lexical.current()
    stored = dict((c.id, v) for c, v in index.store.fetch(snapshot.chunk_ids))
    for row, chunk_id in enumerate(snapshot.chunk_ids):
        assert np.allclose(snapshot.dense.vectors[row], stored[chunk_id], atol=1e-6)

    fetched: list[str] = []
    original = index.store.fetch

    def spy(ids: Any) -> Any:
        fetched.extend(ids)
        return original(ids)

    index.store.fetch = spy  # type: ignore[method-assign]
    records = [*ARTICLES, {"id": "ferry", "title": "Night ferry returns",
                           "text": "The night ferry to the islands runs again from Monday.",
                           "published": "2022-06-14"}]
    ingest([str(write_feed(tmp_path, records))], services.settings, index)
    new_ids = [c for c in index.lexical.current().chunk_ids if c not in snapshot.chunk_ids]
    assert new_ids and sorted(fetched) == sorted(new_ids)


def test_memory_and_store_dense_search_agree(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    index = services.index
    for question in ["harbour bridge repairs", "flood barrier engineers", "school budget"]:
        vector = index.embedder.embed_query(question)
        memory = dict(search_dense(index.lexical.current(), vector, 50))
        store = dict(index.store.nearest(vector, 50))
        assert memory.keys() == store.keys() and len(memory) == index.store.count()
        for chunk_id, similarity in memory.items():
            assert similarity == pytest.approx(store[chunk_id], abs=1e-4)
    # Both settings answer end to end; the filtered path too.
    retrieval = services.settings.retrieval.model_copy(update={"dense_search": "store"})
    by_store = Services(services.settings.model_copy(update={"retrieval": retrieval}), index)
    assert search("harbour bridge repairs", by_store, SearchOptions(k=3)).hits[0].article_id == "bridge"


def test_chunks_come_from_the_snapshot_exactly_as_the_store_holds_them(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    index = services.index
    ids = index.lexical.current().chunk_ids
    from_snapshot = {m.chunk.id: m for m in index.lexical.chunks(ids)}
    from_store = {c.id: (c, v) for c, v in index.store.fetch(ids)}
    assert from_snapshot.keys() == from_store.keys() == set(ids)
    for chunk_id, match in from_snapshot.items():
        stored, vector = from_store[chunk_id]
        assert match.chunk == stored  # text, spans, index, version and metadata
        assert np.allclose(match.embedding or (), vector, atol=1e-6)
    assert index.lexical.chunks(["no-such-chunk:0"]) == []
    # A chunk of an article replaced after the snapshot was read is not served stale.
    snapshot = index.lexical.current()
    with index.catalog.transaction() as db:
        db.execute("UPDATE articles SET version = 'newer' WHERE id = 'bridge'")
    index.lexical._snapshot = snapshot  # as a reader holding the old snapshot would
    bridge = [m for m in index.lexical.chunks(ids) if m.chunk.article_id == "bridge"]
    assert bridge == []


def test_a_reader_never_rebuilds_while_a_writer_works(tmp_path: Path) -> None:
    from ingest.index import write_lock
    from ingest.lexical import LexicalIndex

    services = ingest_articles(tmp_path)
    index = services.index
    reader = LexicalIndex(index.data_dir, index.catalog, index.store,
                          exclusive=lambda: write_lock(index.data_dir))
    before = reader.current()
    folders = sorted(p.name for p in reader.root.iterdir() if p.is_dir())
    with write_lock(index.data_dir):  # a writer mid-run: the catalog has moved on
        with index.catalog.transaction() as db:
            index.catalog._bump_generation(db)
        assert reader.current() is before  # the last whole snapshot, still served
        assert sorted(p.name for p in reader.root.iterdir() if p.is_dir()) == folders
    # The writer died without publishing: the next reader rebuilds.
    after = reader.current()
    assert after.generation == index.catalog.generation() != before.generation
    assert after.chunk_ids == before.chunk_ids
