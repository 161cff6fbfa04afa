"""The incremental lexical index: small writes publish delta segments that readers see at once,
with BM25 scores equal to a full rebuild's (checked exactly, on real news text, through adds,
replacements and deletes), tombstones hiding replaced and deleted articles, merges folding the
deltas into a main snapshot that equals a full rebuild, and damaged deltas rebuilt, never
served. Real Chroma and real RealTime QA articles; the embedder is the fake one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import ingest.lexical as lexical_module
from ingest.bm25 import TermCounts, merge_counts, score_segments
from ingest.dense_search import search_dense
from ingest.index import Index, open_index
from ingest.lexical import LexicalIndex, tokenize
from ingest.pipeline import ingest
from ingest.segments import SearchView, merge
from ingest.snapshot import build_snapshot
from newsrag.settings import Settings
from tests.conftest import SHARED_DATA, rtqa_records

QUESTIONS = SHARED_DATA / "realtimeqa-dev" / "questions_with_gold_doc.jsonl"


def _queries(records: list[dict[str, object]]) -> list[str]:
    with QUESTIONS.open(encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for line in handle][:25]
    return questions + [str(r["title"]) for r in records[:15]] + ["the", "zzzunknownword"]


def _write(folder: Path, name: str, records: list[dict[str, object]]) -> Path:
    path = folder / name
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    return path


def _scores(view: SearchView, query: str) -> tuple[dict[str, float], dict[str, float]]:
    """Every live chunk's and article's BM25 score for the query, by id."""
    tokens = tokenize(query)
    chunks, articles = view.chunk_scores(tokens), view.article_scores(tokens)
    return ({c: float(chunks[r]) for c, r in view.row_of().items()},
            {a: float(articles[i]) for i, a in enumerate(view.all_article_ids)
             if view.article_alive[i]})


def _full_rebuild(index: Index) -> SearchView:
    """What rebuilding the whole snapshot from the store gives (the pre-delta behaviour)."""
    snap = build_snapshot(index.catalog.generation(), index.catalog, index.store, None)
    return SearchView.compose([snap])


def _assert_equal_to_full_rebuild(index: Index, queries: list[str]) -> SearchView:
    view = index.lexical.current()
    full = _full_rebuild(index)
    assert set(view.chunk_ids) == set(full.chunk_ids)
    assert sorted(view.article_ids) == sorted(full.article_ids)
    for query in queries:
        assert _scores(view, query) == _scores(full, query), query  # exactly, not approx
    for chunk_id in full.chunk_ids[::37]:  # nearest-vector search sees the same live rows
        vector = full.known_vectors([chunk_id])[chunk_id]
        assert search_dense(index.lexical.current(), vector, 10) == [
            (full.all_chunk_ids[row], similarity) for row, similarity in full.nearest(vector, 10)]
    return view


@pytest.fixture
def corpus() -> list[dict[str, object]]:
    return rtqa_records(130)


def test_deltas_score_exactly_as_a_full_rebuild_through_adds_replaces_and_deletes(
        settings: Settings, corpus: list[dict[str, object]], tmp_path: Path) -> None:
    queries = _queries(corpus)
    first = _write(tmp_path, "first.jsonl", corpus[:90])
    ingest([str(first)], settings)
    index = open_index(settings)
    main = index.lexical.current()
    assert len(main.segments) == 1

    # Adds and replacements (a correction appended) in one write session: one delta.
    edited = [{**r, "text": f"{r['text']}\nCorrection: the ministry said the figure was "
                            "revised on Tuesday."} for r in corpus[:8]]
    _write(tmp_path, "first.jsonl", edited + corpus[8:90])
    second = _write(tmp_path, "second.jsonl", corpus[90:130])
    report = ingest([str(first), str(second)], settings, index)
    assert len(report.added) == 40 and len(report.updated) == 8
    view = _assert_equal_to_full_rebuild(index, [*queries, "ministry revised correction"])
    assert len(view.segments) == 2 and view.names[0] == main.names[0]
    assert sorted(view.segments[1].tombstones) == sorted(str(r["doc_id"]) for r in corpus[:8])
    assert (index.lexical.root / "DELTAS").read_text().split() == list(view.names)

    # Deletes: tombstones only, the main and first delta stay as they are on disk.
    gone = [str(r["doc_id"]) for r in (corpus[3], corpus[50], corpus[100])]
    with index.writing():
        index.remove(gone)
    view = _assert_equal_to_full_rebuild(index, queries)
    assert len(view.segments) == 3 and not set(gone) & set(view.article_ids)
    hits = index.lexical.search(str(corpus[50]["title"]), 50)
    assert not {a for _, a, _ in hits.chunks} & set(gone)

    # A merge folds the deltas into one main snapshot, equal to a full rebuild.
    before = {q: _scores(view, q) for q in queries}
    assert index.lexical.merge() is True
    merged = _assert_equal_to_full_rebuild(index, queries)
    assert len(merged.segments) == 1 and not (index.lexical.root / "DELTAS").exists()
    assert [p.name for p in index.lexical.root.iterdir() if p.is_dir()] == list(merged.names)
    assert {q: _scores(merged, q) for q in queries} == before
    assert index.lexical.merge() is False  # nothing left to fold


def test_scores_match_bm25s_on_real_text(corpus: list[dict[str, object]]) -> None:
    """The segment scorer computes bm25s's default BM25 (what retrieval was tuned on)."""
    import bm25s

    documents = [tokenize(f"{r['title']}\n{r['text']}") for r in corpus]
    reference = bm25s.BM25()
    reference.index(documents, show_progress=False)
    # The same documents split into three segments, one of them with rows hidden by
    # tombstones and the hidden documents appended again: the statistics must not change.
    whole = TermCounts.build(documents)
    parts = [(TermCounts.build(documents[:60]), None),
             (TermCounts.build(documents[60:100] + documents[:5]),
              np.array([True] * 40 + [False] * 5)),
             (TermCounts.build(documents[100:]), None)]
    for query in _queries(corpus):
        tokens = tokenize(query)
        expected = reference.get_scores(tokens) if reference.get_tokens_ids(tokens) else 0
        (single,) = score_segments([(whole, None)], tokens)
        np.testing.assert_allclose(single, expected, rtol=2e-6, atol=1e-6)
        split = score_segments(parts, tokens)
        joined = np.concatenate([split[0], split[1][:40], split[2]])
        assert np.array_equal(joined, single), query
        assert not split[1][40:].any()


def test_a_reader_loads_only_the_new_delta_and_sees_it_at_once(
        settings: Settings, corpus: list[dict[str, object]], tmp_path: Path) -> None:
    ingest([str(_write(tmp_path, "a.jsonl", corpus[:40]))], settings)
    writer = open_index(settings)
    reader = open_index(settings).lexical
    before = reader.current()
    fresh = {**corpus[60], "doc_id": "fresh-story", "title": "Quokka census on Rottnest",
             "text": "Rangers counted 12,000 quokkas on Rottnest Island this week."}
    ingest([str(_write(tmp_path, "b.jsonl", [fresh]))], settings, writer)
    hits = reader.search("quokka census Rottnest", 5)
    assert hits.articles[0][0] == "fresh-story"
    after = reader.current()
    assert after.segments[0] is before.segments[0]  # the main snapshot was not read again
    assert len(after.segments) == 2 and after.generation == writer.catalog.generation()


def test_deltas_merge_when_they_grow(settings: Settings, corpus: list[dict[str, object]],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_module, "MAX_DELTAS", 2)
    index = open_index(settings)
    for step in range(4):
        ingest([str(_write(tmp_path, f"{step}.jsonl", corpus[step * 5:step * 5 + 5]))],
               settings, index)
    view = _assert_equal_to_full_rebuild(index, _queries(corpus))
    # main, delta, delta, then the third delta tipped it over: merged into one main.
    assert len(view.segments) == 1 and len(view.article_ids) == 20
    ingest([str(_write(tmp_path, "last.jsonl", corpus[20:25]))], settings, index)
    assert len(index.lexical.current().segments) == 2


def test_a_damaged_delta_is_rebuilt_not_served(
        settings: Settings, corpus: list[dict[str, object]], tmp_path: Path,
        make_settings: Callable[..., Settings]) -> None:
    ingest([str(_write(tmp_path, "a.jsonl", corpus[:30]))], settings)
    index = open_index(settings)
    ingest([str(_write(tmp_path, "b.jsonl", corpus[30:35]))], settings, index)
    delta = index.lexical.root / index.lexical.current().names[-1]
    docs = delta / "docs.json"
    docs.write_text(docs.read_text().replace(str(corpus[31]["doc_id"]), "rtqa-forged-id"))
    reader = LexicalIndex(index.data_dir, index.catalog, index.store)
    view = reader.current()
    assert "rtqa-forged-id" not in view.article_ids
    assert str(corpus[31]["doc_id"]) in view.article_ids
    assert not delta.exists() and len(view.segments) == 1  # rebuilt whole, and saved
    full = _full_rebuild(index)
    query = str(corpus[31]["title"])
    assert _scores(view, query) == _scores(full, query)


def test_merging_keeps_the_chunk_layout_and_vectors(
        settings: Settings, corpus: list[dict[str, object]], tmp_path: Path) -> None:
    ingest([str(_write(tmp_path, "a.jsonl", corpus[:20]))], settings)
    index = open_index(settings)
    ingest([str(_write(tmp_path, "b.jsonl", corpus[20:26]))], settings, index)
    with index.writing():
        index.remove([str(corpus[2]["doc_id"]), str(corpus[21]["doc_id"])])
    view = index.lexical.current()
    before = {m.chunk.id: m for m in index.lexical.chunks(view.chunk_ids)}
    merged = SearchView.compose([merge(view)])
    index.lexical._snapshot = merged  # as a reader of the merged snapshot
    after = {m.chunk.id: m for m in index.lexical.chunks(merged.chunk_ids)}
    assert before.keys() == after.keys() == set(view.chunk_ids)
    for chunk_id, match in before.items():
        assert after[chunk_id].chunk == match.chunk
        assert after[chunk_id].embedding == match.embedding


def test_counts_built_from_a_stream_equal_merged_parts(corpus: list[dict[str, object]]) -> None:
    """The build reads each document once (a generator, as a million-chunk snapshot build
    passes it), and equals the same documents built in parts and merged."""
    documents = [tokenize(f"{r['title']}\n{r['text']}") for r in corpus]
    streamed = TermCounts.build(iter(documents))
    merged = merge_counts([(TermCounts.build(documents[:70]), np.arange(70)),
                           (TermCounts.build(documents[70:]), np.arange(len(documents) - 70))])
    assert sorted(streamed.terms) == sorted(merged.terms)
    assert np.array_equal(streamed.lengths, [len(d) for d in documents])
    for term in streamed.terms[::7]:
        docs, freqs = streamed.postings(term)
        assert np.all(np.diff(docs) > 0), term  # ascending documents within a term
        assert np.array_equal(docs, merged.postings(term)[0])
        assert np.array_equal(freqs, merged.postings(term)[1])
        assert list(freqs) == [documents[d].count(term) for d in docs]
    assert len(streamed.docs) == len(merged.docs)
    empty = TermCounts.build(iter([]))
    assert empty.size == 0 and not empty.terms and len(empty.term_start) == 1
