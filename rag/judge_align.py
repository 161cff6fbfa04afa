"""The default support judge: each atomic fact of a claim against its best evidence window.

No NLI or cross-encoder model can be shipped offline, so the judge aligns instead: it cuts the
claim into facts (clauses, rag/judge_text.py), finds for each fact the evidence sentences that
share most of its words, and scores the fact against each window of one sentence or two
adjacent ones with a logistic regression over word, embedding, name, number, date, negation,
hedging and role signals (rag/judge_features.py). A window whose names, numbers or dates
contradict the fact cannot support it. A fact is as supported as its best window; a claim as
its least supported fact. Nothing compares the claim with the whole source, so the score does
not grow with the length of the source. Weights and both thresholds come from one calibration
(bench/calibrate_judge.py, rag/support_weights.json).

    >>> judge = AlignmentJudge(embedder)                                 # doctest: +SKIP
    >>> judge.score([("Ten people died.",                               # doctest: +SKIP
    ...     ["The blast killed 10 people on Monday."])])
    [0.8...]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from newsrag.errors import ModelError
from rag.judge import JudgeBase, Pair, Span, Verdict
from rag.judge_features import FEATURES, window_features
from rag.judge_text import Analysis, Fact, analyse_sentences, claim_facts, facts_of, merge
from rag.text import content_words

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from rag.services import Services

WEIGHTS_FILE = "support_weights.json"
# Evidence sentences per fact that are parsed and embedded, chosen by shared words: MiniLM
# embeds ~55 sentences/s on 2 cores, spaCy parses a few hundred. A paraphrase sharing no word
# with the fact is not read, and would score low anyway.
CANDIDATES = 4
MIN_SHARED = 0.3  # share of a fact's words a sentence must hold to be read
VETO_CAP = 0.9  # a window with a vetoed conflict scores at most this share of the threshold
VECTOR_CACHE = 8192
RECENT = 4096  # verdicts kept for evidence_for (the eval asks right after scoring)


@dataclass(frozen=True)
class JudgeWeights:
    """A fitted logistic regression over FEATURES, its thresholds and vetoes."""

    weights: tuple[float, ...]
    bias: float
    threshold: float  # balanced accuracy on long sources
    strict_threshold: float  # precision-targeted, for grounding
    vetoes: tuple[str, ...] = ()
    embedder: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(window supports fact) per row, vetoed rows capped below the threshold."""
        p = 1.0 / (1.0 + np.exp(-(rows @ np.asarray(self.weights) + self.bias)))
        if self.vetoes and len(rows):
            vetoed = (rows[:, [FEATURES.index(v) for v in self.vetoes]] > 0).any(axis=1)
            p = np.where(vetoed, np.minimum(p, VETO_CAP * self.threshold), p)
        return p


def load_weights(path: Path | None = None) -> JudgeWeights:
    """The calibrated weights, by default the ones packaged next to this module."""
    try:
        text = (path.read_text(encoding="utf-8") if path is not None
                else resources.files("rag").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8"))
        data = json.loads(text)
        if tuple(data["feature_names"]) != FEATURES:
            raise ValueError("fitted for other features: re-run bench/calibrate_judge.py")
        return JudgeWeights(
            tuple(map(float, data["weights"])), float(data["bias"]), float(data["threshold"]),
            float(data["strict_threshold"]), tuple(data.get("vetoes", ())),
            str(data.get("embedder", "")), dict(data.get("metadata", {})))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read judge weights {path or WEIGHTS_FILE}: {exc}") from None


def save_weights(weights: JudgeWeights, path: Path) -> None:
    payload = {"feature_names": list(FEATURES), "weights": [round(w, 4) for w in weights.weights],
               "bias": round(weights.bias, 4), "threshold": round(weights.threshold, 4),
               "strict_threshold": round(weights.strict_threshold, 4),
               "vetoes": list(weights.vetoes), "embedder": weights.embedder,
               "metadata": dict(weights.metadata)}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


@lru_cache(maxsize=4096)
def passage_sentences(passage: str) -> tuple[str, ...]:
    """A passage's sentences (a single cited sentence stays whole)."""
    from ingest.segment import split_sentences

    return tuple(s.text for s in split_sentences(passage)) or (passage,)


_words = lru_cache(maxsize=65536)(content_words)  # each context sentence meets many claims


@dataclass(frozen=True)
class Alignment:
    """A claim's facts, and for each its candidate windows and their feature rows."""

    facts: tuple[Fact, ...]
    sentences: tuple[str, ...]
    windows: tuple[tuple[tuple[int, ...], ...], ...]  # per fact: sentence indices per window
    rows: tuple[np.ndarray, ...]  # per fact: one row of FEATURES per window


def best_sentences(fact: Analysis, sentences: Sequence[str]) -> list[int]:
    """Up to CANDIDATES sentences sharing most of the fact's words, in reading order; one
    sharing less than MIN_SHARED of them is not read (unless nothing shares more), one
    sharing none never is."""
    overlap = [len(fact.words & _words(s)) for s in sentences]
    order = np.argsort([-o for o in overlap], kind="stable")[:CANDIDATES].tolist()
    floor = MIN_SHARED * len(fact.words)
    return sorted(i for rank, i in enumerate(order)
                  if overlap[i] and (rank == 0 or overlap[i] >= floor))


def candidate_windows(fact: Analysis, best: Sequence[int],
                      sentences: Sequence[str]) -> list[tuple[int, ...]]:
    """Each best sentence alone, and with each neighbour unless it holds all the fact's words
    already (a neighbour can then only add conflicts); and the best sentence with the one
    that holds most of the words it lacks, wherever that is (sources often state a fact's
    parts in two places)."""
    windows: dict[tuple[int, ...], None] = {}
    for i in best:
        windows[(i,)] = None
        if fact.words <= _words(sentences[i]):
            continue
        windows.update({w: None for w in ((i - 1, i), (i, i + 1)) if min(w) >= 0
                        and max(w) < len(sentences)})
    if len(best) > 1:
        top = max(best, key=lambda i: len(fact.words & _words(sentences[i])))
        lacking = fact.words - _words(sentences[top])
        gain, other = max((len(lacking & _words(sentences[j])), j) for j in best if j != top)
        if gain:
            windows[(min(top, other), max(top, other))] = None
    return list(windows)


def _cosine(vector: np.ndarray, texts: Sequence[str], vectors: dict[str, np.ndarray]) -> float:
    """The best of the window's embedded sentences (its neighbours are not embedded)."""
    return max((float(vectors[t] @ vector) for t in texts if t in vectors), default=0.0)


class AlignmentJudge(JudgeBase):
    """Fact-by-fact evidence alignment (see the module docstring); `heuristic` by name."""

    name = "heuristic"

    def __init__(self, embedder: Embedder, weights: JudgeWeights | None = None,
                 atomic: bool = False) -> None:
        self.embedder = embedder
        self.atomic = atomic  # evals: report each fact as its own claim
        self._weights = weights
        self._vectors: dict[str, np.ndarray] = {}
        self._embedding = threading.Lock()
        self._recent: dict[tuple[str, tuple[str, ...]], Verdict] = {}

    @property
    def weights(self) -> JudgeWeights:
        if self._weights is None:
            self._weights = load_weights()
        return self._weights

    @property
    def threshold(self) -> float:  # type: ignore[override]
        return self.weights.threshold

    @property
    def strict_threshold(self) -> float:
        return self.weights.strict_threshold

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        if not self.atomic:
            return [sentence]
        return [f.text for f in claim_facts(sentence)] or [sentence]

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        return [v.probability for v in self.verdicts(pairs)]

    def verdicts(self, pairs: Sequence[Pair]) -> list[Verdict]:
        verdicts = [self._verdict(a) for a in self.align(pairs)]
        if len(self._recent) > RECENT:
            self._recent.clear()
        self._recent.update({(claim, tuple(evidence)): v
                             for (claim, evidence), v in zip(pairs, verdicts, strict=True)})
        return verdicts

    def evidence_for(self, claim: str, passages: Sequence[str]) -> list[str]:
        """The evidence sentences that support each fact of the claim best (as last judged)."""
        verdict = self._recent.get((claim, tuple(passages)))
        if verdict is None:
            [verdict] = self.verdicts([(claim, passages)])
        return list(dict.fromkeys(s for span in verdict.spans for s in span.evidence))

    def _verdict(self, alignment: Alignment) -> Verdict:
        spans = []
        for fact, windows, rows in zip(alignment.facts, alignment.windows, alignment.rows,
                                       strict=True):
            p = self.weights.probabilities(rows) if len(rows) else np.zeros(1)
            best = int(np.argmax(p))
            evidence = tuple(alignment.sentences[i] for i in windows[best]) if windows else ()
            spans.append(Span(fact.text, evidence, round(float(p[best]), 4)))
        probability = min((s.probability for s in spans), default=0.0)
        return Verdict(probability, probability >= self.threshold, tuple(spans))

    def align(self, pairs: Sequence[Pair]) -> list[Alignment]:
        """Facts, candidate windows and feature rows per pair; one parse and one embedding
        batch for all of them."""
        plans = []
        embedded: dict[str, None] = {}
        all_facts = facts_of([claim for claim, _ in pairs])
        for (_, evidence), parsed in zip(pairs, all_facts, strict=True):
            sentences = tuple(dict.fromkeys(
                s for passage in evidence if passage.strip() for s in passage_sentences(passage)))
            facts = parsed if sentences else ()
            best = [best_sentences(f.analysis, sentences) for f in facts]
            embedded.update((sentences[i], None) for b in best for i in b)
            plans.append((facts, sentences, [candidate_windows(f.analysis, b, sentences)
                                             for f, b in zip(facts, best, strict=True)]))
        needed = list(dict.fromkeys(s[i] for facts, s, windows in plans for w in windows
                                    for window in w for i in window))
        analyses = dict(zip(needed, analyse_sentences(needed), strict=True))
        # Only the best sentences are embedded (the embedder is the slow part); a window's
        # neighbour adds its words, names and numbers, not its vector.
        vectors = self._embed([f.text for facts, _, _ in plans for f in facts] + list(embedded))
        return [self._rows(facts, sentences, windows, analyses, vectors)
                for facts, sentences, windows in plans]

    def _rows(self, facts: Sequence[Fact], sentences: tuple[str, ...],
              windows: list[list[tuple[int, ...]]], analyses: dict[str, Analysis],
              vectors: dict[str, np.ndarray]) -> Alignment:
        rows = []
        source_words = frozenset().union(*(_words(s) for s in sentences))
        for fact, fact_windows in zip(facts, windows, strict=True):
            vector = vectors[fact.text]
            rows.append(np.array([window_features(
                fact.analysis, merge([analyses[sentences[i]] for i in window]),
                _cosine(vector, [sentences[i] for i in window], vectors), len(window) == 2,
                source_words)
                for window in fact_windows]).reshape(len(fact_windows), len(FEATURES)))
        return Alignment(tuple(facts), sentences, tuple(tuple(w) for w in windows), tuple(rows))

    def _embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors of texts, cached: grounding meets the same sources for every sentence."""
        wanted = list(dict.fromkeys(texts))
        with self._embedding:
            if len(self._vectors) + len(wanted) > VECTOR_CACHE:
                self._vectors.clear()
            # Sorted by length, so each batch pads little.
            missing = sorted((t for t in wanted if t not in self._vectors), key=len)
            if missing:
                vectors = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32)
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                self._vectors.update(zip(missing, vectors / np.where(norms == 0, 1, norms),
                                         strict=True))
            return {t: self._vectors[t] for t in wanted}


def judge_from_services(services: Services) -> AlignmentJudge:
    """The "heuristic" judge: evidence alignment on the services' embedder."""
    return AlignmentJudge(services.index.embedder, atomic=services.settings.eval.atomic_claims)
