"""Signals for "this evidence window supports this fact", each in [0, 1].

A window is one evidence sentence or two (see rag/judge_align.py); a fact is a clause of the
claim (rag/judge_text.py). Every signal but one compares the fact with that window only: on a
long article almost every word of a claim appears somewhere, so coverage of the whole source
says little (it is the word-overlap baseline the judge is measured against). The exception,
words found nowhere in the source, can only count against support.

    >>> FEATURES[:3]
    ('coverage', 'bigram_coverage', 'novel_words')
"""

from __future__ import annotations

import numpy as np

from rag.judge_text import Analysis

FEATURES = (
    "coverage",  # share of the fact's content words in the window
    "bigram_coverage",  # share of its neighbouring word pairs, in order
    "novel_words",  # its content words absent from the window, /8, capped at 1
    "absent_from_source",  # share of its content words found nowhere in the whole source
    "cosine",  # embedding similarity of fact and window, clipped at 0
    "names_missing",  # share of its names (entities, proper nouns) the window lacks
    "name_conflict",  # a missing name where the window has another of the same kind
    "numbers_missing",  # share of its numbers the window lacks
    "number_conflict",  # a missing number where the window has another one
    "dates_missing",  # share of its weekdays, months and years the window lacks
    "date_conflict",  # one replaced by another of its kind (Tuesday vs Thursday)
    "polarity_conflict",  # the same verb denied in one and affirmed in the other
    "negation_mismatch",  # one is negated, the other not (anywhere)
    "hedge_mismatch",  # the window hedges (may, reportedly, plans) where the fact asserts
    "role_swap",  # the same verb with subject and object names swapped
    "two_sentences",  # the window is two sentences
)
# Signals that may only count against support, whatever a fit on few examples suggests.
HURTS = frozenset(FEATURES) - {"coverage", "bigram_coverage", "cosine", "two_sentences"}
SIGNS = tuple(-1 if name in HURTS else 1 for name in FEATURES)
# A window with one of these cannot support the fact (its probability is capped below the
# threshold); the calibration checks each out of fold (bench/calibrate_judge.py).
CONFLICTS = ("name_conflict", "number_conflict", "date_conflict", "polarity_conflict",
             "role_swap")


def _share_missing(needed: int, missing: int) -> float:
    return missing / needed if needed else 0.0


def _name_signals(fact: Analysis, window: Analysis) -> tuple[float, float]:
    missing = [(kind, words) for kind, words in fact.names
               if 2 * len(words & window.words) < len(words)]
    others = {kind for kind, words in window.names if not words <= fact.words}
    conflict = any(kind != "other" and kind in others for kind, _ in missing)
    return _share_missing(len(fact.names), len(missing)), float(conflict)


def _number_signals(fact: Analysis, window: Analysis) -> tuple[float, float]:
    missing = fact.numbers - window.loose_numbers
    conflict = bool(missing) and bool(window.numbers - fact.loose_numbers)
    return _share_missing(len(fact.numbers), len(missing)), float(conflict)


def _date_signals(fact: Analysis, window: Analysis) -> tuple[float, float]:
    missing = fact.dates - window.dates
    kinds = {kind for kind, _ in window.dates - fact.dates}
    conflict = any(kind in kinds for kind, _ in missing)
    return _share_missing(len(fact.dates), len(missing)), float(conflict)


def _predicate_signals(fact: Analysis, window: Analysis) -> tuple[float, float]:
    """(polarity conflict, role swap) between predicates that share their verb."""
    polarity = swap = False
    for p in fact.predicates:
        same = [q for q in window.predicates if q.verb == p.verb]
        if same and all(q.negated != p.negated for q in same):
            polarity = True
        roles = [q for q in same if (p.subjects or p.objects) and (q.subjects or q.objects)]
        if roles and all(p.subjects & q.objects and p.objects & q.subjects for q in roles):
            swap = True
    return float(polarity), float(swap)


def window_features(fact: Analysis, window: Analysis, cosine: float, two: bool,
                    source_words: frozenset[str] | None = None) -> np.ndarray:
    """One row of FEATURES; `source_words` are all the content words of the whole source
    (words invented outright are the commonest hallucination; only ever a penalty)."""
    words = fact.words or frozenset({""})
    names = _name_signals(fact, window)
    numbers = _number_signals(fact, window)
    dates = _date_signals(fact, window)
    polarity, swap = _predicate_signals(fact, window)
    return np.array([
        len(words & window.words) / len(words),
        len(fact.bigrams & window.bigrams) / len(fact.bigrams) if fact.bigrams else 1.0,
        min(len(words - window.words) / 8, 1.0),
        len(words - (window.words if source_words is None else source_words)) / len(words),
        max(cosine, 0.0),
        *names, *numbers, *dates,
        polarity,
        float(fact.negated != window.negated),
        float(window.hedged and not fact.hedged),
        swap,
        float(two),
    ])
