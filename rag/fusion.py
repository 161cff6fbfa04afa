"""Fusing the BM25 and dense rankings, and choosing a diverse context from the fused list.

Each candidate chunk scores a weighted reciprocal rank fusion (Cormack et al., SIGIR 2009) of
its rank among the chunks by embedding similarity, among the chunks by BM25, and its
article's rank by whole-article BM25, plus an optional recency bonus. The weights live in
config.toml and were chosen with bench/retrieval.py on the RealTime QA dev questions.

    >>> weights = FusionWeights(dense=1.0, bm25=1.0, article=0.5)
    >>> round(fused_score(Ranks(dense=1, bm25=3), weights, rrf_k=60), 5)
    0.03227
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")
FUTURE_SLACK_DAYS = 1


@dataclass(frozen=True)
class Ranks:
    """1-based ranks of a chunk in each ranking; None where it was not among the candidates."""

    dense: int | None = None
    bm25: int | None = None
    article: int | None = None


@dataclass(frozen=True)
class FusionWeights:
    dense: float
    bm25: float
    article: float
    recency: float = 0.0


def reciprocal_rank(rank: int | None, rrf_k: float) -> float:
    return 0.0 if rank is None else 1.0 / (rrf_k + rank)


def fused_score(ranks: Ranks, weights: FusionWeights, rrf_k: float,
                freshness: float = 0.0) -> float:
    """Weighted RRF of the three rankings plus `weights.recency` x freshness (0..1)."""
    return (weights.dense * reciprocal_rank(ranks.dense, rrf_k)
            + weights.bm25 * reciprocal_rank(ranks.bm25, rrf_k)
            + weights.article * reciprocal_rank(ranks.article, rrf_k)
            + weights.recency * freshness)


def freshness(day: int | None, reference_day: int, half_life_days: float) -> float:
    """1 for an article of the reference day, halving every half-life before it; 0 undated,
    and 0 for a date more than a day after the reference (see `is_future`).

    >>> freshness(100, 107, 7.0), freshness(None, 107, 7.0), freshness(200, 107, 7.0)
    (0.5, 0.0, 0.0)
    """
    if day is None or is_future(day, reference_day):
        return 0.0
    return float(0.5 ** (max(0, reference_day - day) / half_life_days))


def is_future(day: int, reference_day: int) -> bool:
    """A publication date more than a day after the reference (a time zone's worth of slack)
    is a mistake or a lie: an article dated 9999-12-31 would otherwise outrank every real
    one for every question, forever."""
    return day > reference_day + FUTURE_SLACK_DAYS


def diversify(ranked: Sequence[T], k: int, article_of: Callable[[T], str],
              per_article: int, duplicates: Callable[[T, T], bool] | None = None) -> list[T]:
    """The best k items with at most `per_article` of one article, and no item that
    duplicates an already chosen item of another article (the same story republished).
    Held-back items fill only the slots nothing else can: duplicates first, then more of
    an article (so a store of one article still yields k chunks).

    >>> items = ["a1", "a2", "a3", "b1", "c1"]
    >>> diversify(items, 3, lambda i: i[0], per_article=2)
    ['a1', 'a2', 'b1']
    >>> diversify(items, 3, lambda i: i[0], 2, duplicates=lambda x, y: {x, y} == {"a1", "b1"})
    ['a1', 'a2', 'c1']
    >>> diversify(items, 5, lambda i: i[0], per_article=1)
    ['a1', 'b1', 'c1', 'a2', 'a3']
    """
    chosen: list[T] = []
    duplicated: list[T] = []
    overflow: list[T] = []
    per: dict[str, int] = {}
    for item in ranked:
        article = article_of(item)
        if per.get(article, 0) >= per_article:
            overflow.append(item)
        elif duplicates and any(article_of(c) != article and duplicates(item, c)
                                for c in chosen):
            duplicated.append(item)
        else:
            chosen.append(item)
            per[article] = per.get(article, 0) + 1
            if len(chosen) == k:
                return chosen
    return chosen + (duplicated + overflow)[:k - len(chosen)]


def cosine_duplicates(vectors: dict[str, np.ndarray], threshold: float
                      ) -> Callable[[str, str], bool]:
    """A duplicates test for diversify(): two chunk ids whose unit vectors are this close."""
    def close(a: str, b: str) -> bool:
        va, vb = vectors.get(a), vectors.get(b)
        return va is not None and vb is not None and float(va @ vb) >= threshold
    return close
