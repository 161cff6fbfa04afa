"""Choose `chunking.chunk_tokens` by article-level retrieval quality on RealTime QA (dev).

Run: .venv/bin/python -m bench.chunking [--sizes 64 96 128] [--others 400]. Corpus = every gold
article + a seed-0 sample of others; each size is ingested with built-in defaults into a fresh
temp dir; articles rank by their best chunk in the top 50. JSON: bench/results/chunking.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# bench/ingest.py would shadow the `ingest` package: keep this folder off the import path.
# ruff: noqa: E402

from ingest.embed import Embedder, make_embedder
from ingest.index import Index, PreparedArticle, open_index
from ingest.models import Chunk
from ingest.pipeline import ingest
from newsrag.offline import prepare_offline
from newsrag.settings import Settings, load_settings
from rag.search import SearchOptions, retrieve
from rag.services import build_services

DATA = HERE.parent.parent / "shared" / "data" / "realtimeqa-dev"
OUT = HERE / "results" / "chunking.json"
TOP_CHUNKS = 50
Row = dict[str, Any]


def load_jsonl(path: Path) -> list[Row]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write_subset(corpus: list[Row], gold: set[str], others: int, path: Path) -> int:
    """Gold articles + a seed-0 sample of the rest, in corpus order; returns the article count."""
    rest = sorted(r["doc_id"] for r in corpus if r["doc_id"] not in gold)
    keep = gold | set(random.Random(0).sample(rest, min(others, len(rest))))
    rows = [r for r in corpus if r["doc_id"] in keep]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return len(rows)


class RecordingIndex(Index):
    """An Index that also keeps every chunk it writes, for chunk statistics."""

    def __init__(self, base: Index) -> None:
        super().__init__(base.data_dir, base.embedder, base.store, base.lock_timeout_s)
        self.chunks: list[Chunk] = []

    def write(self, batch: Sequence[PreparedArticle], *args: Any, **kwargs: Any) -> None:
        self.chunks.extend(c for p in batch for c in p.chunks)
        super().write(batch, *args, **kwargs)


def rr10(rank: int | None) -> float:
    return 1 / rank if rank is not None and rank <= 10 else 0.0


def gold_rank(article_ids: list[str], gold: set[str]) -> int | None:
    """1-based rank of the first gold article among articles ranked by their best chunk."""
    ranked = list(dict.fromkeys(article_ids))
    return next((i + 1 for i, a in enumerate(ranked) if a in gold), None)


def settings_for(root: Path, size: int) -> Settings:
    """Built-in defaults (an empty config file hides any ./config.toml) plus the chunk size."""
    return load_settings(env={"NEWSRAG_CONFIG": str(root / "empty.toml"),
                              "NEWSRAG_DATA_DIR": str(root / f"data-{size}"),
                              "NEWSRAG_CHUNKING__CHUNK_TOKENS": str(size)})


def run_size(size: int, subset: Path, questions: list[Row], embedder: Embedder, root: Path) -> Row:
    settings = settings_for(root, size)
    index = RecordingIndex(open_index(settings, embedder=embedder))
    services = build_services(settings, index)
    report = ingest([str(subset)], settings, index=index)
    tokens = [c.n_tokens for c in index.chunks]
    pieces = embedder.count_tokens([c.embed_text for c in index.chunks])
    top = SearchOptions(k=TOP_CHUNKS)
    ranks = [gold_rank([h.article_id for h in retrieve(q["question"], services, top)],
                       set(q["gold_doc_ids"])) for q in questions]
    n = len(questions)
    return {
        "chunk_tokens": size, "articles": len(report.added), "skipped": len(report.skipped),
        "chunks": report.chunks, "mean_tokens": statistics.fmean(tokens),
        "max_wordpieces": max(pieces),
        "over_limit_share": sum(p > embedder.max_tokens for p in pieces) / len(pieces),
        "ingest_s": report.seconds,
        **{f"hit@{k}": sum(r is not None and r <= k for r in ranks) / n for k in (1, 5, 10)},
        "mrr@10": sum(map(rr10, ranks)) / n,
        "ranks": ranks,
    }


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value, ties dropped."""
    n = wins + losses
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def table(results: list[Row], limit: int) -> str:
    head = (f"| chunk_tokens | chunks | mean tok | max wp | >{limit} wp | ingest s "
            "| hit@1 | hit@5 | hit@10 | MRR@10 |")
    rows = [f"| {r['chunk_tokens']} | {r['chunks']} | {r['mean_tokens']:.1f} "
            f"| {r['max_wordpieces']} | {r['over_limit_share']:.1%} | {r['ingest_s']:.0f} "
            f"| {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['hit@10']:.3f} | {r['mrr@10']:.3f} |"
            for r in results]
    return "\n".join([head, "|" + "---:|" * 10, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128, 160, 200])
    parser.add_argument("--others", type=int, default=400)
    args = parser.parse_args()
    corpus = load_jsonl(DATA / "corpus.jsonl")
    questions = load_jsonl(DATA / "questions_with_gold_doc.jsonl")
    gold = {g for q in questions for g in q["gold_doc_ids"]}
    results = []
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-chunking-") as tmp:
        root = Path(tmp)
        prepare_offline(root / "cache")  # before sentence-transformers is imported
        (root / "empty.toml").write_text("")
        subset = root / "subset.jsonl"
        n_articles = write_subset(corpus, gold, args.others, subset)
        print(f"{len(questions)} questions, {len(gold)} gold + {n_articles - len(gold)} other "
              f"articles; top-{TOP_CHUNKS} chunks per question", flush=True)
        embedder = make_embedder(settings_for(root, args.sizes[0]).embedding)
        for size in args.sizes:
            started = time.perf_counter()
            results.append(run_size(size, subset, questions, embedder, root))
            print(f"  chunk_tokens={size}: {time.perf_counter() - started:.0f} s", flush=True)
    print("\n" + table(results, embedder.max_tokens) + "\n")
    best = max(results, key=lambda r: (round(r["mrr@10"], 6), r["hit@5"], -r["chunk_tokens"]))
    for r in (r for r in results if r is not best):
        pairs = [(rr10(a), rr10(b)) for a, b in zip(best["ranks"], r["ranks"], strict=True)]
        wins, losses = sum(a > b for a, b in pairs), sum(a < b for a, b in pairs)
        print(f"{best['chunk_tokens']} vs {r['chunk_tokens']}: RR@10 better on {wins}, worse on "
              f"{losses} of {len(pairs)} questions (sign test p={sign_test(wins, losses):.2f})")
    print(f"\nchosen chunk_tokens = {best['chunk_tokens']} (best MRR@10; ties: hit@5, smaller)")
    meta = {"questions": len(questions), "gold_articles": len(gold), "articles": n_articles,
            "others": args.others, "seed": 0, "top_chunks": TOP_CHUNKS, "embedder": embedder.name}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"meta": meta, "chosen": best["chunk_tokens"], "results": results}))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
