"""Which sentences a briefing quotes: a story's lead sentence and its key facts, each an exact
span of its article, with repeats skipped and changed figures recognised.

News puts the key fact first (the inverted pyramid), so a lead sentence that says what its
article's title says, and when, is a story's headline line; facts are the sentences densest in
names and numbers (new to the item) that share most words with the story's own vocabulary.
A dateline glued to the lead by the segmenter ("New York CNN —", "LONDON (Reuters) -") is cut
off the span (rag.sentence_kinds); a photo caption with its credit is never quoted.

    >>> lead_span("LONDON (Reuters) - The Bank of England raised rates.", 0)
    (19, 52)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingest.catalog import ArticleRecord
from ingest.models import Sentence
from rag.fact_change import fact_change, overlap, reversed_verbs
from rag.names import capitalised
from rag.numbers import numbers_in
from rag.sentence_kinds import dateline_end, is_photo_caption
from rag.text import STOPWORDS, content_words

_BOILERPLATE = re.compile(
    r"sign up|newsletter|subscribe|click here|all rights reserved|©|https?://|read more|"
    r"follow us|cookies|advertisement|getty images|this story has been updated|"
    r"contributed to this report|in case you missed it|follow (?:here|along|live)|"
    r"editor['’]s note|\bwire reports\b|^contributing:|^on (?:today['’]s|this) episode\b|"
    r"^[\w'’ -]{2,40}[a-z]:(?=[A-Z])|"  # "Vogue's September issue:Serena ..." (a link)
    r"^(?:photo|video|watch|listen|more|related)\b", re.IGNORECASE)
# A sentence that leans on the one before it ("And ...", "It said ...", "after it failed")
# cannot stand alone as a briefing line.
_DEPENDENT = re.compile(r"^(?:(?:and|but|or|so|also|still|yet|it|its|he|she|they|this|"
                        r"that|these|those|there|his|her|their|we|i|now|meanwhile|however|"
                        r"instead|then|later|plus)\b)", re.IGNORECASE)
# Words reported by a pronoun ("..., he said.") are someone's whom the line does not name.
_PRONOUN_SAID = re.compile(r"\b(?:he|she|they)\s+(?:said|says|told|added|wrote|noted)\b",
                           re.IGNORECASE)
# When the news happened, as news leads say it ("on Tuesday", "this week", "July 12").
_WHEN = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|yesterday|"
    r"this (?:week|morning|afternoon|evening|weekend)|last (?:week|night)|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.? \d{1,2}\b)",
    re.IGNORECASE)
# Titles of commentary, explainers, round-ups and galleries: not reports of a story's news.
_COMMENTARY = re.compile(
    r"^(?:opinion|analysis|commentary|editorial|perspective|review|letters?|live updates?|"
    r"photos?|in pictures|watch|video|podcast|newsletter|the week in|why|how|who (?:is|was)|"
    r"what (?:is|are|was|were|caused|happens))\b|\bthings to know\b|"
    r"\bwhat (?:we know|to know|to expect)\b|\bbest photos\b|\bnewsletter\b", re.IGNORECASE)
# Capitalised runs: cheap name finding over whole texts (rag.names is precise but slower).
_NAME = re.compile(r"[A-Z][\w'’&.-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’&.-]*)*")
_NOT_NAMES = frozenset("""monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december mr mrs ms
    dr""".split())
MIN_WORDS, MAX_WORDS = 7, 60
# A sentence opening with a quotation is someone's words, seldom the news itself.
_QUOTES = ('"', "“", "'", "‘")
QUOTE_PENALTY = 0.5
LEAD_SENTENCES = 4  # the lead is looked for among an article's first sentences
# A lead that says what the article's title says, and when, is the news; one dense in names
# and years may be background ("Webb was NASA's second administrator, 1961 to 1968").
TITLE_WEIGHT = 1.5  # times the share of the title's content words the lead has
WHEN_WEIGHT = 0.3
LEAD_MARGIN = 0.2  # a later article's lead must score this much more to be the headline
# How much sharing the story's vocabulary counts (centrality is a cosine, 0..1) beside the
# names and figures, the title's words and when, and the lead's place. Chosen on dev weeks
# 1-6 (docs/briefings.md): before 6 Dec centrality was unnormalised, 0.5 to 7 by the story's
# size, and outweighed every other term.
CENTRAL_WEIGHT = 2.0
REPEAT_OVERLAP = 0.5  # content-word Jaccard at and above which two lines state the same fact


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be quoted: its article, exact span and score."""

    article_id: str
    start: int
    end: int
    text: str
    score: float


def lead_span(text: str, start: int) -> tuple[int, int]:
    """The span of a lead sentence without its dateline (offsets in the article)."""
    cut = dateline_end(text)
    skip = cut if cut < len(text) - 20 else 0
    body = text[skip:]
    trimmed = len(body) - len(body.lstrip())
    return start + skip + trimmed, start + len(text.rstrip())


def quotable(text: str) -> bool:
    """A whole statement a reader can take alone: long enough, no boilerplate, no question."""
    words = len(text.split())
    return (MIN_WORDS <= words <= MAX_WORDS and not _BOILERPLATE.search(text)
            and not text.rstrip().endswith("?") and "\n" not in text.strip()
            and not _DEPENDENT.match(text) and not text[:1].islower()
            and not _PRONOUN_SAID.search(text) and not is_photo_caption(text))


def is_commentary(title: str) -> bool:
    """An opinion piece, analysis, round-up or gallery, by its title."""
    return bool(_COMMENTARY.search(title.strip()))


def names_of(text: str) -> set[str]:
    """Lower-cased capitalised runs ("joe biden", "squid game"), stopwords and dates left out.

    >>> sorted(names_of("On Monday Joe Biden met The Rolling Stones in Paris."))
    ['joe biden', 'paris', 'rolling stones']
    """
    found = set()
    for match in set(_NAME.findall(text)):  # each distinct run once: names repeat
        run: list[str] = []
        for word in [*match.split(), ""]:
            plain = word.rstrip(".’'").lower()
            if plain and plain not in STOPWORDS and plain not in _NOT_NAMES:
                run.append(plain)
                continue
            if run and len(" ".join(run)) > 1:
                found.add(" ".join(run))
            run = []
    return found


def density(text: str, known: str = "") -> float:
    """Names and figures per word (square-root scaled): how much a sentence tells; with
    `known` (lines already given), only the names and figures they do not already give."""
    told = known.lower()
    names = [n for n in _names(text) if n.lower() not in told]
    figures = sum(1 for n in names if n[0].isdigit())
    return (len(names) - figures + 0.7 * figures) / math.sqrt(max(len(text.split()), 1))


def newsiness(text: str, title: str) -> float:
    """How much a lead reads as the article's news: its share of the title's content words
    and whether it says when."""
    wanted = _content(title)
    share = len(wanted & _content(text)) / len(wanted) if wanted else 0.0
    return TITLE_WEIGHT * share + WHEN_WEIGHT * bool(_WHEN.search(text))


def keyword_weights(texts: Sequence[str], document_frequency: dict[str, int],
                    documents: int) -> dict[str, float]:
    """Words shared by a story's articles, weighted by how rare they are in the window."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in content_words(text):
            counts[word] = counts.get(word, 0) + 1
    weights = {}
    for word, count in counts.items():
        idf = math.log((documents + 1) / (document_frequency.get(word, 0) + 1)) + 1.0
        weights[word] = (count / len(texts)) * idf
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    return {word: value / norm for word, value in weights.items()}


def centrality(text: str, weights: dict[str, float]) -> float:
    """The cosine between the sentence's content words and the story's keyword weights
    (unit length): 0..1, whatever the story's size."""
    words = _content(text)
    return sum(weights.get(w, 0.0) for w in words) / math.sqrt(max(len(words), 1))


def dated_lead(text: str, sentences: Iterable[Sentence]) -> bool:
    """Whether one of the article's quotable lead sentences says when its news happened
    ("on Tuesday", "this week"), as news reports do and features and analyses seldom do."""
    for sentence in sentences:
        if sentence.index >= LEAD_SENTENCES:
            break
        start, end = lead_span(sentence.text, sentence.start)
        if _WHEN.search(text, start, end) and quotable(text[start:end]):
            return True
    return False


def candidates(article_id: str, text: str, sentences: Iterable[Sentence],
               weights: dict[str, float], lead_only: bool = False, title: str = ""
               ) -> list[Candidate]:
    """The article's quotable sentences scored: centrality + density + a lead bonus (with
    `lead_only`, plus how much each reads as the news of the `title`)."""
    found = []
    for sentence in sentences:
        if lead_only and sentence.index >= LEAD_SENTENCES:
            break
        start, end = lead_span(sentence.text, sentence.start)
        quote = text[start:end]
        if not quotable(quote):
            continue
        lead = 1.0 / (1 + sentence.index)
        score = (CENTRAL_WEIGHT * centrality(quote, weights) + 0.8 * density(quote) + 0.6 * lead
                 - QUOTE_PENALTY * quote.startswith(_QUOTES)
                 + (newsiness(quote, title) if lead_only else 0.0))
        found.append(Candidate(article_id, start, end, quote, score))
    return found


def best_lead(articles: Sequence[str], records: dict[str, ArticleRecord],
              weights: dict[str, float], heard: Sequence[str]) -> Candidate | None:
    """The lead sentence that best tells the news, from the story's articles and those
    about the same news (earliest first); an earlier article's lead is kept unless a later
    one's is clearly better (by LEAD_MARGIN): the first report is cited."""
    best: Candidate | None = None
    ordered = sorted(dict.fromkeys(articles), key=lambda a: records[a].article.published or "")
    for article in ordered:
        record = records[article]
        found = [c for c in candidates(article, record.article.text, record.sentences,
                                             weights, lead_only=True,
                                             title=record.article.title)
                 if not is_repeat(c.text, heard)]
        top = max(found, key=lambda c: c.score, default=None)
        if top and (best is None or top.score > best.score + LEAD_MARGIN):
            best = top
    return best


def is_repeat(text: str, earlier: Iterable[str]) -> bool:
    """States a fact already given (no new figure for it, and does not reverse it)."""
    return any(overlap(text, e) >= REPEAT_OVERLAP and not fact_change(e, text)
               for e in earlier)


class FactMemory:
    """Sentences already reported (shown or not), to tell a repeat from news: a sentence is
    a repeat when it shares most words with one remembered, brings no other figure and does
    not deny what that one affirmed (or the reverse)."""

    def __init__(self) -> None:
        self._facts: list[tuple[str, set[str]]] = []

    def add(self, texts: Iterable[str]) -> None:
        self._facts.extend((t, numbers_in(t)) for t in texts)

    def repeats(self, text: str) -> bool:
        figures = numbers_in(text)
        return any(overlap(known, text) >= REPEAT_OVERLAP
                   and (figures <= known_figures or not known_figures)
                   and not reversed_verbs(known, text) for known, known_figures in self._facts)


@lru_cache(maxsize=65536)
def _content(text: str) -> frozenset[str]:
    """content_words, memoised: a briefing compares each sentence with many others."""
    return frozenset(content_words(text))


@lru_cache(maxsize=65536)
def _names(text: str) -> tuple[str, ...]:
    """rag.names.capitalised's runs, memoised: facts are rescored against each line chosen."""
    return tuple(name for _, name in capitalised(text))
