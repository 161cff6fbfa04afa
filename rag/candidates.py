"""Candidate answers: phrases of the expected type in the best retrieved sentences, scored.

A candidate is a named entity (or a number, date, quoted title) of a type that fits the
question, in one of the top-ranked sentences, that is not just something the question already
names. News repeats an answer across sentences and outlets, so one candidate gathers every
mention of the same phrase; its features are the best and summed sentence probabilities, how
many sentences and articles state it, how close it sits to the question's words, the type fit,
and whether it only partly repeats the question. A logistic regression fitted with the
sentence ranker (`ranker_weights.json`, key "candidate") scores them. Every mention is an
exact character span of an ingested article.

    >>> found = find_candidates(ranked, analysis)        # doctest: +SKIP
    >>> found[0].text, found[0].mentions[0].sentence.text[:40]   # doctest: +SKIP
    ('North Korea', 'North Korea declared victory over Covid')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rag.question import QuestionAnalysis, names_in
from rag.sentence_kinds import is_heading, is_question
from rag.sentence_ranker import (
    LogisticModel,
    RankedSentence,
    labels_for,
    load_weights,
)
from rag.text import content_words

# Candidates come from this many of the best sentences.
TOP_SENTENCES = 8
CANDIDATE_FEATURES = ("best_sentence", "sum_sentences", "sentences", "articles", "type_fit",
                      "proximity", "best_rank", "partly_named", "length", "in_lede",
                      "has_head")
# Noun phrases answer "which X" questions of no known type at this fit (entities fit 1.0).
NOUN_PHRASE = "NOUN_PHRASE"
NOUN_PHRASE_FIT = 0.5
_ARTICLES = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_TRIM = " \t\n,.;:!?\"'“”‘’()[]"


@dataclass(frozen=True)
class Mention:
    """One occurrence of a candidate: `sentence.text[start:end]`, article offsets
    `sentence.start + start` to `sentence.start + end`."""

    sentence: RankedSentence
    rank: int  # 1-based place of the sentence in the ranking
    start: int
    end: int
    proximity: float

    @property
    def text(self) -> str:
        return self.sentence.text[self.start:self.end]

    @property
    def char_start(self) -> int:
        return self.sentence.start + self.start

    @property
    def char_end(self) -> int:
        return self.sentence.start + self.end


@dataclass
class Candidate:
    """One answer phrase with all its mentions; `score` is its fitted probability."""

    key: str
    type_fit: float
    mentions: list[Mention] = field(default_factory=list)
    partly_named: float = 0.0
    score: float = 0.0
    features: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        """The phrase as the best-ranked sentence writes it."""
        return self.mentions[0].text

    @property
    def articles(self) -> int:
        return len({m.sentence.hit.article_id for m in self.mentions})


def find_candidates(ranked: Sequence[RankedSentence], analysis: QuestionAnalysis,
                    model: LogisticModel | None = None, top: int = TOP_SENTENCES
                    ) -> list[Candidate]:
    """Candidates of the expected type from the top sentences, most likely first. A
    "which X" question whose X names no known type ("which insect") takes the sentences'
    noun phrases; a question that wants a description has none."""
    labels = labels_for(analysis) or ({NOUN_PHRASE: NOUN_PHRASE_FIT} if analysis.head else {})
    if not labels:
        return []
    named = names_in(analysis)
    found: dict[str, Candidate] = {}
    usable = [r for r in ranked if not is_heading(r.text, r.hit.title)
              and not is_question(r.text)][:top]
    phrases = (_noun_phrases(usable) if NOUN_PHRASE in labels
               else [r.entities for r in usable])
    for rank, (sentence, spans) in enumerate(zip(usable, phrases, strict=True), start=1):
        for phrase, label in spans:
            weight = labels.get(label, 0.0)
            mention = _mention(sentence, rank, phrase, analysis) if weight else None
            if mention is None:
                continue
            key = _key(mention.text)
            share = _named_share(mention.text, named)
            if not key or share >= 1.0:
                continue
            candidate = found.setdefault(key, Candidate(key, weight, partly_named=share))
            candidate.type_fit = max(candidate.type_fit, weight)
            if all(m.sentence is not sentence for m in candidate.mentions):
                candidate.mentions.append(mention)
    return score_candidates(list(found.values()), model or load_candidate_model(),
                            analysis.head)


def _noun_phrases(sentences: Sequence[RankedSentence]) -> list[tuple[tuple[str, str], ...]]:
    """Each sentence's short noun phrases (spaCy's noun chunks, up to 6 words)."""
    from rag.nlp import noun_phrases

    return [tuple((p, NOUN_PHRASE) for p in phrases if len(p.split()) <= 6)
            for phrases in noun_phrases(s.text for s in sentences)]


def _mention(sentence: RankedSentence, rank: int, phrase: str,
             analysis: QuestionAnalysis) -> Mention | None:
    """The phrase's exact span in the sentence, trimmed of quotes and punctuation."""
    at = sentence.text.find(phrase)
    if at < 0:
        return None
    start, end = at, at + len(phrase)
    while start < end and sentence.text[start] in _TRIM:
        start += 1
    while end > start and sentence.text[end - 1] in _TRIM:
        end -= 1
    if end - start < 1:
        return None
    return Mention(sentence, rank, start, end, _proximity(sentence.text, start, end, analysis))


def _proximity(text: str, start: int, end: int, analysis: QuestionAnalysis) -> float:
    """1 next to a question word, falling off with the words in between; 0 with none."""
    words = list(re.finditer(r"[A-Za-z0-9][\w'’-]*", text))
    inside = [i for i, w in enumerate(words) if w.start() >= start and w.end() <= end]
    if not inside:
        return 0.0
    hits = [i for i, w in enumerate(words)
            if (i < inside[0] or i > inside[-1]) and content_words(w.group()) & analysis.terms]
    if not hits:
        return 0.0
    gap = min(min(abs(i - inside[0]), abs(i - inside[-1])) for i in hits)
    return 1 / (1 + (gap - 1) / 4)


def _key(phrase: str) -> str:
    """Mentions that are the same phrase meet at one key ("the Tony Awards" = "Tony Awards")."""
    flat = " ".join(phrase.lower().replace("’", "'").split())
    flat = _ARTICLES.sub("", flat)
    return flat.removesuffix("'s").strip(_TRIM)


def _named_share(phrase: str, named: set[str]) -> float:
    words = {w.lower() for w in re.findall(r"\w+", phrase)}
    stems = content_words(phrase)
    if not words:
        return 1.0
    return max(len(words & named) / len(words), len(stems & named) / len(stems) if stems else 0)


def candidate_features(candidate: Candidate, head: str = "") -> tuple[float, ...]:
    """The CANDIDATE_FEATURES of one candidate, in order; `head` is the question's head noun
    ("Yellowstone National Park" answers "which park", "Ford Motor Company" "which company")."""
    probabilities = [m.sentence.score for m in candidate.mentions]
    return (
        max(probabilities), min(sum(probabilities), 3.0), min(len(probabilities), 5) / 5,
        min(candidate.articles, 5) / 5, candidate.type_fit,
        max(m.proximity for m in candidate.mentions),
        1 / min(m.rank for m in candidate.mentions), candidate.partly_named,
        min(len(candidate.text.split()), 8) / 8,
        float(any(m.sentence.start < 400 for m in candidate.mentions)),
        float(bool(head) and bool(content_words(head) & content_words(candidate.text))),
    )


def score_candidates(candidates: list[Candidate], model: LogisticModel, head: str = ""
                     ) -> list[Candidate]:
    """Scored by `model`, best first."""
    for candidate in candidates:
        candidate.mentions.sort(key=lambda m: m.rank)
        candidate.features = candidate_features(candidate, head)
        candidate.score = model.probability(candidate.features)
    return sorted(candidates, key=lambda c: (-c.score, c.mentions[0].rank))


@lru_cache(maxsize=1)
def load_candidate_model() -> LogisticModel:
    model = LogisticModel.from_json(load_weights("ranker_weights.json")["candidate"])
    if model.names != CANDIDATE_FEATURES:
        raise ValueError("ranker_weights.json was fitted on other candidate features: re-run "
                         "bench/fit_reader.py")
    return model
