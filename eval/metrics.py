"""Metric arithmetic: answer correctness, retrieval, ALCE citations, bootstrap intervals.

Pure functions over plain values, so every formula is tested on hand-made cases.

    >>> token_f1("on Tuesday in Riyadh", "Tuesday")
    0.4
    >>> mrr_at_10(["a", "b", "c"], {"b"})
    0.5
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

from eval.models import MetricSummary

# Report order; the direction says which way is better (for --fail-under / --fail-over).
HIGHER_IS_BETTER = ("faithfulness", "citation_recall", "citation_precision",
                    "contains_reference", "token_f1", "judged_correctness", "hit_at_1",
                    "hit_at_5", "hit_at_10", "mrr_at_10", "cites_gold", "correct_refusal")
LOWER_IS_BETTER = ("wrong_refusal", "latency_s")
METRICS = HIGHER_IS_BETTER + LOWER_IS_BETTER
_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’")


def normalize(text: str) -> str:
    """SQuAD-style: lower case, no punctuation (curly quotes too), no articles."""
    return " ".join(w for w in text.lower().translate(_PUNCTUATION).split()
                    if w not in {"a", "an", "the"})


def token_f1(prediction: str, reference: str) -> float:
    predicted, wanted = normalize(prediction).split(), normalize(reference).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def contains_reference(answer: str, references: Sequence[str]) -> bool:
    """Some reference appears in the answer as whole normalised words."""
    plain = f" {normalize(answer)} "
    return any(f" {normalize(r)} " in plain for r in references if normalize(r))


_PATH_HASH = re.compile(r"-[0-9a-f]{8}$")


def is_gold(article_id: str, gold: set[str]) -> bool:
    """The id is gold, or its slug is: ids of files end in a hash of where the file lives, so a
    dataset names such an article by its slug ("trump-putin-ceasefire-talks") to match on any
    machine."""
    return article_id in gold or _PATH_HASH.sub("", article_id) in gold


def ranked_articles(article_ids: Sequence[str]) -> list[str]:
    """Article ids in rank order, each once (several chunks of one article rank once)."""
    return [a for a in dict.fromkeys(article_ids) if a]


def hit_at(articles: Sequence[str], gold: set[str], k: int) -> float:
    return float(any(is_gold(a, gold) for a in articles[:k]))


def mrr_at_10(articles: Sequence[str], gold: set[str]) -> float:
    return next((1.0 / rank for rank, a in enumerate(articles[:10], start=1)
                 if is_gold(a, gold)), 0.0)


def citation_precision_flags(joint: bool, single: Sequence[bool],
                             without: Sequence[bool]) -> list[bool]:
    """ALCE's precision for one sentence's citations.

    A citation counts when the sentence's citations together support it and the citation
    either supports it alone or is needed (the others without it do not). A sentence its
    citations do not support makes all of them count as imprecise.
    """
    if not joint:
        return [False] * len(single)
    if len(single) == 1:
        return [True]
    return [alone or not rest for alone, rest in zip(single, without, strict=True)]


def mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def summarize(name: str, values: Sequence[float | None], samples: int = 2000,
              seed: int = 0) -> MetricSummary:
    """Mean (latency: median, plus p95) of the values that apply, with a 95 % bootstrap CI."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(data):
        return MetricSummary(name=name, value=None, n=0)
    statistic = np.median if name == "latency_s" else np.mean
    resampled = data[np.random.default_rng(seed).integers(0, len(data), (samples, len(data)))]
    estimates = statistic(resampled, axis=1)
    low, high = np.percentile(estimates, [2.5, 97.5])
    return MetricSummary(
        name=name, value=round(float(statistic(data)), 4), low=round(float(low), 4),
        high=round(float(high), 4), n=len(data),
        p95=round(float(np.percentile(data, 95)), 4) if name == "latency_s" else None)
