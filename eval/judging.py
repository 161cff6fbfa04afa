"""Judging answers: claims against the retrieved context (RAGAS faithfulness) and each
sentence against its citations (ALCE recall and precision), every pair in one judge batch.

    >>> results = judge_answers([(case, answer)], judge)            # doctest: +SKIP
    >>> results[0].metrics["faithfulness"]                          # doctest: +SKIP
    1.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.judges import Judge, Pair
from eval.metrics import (
    METRICS,
    citation_precision_flags,
    contains_reference,
    exact_match,
    hit_at,
    is_gold,
    mean,
    mrr_at_10,
    ranked_articles,
    token_f1,
)
from eval.models import (
    CaseResult,
    ClaimVerdict,
    EvalCase,
    SentenceResult,
    SentenceUnderTest,
    SystemAnswer,
)
from rag.grounding import MARKER_PATTERN

BATCH = 256  # pairs per judge call: bounded memory, one progress step each


@dataclass
class _Pairs:
    """Pairs to judge, collected over all answers; slots point back into `pairs`."""

    pairs: list[Pair] = field(default_factory=list)

    def add(self, claim: str, evidence: Sequence[str]) -> int:
        self.pairs.append((claim, tuple(evidence)))
        return len(self.pairs) - 1


@dataclass
class _SentencePlan:
    sentence: SentenceUnderTest
    claims: list[tuple[str, int]]  # claim, slot against the context
    joint: int | None = None  # slot: the sentence against all its citations
    single: list[int] = field(default_factory=list)
    without: list[int] = field(default_factory=list)


def _context(answer: SystemAnswer) -> list[str]:
    """What faithfulness is judged against: the retrieved passages, else the cited texts."""
    texts = [c.text for c in answer.contexts] or [
        c.text for s in answer.sentences for c in s.citations]
    return list(dict.fromkeys(texts))


def _plan_sentence(sentence: SentenceUnderTest, question: str, context: list[str],
                   judge: Judge, pairs: _Pairs) -> _SentencePlan:
    claims = [(c, pairs.add(c, context)) for c in judge.split_claims(sentence.text, question)]
    plan = _SentencePlan(sentence, claims)
    cited = [c.text for c in sentence.citations]
    if cited:
        plan.joint = pairs.add(sentence.text, cited)
    if len(cited) > 1:
        plan.single = [pairs.add(sentence.text, [text]) for text in cited]
        plan.without = [pairs.add(sentence.text, cited[:i] + cited[i + 1:])
                        for i in range(len(cited))]
    return plan


def _sentence_result(plan: _SentencePlan, scores: list[float], judge: Judge,
                     context: list[str]) -> SentenceResult:
    said = [s >= judge.threshold for s in scores]
    read = getattr(judge, "evidence_for", None)  # a judge that picks sentences says which
    verdicts = tuple(ClaimVerdict(claim=claim, support=round(scores[slot], 4),
                                  supported=said[slot],
                                  evidence=tuple(read(claim, context)) if read else ())
                     for claim, slot in plan.claims)
    if plan.joint is None:
        return SentenceResult(text=plan.sentence.text, claims=verdicts,
                              citations_support=False if plan.sentence.text else None)
    joint = said[plan.joint]
    single = [said[i] for i in plan.single] or [joint]
    without = [said[i] for i in plan.without] or [False]
    return SentenceResult(text=plan.sentence.text, claims=verdicts, citations_support=joint,
                          citations_relevant=tuple(citation_precision_flags(joint, single,
                                                                            without)))


def _answer_metrics(case: EvalCase, answer: SystemAnswer,
                    sentences: Sequence[SentenceResult],
                    correctness: float | None) -> dict[str, float | None]:
    answered = not answer.refused and bool(sentences)
    claims = [v.supported for s in sentences for v in s.claims]
    relevant = [flag for s in sentences for flag in s.citations_relevant]
    references = case.reference_answers if case.answerable else ()
    text = MARKER_PATTERN.sub("", answer.answer) if answered else ""
    gold = set(case.gold_article_ids)
    articles = ranked_articles([c.article_id for c in answer.contexts])
    retrieval = bool(gold) and bool(articles)
    cites_gold = any(is_gold(c.article_id, gold) for s in answer.sentences for c in s.citations)
    metrics = {
        "faithfulness": mean(claims) if answered else None,
        "citation_recall": mean([bool(s.citations_support) for s in sentences])
        if answered else None,
        "citation_precision": mean(relevant) if answered and relevant else None,
        "contains_reference": float(contains_reference(text, references)) if references
        else None,
        "token_f1": max(token_f1(text, r) for r in references) if references else None,
        "judged_correctness": (correctness if answered else 0.0) if references else None,
        "hit_at_1": hit_at(articles, gold, 1) if retrieval else None,
        "hit_at_5": hit_at(articles, gold, 5) if retrieval else None,
        "hit_at_10": hit_at(articles, gold, 10) if retrieval else None,
        "mrr_at_10": mrr_at_10(articles, gold) if retrieval else None,
        "cites_gold": float(answered and cites_gold) if gold else None,
        "correct_refusal": None if case.answerable else float(answer.refused),
        "wrong_refusal": float(answer.refused) if case.answerable else None,
        "latency_s": answer.latency_s,
        **_short_answer_metrics(answer, references),
    }
    return {name: metrics[name] for name in METRICS}  # report order


def _short_answer_metrics(answer: SystemAnswer,
                          references: Sequence[str]) -> dict[str, float | None]:
    """SQuAD exact match and token F1 of the short answer (best reference); a refusal or an
    answer without a short answer scores 0 on both, and `short_answered` says how often
    there was one."""
    if not references:
        return {"short_exact_match": None, "short_token_f1": None, "short_answered": None}
    short = None if answer.refused else answer.short_answer
    if not short:
        return {"short_exact_match": 0.0, "short_token_f1": 0.0, "short_answered": 0.0}
    return {"short_exact_match": max(exact_match(short, r) for r in references),
            "short_token_f1": max(token_f1(short, r) for r in references),
            "short_answered": 1.0}


def judge_answers(items: Sequence[tuple[EvalCase, SystemAnswer]], judge: Judge,
                  on_progress: Callable[[int, int], None] | None = None) -> list[CaseResult]:
    """Judge every answer; `on_progress(done, total)` after each batch of pairs."""
    pairs = _Pairs()
    plans = []
    for case, answer in items:
        context = _context(answer)
        planned = [] if answer.refused else [
            _plan_sentence(s, case.question, context, judge, pairs) for s in answer.sentences]
        correct = [pairs.add(r, [answer.answer]) for r in case.reference_answers
                   if case.answerable and not answer.refused]
        plans.append((case, answer, context, planned, correct))
    scores: list[float] = []
    for start in range(0, len(pairs.pairs), BATCH):
        scores += judge.score(pairs.pairs[start:start + BATCH])
        if on_progress:
            on_progress(len(scores), len(pairs.pairs))
    results = []
    for case, answer, context, sentence_plans, correct in plans:
        sentences: tuple[SentenceResult, ...] = tuple(
            _sentence_result(p, scores, judge, context) for p in sentence_plans)
        correctness = max((float(scores[i] >= judge.threshold) for i in correct), default=0.0)
        results.append(CaseResult(case=case, answer=answer, sentences=sentences,
                                  metrics=_answer_metrics(case, answer, sentences, correctness)))
    return results
