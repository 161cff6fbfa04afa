"""Whether a later sentence reports an earlier sentence's fact differently: with other figures
("12 dead" → "15 dead"), or reversed — the same verb denied where it was affirmed, or the
other way round ("will close the plant" → "will not close the plant"; "confirmed" →
"denied"). Briefings flag such a line as an update, timelines keep it as news rather than a
repeat, and answers name the later report (rag/freshness.py).

Two sentences state the same fact only when they share most content words
(`SAME_FACT_OVERLAP`); polarity comes from the judge's reading of each sentence
(rag/judge_text.py: spaCy's parse, "not", "never", "denied", "refused"). Reporting verbs ("said",
"told") are left out: "officials did not say when the bridge reopens" reverses nothing. A
verb whose doers are named in both sentences must have one doer in common ("Putin will
attend" is not reversed by "Zelensky will not attend").

    >>> fact_change("Officials said 12 people died in the fire.",
    ...             "Officials said 15 people died in the fire on Monday.")
    FactChange(kind='figures', old=('12',), new=('15',))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.numbers import numbers_in
from rag.text import content_words, stem

SAME_FACT_OVERLAP = 0.35  # content-word Jaccard at and above which two lines tell one fact
REPORTING_VERBS = frozenset(stem(v) for v in (
    "say said says tell told add added adds note noted report reported reports write wrote "
    "state stated explain explained ask asked comment commented respond responded").split())


@dataclass(frozen=True)
class FactChange:
    """How a later sentence changes an earlier one's fact: other figures (old → new), or a
    reversal (old: the verbs affirmed before, new: the same verbs as now denied, "not …")."""

    kind: Literal["figures", "reversal"]
    old: tuple[str, ...]
    new: tuple[str, ...]


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words, numbers left out."""
    wa, wb = fact_words(a), fact_words(b)
    return len(wa & wb) / max(len(wa | wb), 1)


@lru_cache(maxsize=65536)
def fact_words(text: str) -> frozenset[str]:
    """A text's content words without its figures, memoised: a briefing compares each
    sentence with many others."""
    return frozenset(w for w in content_words(text) if not w[0].isdigit())


def fact_change(earlier: str, later: str) -> FactChange | None:
    """The change `later` makes to `earlier`'s fact, if it tells the same fact differently."""
    if overlap(earlier, later) < SAME_FACT_OVERLAP:
        return None
    figures = _changed_figures(earlier, later)
    if figures:
        return FactChange("figures", *figures)
    flipped = reversed_verbs(earlier, later)
    if flipped:
        return FactChange("reversal", *flipped)
    return None


def _changed_figures(earlier: str, later: str
                     ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(old, new) figures when `later`, telling the same fact, gives other numbers."""
    old, new = numbers_in(earlier), numbers_in(later)
    if not old or not new or old <= new:
        return None
    return tuple(sorted(old - new)), tuple(sorted(new - old))


def reversed_verbs(earlier: str, later: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The verbs (other than reporting verbs) that one sentence affirms and the other denies,
    as (earlier's reading, later's reading): (("close",), ("not close",))."""
    from rag.judge_text import analyse_sentences

    before, after = analyse_sentences([earlier, later])
    old, new = [], []
    for p in before.predicates:
        if p.verb in REPORTING_VERBS:
            continue
        same = [q for q in after.predicates if q.verb == p.verb
                and (not p.subjects or not q.subjects or p.subjects & q.subjects)]
        if same and all(q.negated != p.negated for q in same):
            old.append(("not " if p.negated else "") + p.verb)
            new.append(("" if p.negated else "not ") + p.verb)
    return (tuple(old), tuple(new)) if old else None
