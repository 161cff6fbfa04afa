"""The settings grid behind newsrag's retrieval defaults (`bench/retrieval.py --sweep`).

Candidates are gathered once per question and setting that changes them; fusion is then
re-scored for every grid point. Every figure is printed for all dev questions and for each
half of the weeks, so a setting that only fits one half shows.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from typing import Any

from bench.retrieval import _tuned, first_gold_rank, question_date, scores

FUSION_GRID = {"rrf_k": [20.0, 60.0], "dense_weight": [0.5, 1.0, 2.0],
               "bm25_weight": [0.0, 0.5, 1.0], "article_weight": [0.0, 0.5, 1.0, 2.0]}
RECENCY_GRID = {"recency_weight": [0.0, 0.01, 0.02, 0.03, 0.05, 0.08],
                "recency_half_life_days": [7.0, 14.0, 30.0]}
CONTEXT_GRID = {"max_chunks_per_article": [1, 2, 3, 5, 10],
                "duplicate_similarity": [0.85, 0.9, 0.95, 1.01]}


def _halves(questions: Sequence[dict[str, Any]]) -> list[list[int]]:
    weeks = sorted({q["week"] for q in questions})
    early = set(weeks[:len(weeks) // 2])
    return [[i for i, q in enumerate(questions) if q["week"] in early],
            [i for i, q in enumerate(questions) if q["week"] not in early]]


def _score_grid(found: list[Any], questions: Sequence[dict[str, Any]], services: Any,
                grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    from rag.search import article_order, fuse

    halves = _halves(questions)
    rows = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        settings = services.settings.retrieval.model_copy(update=point)
        ranks = [first_gold_rank(article_order(fuse(f, settings)), set(q["gold_doc_ids"]))
                 for f, q in zip(found, questions, strict=True)]
        rows.append({**point, **scores(ranks),
                     "mrr@10 halves": [scores([ranks[i] for i in h])["mrr@10"] for h in halves]})
    rows.sort(key=lambda r: -r["mrr@10"])
    return rows


def _print(title: str, rows: list[dict[str, Any]], keys: Sequence[str], top: int = 12) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(keys) + " | hit@1 | hit@5 | hit@10 | MRR@10 | MRR@10 by half |")
    print("|" + "---|" * (len(keys) + 5))
    for r in rows[:top]:
        halves = " / ".join(f"{v:.3f}" for v in r["mrr@10 halves"])
        print("| " + " | ".join(str(r[k]) for k in keys)
              + f" | {r['hit@1']:.2f} | {r['hit@5']:.2f} | {r['hit@10']:.2f} "
              f"| {r['mrr@10']:.3f} | {halves} |")


def _gather_all(services: Any, questions: Sequence[dict[str, Any]], dated: bool) -> list[Any]:
    from rag.search import gather

    return [gather(q["question"], services, None, question_date(q) if dated else None)
            for q in questions]


def _context_grid(services: Any, questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """How often the gold article is in the k-chunk context, per diversity setting (each
    question asked on its quiz date, with the default settings otherwise)."""
    from rag.search import rank

    found = _gather_all(services, questions, dated=True)
    rows = []
    for values in itertools.product(*CONTEXT_GRID.values()):
        point = dict(zip(CONTEXT_GRID, values, strict=True))
        tuned = _tuned(services, **point)
        in_context = 0
        for candidates, q in zip(found, questions, strict=True):
            hits = rank(candidates, tuned).hits
            in_context += any(h.article_id in set(q["gold_doc_ids"]) for h in hits)
        rows.append({**point, "gold in context": in_context / len(questions)})
    return rows


def sweep(services: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    print("sweeping fusion settings ...", file=sys.stderr)
    plain = _gather_all(services, questions, dated=False)
    fusion = _score_grid(plain, questions, services, FUSION_GRID)
    _print("Fusion (no question date), best MRR@10 first:", fusion, list(FUSION_GRID))
    best = {k: fusion[0][k] for k in FUSION_GRID}
    report: dict[str, Any] = {"fusion": fusion}
    for label, update in (("question date as reference", {}),
                          ("+ relative dates resolved, slack 1", {"resolve_dates": True}),
                          ("+ relative dates resolved, slack 3",
                           {"resolve_dates": True, "date_slack_days": 3})):
        tuned = _tuned(services, **best, **update)
        found = _gather_all(tuned, questions, dated=True)
        rows = _score_grid(found, questions, tuned, RECENCY_GRID)
        _print(f"Recency with the {label} (fusion {best}):", rows, list(RECENCY_GRID))
        report[label] = rows
    context = _context_grid(services, questions)
    print("\nContext diversity (k = 10 chunks): share of questions whose gold article is in it\n")
    print("| max_chunks_per_article | duplicate_similarity | gold in context |\n|---|---|---|")
    for r in context:
        print(f"| {r['max_chunks_per_article']} | {r['duplicate_similarity']} "
              f"| {r['gold in context']:.2f} |")
    report["context"] = context
    return report
