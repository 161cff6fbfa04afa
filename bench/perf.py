"""Benchmark ingest speed and quality per embedding backend against the naive LangChain
pipeline, re-ingest of an unchanged corpus, query embedding, and cold start, in one run.

Run from the repo root (each system ingests into a fresh folder under bench/results/perf/):
    .venv/bin/python -m bench.perf [--articles N] [--skip-naive] [--cold-data-dir DIR]

The corpus is a slice of the RealTime QA dev set that keeps every question answerable: the
gold articles of all 103 questions plus, per question, the best-ranked article Google found
for it that is not gold (the hardest distractor), then other articles in file order up to
--articles. hit@5 is article-level, on all 103 questions, with the question text only and
asked on its quiz date. Prints Markdown tables; writes bench/results/perf.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results"
WORK = RESULTS / "perf"
BACKENDS = ("sentence-transformers", "onnx", "onnx-int8")

from bench.answer import load_jsonl  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=240, help="corpus slice size")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated; a backend may carry settings after '+', "
                             "e.g. onnx-int8+CHUNKING__EMBED_TITLE=false")
    parser.add_argument("--skip-cold", action="store_true", help="no cold-start table")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--cold-data-dir", type=Path, default=RESULTS / "rtqa-index",
                        help="index whose cold start is timed (any embedder of its space)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--cold-only", action="store_true", help="only the cold-start table")
    parser.add_argument("--batch-sizes", default="",
                        help="instead: embed rate per batch size, e.g. 8,16,32,64")
    return parser.parse_args()


def corpus_slice(size: int) -> list[dict[str, Any]]:
    """Gold articles, each question's hardest distractor, then filler in file order."""
    questions = load_jsonl(DATA / "questions_with_gold_doc.jsonl")
    articles = {a["doc_id"]: a for a in load_jsonl(DATA / "corpus.jsonl")}
    chosen = {g: None for q in questions for g in q["gold_doc_ids"] if g in articles}
    for question in questions:
        gold = set(question["gold_doc_ids"])
        hard = next((d for d in question["gcs_doc_ids_ranked"]
                     if d not in gold and d in articles), None)
        if hard:
            chosen[hard] = None
    for doc_id in articles:
        if len(chosen) >= size:
            break
        chosen.setdefault(doc_id)
    return [articles[d] for d in chosen]


def question_date(question: dict[str, Any]) -> date:
    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


def hit_rate(rank: Callable[[dict[str, Any]], list[str]], questions: list[dict[str, Any]],
             depth: int = 5) -> float:
    hits = [bool(set(rank(q)[:depth]) & set(q["gold_doc_ids"])) for q in questions]
    return sum(hits) / len(hits)


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def newsrag_settings(folder: Path, variant: str) -> Any:
    """Settings for a variant: a backend name, optionally with '+KEY=VALUE' overrides."""
    from newsrag.settings import load_settings

    backend, *overrides = variant.split("+")
    extra = {f"NEWSRAG_{key}": value for key, _, value in (o.partition("=") for o in overrides)}
    return load_settings(config=REPO / "config.toml", env={
        **os.environ, "NEWSRAG_DATA_DIR": str(folder), "NEWSRAG_EMBEDDING__BACKEND": backend,
        "NEWSRAG_EMBEDDING__CACHE_DIR": str(WORK / "models"), **extra})


def run_newsrag(variant: str, feed: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Fresh ingest (model load included), re-ingests, query embedding, hit@5."""
    from ingest.pipeline import ingest
    from rag.search import SearchOptions, search
    from rag.services import build_services

    folder = WORK / re.sub(r"[^\w.-]+", "_", variant)
    shutil.rmtree(folder, ignore_errors=True)
    settings = newsrag_settings(folder, variant)
    _warm_export(settings)
    began = time.perf_counter()
    services = build_services(settings)
    report = ingest([str(feed)], settings, services.index)
    seconds = time.perf_counter() - began
    row = {"system": f"newsrag ({variant})", "articles": len(report.added),
           "chunks": report.chunks, "seconds": seconds, **_reingest(feed, settings, seconds)}
    embed = [_timed(services.index.embedder.embed_query, q["question"]) for q in questions]
    row["query_p50_ms"], row["query_p95_ms"] = percentiles(embed)
    row["hit5"] = hit_rate(
        lambda q: search(q["question"], services, SearchOptions(k=10)).articles, questions)
    row["hit5_dated"] = hit_rate(lambda q: search(
        q["question"], services, SearchOptions(k=10, reference=question_date(q))).articles,
        questions)
    dense = services.settings.retrieval.model_copy(update={"mode": "dense"})
    dense_only = type(services)(services.settings.model_copy(update={"retrieval": dense}),
                                services.index)
    row["hit5_dense"] = hit_rate(
        lambda q: search(q["question"], dense_only, SearchOptions(k=10)).articles, questions)
    return row


def _warm_export(settings: Any) -> None:
    """Export an ONNX model before the clock starts: that happens once per machine."""
    from ingest.embed import make_embedder

    make_embedder(settings.embedding).count_tokens(["warm"])


def _reingest(feed: Path, settings: Any, first: float) -> dict[str, Any]:
    """Again unchanged, then with the file touched (so every article is parsed and
    compared by content hash, but none is embedded)."""
    from ingest.pipeline import ingest

    seconds = _timed(ingest, [str(feed)], settings)
    os.utime(feed)
    touched = _timed(ingest, [str(feed)], settings)
    return {"reingest_s": seconds, "reingest_ratio": first / seconds,
            "touched_s": touched, "touched_ratio": first / touched}


def _timed(function: Callable[..., Any], *args: Any) -> float:
    began = time.perf_counter()
    function(*args)
    return time.perf_counter() - began


def run_naive(articles: list[dict[str, Any]], questions: list[dict[str, Any]]
              ) -> dict[str, Any]:
    from bench.naive_langchain import naive_articles, open_naive

    folder = WORK / "naive"
    shutil.rmtree(folder, ignore_errors=True)
    began = time.perf_counter()
    store, manifest = open_naive(folder, articles)
    seconds = time.perf_counter() - began
    return {"system": "naive LangChain (1000/200, HuggingFaceEmbeddings, Chroma)",
            "articles": len(articles), "chunks": manifest["chunks"], "seconds": seconds,
            "hit5": hit_rate(lambda q: naive_articles(store, q["question"], 10), questions)}


def cold_start(data_dir: Path, backend: str, runs: int) -> dict[str, Any]:
    """Seconds from `newsrag search`/`ask` starting to its result on stdout (medians)."""
    env = {**os.environ, "NEWSRAG_DATA_DIR": str(data_dir), "NEWSRAG_EMBEDDING__BACKEND": backend,
           "NEWSRAG_EMBEDDING__CACHE_DIR": str(WORK / "models")}
    newsrag = str(Path(sys.executable).with_name("newsrag"))
    question = "What did Netflix announce about Squid Game?"
    row: dict[str, Any] = {"backend": backend}
    for command in ("search", "ask"):
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            subprocess.run([newsrag, command, question], env=env, check=True,
                           capture_output=True, timeout=300)
            times.append(time.perf_counter() - began)
        row[command] = statistics.median(times)
    row["llm_first_byte"] = statistics.median(
        first_output_seconds([newsrag, "ask", "--generator", "llama-cpp", "--stream", question],
                             env) for _ in range(runs))
    return row


def first_output_seconds(command: list[str], env: dict[str, str]) -> float:
    """Seconds until the process prints its first byte (the first streamed answer text)."""
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    process.stdout.read(1)
    seconds = time.perf_counter() - began
    process.stdout.read()
    process.wait(timeout=300)
    return seconds


def ingest_table(rows: list[dict[str, Any]]) -> list[str]:
    naive = next((r for r in rows if r["system"].startswith("naive")), None)
    lines = ["| system | chunks | ingest s | articles/s | × naive | hit@5 | hit@5 quiz date "
             "| hit@5 dense only | re-ingest s (× faster) | touched file s (× faster) "
             "| query embed p50/p95 ms |", "|" + "---|" * 11]
    for r in rows:
        rate = r["articles"] / r["seconds"]
        ratio = f"{rate / (naive['articles'] / naive['seconds']):.2f}" if naive else ""
        reingest = (f"{r['reingest_s']:.2f} ({r['reingest_ratio']:.0f}×)"
                    if "reingest_s" in r else "")
        touched = f"{r['touched_s']:.2f} ({r['touched_ratio']:.0f}×)" if "touched_s" in r else ""
        query = (f"{r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f}"
                 if "query_p50_ms" in r else "")
        lines.append(
            f"| {r['system']} | {r['chunks']} | {r['seconds']:.0f} | {rate:.2f} | {ratio} "
            f"| {r['hit5']:.2f} | {r.get('hit5_dated', float('nan')):.2f} "
            f"| {r.get('hit5_dense', float('nan')):.2f} | {reingest} | {touched} | {query} |")
    return lines


def batch_size_rates(backends: list[str], sizes: list[int], texts: list[str]
                     ) -> list[str]:
    """Chunks/s of each backend's embed_documents at each batch size, on the same texts."""
    from ingest.embed import make_embedder

    lines = ["| backend | " + " | ".join(f"batch {b}" for b in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for backend in backends:
        rates = []
        for size in sizes:
            settings = newsrag_settings(WORK / "batch", backend)
            embedding = settings.embedding.model_copy(update={"batch_size": size})
            embedder = make_embedder(embedding)
            embedder.embed_documents(texts[:8])  # load outside the timing
            rates.append(len(texts) / _timed(embedder.embed_documents, texts))
        lines.append(f"| {backend} | " + " | ".join(f"{r:.1f}" for r in rates) + " |")
    return lines


def slice_chunk_texts(limit: int) -> list[str]:
    """What the pipeline embedded for the slice (read back from the onnx run's store)."""
    from rag.services import build_services

    index = build_services(newsrag_settings(WORK / "onnx", "onnx")).index
    ids = index.lexical.current().chunk_ids[:limit]
    return [m.chunk.metadata["title"] + "\n" + m.chunk.text for m in index.fetch(ids)]


def main() -> None:
    args = parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    from newsrag.offline import prepare_offline

    prepare_offline(WORK / "cache")  # before the naive pipeline imports transformers
    if args.cold_only:
        print_cold([cold_start(args.cold_data_dir, b, args.cold_runs)
                    for b in ("sentence-transformers", "onnx")])
        return
    if args.batch_sizes:
        texts = slice_chunk_texts(512)
        print("\n".join(batch_size_rates(args.backends.split(","),
                                         [int(b) for b in args.batch_sizes.split(",")], texts)))
        return
    articles = corpus_slice(args.articles)
    feed = WORK / "slice.jsonl"
    feed.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    questions = load_jsonl(DATA / "questions_with_gold_doc.jsonl")
    rows = [] if args.skip_naive else [run_naive(articles, questions)]
    for backend in args.backends.split(","):
        print(f"ingesting with {backend} ...", file=sys.stderr)
        rows.append(run_newsrag(backend, feed, questions))
    print(f"\n{len(articles)} articles, {len(questions)} questions\n")
    print("\n".join(ingest_table(rows)))
    if args.skip_cold:
        return
    cold = [cold_start(args.cold_data_dir, b, args.cold_runs) for b in ("sentence-transformers",
                                                                        "onnx")]
    print_cold(cold)
    (RESULTS / "perf.json").write_text(json.dumps({"ingest": rows, "cold": cold}, indent=1))


def print_cold(cold: list[dict[str, Any]]) -> None:
    print("\n| backend | cold start to first search result s | to first answer s (extractive) "
          "| to first streamed answer text s (llama-cpp) |")
    print("|---|---|---|---|")
    for c in cold:
        print(f"| {c['backend']} | {c['search']:.2f} | {c['ask']:.2f} "
              f"| {c['llm_first_byte']:.2f} |")


if __name__ == "__main__":
    main()
