"""The eval suite's judges are grounding's: one protocol and registry, in rag/judge.py.

`heuristic` (default, offline) is the fact-by-fact evidence-alignment judge calibrated on long
news sources; `llm` asks any configured chat backend; `nli` runs a local cross-encoder by path;
"module:factory" plugs in your own. Whatever eval.judge names also grounds answers.

    >>> judge = make_judge(services, "heuristic")      # doctest: +SKIP
    >>> judge.score([("Ten died.", ["The blast killed 10 people."])])  # doctest: +SKIP
    [0.9...]
"""

from __future__ import annotations

from rag.judge import (
    JudgeBase,
    JudgeFactory,
    Pair,
    Span,
    SupportJudge,
    Verdict,
    register_judge,
    shared_judge,
)

Judge = SupportJudge  # the eval suite's name for it
# The judge an eval uses is the one its services ground answers with, not a second copy.
make_judge = shared_judge

__all__ = ["Judge", "JudgeBase", "JudgeFactory", "Pair", "Span", "SupportJudge", "Verdict",
           "make_judge", "register_judge", "shared_judge"]
