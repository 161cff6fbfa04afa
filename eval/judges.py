"""Support judges behind one small Protocol, with a plain registry ("module:factory" plugins).

A judge gives the probability that evidence supports a claim and may split a sentence into
atomic claims. `heuristic` (default, offline) is the WiCE/XSum-calibrated lexical + embedding
judge; `llm` asks any configured chat backend; `nli` runs a local cross-encoder by path.

    >>> judge = make_judge(settings, "heuristic")      # doctest: +SKIP
    >>> judge.score([("Ten died.", ["The blast killed 10 people."])])  # doctest: +SKIP
    [0.9...]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from newsrag.registry import resolve

if TYPE_CHECKING:
    from rag.services import Services

Pair = tuple[str, Sequence[str]]


class Judge(Protocol):
    """Judges whether evidence supports claims; `name` appears in every report."""

    name: str

    @property
    def threshold(self) -> float:
        """A probability at or above it counts as supported."""
        ...

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """P(supported) per (claim, evidence texts) pair.

        The evidence may be a whole retrieved context; the judge chooses what it reads.
        """
        ...

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        """The atomic claims of an answer sentence (at least one: the sentence itself)."""
        ...


JudgeFactory = Callable[["Services"], Judge]


def _heuristic(services: Services) -> Judge:
    from eval.heuristic import HeuristicJudge

    return HeuristicJudge(services.index.embedder,
                          atomic=services.settings.eval.atomic_claims)


def _llm(services: Services) -> Judge:
    from eval.llm_judge import LLMJudge

    return LLMJudge.from_settings(services.settings)


def _nli(services: Services) -> Judge:
    from eval.nli_judge import NLIJudge

    return NLIJudge.from_settings(services.settings)


_JUDGES: dict[str, JudgeFactory] = {"heuristic": _heuristic, "llm": _llm, "nli": _nli}


def register_judge(name: str, factory: JudgeFactory) -> None:
    _JUDGES[name] = factory


def make_judge(services: Services, name: str | None = None) -> Judge:
    """The judge called `name` (default: eval.judge), built for these services."""
    chosen = name or services.settings.eval.judge
    return resolve(_JUDGES, chosen, "eval.judge")(services)
