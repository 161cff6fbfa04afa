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
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from eval.models import MetricSummary

# Report order; the direction says which way is better (for --fail-under / --fail-over).
HIGHER_IS_BETTER = ("faithfulness", "citation_recall", "citation_precision",
                    "contains_reference", "token_f1", "judged_correctness",
                    "short_exact_match", "short_token_f1", "short_answered", "hit_at_1",
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


def exact_match(prediction: str, reference: str) -> float:
    """SQuAD exact match: equal after `normalize`."""
    return float(bool(normalize(reference)) and normalize(prediction) == normalize(reference))


# Possessive endings go before anything else ("University's" holds "University"); a number's
# thousands separator goes, its decimal point stays ("2.4 billion" is not "24 billion").
_POSSESSIVE = re.compile(r"(?<=\w)['’‘ʼ]s?\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")  # "U.S." is "US"
_PERCENT = re.compile(r"\s*%")  # "49%" is "49 percent", and never the 49 of "49-year-old"
# A decimal number, or a run of letters and digits ("118th" is not "118").
_MATCH_WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_PLURAL_ES = ("sses", "ches", "shes", "xes", "zes")
_NOT_PLURAL = ("ss", "us", "is")
_SINGULAR_S = {"news", "series", "species", "means", "politics", "economics", "physics"}


def _singular(word: str) -> str:
    """A regular plural's singular; short words, -ss/-us/-is words and a few singular -s
    nouns are left alone ("bus", "press", "news" are not plurals). Both sides go through it,
    so a name ending in s ("Wales") only ever meets its own stem."""
    if (len(word) <= 3 or not word.endswith("s") or word.endswith(_NOT_PLURAL)
            or word in _SINGULAR_S):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_PLURAL_ES):
        return word[:-2]
    return word[:-1]


def match_words(text: str) -> list[str]:
    """Words for containment: lower case, no accents, no possessive 's, no articles,
    hyphens and dashes as spaces, regular plurals as singulars, "1,000" as "1000", "U.S." as
    "us", "%" as "percent".

    >>> match_words("Northeastern University’s 30-day plans cost $1,200.50")
    ['northeastern', 'university', '30', 'day', 'plan', 'cost', '1200.50']
    """
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                    if not unicodedata.combining(ch)).lower()
    plain = _THOUSANDS.sub("", _POSSESSIVE.sub("", plain))
    plain = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), plain)
    plain = _PERCENT.sub(" percent", plain)
    return [_singular(w) for w in _MATCH_WORD.findall(plain) if w not in {"a", "an", "the"}]


def contains_reference(answer: str, references: Sequence[str]) -> bool:
    """Some reference appears in the answer as a run of whole words, after `match_words`:
    "Northeastern University’s law school" contains "Northeastern University", "a 30-day
    truce" contains "30 days", but "Northeastern" does not contain "Northeastern University"
    nor "South Korea" "North Korea"."""
    plain = f" {' '.join(match_words(answer))} "
    for reference in references:
        wanted = " ".join(match_words(reference))
        if wanted and f" {wanted} " in plain:
            return True
    return False


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
