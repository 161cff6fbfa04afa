"""The one support-judge protocol, used by grounding and by the eval suite, with its registry.

A judge scores claims against evidence: a probability that the evidence supports the claim,
which parts of the evidence support which part of the claim, and a verdict. Grounding keeps a
generated sentence when its probability reaches the judge's `strict_threshold` (precision
first: a wrongly kept sentence misleads, a dropped one only costs a quote); the eval suite counts
a claim supported at `threshold` (balanced accuracy). Both thresholds come from one
calibration. Judges are registered by name ("heuristic", "llm", "nli") or given as
"module:factory"; `eval.judge` picks the one that both grounding and evals use.

    >>> judge = make_judge(services)                                  # doctest: +SKIP
    >>> [v] = judge.verdicts([("Ten died.", ["The blast killed 10 people."])])  # doctest: +SKIP
    >>> v.supported, v.spans[0].evidence                              # doctest: +SKIP
    (True, ('The blast killed 10 people.',))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from newsrag.registry import Registry

if TYPE_CHECKING:
    from rag.services import Services

Pair = tuple[str, Sequence[str]]  # a claim and the evidence texts it is judged against


@dataclass(frozen=True)
class Span:
    """One part of a claim and the evidence sentences that support it best."""

    fact: str
    evidence: tuple[str, ...]
    probability: float


@dataclass(frozen=True)
class Verdict:
    probability: float
    supported: bool  # at the judge's balanced threshold
    spans: tuple[Span, ...] = ()


@runtime_checkable
class SupportJudge(Protocol):
    """Judges whether evidence supports claims; `name` appears in every report."""

    name: str

    @property
    def threshold(self) -> float:
        """At or above it a claim counts as supported (balanced accuracy; for measuring)."""
        ...

    @property
    def strict_threshold(self) -> float:
        """The higher bar grounding keeps generated sentences at (precision-targeted)."""
        ...

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """P(supported) per (claim, evidence texts) pair; the evidence may be a whole context."""
        ...

    def verdicts(self, pairs: Sequence[Pair]) -> list[Verdict]:
        """Probability, verdict and supporting spans per pair."""
        ...

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        """The atomic claims of an answer sentence (at least one: the sentence itself)."""
        ...

    def supported(self, probability: float, strict: bool = False) -> bool:
        """At or above `threshold`, or `strict_threshold` if strict."""
        ...


class JudgeBase:
    """Defaults for judges that only score: verdicts without spans, the sentence as one claim.

    Subclasses set `name` and `threshold` and implement `score`.
    """

    name = "judge"
    threshold = 0.5

    @property
    def strict_threshold(self) -> float:
        return self.threshold

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        raise NotImplementedError

    def verdicts(self, pairs: Sequence[Pair]) -> list[Verdict]:
        return [Verdict(p, p >= self.threshold) for p in self.score(pairs)]

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        return [sentence]

    def supported(self, probability: float, strict: bool = False) -> bool:
        return probability >= (self.strict_threshold if strict else self.threshold)


JudgeFactory = Callable[["Services"], SupportJudge]


# The heuristic judge is in rag/judge_align.py, the llm and nli ones with the eval suite:
# named as "module:attr", each is imported only when chosen, so rag never imports eval.
JUDGES: Registry[JudgeFactory] = Registry("judges", "eval.judge")
JUDGES.register("heuristic", "rag.judge_align:judge_from_services")
JUDGES.register("llm", "eval.llm_judge:judge_from_services")
JUDGES.register("nli", "eval.nli_judge:judge_from_services")
_lock = threading.Lock()


def register_judge(name: str, factory: JudgeFactory | str) -> None:
    JUDGES.register(name, factory)


def make_judge(services: Services, name: str | None = None) -> SupportJudge:
    """A new judge called `name` (default: eval.judge), built for these services."""
    chosen = name or services.settings.eval.judge
    return JUDGES.get(chosen)(services)


def shared_judge(services: Services, name: str | None = None) -> SupportJudge:
    """The one judge of these services (built once): grounding and evals use the same object."""
    chosen = name or services.settings.eval.judge
    with _lock:
        judges: dict[str, SupportJudge] = vars(services).setdefault("_judges", {})
        if chosen not in judges:
            judges[chosen] = make_judge(services, chosen)
        return judges[chosen]
