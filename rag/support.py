"""Support scoring: do these source sentences support this answer sentence?

No NLI or cross-encoder model can be shipped offline, so the judge is a logistic regression over
lexical signals (coverage of the claim's words, numbers and names; negation) and embedding
similarity. Its weights are fitted on WiCE claim-support labels (plus corruptions of its
supported claims) by `bench/calibrate_support.py` and shipped as `support_weights.json`.
Known blind spots: a claim that copies its source but flips a negation or swaps one name still
scores near the threshold; paraphrase with few shared words scores low.

    >>> from ingest.embed import make_embedder
    >>> from newsrag.settings import EmbeddingSettings
    >>> scorer = SupportScorer(make_embedder(EmbeddingSettings()))
    >>> p = scorer.score("Ten people were killed.", ["The blast killed 10 people on Monday."])
    >>> scorer.supported(p)
    True
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.errors import ModelError
from rag.text import content_words

if TYPE_CHECKING:
    from ingest.embed import Embedder

log = logging.getLogger(__name__)

Vector = Sequence[float] | np.ndarray
WEIGHTS_FILE = "support_weights.json"
CACHE_SIZE = 4096  # embedded texts kept; ~1.5 MB at 384 dimensions
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(million|billion|thousand|bn|m)\b)?",
    re.IGNORECASE)
_SCALES = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
_UNITS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
    "fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLED = {w: i + 1 for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SPELLED_NUMBER = re.compile(
    rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[:9])})\b|\b({'|'.join(_SPELLED)})\b",
    re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|never|none|nobody|nothing|neither|nor|cannot|without|no(?!\.))\b|n't\b",
    re.IGNORECASE)
_NAME = re.compile(r"[A-Z][\w'’.-]*")


@dataclass(frozen=True)
class SupportFeatures:
    """Signals for "evidence supports claim"; each in [0, 1]. Field order is the model's order."""

    word_coverage: float  # share of the claim's content words found in the evidence
    best_sentence_coverage: float  # the same, for the single best-covering evidence sentence
    novel_words: float  # claim content words absent from the evidence, /10, capped at 1
    number_coverage: float  # share of the claim's numbers found (1 when it has none)
    number_conflict: float  # 1 when a claim number is missing and the evidence has another
    missing_figures: float  # claim numbers other than years absent from the evidence, /2, cap 1
    missing_years: float  # apart: sources often leave the year to their dateline
    name_coverage: float  # share of the claim's capitalised names found (1 when it has none)
    missing_names: float  # claim names absent from the evidence, /2, capped at 1
    claim_negation_unmatched: float  # 1 when the claim is negated and no evidence sentence is
    evidence_negation_unmatched: float  # 1 when the closest evidence sentence is, the claim not
    max_cosine: float  # best claim-sentence embedding similarity, clipped at 0
    centroid_cosine: float  # claim vs. the normalised sum of the evidence vectors

    def as_vector(self) -> np.ndarray:
        return np.asarray(astuple(self), dtype=float)


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SupportFeatures))


@dataclass(frozen=True)
class SupportWeights:
    """A fitted logistic regression over SupportFeatures, with how it was fitted."""

    feature_names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    embedder: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # A higher bar for grounding generated text, where a wrongly kept sentence costs more
    # than a dropped one (the answer falls back to quoting): precision-targeted on WiCE.
    strict_threshold: float | None = None

    def probability(self, features: SupportFeatures) -> float:
        logit = float(np.dot(self.weights, features.as_vector())) + self.bias
        return float(1.0 / (1.0 + np.exp(-logit)))


def load_weights(path: Path | None = None) -> SupportWeights:
    """The calibrated weights, by default the ones packaged next to this module.

    >>> load_weights().feature_names == FEATURE_NAMES
    True
    """
    try:
        text = (path.read_text(encoding="utf-8") if path is not None
                else resources.files(__package__ or "rag").joinpath(WEIGHTS_FILE).read_text())
        data = json.loads(text)
        weights = SupportWeights(
            feature_names=tuple(data["feature_names"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]), threshold=float(data["threshold"]),
            embedder=str(data["embedder"]), metadata=data.get("metadata", {}),
            strict_threshold=data.get("strict_threshold"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read support weights {path or WEIGHTS_FILE}: {exc}") from None
    if weights.feature_names != FEATURE_NAMES or len(weights.weights) != len(FEATURE_NAMES):
        raise ModelError(
            f"support weights are for features {list(weights.feature_names)}, this version "
            f"computes {list(FEATURE_NAMES)}: re-run bench/calibrate_support.py")
    return weights


def save_weights(weights: SupportWeights, path: Path) -> None:
    payload = {"feature_names": list(weights.feature_names), "weights": list(weights.weights),
               "bias": weights.bias, "threshold": weights.threshold,
               "strict_threshold": weights.strict_threshold,
               "embedder": weights.embedder, "metadata": dict(weights.metadata)}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def numbers_in(text: str, *, lenient: bool = False) -> set[str]:
    """Numbers in canonical form: '1,000' and '1000' meet, '1.2 million' is 1200000.

    `lenient` (for evidence) also keeps each number without its scale word and reads "one",
    which in a claim is more often a pronoun than a count.
    """
    found: set[str] = set()
    for digits, scale in _NUMBER.findall(text):
        value = float(digits.replace(",", ""))
        found.add(_canonical(value * _SCALES.get(scale.lower(), 1.0)))
        if lenient:
            found.add(_canonical(value))
    for tens, unit, single in _SPELLED_NUMBER.findall(text):
        if single.lower() == "one" and not lenient:
            continue
        value = _SPELLED[tens.lower()] + _SPELLED[unit.lower()] if tens else _SPELLED[
            single.lower()]
        found.add(_canonical(value))
    return found


def _years(numbers: set[str]) -> set[str]:
    return {n for n in numbers if n.isdigit() and 1000 <= int(n) <= 2100}


def _figures(numbers: set[str]) -> set[str]:
    return numbers - _years(numbers)


def _canonical(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def names_in(text: str) -> set[str]:
    """Stemmed capitalised words, except at the start of a sentence and stopwords ('The')."""
    names: set[str] = set()
    for match in _NAME.finditer(text):
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?":
            continue
        names |= content_words(match.group())
    return names


def _coverage(needed: set[str], found: set[str]) -> float:
    return len(needed & found) / len(needed) if needed else 1.0


def support_features(claim: str, evidence: Sequence[str], claim_vec: Vector,
                     evidence_vecs: Sequence[Vector]) -> SupportFeatures:
    """The features of one (claim, evidence sentences) pair, given their unit embeddings.

    >>> support_features("It rained.", ["Rain fell."], [1.0, 0.0], [[0.8, 0.6]]).max_cosine
    0.8
    """
    claim_words = content_words(claim)
    sentence_words = [content_words(s) for s in evidence]
    union = set().union(*sentence_words)
    claim_names = names_in(claim)
    cosines, centroid_cosine = _cosines(claim_vec, evidence_vecs)
    closest = evidence[int(np.argmax(cosines))] if evidence else ""
    claim_negated = bool(_NEGATION.search(claim))
    return SupportFeatures(
        word_coverage=_coverage(claim_words, union),
        best_sentence_coverage=max((_coverage(claim_words, w) for w in sentence_words),
                                   default=0.0),
        novel_words=min(len(claim_words - union) / 10, 1.0),
        **_number_features(claim, evidence),
        name_coverage=_coverage(claim_names, union),
        missing_names=min(len(claim_names - union) / 2, 1.0),
        claim_negation_unmatched=float(
            claim_negated and not any(_NEGATION.search(s) for s in evidence)),
        evidence_negation_unmatched=float(not claim_negated and bool(_NEGATION.search(closest))),
        max_cosine=float(cosines.max(initial=0.0)),
        centroid_cosine=centroid_cosine,
    )


def _number_features(claim: str, evidence: Sequence[str]) -> dict[str, float]:
    wanted = numbers_in(claim)
    found = set().union(*(numbers_in(s, lenient=True) for s in evidence))
    missing, extra = wanted - found, found - wanted
    # "killed 12" against "killed 21": a number replaced by another of its kind contradicts,
    # where a number merely absent may just be context the source left out.
    replaced = (_figures(missing) and _figures(extra)) or (_years(missing) and _years(extra))
    return {"number_coverage": _coverage(wanted, found), "number_conflict": float(bool(replaced)),
            "missing_figures": min(len(_figures(missing)) / 2, 1.0),
            "missing_years": min(len(_years(missing)) / 2, 1.0)}


def _cosines(claim_vec: Vector, evidence_vecs: Sequence[Vector]) -> tuple[np.ndarray, float]:
    """Per-sentence cosines and the centroid cosine, negatives clipped to 0 (no support)."""
    if len(evidence_vecs) == 0:
        return np.zeros(0), 0.0
    claim = np.asarray(claim_vec, dtype=float)
    matrix = np.asarray(evidence_vecs, dtype=float)
    centroid = matrix.sum(axis=0)
    norm = float(np.linalg.norm(centroid)) or 1.0
    return np.clip(matrix @ claim, 0.0, 1.0), float(np.clip(centroid @ claim / norm, 0.0, 1.0))


class SupportScorer:
    """Probability that evidence sentences fully support a claim, calibrated on WiCE.

    The cosine features are calibrated for the embedder named in the weights file; another
    embedder works but its scores are not calibrated (a warning says so).

        >>> scorer = SupportScorer(embedder)
        >>> scorer.score_many([("Ten people died.", ["Ten people died in the blast."])])
        [0.9...]
    """

    def __init__(self, embedder: Embedder, weights: SupportWeights | None = None,
                 strict: bool = False) -> None:
        self.embedder = embedder
        self._weights = weights
        self._checked = False
        self.strict = strict
        self._vectors: dict[str, Vector] = {}

    @property
    def weights(self) -> SupportWeights:
        """Given ones, or the packaged ones, read on first use."""
        if self._weights is None:
            self._weights = load_weights()
        if not self._checked and self._weights.embedder != self.embedder.name:
            log.warning("support weights were calibrated for %s, not %s",
                        self._weights.embedder, self.embedder.name)
        self._checked = True
        return self._weights

    def score(self, claim: str, evidence: Sequence[str]) -> float:
        return self.score_many([(claim, evidence)])[0]

    def score_many(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        """One probability per (claim, evidence sentences) pair; one embedding call in all."""
        return [self.weights.probability(f) for f in self.features_many(pairs)]

    def features_many(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[SupportFeatures]:
        """The features behind score_many, each distinct text embedded once."""
        texts = list(dict.fromkeys(t for claim, evidence in pairs for t in (claim, *evidence)))
        vectors = self._embed(texts)
        return [support_features(claim, evidence, vectors[claim], [vectors[s] for s in evidence])
                for claim, evidence in pairs]

    def _embed(self, texts: Sequence[str]) -> dict[str, Vector]:
        """Vectors for texts, cached: grounding scores every generated sentence against the
        same few source sentences."""
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            if len(self._vectors) > CACHE_SIZE:
                self._vectors.clear()
            self._vectors.update(zip(missing, self.embedder.embed_documents(missing),
                                     strict=True))
        return {t: self._vectors[t] for t in texts}

    def supported(self, probability: float) -> bool:
        """Over the balanced-accuracy threshold, or the precision-targeted one if strict."""
        weights = self.weights
        strict = weights.strict_threshold if self.strict else None
        return probability >= (weights.threshold if strict is None else strict)


def fit_logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1.0,
                 iterations: int = 50, groups: np.ndarray | None = None
                 ) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method; returns (weights, bias).

    Classes are weighted to balance, so p = 0.5 means even odds whatever mix of pairs the
    calibration happened to build; the bias is not penalised. With `groups` (e.g. which data
    set a pair comes from) every group weighs the same, balanced within itself.
    """
    x = np.hstack([features, np.ones((len(features), 1))])
    groups = np.zeros(len(labels), dtype=int) if groups is None else groups
    sample_weight = np.zeros(len(labels))
    for group in np.unique(groups):
        member = groups == group
        positive = labels[member].mean()
        sample_weight[member] = np.where(labels[member] == 1, 0.5 / positive,
                                         0.5 / (1 - positive)) * len(labels) / (
            member.sum() * len(np.unique(groups)))
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (sample_weight * (p - labels)) + penalty * beta
        hessian = (x.T * (sample_weight * p * (1 - p))) @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])
