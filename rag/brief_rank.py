"""Which stories a briefing leads with: ranked by coverage and recency, then picked for
diversity (MMR over the stories' centroids).

A story is the articles ingest matched as copies or rewrites (ingest/stories.py). Counting
only those favours stories syndicated verbatim; a week's notable events are also the ones
many *other* articles write about. So coverage counts the story's articles and outlets plus
the window's other articles close to its centroid (cosine >= `RELATED_COSINE`, weighted by
how close), and recency decays with a half-life of half the window. Entity centrality (how
many of the window's articles mention the names of a story's lead: the week's recurring
actors) is computed only when its weight is set: measured, it cost the weekly briefs quiz
recall on both halves of the dev weeks (docs/briefings.md), so its default weight is 0.
Commentary and round-ups ("Opinion:", "5 things to know") are demoted: they are not reports;
stories whose lead says when their news happened ("on Tuesday") are promoted: reports of an
event, where features and analyses seldom date theirs.

    >>> import numpy as np
    >>> picked = select_diverse(np.eye(3, dtype=np.float32), np.array([3.0, 2.0, 1.0]), 2)
    >>> picked
    [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingest.catalog import ArticleRecord
from ingest.stories import StoryMember
from rag.brief_lines import names_of

RELATED_COSINE = 0.6  # another article this close to a story's centroid covers the same news
DIVERSITY = 0.7  # MMR trade-off: 1 = score only, 0 = novelty only
# Stories whose centroids are this close report the same news (the FBI search and the
# reactions to it; measured: 0.67-0.94 among one week's Mar-a-Lago stories, < 0.2 to others):
# one item carries them, its facts drawn from all.
SAME_NEWS_COSINE = 0.7
MENTION_CHARS = 5000  # names are counted in each article's opening, where news names them
WEIGHTS = {"articles": 1.0, "outlets": 0.5, "related": 0.6, "entities": 0.0, "recency": 0.4,
           "commentary": 1.0, "dated": 0.5}


@dataclass(frozen=True)
class RankedStory:
    story_id: str
    members: tuple[StoryMember, ...]  # earliest first
    related: tuple[tuple[str, float], ...]  # other window articles near its centroid: cosine
    centroid: np.ndarray
    score: float


def group_stories(members: Sequence[StoryMember]) -> dict[str, list[StoryMember]]:
    """Story id -> its members in the window, earliest first (members come sorted)."""
    stories: dict[str, list[StoryMember]] = {}
    for member in members:
        stories.setdefault(member.story_id, []).append(member)
    return stories


def rank_stories(stories: dict[str, list[StoryMember]], names: dict[str, set[str]],
                 mentions: dict[str, int], until_day: int | None, window_days: int,
                 demoted: frozenset[str] = frozenset(), weights: dict[str, float] | None = None,
                 dated: frozenset[str] = frozenset()) -> list[RankedStory]:
    """Every story of the window scored, best first. `names`: story id -> the names in its
    leads; `mentions`: name -> how many of the window's articles mention it; `demoted`:
    stories that are commentary or round-ups, not reports; `dated`: stories whose lead says
    when their news happened (reports of an event, not features)."""
    w = {**WEIGHTS, **(weights or {})}
    ids = list(stories)
    centroids = np.stack([_centroid(stories[s]) for s in ids])
    vectors, owners = _article_matrix(stories)
    close = centroids @ vectors.T  # story x article cosine
    articles = len(owners)
    article_ids = _ids(stories)
    last = until_day or max((m.day or 0) for ms in stories.values() for m in ms)
    half_life = max(window_days / 2, 1.0)
    ranked = []
    for row, story in enumerate(ids):
        members = stories[story]
        related_mask = (close[row] >= RELATED_COSINE) & (owners != row)
        related = float(np.sum((close[row][related_mask] - RELATED_COSINE)
                               / (1 - RELATED_COSINE)))
        central = _centrality(names.get(story, set()), mentions, len(members), articles)
        age = max(0, last - max(m.day or last for m in members))
        score = (w["articles"] * math.log(len(members)) + w["outlets"] * math.log(
            len({m.source for m in members})) + w["related"] * math.log1p(related)
                 + w["entities"] * central + w["recency"] * 0.5 ** (age / half_life)
                 - (w["commentary"] if story in demoted else 0.0)
                 + (w["dated"] if story in dated else 0.0))
        related_ids = tuple((article_ids[i], float(close[row][i]))
                            for i in np.flatnonzero(related_mask))
        ranked.append(RankedStory(story, tuple(members), related_ids, centroids[row], score))
    return sorted(ranked, key=lambda r: -r.score)


def entity_mentions(stories: dict[str, list[StoryMember]], records: dict[str, ArticleRecord],
                    leads: dict[str, str]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Story id -> the names in its leads, and name -> how many of the window's articles
    mention it; empty (not computed) while entity centrality weighs nothing."""
    if not WEIGHTS["entities"]:
        return {}, {}
    names = {s: {n for m in ms for n in names_of(leads[m.article_id])}
             for s, ms in stories.items()}
    mentions: dict[str, int] = {}
    for record in records.values():
        for name in names_of(record.article.text[:MENTION_CHARS]):
            mentions[name] = mentions.get(name, 0) + 1
    return names, mentions


def _centrality(names: set[str], mentions: dict[str, int], own: int, articles: int) -> float:
    """The mean of log(1 + other articles mentioning it) over the story's 3 most mentioned
    names; a name in over a third of the window's articles ("CNN", "Monday") says nothing."""
    counts = sorted((mentions.get(n, 0) - own for n in names
                     if mentions.get(n, 0) <= max(articles / 3, 3)), reverse=True)[:3]
    return sum(math.log1p(max(c, 0)) for c in counts) / 3


def select_diverse(centroids: np.ndarray, scores: np.ndarray, count: int,
                   trade_off: float | None = None) -> list[int]:
    """Indices of `count` items by maximal marginal relevance over their centroids; an item
    about the same news as a chosen one (cosine >= SAME_NEWS_COSINE) is never chosen."""
    return [chosen for chosen, _ in pick_groups(centroids, scores, count, trade_off)]


def pick_groups(centroids: np.ndarray, scores: np.ndarray, count: int,
                trade_off: float | None = None) -> list[tuple[int, list[int]]]:
    """MMR picks, each with the unpicked items about the same news that it absorbs (their
    articles lend the pick facts instead of making items of their own)."""
    trade_off = DIVERSITY if trade_off is None else trade_off
    if len(scores) == 0:
        return []
    span = float(scores.max() - scores.min()) or 1.0
    relevance = (scores - scores.min()) / span
    chosen: list[int] = []
    similarity = np.full(len(scores), -1.0)
    while len(chosen) < min(count, len(scores)):
        value = trade_off * relevance - (1 - trade_off) * np.maximum(similarity, 0)
        value[chosen] = -np.inf
        value[similarity >= SAME_NEWS_COSINE] = -np.inf
        best = int(np.argmax(value))
        if not np.isfinite(value[best]):
            break
        chosen.append(best)
        similarity = np.maximum(similarity, centroids @ centroids[best])
    if not chosen:
        return []
    nearest = np.argmax(centroids @ centroids[chosen].T, axis=1)
    closeness = np.max(centroids @ centroids[chosen].T, axis=1)
    return [(pick, [i for i in range(len(scores)) if i not in chosen and nearest[i] == n
                    and closeness[i] >= SAME_NEWS_COSINE]) for n, pick in enumerate(chosen)]


def _centroid(members: Sequence[StoryMember]) -> np.ndarray:
    vectors = [m.vector for m in members if m.vector.size]
    if not vectors:
        return np.zeros(_dims(members), dtype=np.float32)
    mean = np.mean(np.stack(vectors), axis=0)
    return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)


def _dims(members: Sequence[StoryMember]) -> int:
    return max((m.vector.size for m in members), default=0) or 1


def _article_matrix(stories: dict[str, list[StoryMember]]) -> tuple[np.ndarray, np.ndarray]:
    """Every member's vector (zeros when it has none) and the row of its own story."""
    dims = max(_dims(ms) for ms in stories.values())
    rows, owners = [], []
    for row, members in enumerate(stories.values()):
        for m in members:
            rows.append(m.vector if m.vector.size == dims else np.zeros(dims, dtype=np.float32))
            owners.append(row)
    return np.stack(rows), np.array(owners)


def _ids(stories: dict[str, list[StoryMember]]) -> list[str]:
    return [m.article_id for members in stories.values() for m in members]
