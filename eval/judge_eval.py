"""Measuring a judge against human labels: balanced accuracy, F1 of "unsupported", ROC-AUC.

Labelled JSONL, one example a line: `claim`, `sources` (evidence texts), `label` (true/1/
"supported" = the sources support the claim; anything else not). WiCE's and XSum's own files
are read as they are: WiCE claim + its cited page's sentences (partially supported counts as
unsupported); XSum summary + its BBC article (supported = not majority-hallucinated).

    >>> examples = load_labelled("../shared/data/wice-dev/wice_claim_dev.jsonl")  # doctest: +SKIP
    >>> measure_judge(judge, examples).balanced_accuracy                          # doctest: +SKIP
    0.7...
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.dataset import read_jsonl
from eval.judges import Judge
from newsrag.errors import EvalError
from rag.text import STOPWORDS

_WORD = re.compile(r"[^\W_]+")
_YES = {"1", "true", "yes", "supported", "entailment", "faithful", "factual", "consistent"}


@dataclass(frozen=True)
class LabelledExample:
    claim: str
    sources: tuple[str, ...]
    supported: bool
    kind: str  # the original label, for per-class figures
    group: str = ""  # examples sharing a source (one article, one claim): CV folds keep them


@dataclass(frozen=True)
class JudgeReport:
    judge: str
    data: str
    n: int
    balanced_accuracy: float
    f1_unsupported: float
    roc_auc: float
    threshold: float
    best_threshold: float  # the balanced-accuracy optimum on this very data (optimistic)
    best_balanced_accuracy: float
    judged_supported: dict[str, float] = field(default_factory=dict)  # per original label


def _wice(row: dict[str, Any], number: int) -> LabelledExample:
    label = str(row["label"])
    return LabelledExample(row["claim"], tuple(row["evidence_sentences"]),
                           label == "supported", label, f"wice-{number}")


def truecase(text: str, source: str) -> str:
    """Lower-cased text with each word cased as it most often is in its source: XSum ships its
    summaries lower-cased, and a judge reads names by their capitals.

    >>> truecase("putin met trump in the us.", "Putin met Trump. The US said so.")
    'Putin met Trump in the US.'
    """
    counts: dict[str, Counter[str]] = {}
    for match in _WORD.finditer(source):
        word = match.group()
        before = source[:match.start()].rstrip()[-1:]
        # A sentence's first word is capitalised anyway: it counts little, "The" not at all.
        initial = not before or before in ".!?\"“'‘\n"
        if not (initial and word.lower() in STOPWORDS):
            counts.setdefault(word.lower(), Counter())[word] += 1 if initial else 100
    cased = _WORD.sub(lambda m: counts[m.group().lower()].most_common(1)[0][0]
                      if m.group().lower() in counts else m.group(), text)
    return cased[:1].upper() + cased[1:]


def _xsum(row: dict[str, Any], number: int) -> LabelledExample:
    hallucinated = bool(row["majority_hallucinated"])
    summary = row["summary"]
    if summary == summary.lower():
        summary = truecase(summary, row["document"] or "")
    return LabelledExample(summary, (row["document"],), not hallucinated,
                           "hallucinated" if hallucinated else "faithful",
                           f"xsum-{row.get('bbcid', number)}")


def _generic(row: dict[str, Any], number: int) -> LabelledExample:
    sources = row["sources"]
    sources = [sources] if isinstance(sources, str) else sources
    label = str(row["label"]).strip().lower()
    return LabelledExample(str(row["claim"]), tuple(map(str, sources)), label in _YES, label,
                           str(row.get("group", number)))


def _reader(row: dict[str, Any]) -> Callable[[dict[str, Any], int], LabelledExample]:
    if "evidence_sentences" in row:
        return _wice
    if "majority_hallucinated" in row:
        return _xsum
    return _generic


def load_labelled(path: str | Path, limit: int | None = None) -> list[LabelledExample]:
    """Examples from our labelled JSONL, WiCE's claim file or XSum's hallucination file."""
    path = Path(path)
    examples: list[LabelledExample] = []
    for number, row in read_jsonl(path):
        if limit is not None and len(examples) >= limit:
            break
        try:
            example = _reader(row)(row, number)
        except (KeyError, TypeError) as exc:
            raise EvalError(f"{path}:{number}: not a labelled example (needs claim, sources, "
                            f"label): missing {exc}") from None
        if example.claim.strip() and any(s and s.strip() for s in example.sources):
            examples.append(example)  # XSum has a few rows without their article
    if not examples:
        raise EvalError(f"{path} holds no labelled examples")
    return examples


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half; nan when one class is absent."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def balanced_accuracy(scores: np.ndarray, positive: np.ndarray, threshold: float) -> float:
    said = scores >= threshold
    rates = [float(said[positive].mean()) if positive.any() else np.nan,
             float((~said[~positive]).mean()) if (~positive).any() else np.nan]
    return float(np.nanmean(rates))


def f1_unsupported(scores: np.ndarray, positive: np.ndarray, threshold: float) -> float:
    """F1 of the "unsupported" class (RAGTruth/LettuceDetect report the hallucination class)."""
    flagged, unsupported = scores < threshold, ~positive
    caught = float((flagged & unsupported).sum())
    if not caught:
        return 0.0
    precision, recall = caught / flagged.sum(), caught / unsupported.sum()
    return float(2 * precision * recall / (precision + recall))


def best_threshold(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """The threshold (among the scores) with the highest balanced accuracy, and that accuracy."""
    candidates = np.unique(scores)
    accuracies = [balanced_accuracy(scores, positive, t) for t in candidates]
    best = int(np.argmax(accuracies))
    return float(candidates[best]), float(accuracies[best])


def measure_scores(scores: Sequence[float], examples: Sequence[LabelledExample],
                   threshold: float, judge: str, data: str) -> JudgeReport:
    """The report for scores already computed (the calibration reuses it on CV scores)."""
    values = np.asarray(scores, dtype=float)
    positive = np.array([e.supported for e in examples])
    best, best_accuracy = best_threshold(values, positive)
    kinds = sorted({e.kind for e in examples})
    said = values >= threshold
    return JudgeReport(
        judge=judge, data=data, n=len(examples),
        balanced_accuracy=balanced_accuracy(values, positive, threshold),
        f1_unsupported=f1_unsupported(values, positive, threshold),
        roc_auc=roc_auc(values, positive), threshold=threshold, best_threshold=best,
        best_balanced_accuracy=best_accuracy,
        judged_supported={k: float(said[[e.kind == k for e in examples]].mean()) for k in kinds})


def measure_judge(judge: Judge, examples: Sequence[LabelledExample], data: str = "",
                  batch: int = 64, on_batch: Callable[[int], None] | None = None) -> JudgeReport:
    """Score every example with the judge and compare with the labels."""
    scores: list[float] = []
    for start in range(0, len(examples), batch):
        chunk = examples[start:start + batch]
        scores += judge.score([(e.claim, e.sources) for e in chunk])
        if on_batch:
            on_batch(len(chunk))
    return measure_scores(scores, examples, judge.threshold, judge.name, data)
