"""Benchmark the incremental lexical index at ~70k chunks: how long until one new article is
searchable (a delta segment) against the full snapshot rebuild every write session used to
do, and whether the results are the same.

Run from the repo root (the first run builds the store, about 10 minutes; it is reused):
    .venv/bin/python -m bench.watch_index [--chunks 70000] [--new 5]

The store grows with the RealTime QA dev corpus's real text: its 2,030 articles, then copies
under new ids (`<doc_id>~1`, ...) until it holds the wanted number of chunks, through the real
ingest pipeline (parse, split, chunk, real Chroma, catalog, snapshot). Only the embedding is
synthetic: a hashed bag of words in 384 dimensions (the real model's size, so vector files
and merges weigh what they would), since embedding 70k chunks would take two hours here and
the index's cost does not depend on what the vectors say. Then, `--new` times: one new
article is ingested (its embedding excluded: the clock starts when its chunks are stored) and
the writer publishes a delta; a reader process that already holds the main snapshot loads
the delta and finds the article. The full rebuild is what `refresh` did before deltas: read
every chunk from the store, rebuild BM25 and the vectors, write and checksum the snapshot.
Same-results check: the 103 dev questions plus the new articles' titles, top 10 chunks and
articles from the view with deltas against a full rebuild, and every score compared exactly.
Writes bench/results/watch_index.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO, RESULTS
from bench.common import RTQA as DATA

DIMS = 384


class BenchEmbedder:
    """A hashed bag of words in 384 dimensions: the real model's shape, none of its cost."""

    name = "bench-hash-384"
    max_tokens = 256

    def __init__(self, settings: Any = None) -> None:
        pass

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._one(text)

    def _one(self, text: str) -> list[float]:
        vector = np.zeros(DIMS, dtype=np.float32)
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % DIMS] += 1.0
        norm = float(np.linalg.norm(vector)) or 1.0
        return (vector / norm).tolist()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """About the real tokenizer's count (1.3 word pieces a word in this news text)."""
        return [int(1.3 * len(t.split())) + 2 for t in texts]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--chunks", type=int, default=70_000)
    parser.add_argument("--new", type=int, default=5, help="new articles, one write each")
    parser.add_argument("--rebuilds", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=RESULTS / "watch-index")
    return parser.parse_args()


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def settings_for(folder: Path) -> Any:
    from newsrag.settings import load_settings

    return load_settings(REPO / "config.toml", env={
        "NEWSRAG_DATA_DIR": str(folder / "data"),
        "NEWSRAG_EMBEDDING__BACKEND": "bench.watch_index:BenchEmbedder"})


def build_store(folder: Path, chunks: int) -> Any:
    """The store, grown with copies of the corpus until it holds `chunks` (reused)."""
    from ingest.index import open_index
    from ingest.pipeline import ingest

    settings = settings_for(folder)
    index = open_index(settings)
    corpus = load_jsonl(DATA / "corpus.jsonl")
    copy = 0
    while index.catalog.stats()["chunks"] < chunks:
        path = folder / "corpus" / f"copy-{copy}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = f"~{copy}" if copy else ""
        path.write_text("\n".join(json.dumps({**r, "doc_id": f"{r['doc_id']}{suffix}"})
                                  for r in corpus), encoding="utf-8")
        started = time.perf_counter()
        report = ingest([str(path)], settings, index)
        print(f"copy {copy}: {len(report.added)} articles, {report.chunks} chunks in "
              f"{time.perf_counter() - started:.0f} s; store "
              f"{index.catalog.stats()['chunks']} chunks", flush=True)
        copy += 1
    index.lexical.merge()
    return index


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def add_articles(folder: Path, index: Any, count: int) -> list[dict[str, Any]]:
    """Ingest `count` new articles one write session each; time the delta publishing
    (the writer's refresh) and a reader's catching up, and check the reader finds each."""
    from ingest.lexical import LexicalIndex
    from ingest.pipeline import ingest

    reader = LexicalIndex(index.data_dir, index.catalog, index.store)
    reader.current()  # a long-running reader (the UI) that holds the main snapshot
    corpus = load_jsonl(DATA / "corpus.jsonl")
    refresh = index.lexical.refresh
    rows = []
    for i in range(count):
        record = {**corpus[(i * 397) % len(corpus)], "doc_id": f"bench-new-{time.time_ns()}"}
        path = folder / "corpus" / f"new-{record['doc_id']}.jsonl"
        path.write_text(json.dumps(record), encoding="utf-8")
        clock: dict[str, float] = {}

        def measured_refresh(clock: dict[str, float] = clock) -> bool:
            result, clock["writer"] = timed(refresh)
            return result

        index.lexical.refresh = measured_refresh
        try:
            _, clock["ingest"] = timed(ingest, [str(path)], settings_for(folder), index)
        finally:
            index.lexical.refresh = refresh
        view, clock["reader"] = timed(reader.current)
        hits = reader.search(str(record["title"]), 10)
        clock["found"] = float(any(a == record["doc_id"] for a, _, _ in hits.articles))
        clock["segments"] = len(view.segments)
        rows.append({**clock, "title": record["title"]})
        print(f"new article {i}: writer {clock['writer']:.2f} s, reader "
              f"{clock['reader']:.2f} s, found {bool(clock['found'])}", flush=True)
    return rows


def full_rebuild(index: Any) -> tuple[Any, float]:
    """What every write session did before deltas: build from the store, write, checksum."""
    from ingest.segments import SearchView
    from ingest.snapshot import build_snapshot, write_snapshot

    started = time.perf_counter()
    snap = build_snapshot(index.catalog.generation(), index.catalog, index.store, None)
    scratch = index.data_dir / "bench-full-rebuild"
    write_snapshot(scratch, snap)
    seconds = time.perf_counter() - started
    import shutil

    shutil.rmtree(scratch)
    return SearchView.compose([snap]), seconds


def compare(index: Any, full: Any, queries: list[str]) -> dict[str, int]:
    """Top 10 chunks and articles, and all scores, of the view with deltas vs a rebuild."""
    from ingest.lexical import LexicalIndex, tokenize

    rebuilt = LexicalIndex(index.data_dir, index.catalog, index.store)
    rebuilt._snapshot = full
    same_chunks = same_articles = same_scores = 0
    incremental = index.lexical.current()
    for query in queries:
        a, b = _top10(index.lexical.search(query, 50)), _top10(rebuilt.search(query, 50))
        same_chunks += a[0] == b[0]
        same_articles += a[1] == b[1]
        tokens = tokenize(query)
        mine, theirs = incremental.chunk_scores(tokens), full.chunk_scores(tokens)
        same_scores += all(mine[row] == theirs[full.row_of()[c]]
                           for c, row in incremental.row_of().items())
    return {"queries": len(queries), "same_top10_chunks": same_chunks,
            "same_top10_articles": same_articles, "same_all_scores": same_scores}


def _top10(hits: Any) -> tuple[list[Any], list[Any]]:
    """Top 10 with equal scores ordered by id: the store holds exact copies of every article
    (equal scores), which either index may list in either order."""
    chunks = sorted(hits.chunks, key=lambda c: (-c[2], c[0]))[:10]
    articles = sorted(hits.articles, key=lambda a: (-a[1], a[0]))[:10]
    return chunks, [(a, s) for a, s, _ in articles]


def search_latency(index: Any, queries: list[str]) -> float:
    for query in queries:  # warm
        index.lexical.search(query, 100)
    times = [timed(index.lexical.search, q, 100)[1] for q in queries]
    return 1000 * statistics.median(times)


def main() -> None:
    from newsrag.offline import prepare_offline

    args = parse_args()
    prepare_offline(args.folder / "offline")
    index = build_store(args.folder, args.chunks)
    chunks = index.catalog.stats()["chunks"]
    questions = [q["question"] for q in load_jsonl(DATA / "questions_with_gold_doc.jsonl")]
    main_ms = search_latency(index, questions)
    added = add_articles(args.folder, index, args.new)
    with_deltas_ms = search_latency(index, questions)
    rebuilds = [full_rebuild(index) for _ in range(args.rebuilds)]
    same = compare(index, rebuilds[-1][0], questions + [str(r["title"]) for r in added])
    _, merge_s = timed(index.lexical.merge)
    result = {
        "chunks": chunks, "articles": index.catalog.stats()["articles"],
        "writer_delta_s": statistics.median(r["writer"] for r in added),
        "reader_catch_up_s": statistics.median(r["reader"] for r in added),
        "ingest_one_article_s": statistics.median(r["ingest"] for r in added),
        "found": sum(int(r["found"]) for r in added), "new": len(added),
        "full_rebuild_s": statistics.median(s for _, s in rebuilds), "merge_s": merge_s,
        "search_ms_main_only": main_ms, "search_ms_with_deltas": with_deltas_ms,
        **same,
    }
    (RESULTS / "watch_index.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(table(result))


def table(r: dict[str, Any]) -> str:
    return "\n".join([
        f"store: {r['chunks']:,} chunks, {r['articles']:,} articles",
        "",
        "| one new article searchable | seconds |",
        "|---|---|",
        f"| incremental: writer publishes a delta (median of {r['new']}) "
        f"| {r['writer_delta_s']:.2f} |",
        f"| incremental: a running reader loads it | {r['reader_catch_up_s']:.2f} |",
        f"| full rebuild of the snapshot (before) | {r['full_rebuild_s']:.1f} |",
        f"| merging the deltas into a new main snapshot | {r['merge_s']:.1f} |",
        f"| whole ingest call of one article (parse, chunk, store, delta) "
        f"| {r['ingest_one_article_s']:.2f} |",
        "",
        f"new articles found by a reader right after their ingest: {r['found']}/{r['new']}",
        "same top 10 as a full rebuild (equal scores ordered by id: the store holds exact "
        f"copies), chunks: {r['same_top10_chunks']}/{r['queries']} "
        f"queries; same top-10 articles: {r['same_top10_articles']}/{r['queries']}; every "
        f"score equal: {r['same_all_scores']}/{r['queries']}",
        f"BM25 search p50 (top 100): {r['search_ms_main_only']:.1f} ms main only, "
        f"{r['search_ms_with_deltas']:.1f} ms with {r['new']} deltas",
    ])


if __name__ == "__main__":
    main()
