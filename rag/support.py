"""`SupportScorer`: the one support judge (rag/judge_align.py) under the name and call shape
that scripts written before it use: `score(claim, evidence) -> float` and `supported(p)`.

New code takes a `rag.judge.SupportJudge` (e.g. `rag.judge.make_judge(services)`) instead:
grounding and the eval suite both do.

    >>> scorer = SupportScorer(embedder)                                  # doctest: +SKIP
    >>> scorer.supported(scorer.score("Ten people died.",               # doctest: +SKIP
    ...     ["The blast killed 10 people."]))
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.judge_align import AlignmentJudge, JudgeWeights

if TYPE_CHECKING:
    from ingest.embed import Embedder


class SupportScorer:
    """The alignment judge, one claim at a time; `strict` judges at grounding's bar."""

    def __init__(self, embedder: Embedder, weights: JudgeWeights | None = None,
                 strict: bool = False) -> None:
        self.judge = AlignmentJudge(embedder, weights)
        self.strict = strict

    def score(self, claim: str, evidence: Sequence[str]) -> float:
        return self.judge.score([(claim, evidence)])[0]

    def score_many(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        return self.judge.score(pairs)

    def supported(self, probability: float) -> bool:
        return self.judge.supported(probability, strict=self.strict)
