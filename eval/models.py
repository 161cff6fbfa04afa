"""What the eval suite reads, judges and reports: cases, answers under test, verdicts, reports.

Everything here is a frozen pydantic model so a Report round-trips through `--json`.

    >>> case = EvalCase(id="q1", question="Who won?", reference_answers=("Spain",))
    >>> case.answerable
    True
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvalCase(Frozen):
    """One question of a dataset; `answerable=False` means the corpus does not hold the answer."""

    id: str
    question: str
    reference_answers: tuple[str, ...] = ()
    gold_article_ids: tuple[str, ...] = ()
    answerable: bool = True
    # Earlier turns as (question, answer) pairs: the question is a follow-up to them.
    chat_history: tuple[tuple[str, str], ...] = ()
    question_date: str | None = None


class Evidence(Frozen):
    """A source text an answer may rest on: a cited sentence or a retrieved passage."""

    text: str
    article_id: str = ""


class SentenceUnderTest(Frozen):
    """An answer sentence and the source texts its citation markers point to."""

    text: str
    citations: tuple[Evidence, ...] = ()


class SystemAnswer(Frozen):
    """One system's answer in the judge's terms: what any RAG system can provide.

    `contexts` are the retrieved passages in rank order (the RAGAS "retrieved contexts").
    """

    question: str
    answer: str
    sentences: tuple[SentenceUnderTest, ...]
    contexts: tuple[Evidence, ...] = ()
    refused: bool = False
    latency_s: float | None = None
    system: str = ""
    # The answer in a few words (newsrag's `Answer.short_answer`); None: the system gave none,
    # which scores as a miss on the short-answer metrics.
    short_answer: str | None = None


class ClaimVerdict(Frozen):
    """A claim of an answer sentence and the judge's support probability for it."""

    claim: str
    support: float
    supported: bool
    # The evidence texts the judge read for this claim (the context, or what it picked).
    evidence: tuple[str, ...] = ()


class SentenceResult(Frozen):
    """How one answer sentence fared: its claims against the context, its citations (ALCE)."""

    text: str
    claims: tuple[ClaimVerdict, ...]
    # ALCE citation recall: the union of its citations supports it (None: nothing to judge).
    citations_support: bool | None = None
    # ALCE citation precision: per citation, is it needed or itself supportive?
    citations_relevant: tuple[bool, ...] = ()


class CaseResult(Frozen):
    """One case: the answer, its judged sentences and its per-answer metrics.

    A metric is None where it does not apply (e.g. citation metrics of a refusal).
    """

    case: EvalCase
    answer: SystemAnswer
    sentences: tuple[SentenceResult, ...]
    metrics: dict[str, float | None]


class MetricSummary(Frozen):
    """A metric over all cases it applies to: mean with a 95 % bootstrap interval.

    For latency the value is the median (p50) and `p95` is filled.
    """

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0
    p95: float | None = None


class Report(Frozen):
    """The outcome of one eval run, with what it ran on."""

    dataset: str
    judge: str
    system: str
    cases: tuple[CaseResult, ...]
    summary: tuple[MetricSummary, ...]
    settings: dict[str, Any] = Field(default_factory=dict)
    seconds: float = 0.0

    def metric(self, name: str) -> MetricSummary:
        """The summary of one metric by name (KeyError if it was not computed)."""
        for summary in self.summary:
            if summary.name == name:
                return summary
        raise KeyError(name)
