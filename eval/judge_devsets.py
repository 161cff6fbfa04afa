"""Dev checks for support judges built from real news: corrupted RealTime QA sentences, and
WiCE claims against only the sentences their annotators cited.

The RealTime QA check takes sentences of real news articles (their main clause, so a copy is not
always verbatim) as supported claims, and corrupted copies as unsupported ones: a name swapped
for another name of the same kind from the same article, a number or a date changed, a negation
flipped, subject and object swapped, or the subject of one sentence joined to what another
sentence says (every word of such a claim is in the article; no sentence supports it). Each is
judged against the whole article ("long") or against its sentence and the two around it
("short"). Built deterministically from the corpus and a seed.

    >>> long, short = rtqa_corrupted("../shared/data/realtimeqa-dev/corpus.jsonl")  # doctest: +SKIP
    >>> sorted({e.kind for e in long})                                      # doctest: +SKIP
    ['date', 'name', 'negation', 'number', 'original', 'role', 'splice']
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.dataset import read_jsonl
from eval.judge_eval import LabelledExample
from ingest.segment import split_sentences

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

ARTICLES = 160  # gold articles first, then distractors, in corpus order
SENTENCES_PER_ARTICLE = 4
_SWAPPABLE = {"PERSON", "ORG", "GPE", "NORP"}
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_DROPPED = {"advcl", "appos", "relcl", "parataxis", "acl"}  # trimmed off the main clause


def _main_clause(doc: Doc) -> str:
    """The sentence without adverbial, appositive and relative clauses (when that leaves a
    sentence), so supported claims are not all verbatim copies."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return doc.text
    dropped = {t.i for c in root.children if c.dep_ in _DROPPED for t in c.subtree}
    kept = [t for t in doc if t.i not in dropped]
    text = "".join(t.text_with_ws for t in kept).strip(" ,;")
    text = re.sub(r"\s+([,.;])", r"\1", re.sub(r",\s*,", ",", text))
    return text if len(text.split()) >= 6 else doc.text


def _replace(doc: Doc, start: int, end: int, new: str) -> str:
    span = doc[start:end]
    return doc.text[:span.start_char] + new + doc.text[span.end_char:]


def _name_swap(doc: Doc, rng: random.Random, article: Sequence[Span]) -> str | None:
    for ent in rng.sample(list(doc.ents), len(doc.ents)):
        if ent.label_ in _SWAPPABLE:
            others = sorted({e.text for e in article if e.label_ == ent.label_
                             and e.text not in doc.text and ent.text not in e.text})
            if others:
                return _replace(doc, ent.start, ent.end, rng.choice(others))
    return None


def _number_swap(doc: Doc, rng: random.Random, article: Sequence[Span]) -> str | None:
    for token in doc:
        if token.like_num and token.ent_type_ in {"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}:
            digits = token.text.replace(",", "")
            if digits.replace(".", "", 1).isdigit():
                value = float(digits)
                new = value * rng.choice([10, 3]) if value < 10 else value + rng.choice(
                    [-1, 1]) * max(1, round(value * rng.choice([0.2, 0.5])))
                shown = f"{new:,.0f}" if "," in token.text else (
                    f"{new:g}" if "." in token.text else str(int(new)))
                return _replace(doc, token.i, token.i + 1, shown)
    return None


def _date_swap(doc: Doc, rng: random.Random, article: Sequence[Span]) -> str | None:
    for token in doc:
        for names in (_WEEKDAYS, _MONTHS):
            if token.text in names and (token.text != "May" or token.ent_type_ == "DATE"):
                other = rng.choice([n for n in names if n != token.text])
                return _replace(doc, token.i, token.i + 1, other)
        if token.ent_type_ == "DATE" and re.fullmatch(r"(19|20)\d\d", token.text):
            return _replace(doc, token.i, token.i + 1, str(int(token.text) + rng.choice([-2, 1])))
    return None


def _negation_flip(doc: Doc, rng: random.Random, article: Sequence[Span]) -> str | None:
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    negation = next((c for c in root.children if c.dep_ == "neg"), None)
    if negation is not None:
        return _replace(doc, negation.i, negation.i + 1, "").replace("  ", " ")
    aux = next((c for c in root.children if c.dep_ in {"aux", "auxpass"}), None)
    if aux is None and root.pos_ == "AUX":
        aux = root
    if aux is not None:
        return _replace(doc, aux.i, aux.i + 1, aux.text + " not")
    if root.lower_ in {"said", "says"}:
        return _replace(doc, root.i, root.i + 1, "denied" if root.lower_ == "said" else "denies")
    return None


def _role_swap(doc: Doc, rng: random.Random, article: Sequence[Span]) -> str | None:
    for verb in doc:
        subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        obj = next((c for c in verb.children if c.dep_ == "dobj"), None)
        if subject is None or obj is None or not (subject.ent_type_ in _SWAPPABLE and
                                                  obj.ent_type_ in _SWAPPABLE):
            continue
        first, second = _entity(subject), _entity(obj)
        if first is None or second is None or first.text == second.text:
            continue
        text = doc.text
        a, b = (first, second) if first.start < second.start else (second, first)
        return (text[:a.start_char] + b.text + text[a.end_char:b.start_char] + a.text
                + text[b.end_char:])
    return None


def _entity(token: Token) -> Span | None:
    return next((e for e in token.doc.ents if e.start <= token.i < e.end), None)


Corruption = Callable[[Any, random.Random, Sequence[Any]], str | None]
CORRUPTIONS: dict[str, Corruption] = {"name": _name_swap, "number": _number_swap,
                                      "date": _date_swap, "negation": _negation_flip,
                                      "role": _role_swap}


def _splice(doc: Doc, others: Sequence[Doc]) -> str | None:
    """This sentence's subject with what another sentence says of a different subject."""
    subject = next((t for t in doc if t.dep_ == "nsubj" and t.head.dep_ == "ROOT"), None)
    if subject is None or not subject.ent_type_:
        return None
    for other in others:
        their = next((t for t in other if t.dep_ == "nsubj" and t.head.dep_ == "ROOT"), None)
        if their is None or not their.ent_type_ or their.text == subject.text:
            continue
        edge = max(t.i for t in their.subtree) + 1
        predicate = other[edge:].text.lstrip(" ,;:”’\"'").strip()
        head = doc[min(t.i for t in subject.subtree):max(t.i for t in subject.subtree) + 1].text
        if len(predicate.split()) >= 4 and predicate[:1].isalpha():
            return f"{head} {predicate}"
    return None


def _articles(corpus: Path) -> list[dict[str, Any]]:
    rows = [row for _, row in read_jsonl(corpus) if len(row.get("text", "")) > 1500]
    gold = [r for r in rows if "gold" in r.get("origins", ())]
    rest = [r for r in rows if "gold" not in r.get("origins", ())]
    return (gold + rest)[:ARTICLES]


def rtqa_corrupted(corpus: str | Path, seed: int = 0
                   ) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """Supported sentences and corrupted copies, judged against their whole article (first
    list) and against their sentence and its neighbours (second list)."""
    from rag.nlp import parse, parse_many

    rng = random.Random(seed)
    long: list[LabelledExample] = []
    short: list[LabelledExample] = []
    for article in _articles(Path(corpus)):
        text = article["text"]
        sentences = [s.text for s in split_sentences(text)]
        docs = list(parse_many(sentences))
        entities = [e for d in docs for e in d.ents]
        usable = [i for i, d in enumerate(docs) if 8 <= len(d) <= 45 and d.ents
                  and d.text[:1].isupper() and d.text.endswith(".")]
        for i in sorted(rng.sample(usable, min(SENTENCES_PER_ARTICLE, len(usable)))):
            base = parse(_main_clause(docs[i]))
            claims = [(base.text, True, "original")]
            for kind, corrupt in CORRUPTIONS.items():
                changed = corrupt(base, rng, entities)
                if changed and changed != base.text:
                    claims.append((changed, False, kind))
            spliced = _splice(base, [docs[j] for j in rng.sample(usable, min(6, len(usable)))
                                     if j != i])
            if spliced:
                claims.append((spliced, False, "splice"))
            group = f"rtqa-{article['doc_id']}"
            around = " ".join(sentences[max(0, i - 1):i + 2])
            long += [LabelledExample(c, (text,), ok, kind, group) for c, ok, kind in claims]
            short += [LabelledExample(c, (around,), ok, kind, group) for c, ok, kind in claims]
    return long, short


def wice_cited(examples: Sequence[LabelledExample], rows: Sequence[dict[str, Any]]
               ) -> list[LabelledExample]:
    """WiCE claims against only the sentences their annotators cited (short sources); a claim
    with none cited (not supported) against the three sharing most of its words."""
    from rag.text import content_words

    cited = []
    for example, row in zip(examples, rows, strict=True):
        evidence = row["evidence_sentences"]
        indices = sorted({i for group in row["supporting_sentences"] for i in group})
        if not indices:
            words = content_words(example.claim)
            indices = sorted(sorted(range(len(evidence)), key=lambda i: -len(
                words & content_words(evidence[i])))[:3])
        cited.append(LabelledExample(example.claim, tuple(evidence[i] for i in indices),
                                     example.supported, example.kind, example.group))
    return cited


def load_dev_set(path: str | Path, sources: str = "whole",
                 limit: int | None = None) -> list[LabelledExample]:
    """Labelled examples from any file `newsrag eval judge` reads: our JSONL, WiCE's claims
    (`sources` "whole": the cited page; "cited": its annotated sentences), XSum's summaries
    (whole article), or RealTime QA's corpus.jsonl (corrupted sentences; "whole": against
    their article, "cited": against their sentence and its neighbours)."""
    from eval.judge_eval import load_labelled
    from newsrag.errors import EvalError

    path = Path(path)
    first = next((row for _, row in read_jsonl(path)), {})
    if "origins" in first and "text" in first:
        long, short = rtqa_corrupted(path)
        examples = long if sources == "whole" else short
        return examples[:limit] if limit else examples
    examples = load_labelled(path, limit)
    if sources == "whole":
        return examples
    if "evidence_sentences" not in first:
        raise EvalError(f"{path}: only WiCE and RealTime QA have cited sentences to judge against")
    rows = [row for _, row in read_jsonl(path)][:len(examples)]
    return wice_cited(examples, rows)
