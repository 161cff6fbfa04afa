"""Benchmark search at 10k to 1M chunks: latency, store size, and the process's memory.

Run from the repo root, after bench/retrieval.py has built bench/results/rtqa-index:
    .venv/bin/python -m bench.scale [--sizes 10000,100000] [--server]
    .venv/bin/python -m bench.scale --sizes 1000000 --server      # about an hour here

The stores grow with the dev corpus's real text: its articles, then copies of them under new
ids (`<doc_id>~1`, `~2`, ...) until the store holds the wanted number of chunks. The copies go
through the real ingest pipeline (parse, split, chunk, Chroma, catalog, BM25 and vector
snapshot); only the embedding is replayed: each chunk gets the vector the real model computed
for that exact text when rtqa-index was built (embedding 100k chunks afresh would take three
hours on this CPU). Above 150k chunks (`--grow copies`) the corpus is prepared once and its
copies written straight through `Index.write` (bench/scale_copies.py). Copies are exact
duplicates, so the scores are latency and size figures, not retrieval quality. Latency: all 103
dev questions asked on their quiz date, after a warm pass over the same questions, dense search
in memory and in Chroma (embedded, and with `--server` in a `chroma run` server on 127.0.0.1
over the same files). Peak RSS is the search process's (and the server's). The snapshot's load
time is the first search's wait for the BM25 and vector snapshot, checksums included. Writes
bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
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
from bench.common import chroma_server, peak_rss_mb  # noqa: E402
from bench.perf import percentiles, question_date  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--source", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--backend", default="onnx", help="embedder for the questions")
    parser.add_argument("--grow", choices=("auto", "pipeline", "copies"), default="auto",
                        help="auto: the whole pipeline up to 150k chunks, copies above")
    parser.add_argument("--server", action="store_true",
                        help="also search with Chroma as a `chroma run` server")
    parser.add_argument("--rebuild", action="store_true",
                        help="also time a full rebuild of the BM25 and vector snapshot")
    parser.add_argument("--merge", action="store_true",
                        help="also time a small delta and folding it into the main snapshot")
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


def settings_for(data_dir: Path, backend: str, extra: dict[str, str] | None = None) -> Any:
    from newsrag.settings import load_settings

    return load_settings(config=REPO / "config.toml", env={
        **os.environ, "NEWSRAG_DATA_DIR": str(data_dir), "NEWSRAG_EMBEDDING__BACKEND": backend,
        "NEWSRAG_EMBEDDING__CACHE_DIR": str(RESULTS / "perf" / "models"), **(extra or {})})


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


def search_latency(data_dir: Path, backend: str, questions: list[dict[str, Any]],
                   modes: Sequence[str] = ("memory", "store"), port: int = 0
                   ) -> dict[str, Any]:
    """p50/p95 search latency per dense-search mode, the peak RSS after each, and the
    snapshot's load time; `port`: Chroma is the `chroma run` server there."""
    from rag.search import SearchOptions, search
    from rag.services import build_services

    server = {"NEWSRAG_STORE__MODE": "server", "NEWSRAG_STORE__PORT": str(port)} if port else {}
    services = build_services(settings_for(data_dir, backend, server))
    began = time.perf_counter()
    services.index.lexical.current()
    row: dict[str, Any] = {"snapshot_load_s": time.perf_counter() - began}
    for where in modes:  # memory first: "store" loads Chroma's whole index
        retrieval = services.settings.retrieval.model_copy(update={"dense_search": where})
        tuned = type(services)(services.settings.model_copy(update={"retrieval": retrieval}),
                               services.index)
        first, began = questions[0], time.perf_counter()
        search(first["question"], tuned, SearchOptions(reference=question_date(first)))
        row[f"{where}_first_s"] = time.perf_counter() - began
        for question in questions:  # a warm pass: page in the mapped vectors and caches
            search(question["question"], tuned, SearchOptions(reference=question_date(question)))
        seconds = []
        for question in questions:
            began = time.perf_counter()
            search(question["question"], tuned, SearchOptions(reference=question_date(question)))
            seconds.append(time.perf_counter() - began)
        row[f"{where}_p50_ms"], row[f"{where}_p95_ms"] = percentiles(seconds)
        row[f"{where}_peak_rss_mb"] = peak_rss_mb(os.getpid())
    return row


def measure(folder: Path, backend: str, modes: Sequence[str], port: int = 0) -> dict[str, Any]:
    """search_latency in a fresh process (this one may hold every recorded vector)."""
    script = ("import json,sys; from pathlib import Path; from bench.scale import *; "
              f"print(json.dumps(search_latency(Path({str(folder)!r}), {backend!r}, "
              f"load_jsonl(DATA / 'questions_with_gold_doc.jsonl'), {tuple(modes)!r}, {port})))")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def measure_server(folder: Path, backend: str) -> dict[str, Any]:
    """Dense search in a `chroma run` server on 127.0.0.1 over the store's own files; the
    server's peak RSS."""
    with chroma_server(folder / "chroma", folder.parent / f"{folder.name}-chroma.log"
                       ) as (port, pid):
        row = measure(folder, backend, ("store",), port)
        row = {f"server_{k.removeprefix('store_')}": v for k, v in row.items()
               if k.startswith("store_")}
        row["server_process_peak_rss_mb"] = peak_rss_mb(pid)
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
        row: dict[str, Any] = {"target": size, **grow_store(folder, size, args, replay)}
        row.update(measure(folder, args.backend, ("memory", "store")), **disk_mb(folder))
        if args.server:
            print("searching through `chroma run` ...", file=sys.stderr)
            row.update(measure_server(folder, args.backend))
        if args.rebuild or args.merge:
            row.update(rewrites(folder, args, replay))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print_table(rows)
    (RESULTS / "scale.json").write_text(json.dumps(rows, indent=1))


def grow_store(folder: Path, size: int, args: argparse.Namespace,
               replay: dict[str, list[float]]) -> dict[str, Any]:
    if args.grow == "copies" or (args.grow == "auto" and size > 150_000):
        from bench.scale_copies import grow_by_copies
        from ingest.embed import make_embedder

        settings = settings_for(folder, args.backend)
        embedder = ReplayEmbedder(make_embedder(settings.embedding), replay)
        return grow_by_copies(folder, size, settings, embedder)
    return grow(folder, size, args.backend, replay)


def rewrites(folder: Path, args: argparse.Namespace, replay: dict[str, list[float]]
             ) -> dict[str, float]:
    """The snapshot's rewrite costs: a full rebuild, and a small delta then a merge."""
    from bench.scale_copies import delta_and_merge_seconds, rebuild_seconds
    from ingest.embed import make_embedder

    settings = settings_for(folder, args.backend)
    if not replay:
        replay = recorded_vectors(args.source, args.backend)
    embedder = ReplayEmbedder(make_embedder(settings.embedding), replay)
    row = {"rebuild_s": rebuild_seconds(settings, embedder)} if args.rebuild else {}
    if args.merge:
        row.update(delta_and_merge_seconds(folder, settings, embedder))
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| chunks | articles | search p50 / p95 ms, dense in memory | peak RSS MB "
          "| dense in Chroma | peak RSS MB | dense in `chroma run` | server RSS MB "
          "| snapshot load s | Chroma MB | catalog MB | BM25 + vectors MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        server = (f"{r['server_p50_ms']:.0f} / {r['server_p95_ms']:.0f}"
                  if "server_p50_ms" in r else "")
        print(f"| {r['chunks']} | {r['articles']} | {r['memory_p50_ms']:.0f} / "
              f"{r['memory_p95_ms']:.0f} | {r['memory_peak_rss_mb']:.0f} "
              f"| {r['store_p50_ms']:.0f} / {r['store_p95_ms']:.0f} "
              f"| {r['store_peak_rss_mb']:.0f} | {server} "
              f"| {r.get('server_process_peak_rss_mb', float('nan')):.0f} "
              f"| {r['snapshot_load_s']:.1f} | {r['store_mb']:.0f} | {r['catalog_mb']:.0f} "
              f"| {r['snapshot_mb']:.0f} |")


if __name__ == "__main__":
    main()
