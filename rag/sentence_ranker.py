"""The learned sentence ranker: how likely each retrieved sentence is to state the answer.

Every distinct sentence of the retrieved chunks gets features that retrieval and the question
analysis already know — dense cosine, word overlap, the sentence's BM25 among the retrieved
sentences, its chunk's and article's retrieval rank, recency against the question date, its
place in the article, whether it holds an entity of the wanted answer type, how much of the
question's named things it mentions, and whether it is a heading, a byline, a question or a
restatement of the question — and a logistic regression turns them into a probability. Its
weights (`ranker_weights.json`) are fitted on RealTime QA dev questions, folds grouped by
week, by bench/fit_reader.py; the label is "this sentence contains a
reference answer".

    >>> ranked = rank_sentences(question, hits, embedder)   # doctest: +SKIP
    >>> ranked[0].text                                       # doctest: +SKIP
    'North Korea declared victory over Covid-19 on Thursday ...'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.models import Citation, Hit
from rag.question import QuestionAnalysis, names_in
from rag.sentence_kinds import is_heading, is_question, restates
from rag.text import content_words

if TYPE_CHECKING:
    from ingest.embed import Embedder

WEIGHTS_FILE = "ranker_weights.json"
# The relevance score kept from the hand-set ranker: still what `ask.min_relevance` is
# compared with (a cheap floor for questions about nothing retrieved).
LEXICAL_WEIGHT = 0.3
# Share of its score a heading, question or restatement keeps (see score_sentences).
NOT_A_STATEMENT = 0.5
# Sentences whose entities are read (the most relevant ones).
ENTITY_SENTENCES = 24
# The ranker's inputs are these, with "recency" made relative and scaled (model_matrix).
FEATURES = ("cosine", "overlap", "bm25", "chunk_rank", "article_rank", "recency", "undated",
            "lede", "position", "type_match", "entity_coverage", "heading", "question",
            "restates", "length")
# Entity labels that answer each answer type, with how well they fit.
TYPE_LABELS: dict[str, dict[str, float]] = {
    "person": {"PERSON": 1.0, "ORG": 0.4, "NORP": 0.3},
    "organisation": {"ORG": 1.0, "PRODUCT": 0.4, "NORP": 0.3, "GPE": 0.2, "FAC": 0.3},
    "place": {"GPE": 1.0, "LOC": 1.0, "FAC": 1.0, "ORG": 0.3, "NORP": 0.3},
    "date": {"DATE": 1.0, "TIME": 0.8},
    "number": {"CARDINAL": 1.0, "MONEY": 1.0, "PERCENT": 1.0, "QUANTITY": 1.0},
    "title": {"WORK_OF_ART": 1.0, "QUOTE": 1.0, "PRODUCT": 0.5, "ORG": 0.3, "EVENT": 0.3},
    "product": {"PRODUCT": 1.0, "ORG": 0.5, "WORK_OF_ART": 0.3},
    "event": {"EVENT": 1.0, "LAW": 0.3, "WORK_OF_ART": 0.3},
}
# What answers each kind of number question ("17-year-old" is a DATE to the model).
NUMBER_LABELS: dict[str, dict[str, float]] = {
    "percent": {"PERCENT": 1.0, "CARDINAL": 0.3},
    "money": {"MONEY": 1.0, "CARDINAL": 0.5, "QUANTITY": 0.3},
    "count": {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 0.3, "PERCENT": 0.3},
    "age": {"CARDINAL": 1.0, "DATE": 0.5, "QUANTITY": 0.5},
}
_QUOTED = re.compile(r"[“\"]([A-Z0-9][^“”\"]{0,60}?)[”\"]")


@dataclass(frozen=True)
class RankedSentence:
    """A retrieved sentence with its answer probability (`score`) and the features behind it.

    `relevance` is the hand-set mix (0.7 × cosine + 0.3 × overlap) kept for min_relevance.
    """

    score: float
    similarity: float
    overlap: float
    hit: Hit
    start: int
    end: int
    text: str
    relevance: float = 0.0
    features: tuple[float, ...] = ()
    # (text, label) of its named entities (spaCy labels) and quoted titles ("QUOTE").
    entities: tuple[tuple[str, str], ...] = ()

    def cite(self, n: int) -> Citation:
        """This sentence as citation [n]."""
        hit = self.hit
        return Citation(
            n=n, article_id=hit.article_id, title=hit.title, url=hit.url, source=hit.source,
            published=hit.published, text=self.text, char_start=self.start, char_end=self.end,
            story_outlets=hit.story_outlets,
        )


@dataclass(frozen=True)
class _Sentence:
    hit: Hit
    hit_rank: int
    article_rank: int
    start: int
    end: int
    text: str


def rank_sentences(question: str, hits: Sequence[Hit], embedder: Embedder,
                   analysis: QuestionAnalysis | None = None, reference: date | None = None,
                   model: LogisticModel | None = None) -> list[RankedSentence]:
    """Every distinct sentence of the hits (screened ones left out), most likely first."""
    from rag.question import analyse_question

    analysis = analysis or analyse_question(question)
    rows = sentence_rows(question, hits, embedder, analysis, reference or date.today())
    return score_sentences(rows, model or load_ranker())


def score_sentences(rows: Sequence[RankedSentence], model: LogisticModel
                    ) -> list[RankedSentence]:
    """The rows scored by `model`, most likely first. Headings, questions and restatements of
    the question keep NOT_A_STATEMENT of their score: a headline often names the answer, but
    the sentence that states it is the evidence to quote."""
    scored = [replace(r, score=model.probability(inputs) * _statement_factor(r))
              for r, inputs in zip(rows, model_matrix(rows), strict=True)]
    scored.sort(key=lambda r: (-r.score, -r.relevance))
    return scored


def model_matrix(rows: Sequence[RankedSentence]) -> list[tuple[float, ...]]:
    """The ranker's inputs for one question's sentences, from their FEATURES.

    Recency is relative to the freshest retrieved article (an undated one counts as fresh:
    nothing says it is stale), so a library of last year's news asked about today is not
    all "old"; and it counts only as far as the sentence is about the question (times its
    cosine), or a fresh sentence on another story would outrank the answer. (Scaling the
    type match too cost 0.06 short-answer F1 out of fold on RealTime QA dev.)
    """
    at = FEATURES.index("recency")
    undated, cosine = FEATURES.index("undated"), FEATURES.index("cosine")
    freshest = max((r.features[at] for r in rows if not r.features[undated]), default=0.0)
    matrix = []
    for row in rows:
        values = list(row.features)
        relative = 1.0 if values[undated] else (values[at] / freshest if freshest > 0 else 0.0)
        values[at] = relative * max(values[cosine], 0.0)
        matrix.append(tuple(values))
    return matrix


def _statement_factor(row: RankedSentence) -> float:
    heading, question, restating = (row.features[FEATURES.index(name)]
                                    for name in ("heading", "question", "restates"))
    return NOT_A_STATEMENT if heading or question or restating else 1.0


def sentence_rows(question: str, hits: Sequence[Hit], embedder: Embedder,
                  analysis: QuestionAnalysis, reference: date) -> list[RankedSentence]:
    """Every distinct sentence with its features (not yet scored), in reading order."""
    from rag.extractive import distinct_sentences

    found = [_Sentence(hit, *ranks, start, end, text)
             for hit, ranks, start, end, text in _with_ranks(distinct_sentences(hits), hits)]
    if not found:
        return []
    query = np.asarray(embedder.embed_query(question), dtype=float)
    vectors = np.asarray(embedder.embed_documents([s.text for s in found]), dtype=float)
    cosines = vectors @ query
    bm25 = _bm25([s.text for s in found], analysis.terms)
    overlaps = [_overlap(s.text, analysis) for s in found]
    relevances = [(1 - LEXICAL_WEIGHT) * float(c) + LEXICAL_WEIGHT * o
                  for c, o in zip(cosines, overlaps, strict=True)]
    entities = _entities_of_best(found, relevances)
    rows = []
    for sentence, cosine, score_bm25, relevance, named in zip(
            found, cosines, bm25, relevances, entities, strict=True):
        values = sentence_features(sentence, float(cosine), score_bm25, named, analysis,
                                   reference)
        rows.append(RankedSentence(
            score=0.0, similarity=float(cosine), overlap=values[1], hit=sentence.hit,
            start=sentence.start, end=sentence.end, text=sentence.text, relevance=relevance,
            features=values, entities=named))
    return rows


def _entities_of_best(found: Sequence[_Sentence], relevances: Sequence[float]
                      ) -> list[tuple[tuple[str, str], ...]]:
    """Entities (and quoted titles) of the ENTITY_SENTENCES most relevant sentences; the rest
    get none: NER is the slowest step, and answers sit in the relevant sentences."""
    from rag.nlp import entities_of

    order = sorted(range(len(found)), key=lambda i: -relevances[i])[:ENTITY_SENTENCES]
    named = entities_of(found[i].text for i in order)
    entities: list[tuple[tuple[str, str], ...]] = [()] * len(found)
    for i, spans in zip(order, named, strict=True):
        quoted = [(m.group(1), "QUOTE") for m in _QUOTED.finditer(found[i].text)]
        entities[i] = tuple(spans + quoted)
    return entities


def _overlap(text: str, analysis: QuestionAnalysis) -> float:
    wanted = analysis.terms
    return len(wanted & content_words(text)) / len(wanted) if wanted else 0.0


def _with_ranks(sentences: Sequence[tuple[Hit, int, int, str]], hits: Sequence[Hit]
                ) -> list[tuple[Hit, tuple[int, int], int, int, str]]:
    """Each sentence with its chunk's place in the context and its article's (1-based)."""
    hit_rank = {id(hit): n for n, hit in enumerate(hits, start=1)}
    article_rank: dict[str, int] = {}
    for hit in hits:
        article_rank.setdefault(hit.article_id, len(article_rank) + 1)
    return [(hit, (hit_rank[id(hit)], article_rank[hit.article_id]), start, end, text)
            for hit, start, end, text in sentences]


def sentence_features(sentence: _Sentence, cosine: float, bm25: float,
                      entities: Sequence[tuple[str, str]], analysis: QuestionAnalysis,
                      reference: date) -> tuple[float, ...]:
    """The FEATURES of one sentence, in order."""
    overlap = _overlap(sentence.text, analysis)
    days = _age_days(sentence.hit.published, reference)
    return (
        cosine, overlap, bm25,
        1 / math.sqrt(sentence.hit_rank), 1 / math.sqrt(sentence.article_rank),
        math.exp(-max(days, 0) / 14) if days is not None else 0.0, float(days is None),
        float(sentence.start < 400), min(sentence.start / 5000, 1.0),
        type_match(entities, analysis), entity_coverage(sentence.text, analysis),
        float(is_heading(sentence.text, sentence.hit.title)), float(is_question(sentence.text)),
        float(restates(sentence.text, analysis.terms)),
        min(len(sentence.text.split()) / 40, 1.0),
    )


def _age_days(published: str | None, reference: date) -> int | None:
    if not published:
        return None
    try:
        return (reference - date.fromisoformat(published[:10])).days
    except ValueError:
        return None


def labels_for(analysis: QuestionAnalysis) -> dict[str, float]:
    """Entity labels that answer the question, with their fit ({} for a description)."""
    labels = TYPE_LABELS.get(analysis.answer_type, {})
    if analysis.answer_type == "number" and analysis.unit:
        labels = NUMBER_LABELS[analysis.unit]
    if analysis.duration and labels:  # "how long": "30 days", "six months" are DATEs
        labels = {**labels, "DATE": 1.0}
    return labels


def type_match(entities: Sequence[tuple[str, str]], analysis: QuestionAnalysis) -> float:
    """How well the sentence's best entity not named by the question fits the wanted type."""
    labels = labels_for(analysis)
    if not labels:
        return 0.0
    named = names_in(analysis)
    best = 0.0
    for entity_text, label in entities:
        weight = labels.get(label, 0.0)
        if weight > best and not _only_named(entity_text, named):
            best = weight
    return best


def _only_named(phrase: str, named: set[str]) -> bool:
    words = {w.lower() for w in re.findall(r"\w+", phrase)}
    return bool(words) and (words <= named or content_words(phrase) <= named)


def entity_coverage(text: str, analysis: QuestionAnalysis) -> float:
    """Mean share of each question entity's words found in the sentence (1 without any)."""
    if not analysis.entities:
        return 1.0
    lowered = {w.lower() for w in re.findall(r"\w+", text)}
    shares = []
    for entity in analysis.entities:
        words = {w.lower() for w in re.findall(r"\w+", entity)}
        shares.append(len(words & lowered) / len(words) if words else 0.0)
    return sum(shares) / len(shares)


def _bm25(texts: Sequence[str], terms: frozenset[str], k1: float = 1.2, b: float = 0.75
          ) -> list[float]:
    """BM25 of each sentence for the question's terms, IDF over these sentences, scaled so
    the best is 1."""
    bags = [content_words(t) for t in texts]
    lengths = [max(len(t.split()), 1) for t in texts]
    average = sum(lengths) / len(lengths)
    n = len(bags)
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5))
           for t in terms if (df := sum(t in bag for bag in bags)) > 0}
    scores = [sum(idf[t] * (k1 + 1) / (1 + k1 * (1 - b + b * length / average))
                  for t in idf if t in bag) for bag, length in zip(bags, lengths, strict=True)]
    top = max(scores, default=0.0)
    return [s / top if top > 0 else 0.0 for s in scores]


@dataclass(frozen=True)
class LogisticModel:
    """Standardised features → logistic probability; the shipped weights' format."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, values: Sequence[float]) -> float:
        z = self.intercept + sum(
            c * (v - m) / s for c, v, m, s in zip(self.coef, values, self.mean, self.scale,
                                                  strict=True))
        return 1 / (1 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.names), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef),
                "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticModel:
        return cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]),
                   tuple(data["coef"]), float(data["intercept"]))


def load_weights(name: str) -> dict[str, Any]:
    """A shipped weights file of the rag package (written by bench/fit_reader.py)."""
    return json.loads(resources.files("rag").joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_ranker() -> LogisticModel:
    """The shipped sentence ranker; its features must be FEATURES, in order."""
    model = LogisticModel.from_json(load_weights(WEIGHTS_FILE)["ranker"])
    if model.names != FEATURES:
        raise ValueError(f"{WEIGHTS_FILE} was fitted on other features: re-run "
                         "python -m bench.fit_reader")
    return model
