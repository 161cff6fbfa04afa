"""Grow a bench store to a million chunks in well under an hour (bench/scale.py's big sizes).

Through the whole ingest pipeline a store grows at ~200 chunks/s here even with the
embedding replayed (word-piece and tiktoken counts, sentence splitting, MinHash stories), so
1M chunks would take hours. This path does the per-article preparation once: the dev
corpus's articles are read, split and chunked by the pipeline's own functions, then each copy
is the same prepared articles under new ids (`<doc_id>~k`), written by `Index.write` (real
Chroma adds, the SQLite catalog, story assignment) with the vectors the real model computed
for exactly those chunk texts, all in one write session whose end builds the BM25 and vector
snapshot as ingest does. What is skipped is only re-preparing identical text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import RTQA

BATCH_CHUNKS = 3000  # under Chroma's ~5,400 items per add


def prepare_corpus(settings: Any, embedder: Any) -> list[Any]:
    """The dev corpus's articles, prepared (split, chunked) as ingest prepares them."""
    from ingest.models import Article
    from ingest.pipeline import _prepare, _version, pipeline_fingerprint
    from ingest.sources import load_articles

    fingerprint = pipeline_fingerprint(settings, embedder.name)
    articles = [a for a in load_articles([str(RTQA / "corpus.jsonl")], settings.ingest)
                if isinstance(a, Article)]
    return [_prepare(a, _version(a, fingerprint), settings.chunking, embedder)
            for a in articles]


def copy_of(prepared: Any, copy: int, fingerprint: str) -> Any:
    """The prepared article under the id `<id>~copy` (copy 0 is the original)."""
    from ingest.index import PreparedArticle
    from ingest.pipeline import _version

    if copy == 0:
        return prepared
    article = replace(prepared.article, id=f"{prepared.article.id}~{copy}")
    chunks = [replace(c, article_id=article.id) for c in prepared.chunks]
    return PreparedArticle(article, prepared.sentences, chunks, _version(article, fingerprint))


def batches(prepared: Sequence[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in prepared:
        if batch and sum(len(p.chunks) for p in batch) + len(item.chunks) > BATCH_CHUNKS:
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def grow_by_copies(data_dir: Path, chunks_wanted: int, settings: Any, embedder: Any
                   ) -> dict[str, Any]:
    """Write copies of the prepared corpus until the store holds chunks_wanted chunks;
    returns the counts and how long writing and the snapshot build took."""
    from ingest.index import open_index
    from ingest.pipeline import pipeline_fingerprint
    from newsrag.offline import prepare_offline

    prepare_offline(data_dir / "cache")  # tiktoken's encodings, as build_services does
    index = open_index(settings, embedder=embedder)
    base = prepare_corpus(settings, embedder)
    fingerprint = pipeline_fingerprint(settings, embedder.name)
    have_ids = set(index.catalog.live_articles())
    began = time.perf_counter()
    with index.writing():
        have, copy = index.catalog.stats()["chunks"], 0
        while have < chunks_wanted:
            todo = [p for p in (copy_of(b, copy, fingerprint) for b in base)
                    if p.article.id not in have_ids and p.chunks]
            for batch in batches(todo[:_articles_for(todo, chunks_wanted - have)]):
                index.write(batch, index.embed(batch))
                have += sum(len(p.chunks) for p in batch)
            copy += 1
        wrote = time.perf_counter()
    stats = index.catalog.stats()
    return {"chunks": stats["chunks"], "articles": stats["articles"],
            "write_s": wrote - began, "snapshot_s": time.perf_counter() - wrote,
            "build_s": time.perf_counter() - began}


def _articles_for(todo: Sequence[Any], chunks_short: int) -> int:
    """How many of `todo` (in order) it takes to add at least chunks_short chunks."""
    total = 0
    for n, prepared in enumerate(todo, start=1):
        total += len(prepared.chunks)
        if total >= chunks_short:
            return n
    return len(todo)


def rebuild_seconds(settings: Any, embedder: Any) -> float:
    """A full rebuild of the BM25 and vector snapshot (the lexical folder removed first):
    what a store from an older newsrag, or a damaged snapshot, costs on first use."""
    import shutil

    from ingest.index import open_index

    index = open_index(settings, embedder=embedder)
    shutil.rmtree(index.data_dir / "lexical", ignore_errors=True)
    began = time.perf_counter()
    with index.writing(verify=False):
        pass  # leaving the session finds the snapshot missing and builds it whole
    return time.perf_counter() - began


def delta_and_merge_seconds(data_dir: Path, settings: Any, embedder: Any) -> dict[str, float]:
    """What a live store pays as feeds add to it: a write session of a few articles (~200
    chunks; its end publishes a small delta segment), then folding the deltas into a new
    main snapshot (`LexicalIndex.merge`, which ingest does once deltas pass 5 % of the main)."""
    from ingest.index import open_index

    have = open_index(settings, embedder=embedder).catalog.stats()["chunks"]
    small = grow_by_copies(data_dir, have + 200, settings, embedder)
    index = open_index(settings, embedder=embedder)
    began = time.perf_counter()
    merged = index.lexical.merge()
    return {"delta_write_s": small["build_s"], "delta_publish_s": small["snapshot_s"],
            "merge_s": time.perf_counter() - began if merged else float("nan")}
