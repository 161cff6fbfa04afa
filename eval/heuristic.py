"""The offline judge: the grounding support scorer's signals, extended for evals.

It reads a whole retrieved context or article, so it first picks the few evidence sentences
closest to the claim (embedding cosine and word coverage), then scores the claim against them
with rag/support.py's features (numbers, names, negation, coverage, similarity) plus date
agreement (months and weekdays must match); a claimed figure or date replaced by another vetoes
support. The logistic weights and threshold are fitted on
WiCE dev and XSum hallucination labels by bench/calibrate_judge.py (eval/judge_weights.json).

    >>> judge = HeuristicJudge(embedder)                                  # doctest: +SKIP
    >>> judge.score([("Talks are on Tuesday.", ["The talks will be held on Tuesday."])])
    [0.8...]
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.errors import ModelError
from rag.support import FEATURE_NAMES, support_features
from rag.text import content_words

if TYPE_CHECKING:
    from ingest.embed import Embedder

WEIGHTS_FILE = "judge_weights.json"
EVIDENCE_SENTENCES = 3  # how many picked sentences a claim is scored against
# Only the sentences sharing most words with the claim are embedded: on 2 cores MiniLM embeds
# ~55 sentences/s, and a retrieved context holds ~50, so embedding all of them would cost ~1 s
# an answer. A paraphrase sharing no word with the claim is lost, and would score low anyway.
CANDIDATES = 8
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_DATE_WORD = re.compile(
    r"\b(" + "|".join(_MONTHS + _WEEKDAYS) + r"|(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov"
    r"|dec)\.)", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r";\s+|,\s+(?:and|but|while|whereas)\s+|\s+but\s+")
DATE_FEATURES = ("date_conflict", "missing_dates")
JUDGE_FEATURES = (*FEATURE_NAMES, *DATE_FEATURES)
# The direction each signal may push a verdict: disagreeing numbers, dates, names or negation
# must never count for support, whatever a fit on few examples suggests (+1 helps, -1 hurts).
HURTS = {"novel_words", "number_conflict", "missing_figures", "missing_years", "missing_names",
         "claim_negation_unmatched", "evidence_negation_unmatched", *DATE_FEATURES}
FEATURE_SIGNS = tuple(-1 if name in HURTS else 1 for name in JUDGE_FEATURES)
# A claimed figure or date replaced by another in the evidence vetoes support: out of fold on
# WiCE and XSum, such pairs are supported 19 % and 3 % of the time, and the veto raises balanced
# accuracy slightly on both (bench/calibrate_judge.py). A negation veto lowered it: not used.
VETOES = ("number_conflict", "date_conflict")
VETO_CAP = 0.9  # a vetoed probability is at most this share of the threshold


def apply_vetoes(probabilities: np.ndarray, features: np.ndarray, threshold: float) -> np.ndarray:
    """Probabilities with every vetoed pair capped below the threshold."""
    columns = [JUDGE_FEATURES.index(name) for name in VETOES]
    vetoed = (features[:, columns] > 0).any(axis=1)
    return np.where(vetoed, np.minimum(probabilities, VETO_CAP * threshold), probabilities)


def dates_in(text: str) -> set[str]:
    """Month and weekday names, abbreviations expanded ('Feb.' is 'february')."""
    found = set()
    for word in _DATE_WORD.findall(text):
        word = word.lower().rstrip(".")
        found.add(next((m for m in _MONTHS if m.startswith(word)), word))
    # "may" is far more often a verb than the month.
    return found - {"may"} if not re.search(r"\bMay\b", text) else found


def date_features(claim: str, evidence: Sequence[str]) -> tuple[float, float]:
    """(conflict, missing): a claimed month or weekday replaced by another, or just absent."""
    wanted = dates_in(claim)
    found = set().union(*(dates_in(s) for s in evidence)) if evidence else set()
    missing = wanted - found
    replaced = any((m in _MONTHS) == (f in _MONTHS) for m in missing for f in found - wanted)
    return float(replaced), min(len(missing) / 2, 1.0)


@dataclass(frozen=True)
class JudgeWeights:
    weights: tuple[float, ...]
    bias: float
    threshold: float
    metadata: dict[str, Any]

    def probability(self, features: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(float(np.dot(self.weights, features)) + self.bias))))


def load_judge_weights(path: Path | None = None) -> JudgeWeights:
    """The fitted weights, by default those packaged beside this module."""
    try:
        text = (path.read_text(encoding="utf-8") if path else
                resources.files("eval").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8"))
        data = json.loads(text)
        if tuple(data["feature_names"]) != JUDGE_FEATURES:
            raise ValueError("fitted for other features: re-run bench/calibrate_judge.py")
        return JudgeWeights(tuple(map(float, data["weights"])), float(data["bias"]),
                            float(data["threshold"]), dict(data.get("metadata", {})))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read judge weights {path or WEIGHTS_FILE}: {exc}") from None


_words = lru_cache(maxsize=65536)(content_words)  # each context sentence meets many claims


@lru_cache(maxsize=4096)
def evidence_sentences(passage: str) -> tuple[str, ...]:
    """A passage's sentences (a cited sentence stays whole)."""
    from ingest.segment import split_sentences

    return tuple(s.text for s in split_sentences(passage)) or (passage,)


class HeuristicJudge:
    """Lexical + embedding support judge; `score` embeds every distinct text once per call."""

    name = "heuristic"

    def __init__(self, embedder: Embedder, atomic: bool = False,
                 weights: JudgeWeights | None = None) -> None:
        self.embedder = embedder
        self.atomic = atomic
        self._weights = weights
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def weights(self) -> JudgeWeights:
        if self._weights is None:
            self._weights = load_judge_weights()
        return self._weights

    @property
    def threshold(self) -> float:
        return self.weights.threshold

    def features(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> np.ndarray:
        """One row of JUDGE_FEATURES per (claim, evidence passages) pair."""
        candidates = [(claim, self.candidates(claim, passages)) for claim, passages in pairs]
        self._embed([t for claim, sentences in candidates for t in (claim, *sentences)])
        rows = []
        for claim, sentences in candidates:
            picked = self.pick_evidence(claim, sentences)
            base = support_features(claim, picked, self._vectors[claim],
                                    [self._vectors[s] for s in picked])
            rows.append(np.concatenate([base.as_vector(), date_features(claim, picked)]))
        return np.asarray(rows, dtype=float).reshape(len(rows), len(JUDGE_FEATURES))

    @staticmethod
    def candidates(claim: str, passages: Sequence[str]) -> list[str]:
        """The CANDIDATES evidence sentences sharing most of the claim's words, in order."""
        sentences = list(dict.fromkeys(s for p in passages for s in evidence_sentences(p)))
        if len(sentences) <= CANDIDATES:
            return sentences
        claim_words = content_words(claim)
        overlap = [-len(claim_words & _words(s)) for s in sentences]
        chosen = np.argsort(overlap, kind="stable")[:CANDIDATES]
        return [sentences[i] for i in sorted(chosen)]

    def score(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        rows = self.features(pairs)
        fitted = np.array([self.weights.probability(row) for row in rows])
        return [float(p) for p in apply_vetoes(fitted, rows, self.threshold)] if len(rows) else []

    def pick_evidence(self, claim: str, sentences: Sequence[str]) -> list[str]:
        """The sentences most like the claim, by cosine and share of its words they hold."""
        unique = list(dict.fromkeys(sentences))
        if len(unique) <= EVIDENCE_SENTENCES:
            return unique
        claim_words = content_words(claim) or {""}
        matrix = np.stack([self._vectors[s] for s in unique])
        cosine = matrix @ self._vectors[claim]
        coverage = np.array([len(claim_words & _words(s)) / len(claim_words)
                             for s in unique])
        order = np.argsort(-(cosine + coverage), kind="stable")[:EVIDENCE_SENTENCES]
        return [unique[i] for i in sorted(order)]  # in reading order

    def evidence_for(self, claim: str, passages: Sequence[str]) -> list[str]:
        """The sentences `score` read for this claim."""
        sentences = self.candidates(claim, passages)
        self._embed([claim, *sentences])
        return self.pick_evidence(claim, sentences)

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        """The sentence itself, or with `atomic` its clauses of four or more words."""
        if not self.atomic:
            return [sentence]
        parts = [p.strip(" ,;.") for p in _CLAUSE_BREAK.split(sentence)]
        claims = [p for p in parts if len(p.split()) >= 4]
        return claims if len(claims) > 1 else [sentence]

    def _embed(self, texts: Sequence[str]) -> None:
        # Sorted by length, so each batch pads little.
        missing = sorted((t for t in dict.fromkeys(texts) if t not in self._vectors), key=len)
        if missing:
            vectors = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32)
            self._vectors.update(zip(missing, vectors, strict=True))
