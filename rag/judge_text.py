"""What the support judge reads in a text: words, names, numbers, dates, polarity and roles.

Every sentence goes through spaCy's `en_core_web_sm` (rag/nlp.py) once and is reduced to an
`Analysis`: small sets the judge compares between a claim's fact and an evidence window. A
claim is cut into atomic facts at clauses that have their own subject ("Putin met Trump, and
Zelensky stayed home" is two facts). Analyses are cached by text: grounding meets the same
source sentences for every sentence of an answer, an eval the same context for every claim.

    >>> [f.text for f in claim_facts("Putin met Trump on Tuesday, and Zelensky stayed home.")]
    ['Putin met Trump on Tuesday', 'Zelensky stayed home']
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from rag.numbers import numbers_in
from rag.text import content_words, stem

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

CACHE_SIZE = 20_000  # analysed sentences kept (a few hundred bytes each)
# The small model often mistakes a person for an organisation or a place ("Olaf Scholz" ORG,
# "Kyiv" PERSON), so those are one kind: a name swapped for any other name conflicts.
NAME_LABELS = {"PERSON": "named", "ORG": "named", "GPE": "named", "LOC": "named",
               "FAC": "named", "NORP": "group", "EVENT": "thing", "PRODUCT": "thing",
               "WORK_OF_ART": "thing", "LAW": "thing", "LANGUAGE": "group"}
VALUE_LABELS = {"CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"}
DATE_LABELS = {"DATE", "TIME"}
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_MONTH_ABBR = {m[:3]: m for m in _MONTHS} | {"sept": "september"}
_LABELLED = {*NAME_LABELS, *DATE_LABELS, *VALUE_LABELS}
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
# Words that deny what their clause says; "denied" and "refused" flip a claim as "not" does.
NEGATORS = {"not", "n't", "never", "no", "nobody", "nothing", "none", "neither", "nor",
            "without", "cannot"}
NEGATIVE_VERBS = {"deny", "deni", "refus", "reject", "fail", "declin", "halt"}
HEDGES = {"may", "might", "could", "reportedly", "allegedly", "possibly", "perhaps", "likely",
          "unlikely", "probably", "expected", "suspected", "rumored", "rumoured", "reported",
          "plan", "planned", "plans", "consider", "considering", "propose", "proposed"}
SUBJECTS = {"nsubj", "agent"}  # the agent's object is the doer of a passive verb
OBJECTS = {"dobj", "nsubjpass", "dative", "iobj"}


@dataclass(frozen=True)
class Predicate:
    """One verb of a text: its stem, whether it is denied or hedged, who does it to whom."""

    verb: str
    negated: bool
    hedged: bool
    subjects: frozenset[str]
    objects: frozenset[str]


@dataclass(frozen=True)
class Analysis:
    """The comparable contents of one sentence, fact or window."""

    words: frozenset[str]  # stemmed content words
    bigrams: frozenset[tuple[str, str]]  # neighbouring content words, in order
    names: tuple[tuple[str, frozenset[str]], ...]  # (kind, its stemmed words) per name
    numbers: frozenset[str]  # canonical values, dates left out
    loose_numbers: frozenset[str]  # also without scale words ("3 million" is 3 too)
    dates: frozenset[tuple[str, str]]  # ("weekday", "tuesday"), ("month", "may"), ("year", ..)
    predicates: tuple[Predicate, ...]
    negated: bool  # an odd number of negators anywhere
    hedged: bool


@dataclass(frozen=True)
class Fact:
    """An atomic part of a claim: its text and analysis."""

    text: str
    analysis: Analysis


def merge(analyses: Sequence[Analysis]) -> Analysis:
    """Two adjacent sentences read as one evidence window."""
    if len(analyses) == 1:
        return analyses[0]
    return Analysis(
        words=frozenset().union(*(a.words for a in analyses)),
        bigrams=frozenset().union(*(a.bigrams for a in analyses)),
        names=tuple(n for a in analyses for n in a.names),
        numbers=frozenset().union(*(a.numbers for a in analyses)),
        loose_numbers=frozenset().union(*(a.loose_numbers for a in analyses)),
        dates=frozenset().union(*(a.dates for a in analyses)),
        predicates=tuple(p for a in analyses for p in a.predicates),
        negated=any(a.negated for a in analyses), hedged=any(a.hedged for a in analyses))


def _stems(tokens: Iterable[Token]) -> frozenset[str]:
    return frozenset(w for t in tokens for w in content_words(t.text))


def _date_parts(tokens: Sequence[Token]) -> set[tuple[str, str]]:
    parts: set[tuple[str, str]] = set()
    for token in tokens:
        word = token.lower_.rstrip(".")
        if word in _WEEKDAYS:
            parts.add(("weekday", word))
        elif word in _MONTHS and (word != "may" or token.text == "May"):
            parts.add(("month", word))
        elif word in _MONTH_ABBR and token.text[:1].isupper():
            parts.add(("month", _MONTH_ABBR[word]))
        elif _YEAR.match(word):
            parts.add(("year", word))
    return parts


def _role_words(head: Token) -> frozenset[str]:
    """The name words of a subject or object phrase (its compounds and flat names only)."""
    parts = [head, *(c for c in head.children if c.dep_ in {"compound", "flat", "amod"})]
    # The tagger misses names at the start of a sentence ("Trump thanked ..." as a noun).
    return frozenset(w for t in parts if t.pos_ == "PROPN" or t.ent_type_ in NAME_LABELS
                     or (t.text[:1].isupper() and t.pos_ == "NOUN")
                     for w in content_words(t.text))


def _own_negators(verb: Token) -> int:
    return sum(c.dep_ == "neg" or c.lower_ in NEGATORS for c in verb.children) + (
        stem(verb.lower_) in NEGATIVE_VERBS)


def _negated(verb: Token) -> bool:
    """Denied by its own "not"/"never", by being a verb like "deny", or by the clause it
    completes: in "denied that X attacked" attacking is denied, in "did not deny" it is not."""
    negated = _own_negators(verb) % 2 == 1
    head = verb.head
    if verb.dep_ in {"ccomp", "xcomp"} and head is not verb and stem(head.lower_) in NEGATIVE_VERBS:
        negated ^= _own_negators(head) % 2 == 1
    return negated


def _hedge(token: Token) -> bool:
    # "May" the month is no hedge; "may" the modal is.
    return token.lower_ in HEDGES and (token.lower_ != "may" or token.tag_ == "MD")


def _predicate(verb: Token) -> Predicate:
    children = list(verb.children)
    negated = _negated(verb)
    subjects: set[str] = set()
    objects: set[str] = set()
    for child in children:
        if child.dep_ == "agent":
            subjects |= {w for g in child.children if g.dep_ == "pobj" for w in _role_words(g)}
        elif child.dep_ in SUBJECTS:
            subjects |= _role_words(child)
        elif child.dep_ in OBJECTS:
            objects |= _role_words(child)
    hedged = any(c.dep_ == "aux" and _hedge(c) for c in children)
    return Predicate(stem(verb.lower_), negated, hedged, frozenset(subjects),
                     frozenset(objects))


def analyse(tokens: Sequence[Token]) -> Analysis:
    """The analysis of a run of parsed tokens (a sentence, or a clause of one)."""
    text = " ".join(t.text for t in tokens)
    inside = {t.i for t in tokens}
    names = [(NAME_LABELS[e.label_], _stems(t for t in e if t.i in inside))
             for e in tokens[0].doc.ents if e.label_ in NAME_LABELS
             and any(t.i in inside for t in e)] if tokens else []
    named = {t.i for t in tokens if t.ent_type_ in _LABELLED}
    # Proper nouns the entity model missed still count as names (but cannot conflict).
    names += [("other", frozenset(content_words(t.text))) for t in tokens
              if t.pos_ == "PROPN" and t.i not in named and content_words(t.text)]
    plain = " ".join(t.text for t in tokens if t.ent_type_ not in DATE_LABELS)
    words = [w for t in tokens for w in sorted(content_words(t.text))]
    negators = sum(t.dep_ == "neg" or t.lower_ in NEGATORS for t in tokens)
    negators += sum(stem(t.lower_) in NEGATIVE_VERBS and t.pos_ == "VERB" for t in tokens)
    return Analysis(
        words=frozenset(content_words(text)),
        bigrams=frozenset(pairwise(words)),
        names=tuple(names),
        numbers=frozenset(numbers_in(plain)),
        loose_numbers=frozenset(numbers_in(plain, lenient=True)),
        dates=frozenset(_date_parts(tokens)),
        predicates=tuple(_predicate(t) for t in tokens if t.pos_ in {"VERB", "AUX"}
                         and t.dep_ not in {"aux", "auxpass"}),
        negated=negators % 2 == 1,
        hedged=any(_hedge(t) for t in tokens))


_lock = threading.Lock()
_sentences: dict[str, Analysis] = {}
_claims: dict[str, tuple[Fact, ...]] = {}


def analyse_sentences(texts: Sequence[str]) -> list[Analysis]:
    """Each text analysed as a whole (parsed in one batch; cached by text)."""
    from rag.nlp import parse_many

    with _lock:
        missing = [t for t in dict.fromkeys(texts) if t not in _sentences]
    if missing:
        found = {text: analyse(list(doc)) for text, doc in zip(missing, parse_many(missing),
                                                                 strict=True)}
        with _lock:
            if len(_sentences) > CACHE_SIZE:
                _sentences.clear()
            _sentences.update(found)
    with _lock:
        return [_sentences[t] if t in _sentences else _fallback(t) for t in texts]


def _fallback(text: str) -> Analysis:
    # Evicted by another thread between the two locks: parse again, uncached.
    from rag.nlp import parse

    return analyse(list(parse(text)))


def claim_facts(claim: str) -> tuple[Fact, ...]:
    """The atomic facts of a claim: its clauses (see split_facts)."""
    return facts_of([claim])[0]


def facts_of(claims: Sequence[str]) -> list[tuple[Fact, ...]]:
    """The facts of each claim, the ones not cached parsed in one batch."""
    from rag.nlp import parse_many

    with _lock:
        missing = [c for c in dict.fromkeys(claims) if c not in _claims]
    if missing:
        found = {claim: split_facts(doc) or (Fact(claim, analyse(list(doc))),)
                 for claim, doc in zip(missing, parse_many(missing), strict=True)}
        with _lock:
            if len(_claims) > CACHE_SIZE:
                _claims.clear()
            _claims.update(found)
    else:
        found = {}
    with _lock:
        return [found.get(c) or _claims.get(c) or claim_facts_uncached(c) for c in claims]


def claim_facts_uncached(claim: str) -> tuple[Fact, ...]:
    from rag.nlp import parse

    doc = parse(claim)
    return split_facts(doc) or (Fact(claim, analyse(list(doc))),)


def _clause_heads(doc: Doc) -> list[Token]:
    return [t for t in doc if t.dep_ == "ROOT" or (
        t.dep_ == "conj" and t.pos_ in {"VERB", "AUX"} and t.head.pos_ in {"VERB", "AUX"})]


def _borrowed_subject(head: Token) -> list[Token]:
    """For "X met Y and signed Z", the "signed Z" fact borrows its subject X."""
    verb = head
    while not any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in verb.children):
        if verb.dep_ != "conj" or verb.head is verb:
            return []
        verb = verb.head
    if verb is head:
        return []
    subject = next(c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass", "expl"})
    return sorted(subject.subtree, key=lambda t: t.i)


def split_facts(doc: Doc) -> tuple[Fact, ...]:
    """One fact per clause (a conjoined verb phrase borrows its subject); a clause too short
    to check stays with the one before."""
    heads = {t.i for t in _clause_heads(doc)}
    groups: dict[int, list[Token]] = {}
    for token in doc:
        owner = next((a.i for a in (token, *token.ancestors) if a.i in heads), -1)
        groups.setdefault(owner, []).append(token)
    runs: list[list[Token]] = []
    for owner, tokens in groups.items():
        tokens = _trim(tokens)
        if not tokens:
            continue
        if runs and len(content_words(_text(tokens))) < 3:
            runs[-1] = sorted(runs[-1] + tokens, key=lambda t: t.i)
            continue
        borrowed = _borrowed_subject(doc[owner]) if owner >= 0 else []
        runs.append(borrowed + [t for t in tokens if t not in borrowed])
    return tuple(Fact(_text(tokens), analyse(tokens)) for tokens in runs)


def _text(tokens: Sequence[Token]) -> str:
    """The tokens' text, a space wherever they are not contiguous."""
    parts = []
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        contiguous = following is not None and following.i == token.i + 1
        parts.append(token.text_with_ws if contiguous else token.text + " ")
    return "".join(parts).strip()


def _trim(tokens: list[Token]) -> list[Token]:
    """A clause without its joining comma or conjunction."""
    while tokens and (tokens[0].is_punct or tokens[0].dep_ in {"cc", "mark"}):
        tokens = tokens[1:]
    while tokens and (tokens[-1].is_punct or tokens[-1].dep_ == "cc"):
        tokens = tokens[:-1]
    return tokens


