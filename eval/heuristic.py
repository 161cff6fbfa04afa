"""The eval suite's default judge is grounding's: rag/judge_align.py's AlignmentJudge.

    >>> judge = HeuristicJudge(embedder)                                  # doctest: +SKIP
    >>> judge.score([("Talks are on Tuesday.",                          # doctest: +SKIP
    ...     ["The talks will be held on Tuesday."])])
    [0.8...]
"""

from __future__ import annotations

from rag.judge_align import AlignmentJudge as HeuristicJudge
from rag.judge_align import load_weights, passage_sentences

__all__ = ["HeuristicJudge", "load_weights", "passage_sentences"]
