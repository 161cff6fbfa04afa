"""Hybrid retrieval: BM25 and dense candidates fused, diversified, converted to Hits here.

`gather` collects candidates (the nearest chunks by embedding, the best chunks and whole
articles by BM25) under the filters and any resolved question date; `rank` fuses them
(rag/fusion.py) and picks a context of k chunks with at most `max_chunks_per_article` per
article, republished copies of one story waiting behind other stories. `retrieve` does both.

    >>> hits = retrieve("What will Trump and Putin discuss?",             # doctest: +SKIP
    ...                 services, SearchOptions(k=3))
    >>> hits[0].title                                                       # doctest: +SKIP
    'Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from ingest.clean import date_ordinal
from ingest.dense_search import search_dense
from ingest.store import Filters, Match
from ingest.stories import story_ids, story_outlets
from newsrag.settings import RetrievalSettings
from rag.dates import DateWindow, resolve_dates
from rag.fusion import (
    FusionWeights,
    Ranks,
    cosine_duplicates,
    diversify,
    freshness,
    fused_score,
    is_future,
)
from rag.models import Hit, HitSentence
from rag.services import Services


def future_dated(hit: Hit, reference: date) -> bool:
    """Whether the hit's publication date is past the reference, so it got no recency bonus."""
    day = date_ordinal(hit.published) if hit.published else None
    return day is not None and is_future(day, reference.toordinal())


def make_filters(sources: tuple[str, ...] = (), since: date | None = None,
                 until: date | None = None) -> Filters | None:
    if not sources and since is None and until is None:
        return None
    return Filters(
        sources=sources,
        since_day=since.toordinal() if since else None,
        until_day=until.toordinal() if until else None,
    )


@dataclass
class Candidate:
    """A chunk some ranking put forward; `match` is filled in only for chunks that may be used."""

    chunk_id: str
    article_id: str
    day: int | None
    ranks: Ranks = field(default_factory=Ranks)
    match: Match | None = None
    score: float = 0.0


@dataclass
class Candidates:
    question: str
    vector: np.ndarray
    items: dict[str, Candidate] = field(default_factory=dict)
    reference: date = field(default_factory=date.today)
    window: DateWindow | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]  # the context: k chunks, best first
    articles: list[str]  # every candidate article by its best chunk's fused score
    window: DateWindow | None  # the question's relative date as applied (with the slack)
    reference: date = field(default_factory=date.today)  # what recency counted back from


@dataclass(frozen=True)
class SearchOptions:
    """Per-question overrides of the configured retrieval (None: the configured value)."""

    k: int | None = None
    filters: Filters | None = None
    mmr: bool | None = None
    # When the question is asked: relative dates resolve against it (retrieval.resolve_dates)
    # and nothing published after it is retrieved. None: today, with no upper date limit.
    reference: date | None = None


def retrieve(question: str, services: Services, options: SearchOptions | None = None
             ) -> list[Hit]:
    """The k chunks that best answer the question, best first."""
    return search(question, services, options).hits


def search(question: str, services: Services, options: SearchOptions | None = None
           ) -> SearchResult:
    """Hits plus the ranked articles and the resolved date window (for --explain and benches).

    `options.reference` is when the question was asked: relative dates resolve against it
    (with `retrieval.resolve_dates`) and nothing published after it is retrieved.
    """
    options = options or SearchOptions()
    if services.index.catalog.is_empty():  # spares loading the model for an empty store
        return SearchResult([], [], None)
    candidates = gather(question, services, options.filters, options.reference)
    return rank(candidates, services, options.k, options.mmr)


def gather(question: str, services: Services, filters: Filters | None = None,
           reference: date | None = None) -> Candidates:
    """Candidates from every enabled ranking, with their ranks."""
    settings = services.settings.retrieval
    found = Candidates(question, np.asarray(services.index.embedder.embed_query(question),
                                            dtype=float),
                       reference=reference or date.today())
    window = resolve_dates(question, found.reference) if settings.resolve_dates else None
    found.window = window.widened(settings.date_slack_days, found.reference) if window else None
    _collect(found, services, filters, explicit_reference=reference is not None)
    if found.window and not found.items:
        # Nothing published in the window: an undated article ("last week" in the sample is
        # the article's week, not ours) or an archive of older news. The phrase is then just
        # words, as without resolve_dates; the reader still decides whether they answer it.
        found.window = None
        _collect(found, services, filters, explicit_reference=reference is not None)
    return found


def _collect(found: Candidates, services: Services, filters: Filters | None,
             explicit_reference: bool) -> None:
    filters = _narrow(filters, found, explicit_reference)
    mode = services.settings.retrieval.mode
    if mode != "bm25":
        _add_dense(found, services, filters)
    if mode != "dense":
        _add_lexical(found, services, filters)


def _narrow(filters: Filters | None, found: Candidates, explicit_reference: bool
            ) -> Filters | None:
    """Add the resolved date window, and (for a dated question) nothing after its date."""
    since, until = None, found.reference if explicit_reference else None
    if found.window:
        since, until = found.window.since, found.window.until
    if since is None and until is None:
        return filters
    base = filters or Filters()
    since_day = max(filter(None, [base.since_day, since.toordinal() if since else None]),
                    default=None)
    until_day = min(filter(None, [base.until_day, until.toordinal() if until else None]),
                    default=None)
    return replace(base, since_day=since_day, until_day=until_day)


def _add_dense(found: Candidates, services: Services, filters: Filters | None) -> None:
    """The nearest live chunks under the filters, ranked by cosine similarity."""
    index, wanted = services.index, services.settings.retrieval.candidates
    if services.settings.retrieval.dense_search == "memory":
        nearest = search_dense(index.lexical.current(), found.vector, wanted, filters)
    else:
        nearest = _nearest_in_store(found, services, filters)
    known = index.lexical.describe([i for i, _ in nearest], filters)
    rank = 0
    for chunk_id, _ in nearest:
        if chunk_id in known:  # live (in the current snapshot) and passing the filters
            rank += 1
            article_id, day = known[chunk_id]
            found.items[chunk_id] = Candidate(chunk_id, article_id, day, Ranks(dense=rank))


def _nearest_in_store(found: Candidates, services: Services, filters: Filters | None
                      ) -> list[tuple[str, float]]:
    """Chroma filters slowly, so its nearest chunks are filtered here first; only when too
    few pass does Chroma filter."""
    index, wanted = services.index, services.settings.retrieval.candidates
    vector = found.vector.tolist()
    nearest = index.store.nearest(vector, wanted)
    if filters is not None and len(index.lexical.describe(
            [i for i, _ in nearest], filters)) < wanted // 4:
        nearest = index.store.nearest(vector, wanted, filters)
    return nearest


def _add_lexical(found: Candidates, services: Services, filters: Filters | None) -> None:
    lexical = services.index.lexical.search(found.question, services.settings.retrieval.candidates,
                                            filters)
    for rank, (chunk_id, article_id, _) in enumerate(lexical.chunks, start=1):
        item = found.items.setdefault(
            chunk_id, Candidate(chunk_id, article_id, lexical.days.get(article_id)))
        item.ranks = replace(item.ranks, bm25=rank)
    article_rank = {a: r for r, (a, _, _) in enumerate(lexical.articles, start=1)}
    for article_id, _, best_chunk in lexical.articles:
        found.items.setdefault(
            best_chunk, Candidate(best_chunk, article_id, lexical.days.get(article_id)))
    for item in found.items.values():
        if item.article_id in article_rank:
            item.ranks = replace(item.ranks, article=article_rank[item.article_id])


def weights_of(settings: RetrievalSettings) -> FusionWeights:
    return FusionWeights(settings.dense_weight, settings.bm25_weight, settings.article_weight,
                         settings.recency_weight)


def rank(found: Candidates, services: Services, k: int | None = None,
         mmr: bool | None = None) -> SearchResult:
    """Fuse, then choose the context: diversified, or by MMR if asked."""
    settings = services.settings.retrieval
    k = k or settings.k
    ordered = fuse(found, settings)
    pool = _with_matches(ordered[:max(3 * k, settings.fetch_k, 30)], found, services)
    if settings.mmr if mmr is None else mmr:
        chosen = _select_mmr(pool, k, settings.mmr_lambda)
    else:
        vectors = {c.chunk_id: v for c in pool if (v := _unit(c.match)) is not None}
        duplicates = cosine_duplicates(vectors, settings.duplicate_similarity)
        story = (story_ids(services.index.catalog, {c.article_id for c in pool})
                 if settings.one_per_story else {c.article_id: c.article_id for c in pool})
        # A story is counted once: another outlet's copy or rewrite of an article already
        # in the context waits, like a near-identical chunk, behind other stories.
        chosen = diversify(pool, k, lambda c: c.article_id, settings.max_chunks_per_article,
                           lambda a, b: (story[a.article_id] == story[b.article_id]
                                         or duplicates(a.chunk_id, b.chunk_id)))
    return SearchResult(_with_stories([to_hit(c) for c in chosen], services),
                        article_order(ordered), found.window, found.reference)


def _with_stories(hits: list[Hit], services: Services) -> list[Hit]:
    """The hits with their story id and how many outlets of the library carry the story."""
    catalog = services.index.catalog
    story = story_ids(catalog, {h.article_id for h in hits})
    members = story_outlets(catalog, set(story.values()))
    return [h.model_copy(update={
        "story_id": story[h.article_id],
        "story_outlets": len({source for source, _ in members.get(story[h.article_id], [])})
        or 1}) for h in hits]


def fuse(found: Candidates, settings: RetrievalSettings) -> list[Candidate]:
    """Every candidate scored (`score` set), best first."""
    weights, ref_day = weights_of(settings), found.reference.toordinal()
    for item in found.items.values():
        fresh = freshness(item.day, ref_day, settings.recency_half_life_days)
        item.score = fused_score(item.ranks, weights, settings.rrf_k, fresh)
    return sorted(found.items.values(), key=lambda c: (-c.score, c.chunk_id))


def article_order(ordered: Sequence[Candidate]) -> list[str]:
    """Article ids by their best chunk's place in `ordered`."""
    seen: dict[str, None] = {}
    for item in ordered:
        seen.setdefault(item.article_id, None)
    return list(seen)


def _with_matches(items: Sequence[Candidate], found: Candidates,
                  services: Services) -> list[Candidate]:
    """The items with their chunk text and vector (one store read), in the same order."""
    missing = [c.chunk_id for c in items if c.match is None]
    fetched = {m.chunk.id: m for m in services.index.fetch(missing)}
    kept = []
    for item in items:
        if item.match is None and item.chunk_id in fetched:
            match = fetched[item.chunk_id]
            vector = np.asarray(match.embedding, dtype=float)
            item.match = replace(match, similarity=float(vector @ found.vector))
        if item.match is not None:
            kept.append(item)
    return kept


def _unit(match: Match | None) -> np.ndarray | None:
    if match is None or match.embedding is None:
        return None
    vector = np.asarray(match.embedding, dtype=float)
    return vector / (np.linalg.norm(vector) + 1e-12)


def _select_mmr(pool: Sequence[Candidate], k: int, trade_off: float) -> list[Candidate]:
    """Maximal marginal relevance over the fused scores (scaled to 0..1)."""
    if not pool:
        return []
    top = max(c.score for c in pool) or 1.0
    matches = [replace(c.match, similarity=c.score / top) for c in pool if c.match]
    picked = {id(m): c for m, c in zip(matches, pool, strict=True)}
    return [picked[id(m)] for m in select_mmr(matches, k, trade_off)]


def select_mmr(candidates: Sequence[Match], k: int, trade_off: float) -> list[Match]:
    """Maximal marginal relevance: each pick is similar to the query, unlike earlier picks.

    >>> a = Match(None, 0.9, (1.0, 0.0)); b = Match(None, 0.89, (1.0, 0.0))  # type: ignore
    >>> c = Match(None, 0.5, (0.0, 1.0))                                      # type: ignore
    >>> [m.similarity for m in select_mmr([a, b, c], 2, 0.5)]
    [0.9, 0.5]
    """
    if not candidates:
        return []
    vectors = np.asarray([m.embedding for m in candidates], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    relevance = np.asarray([m.similarity for m in candidates])
    chosen: list[int] = []
    while len(chosen) < min(k, len(candidates)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else 0.0
        scores = trade_off * relevance - (1 - trade_off) * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return [candidates[i] for i in chosen]


def to_hit(item: Candidate) -> Hit:
    assert item.match is not None
    chunk, meta = item.match.chunk, item.match.chunk.metadata
    sentences = tuple(
        HitSentence(start=start, end=end, text=chunk.text[start - chunk.start:end - chunk.start])
        for start, end in chunk.sentence_spans
    )
    return Hit(
        article_id=chunk.article_id, title=str(meta.get("title", "")),
        source=str(meta.get("source", "")), url=str(meta.get("url", "")),
        published=meta.get("published"), chunk_index=chunk.index, score=round(item.score, 6),
        text=chunk.text, char_start=chunk.start, char_end=chunk.end, sentences=sentences,
        similarity=round(item.match.similarity, 4), dense_rank=item.ranks.dense,
        bm25_rank=item.ranks.bm25, article_rank=item.ranks.article,
    )
