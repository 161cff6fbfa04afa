"""Benchmark search at 10k and 100k chunks: latency, store size, and the process's memory.

Run from the repo root, after bench/retrieval.py has built bench/results/rtqa-index:
    .venv/bin/python -m bench.scale [--sizes 10000,100000]

The stores grow with the dev corpus's real text: its articles, then copies of them under new
ids (`<doc_id>~1`, `~2`, ...) until the store holds the wanted number of chunks. The copies go
through the real ingest pipeline (parse, split, chunk, Chroma, catalog, BM25 and vector
snapshot); only the embedding is replayed: each chunk gets the vector the real model computed
for that exact text when rtqa-index was built (embedding 100k chunks afresh would take three
hours on this CPU). Copies are exact duplicates, so the scores are latency and size figures,
not retrieval quality. Latency: all 103 dev questions asked on their quiz date, after a warm
pass over the same questions, dense search in memory and in Chroma. Peak RSS is the search
process's. Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results"

from bench.answer import load_jsonl  # noqa: E402
from bench.perf import percentiles, question_date  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--source", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--backend", default="onnx", help="embedder for the questions")
    return parser.parse_args()


class ReplayEmbedder:
    """The real model's vectors, looked up by the exact text it embedded (bench only)."""

    def __init__(self, real: Any, vectors: dict[str, list[float]]) -> None:
        self.real, self.vectors = real, vectors
        self.name, self.max_tokens = real.name, real.max_tokens

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.vectors]
        found = dict(zip(missing, self.real.embed_documents(missing), strict=True))
        return [self.vectors.get(t) or found[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return list(self.real.count_tokens(texts))


def settings_for(data_dir: Path, backend: str) -> Any:
    from newsrag.settings import load_settings

    return load_settings(config=REPO / "config.toml", env={
        **os.environ, "NEWSRAG_DATA_DIR": str(data_dir), "NEWSRAG_EMBEDDING__BACKEND": backend,
        "NEWSRAG_EMBEDDING__CACHE_DIR": str(RESULTS / "perf" / "models")})


def recorded_vectors(source: Path, backend: str) -> dict[str, list[float]]:
    """embed_text -> vector for every live chunk of the source index."""
    from ingest.chunk import embed_text_for
    from ingest.models import Article
    from rag.services import build_services

    index = build_services(settings_for(source, backend)).index
    ids = index.lexical.current().chunk_ids
    vectors = {}
    for start in range(0, len(ids), 4000):
        for chunk, vector in index.store.fetch(ids[start:start + 4000]):
            meta = chunk.metadata
            owner = Article(id="", title=str(meta.get("title", "")), text="",
                            published=meta.get("published"))
            vectors[embed_text_for(owner, chunk.text)] = list(vector)
    return vectors


def grow(data_dir: Path, chunks_wanted: int, backend: str, replay: dict[str, list[float]]
         ) -> dict[str, Any]:
    """Ingest the corpus, then copies of it, until the store has chunks_wanted chunks."""
    from ingest.embed import make_embedder
    from ingest.index import open_index
    from ingest.pipeline import ingest

    settings = settings_for(data_dir, backend)
    real = make_embedder(settings.embedding)
    index = open_index(settings, embedder=ReplayEmbedder(real, replay))
    corpus = load_jsonl(DATA / "corpus.jsonl")
    began, copy = time.perf_counter(), 0
    while (have := index.catalog.stats()["chunks"]) < chunks_wanted:
        batch = _copies(corpus, copy, chunks_wanted - have)
        feed = data_dir.parent / f"{data_dir.name}-copy{copy}.jsonl"
        feed.write_text("".join(json.dumps(r) + "\n" for r in batch), encoding="utf-8")
        ingest([str(feed)], settings, index)
        copy += 1
    return {"chunks": index.catalog.stats()["chunks"],
            "articles": index.catalog.stats()["articles"],
            "build_s": time.perf_counter() - began}


def _copies(corpus: list[dict[str, Any]], copy: int, chunks_short: int
            ) -> list[dict[str, Any]]:
    """Copy number `copy` of the corpus, cut at ~chunks_short chunks (18 per article)."""
    wanted = max(1, chunks_short // 18 + 1)
    suffix = f"~{copy}" if copy else ""
    return [{**r, "doc_id": r["doc_id"] + suffix} for r in corpus[:wanted]]


def chunk_count(data_dir: Path) -> int:
    from ingest.catalog import Catalog

    path = data_dir / "catalog.sqlite3"
    return int(Catalog(path).stats()["chunks"]) if path.exists() else 0


def search_latency(data_dir: Path, backend: str, questions: list[dict[str, Any]]
                   ) -> dict[str, Any]:
    from rag.search import SearchOptions, search
    from rag.services import build_services

    services = build_services(settings_for(data_dir, backend))
    row: dict[str, Any] = {}
    for where in ("memory", "store"):  # memory first: "store" loads Chroma's whole index
        retrieval = services.settings.retrieval.model_copy(update={"dense_search": where})
        tuned = type(services)(services.settings.model_copy(update={"retrieval": retrieval}),
                               services.index)
        for question in questions:  # a warm pass: page in the mapped vectors and caches
            search(question["question"], tuned, SearchOptions(reference=question_date(question)))
        seconds = []
        for question in questions:
            began = time.perf_counter()
            search(question["question"], tuned, SearchOptions(reference=question_date(question)))
            seconds.append(time.perf_counter() - began)
        row[f"{where}_p50_ms"], row[f"{where}_p95_ms"] = percentiles(seconds)
        row[f"{where}_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def disk_mb(folder: Path) -> dict[str, float]:
    def size(path: Path) -> float:
        out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True,
                             check=True).stdout
        return int(out.split()[0]) / 1024

    return {"store_mb": size(folder / "chroma"), "snapshot_mb": size(folder / "lexical"),
            "catalog_mb": size(folder / "catalog.sqlite3"), "total_mb": size(folder)}


def main() -> None:
    args = parse_args()
    replay: dict[str, list[float]] = {}
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        folder = RESULTS / f"scale-{size // 1000}k"
        if not replay and chunk_count(folder) < size:
            print("reading the recorded vectors ...", file=sys.stderr)
            replay = recorded_vectors(args.source, args.backend)
        print(f"growing {folder} to {size} chunks ...", file=sys.stderr)
        row: dict[str, Any] = {"target": size, **grow(folder, size, args.backend, replay)}
        # Measured in a fresh process: this one holds every recorded vector.
        script = ("import json,sys; from pathlib import Path; from bench.scale import *; "
                  f"print(json.dumps(search_latency(Path({str(folder)!r}), {args.backend!r}, "
                  "load_jsonl(DATA / 'questions_with_gold_doc.jsonl'))))")
        out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
        row.update(json.loads(out.strip().splitlines()[-1]), **disk_mb(folder))
        rows.append(row)
    print("\n| chunks | articles | search p50 / p95 ms, dense in memory | peak RSS MB "
          "| dense in Chroma | peak RSS MB | Chroma MB | catalog MB | BM25 + vectors MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunks']} | {r['articles']} | {r['memory_p50_ms']:.0f} / "
              f"{r['memory_p95_ms']:.0f} | {r['memory_peak_rss_mb']:.0f} "
              f"| {r['store_p50_ms']:.0f} / {r['store_p95_ms']:.0f} "
              f"| {r['store_peak_rss_mb']:.0f} | {r['store_mb']:.0f} | {r['catalog_mb']:.0f} "
              f"| {r['snapshot_mb']:.0f} |")
    (RESULTS / "scale.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
