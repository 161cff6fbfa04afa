"""The reader: from retrieved chunks to a short answer with its evidence, or a decline.

retriever → reader, as in classic open-domain QA: the question is analysed (rag/question.py),
every retrieved sentence ranked by the learned ranker (rag/sentence_ranker.py), answer
candidates of the expected type gathered and scored across sentences and outlets
(rag/candidates.py), and a third fitted model decides whether the articles answer the
question at all — from the reader's evidence (is there a candidate of the wanted type, do the
candidates agree, are the question's own names in the best sentences), not from one
similarity threshold. The short answer is the best candidate, verbatim inside the sentence
that states it; for "what did X announce?" questions it is the best sentence itself.

    >>> reading = read(question, hits, embedder, reference=date(2022, 6, 16))  # doctest: +SKIP
    >>> reading.answerable, reading.short.text                                 # doctest: +SKIP
    (True, 'North Korea')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from newsrag.terminal import counted
from rag.candidates import Candidate, find_candidates
from rag.extractive import pick_extractive
from rag.models import Hit, ReaderCandidate, ReaderCheck
from rag.question import QuestionAnalysis, analyse_question
from rag.sentence_kinds import is_heading, is_question
from rag.sentence_ranker import LogisticModel, RankedSentence, load_weights, rank_sentences

if TYPE_CHECKING:
    from ingest.embed import Embedder

ANSWERABILITY_FEATURES = (
    "best_sentence", "best_candidate", "has_candidate", "wants_phrase",
    "agreement", "coverage_best", "coverage_top3", "relevance", "cosine", "named_question",
    "overlap_best")
# Evidence sentences cited beside the short answer: more outlets saying the same thing.
EVIDENCE_SENTENCES = 2
# Sentences quoted for a question that wants a description ("What will they discuss?").
DESCRIPTION_SENTENCES = 3
_COVERAGE = 10  # index of entity_coverage in the sentence features
_OVERLAP = 1


@dataclass(frozen=True)
class ShortSpan:
    """The short answer inside `sentence`: `sentence.text[start:end]`."""

    sentence: RankedSentence
    start: int
    end: int
    kind: str  # "phrase" | "sentence"

    @property
    def text(self) -> str:
        return self.sentence.text[self.start:self.end]


@dataclass(frozen=True)
class Reading:
    """What the reader found for one question."""

    analysis: QuestionAnalysis
    ranked: list[RankedSentence]
    candidates: list[Candidate]
    answerable: float
    threshold: float
    short: ShortSpan | None
    evidence: list[RankedSentence] = field(default_factory=list)
    reasons: tuple[str, ...] = ()

    @property
    def answers(self) -> bool:
        return self.short is not None and self.answerable >= self.threshold

    def check(self) -> ReaderCheck:
        """The reader's evidence as the Answer reports it."""
        return ReaderCheck(
            answer_type=self.analysis.answer_type,
            candidates=tuple(ReaderCandidate(
                text=c.text, score=round(c.score, 4), sentences=len(c.mentions),
                articles=c.articles) for c in self.candidates[:5]),
            answerable=round(self.answerable, 4), threshold=round(self.threshold, 4),
            reasons=self.reasons)


def read(question: str, hits: Sequence[Hit], embedder: Embedder,
         reference: date | None = None) -> Reading:
    """Rank, find candidates, decide; see the module docstring."""
    analysis = analyse_question(question)
    ranked = rank_sentences(question, hits, embedder, analysis, reference)
    candidates = find_candidates(ranked, analysis)
    model, threshold = load_answerability()
    values = answerability_features(ranked, candidates, analysis)
    probability = model.probability(values) if ranked else 0.0
    short, evidence = _short_answer(ranked, candidates)
    return Reading(analysis, ranked, candidates, probability, threshold, short, evidence,
                   _reasons(analysis, ranked, candidates, probability, threshold))


def answerability_features(ranked: Sequence[RankedSentence], candidates: Sequence[Candidate],
                           analysis: QuestionAnalysis) -> tuple[float, ...]:
    """The ANSWERABILITY_FEATURES, in order. For a question that wants a description the
    best sentence is the candidate (it is the answer), so no candidate is not evidence
    against it."""
    scores = [r.score for r in ranked]
    top = [c.score for c in candidates[:5]]
    if analysis.answer_type == "description" and not top and scores:
        top = [scores[0]]
    coverages = [r.features[_COVERAGE] for r in ranked[:3] if r.features]
    return (
        scores[0] if scores else 0.0, top[0] if top else 0.0, float(bool(top)),
        float(analysis.answer_type != "description"),
        top[0] / sum(top) if top and sum(top) > 0 else 0.0,
        coverages[0] if coverages else 0.0, max(coverages, default=0.0),
        max((r.relevance for r in ranked), default=0.0),
        max((r.similarity for r in ranked), default=0.0),
        float(bool(analysis.entities)),
        ranked[0].features[_OVERLAP] if ranked and ranked[0].features else 0.0,
    )


def _short_answer(ranked: Sequence[RankedSentence], candidates: Sequence[Candidate]
                  ) -> tuple[ShortSpan | None, list[RankedSentence]]:
    """The best candidate in its best sentence (plus other sentences stating it), or the best
    statement sentence whole."""
    if candidates:
        best = candidates[0]
        mention = best.mentions[0]
        others = [m.sentence for m in best.mentions[1:]
                  if m.sentence.hit.article_id != mention.sentence.hit.article_id]
        short = ShortSpan(mention.sentence, mention.start, mention.end, "phrase")
        return short, [mention.sentence, *others[:EVIDENCE_SENTENCES - 1]]
    statements = [r for r in ranked if not is_heading(r.text, r.hit.title)
                  and not is_question(r.text)]
    if not statements:
        return None, []
    # A description needs more than one sentence as often as not: the best statement, and
    # those that score nearly as well, repeat nothing of it and name the question's names as
    # fully (another town's news is not more about this one).
    best_sentence = statements[0]
    coverage = best_sentence.features[_COVERAGE] if best_sentence.features else 0.0
    alike = [best_sentence, *(r for r in statements[1:]
                              if r.features and r.features[_COVERAGE] >= coverage)]
    chosen = pick_extractive(alike, DESCRIPTION_SENTENCES)
    return ShortSpan(chosen[0], 0, len(chosen[0].text), "sentence"), chosen


def _reasons(analysis: QuestionAnalysis, ranked: Sequence[RankedSentence],
             candidates: Sequence[Candidate], probability: float, threshold: float
             ) -> tuple[str, ...]:
    """Plain words for "show checks": why the reader answered or declined."""
    reasons = [f"the question wants a {analysis.answer_type}"
               + (f" (\u201c{analysis.head}\u201d)" if analysis.head else "")]
    if analysis.answer_type != "description":
        reasons.append(f"{counted(len(candidates), 'candidate')} of that type" if candidates
                       else "no candidate of that type in the best sentences")
    if len(candidates) > 1:
        top, second = candidates[0], candidates[1]
        reasons.append(f"best candidate stated in {counted(len(top.mentions), 'sentence')} "
                       f"from {counted(top.articles, 'article')}; "
                       f"next: \u201c{second.text}\u201d")
    if analysis.entities and ranked and ranked[0].features:
        reasons.append(f"the best sentence names {ranked[0].features[_COVERAGE]:.0%} of "
                       f"the question's names ({', '.join(analysis.entities[:4])})")
    verdict = "answered" if probability >= threshold else "declined"
    reasons.append(f"answerability {probability:.2f} against {threshold:.2f}: {verdict}")
    return tuple(reasons)


@lru_cache(maxsize=1)
def load_answerability() -> tuple[LogisticModel, float]:
    """The shipped answerability model and its decline threshold."""
    data = load_weights("ranker_weights.json")["answerability"]
    model = LogisticModel.from_json(data)
    if model.names != ANSWERABILITY_FEATURES:
        raise ValueError("ranker_weights.json was fitted on other answerability features: "
                         "re-run bench/fit_reader.py")
    return model, float(data["threshold"])
