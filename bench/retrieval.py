"""Benchmark retrieval on RealTime QA dev: BM25, dense, naive LangChain and newsrag's hybrid.

Run from the repo root (indexes are built once and reused from bench/results/):
    .venv/bin/python -m bench.retrieval [--sweep] [--skip-naive] [--skip-answers] [--limit N]

Prints Markdown tables: article-level hit@1/5/10 and MRR@10 with search latency for each
system; the cited-answer figures (gold cited, contains answer) of newsrag's default
retrieval next to the dense-only retrieval it replaced; with --sweep, the grid of fusion
settings the defaults were chosen from, scored on all dev questions and on each half of the
weeks (so a choice that only fits one half shows). Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results"

from bench.answer import load_jsonl, open_services, run_question, summarize  # noqa: E402
from bench.naive_langchain import naive_articles, open_naive  # noqa: E402

Ranker = Callable[[dict[str, Any]], list[str]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--sweep", action="store_true", help="also print the settings grid")
    parser.add_argument("--skip-naive", action="store_true",
                        help="leave out the naive LangChain pipeline (its build takes ~1 h)")
    parser.add_argument("--skip-answers", action="store_true",
                        help="leave out the cited-answer comparison")
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "rtqa-index")
    return parser.parse_args()


def question_date(question: dict[str, Any]) -> date:
    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


def first_gold_rank(ranked: Sequence[str], gold: set[str]) -> int | None:
    return next((i for i, a in enumerate(ranked[:10], start=1) if a in gold), None)


def scores(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    hit = lambda k: sum(r is not None and r <= k for r in ranks) / n  # noqa: E731
    return {"hit@1": hit(1), "hit@5": hit(5), "hit@10": hit(10),
            "mrr@10": sum(1 / r for r in ranks if r is not None) / n}


def bm25_baseline(articles: list[dict[str, Any]]) -> tuple[Ranker, float]:
    """Plain BM25 (bm25s defaults, English stemmer and stop words) over title + text."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    began = time.perf_counter()
    index = bm25s.BM25()
    index.index(bm25s.tokenize([f"{a['title']}\n{a['text']}" for a in articles],
                               stopwords="en", stemmer=stemmer, show_progress=False),
                show_progress=False)
    seconds = time.perf_counter() - began
    ids = [a["doc_id"] for a in articles]

    days = np.array([_day(a["publish_date"]) for a in articles])

    def rank(question: dict[str, Any], dated: bool = False) -> list[str]:
        tokens = bm25s.tokenize(question["question"], stopwords="en", stemmer=stemmer,
                                show_progress=False)
        mask = (days <= question_date(question).toordinal()) if dated else None
        found, _ = index.retrieve(tokens, k=10, show_progress=False, weight_mask=mask)
        return [ids[i] for i in found[0]]
    return rank, seconds


def _day(published: str | None) -> int:
    """Date ordinal of a corpus date; undated articles count as published long ago."""
    try:
        return datetime.strptime(str(published)[:10], "%Y/%m/%d").toordinal()
    except ValueError:
        return 0


def timed(rank: Ranker, questions: list[dict[str, Any]]) -> tuple[list[list[str]], list[float]]:
    rank(questions[0])  # warm-up: models and indexes load outside the timing
    ranked, seconds = [], []
    for question in questions:
        began = time.perf_counter()
        ranked.append(rank(question))
        seconds.append(time.perf_counter() - began)
    return ranked, seconds


def _tuned(services: Any, **update: Any) -> Any:
    retrieval = services.settings.retrieval.model_copy(update=update)
    return type(services)(services.settings.model_copy(update={"retrieval": retrieval}),
                          services.index)


def newsrag_rankers(services: Any) -> dict[str, Ranker]:
    """newsrag's retrieval with the configured (default) settings, and two variants."""
    from rag.search import SearchOptions, search

    dense = _tuned(services, mode="dense")
    dated = _tuned(services, resolve_dates=True)
    return {
        "dense only (newsrag chunks), question text only":
            lambda q: search(q["question"], dense, SearchOptions(k=10)).articles[:10],
        "**newsrag hybrid, question text only**":
            lambda q: search(q["question"], services, SearchOptions(k=10)).articles[:10],
        "**newsrag hybrid, asked on its quiz date**":
            lambda q: search(q["question"], services,
                             SearchOptions(k=10, reference=question_date(q))).articles[:10],
        "newsrag hybrid, quiz date + relative dates resolved":
            lambda q: search(q["question"], dated,
                             SearchOptions(k=10, reference=question_date(q))).articles[:10],
    }


def retrieval_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| system | hit@1 | hit@5 | hit@10 | MRR@10 | search p50 ms | search p95 ms "
             "| index build |", "|" + "---|" * 8]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['hit@1']:.2f} | {r['hit@5']:.2f} | {r['hit@10']:.2f} | "
                     f"{r['mrr@10']:.3f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['build']} |")
    return lines


def measure(name: str, rank: Ranker, questions: list[dict[str, Any]], build: str
            ) -> dict[str, Any]:
    print(f"ranking with {name} ...", file=sys.stderr)
    ranked, seconds = timed(rank, questions)
    ranks = [first_gold_rank(r, set(q["gold_doc_ids"])) for r, q in zip(ranked, questions,
                                                                         strict=True)]
    ordered = sorted(seconds)
    return {**scores(ranks), "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "build": build, "ranks": ranks}


def answer_rows(services: Any, questions: list[dict[str, Any]], dated: bool
                ) -> dict[str, float]:
    import bench.answer as answer_bench
    from rag.answering import Assistant
    from rag.support import SupportScorer

    assistant = Assistant(services)
    answer_bench.JUDGE = SupportScorer(services.index.embedder)
    rows = [run_question(assistant, q, "extractive", question_date(q) if dated else None)
            for q in questions]
    return summarize(rows)


def main() -> None:
    args = parse_args()
    questions = load_jsonl(DATA / "questions_with_gold_doc.jsonl")[:args.limit]
    articles = load_jsonl(DATA / "corpus.jsonl")
    services = open_services(args.data_dir)
    rows: dict[str, dict[str, Any]] = {}
    rank, seconds = bm25_baseline(articles)
    rows["BM25, whole articles (bm25s)"] = measure("BM25", rank, questions, f"{seconds:.1f} s")
    rows["BM25, whole articles, nothing after the quiz date"] = measure(
        "BM25 dated", lambda q: rank(q, dated=True), questions, f"{seconds:.1f} s")
    if not args.skip_naive:
        store, manifest = open_naive(RESULTS / "naive-index", articles)
        build = f"{manifest['embed_seconds'] / 60:.0f} min ({manifest['chunks']} chunks)"
        rows["naive LangChain (1000/200 → MiniLM → Chroma)"] = measure(
            "naive", lambda q: naive_articles(store, q["question"], 10), questions, build)
    lexical_seconds = rebuild_seconds(services)
    stats = services.index.catalog.stats()
    build = f"embeddings ({stats['chunks']} chunks) + BM25 {lexical_seconds:.1f} s"
    for name, ranker in newsrag_rankers(services).items():
        rows[name] = measure(name, ranker, questions, build)
    print("\n".join(retrieval_table(rows)))
    report: dict[str, Any] = {"retrieval": rows, "settings": services.settings.retrieval
                              .model_dump()}
    if not args.skip_answers:
        report["answers"] = answers_section(services, questions)
    if args.sweep:
        from bench.retrieval_sweep import sweep

        report["sweep"] = sweep(services, questions)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval.json").write_text(json.dumps(report, indent=1) + "\n")


def rebuild_seconds(services: Any) -> float:
    """Time one rebuild of the BM25 snapshot from the store (what ingest adds at its end)."""
    lexical = services.index.lexical
    began = time.perf_counter()
    lexical._build(services.index.catalog.generation())  # timed only: the view in use stays
    return time.perf_counter() - began


def answers_section(services: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Cited answers (extractive) with the dense-only retrieval this replaced and the new one."""
    before = _tuned(services, mode="dense", max_chunks_per_article=200,
                    duplicate_similarity=1.01, recency_weight=0.0)
    summaries = {
        "dense only (before hybrid retrieval), question text only":
            answer_rows(before, questions, False),
        "newsrag hybrid, question text only": answer_rows(services, questions, False),
        "newsrag hybrid, asked on its quiz date": answer_rows(services, questions, True),
        "newsrag hybrid, quiz date + relative dates resolved":
            answer_rows(_tuned(services, resolve_dates=True), questions, True),
    }
    lines = ["| retrieval | contains answer | token F1 | gold cited | gold in context | refused "
             "| p50 s |", "|" + "---|" * 7]
    for name, s in summaries.items():
        lines.append(f"| {name} | {s['contains_answer']:.2f} | {s['token_f1']:.2f} | "
                     f"{s['gold_cited']:.2f} | {s['gold_retrieved']:.2f} | {s['refused']:.2f} | "
                     f"{s['p50_s']:.2f} |")
    print("\nCited answers (extractive generator, 103 questions with their gold article):\n")
    print("\n".join(lines))
    return summaries


if __name__ == "__main__":
    main()
