"""A topic's timeline: the articles about it in a window, one entry per story and day in date
order, each saying only what was new that day.

The topic is searched like a question (hybrid retrieval, the window as filters); an article
is on the topic when it contains at least half of the topic's content words. Its story's other
copies in the window count as outlets. Entries quote the sentence that best combines the
topic's words with the story's key words (rag/brief_lines.py); a sentence repeating an earlier
entry's fact is skipped, and one giving a new figure for it is flagged as an update that
names the earlier report.

    >>> on_topic({"flood", "pakistan"}, "Floods in Pakistan killed 1,000 people.")
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from ingest.catalog import ArticleRecord, Catalog
from ingest.clean import date_ordinal
from ingest.stories import members_between, story_ids
from rag import brief_lines as lines
from rag.brief import (
    FACTS,
    BriefItem,
    CitedLine,
    cite,
    document_frequency,
    lead_text,
    window_phrase,
    with_update,
)
from rag.brief_rank import SAME_NEWS_COSINE
from rag.search import SearchOptions, make_filters, search
from rag.text import content_words

if TYPE_CHECKING:
    from rag.services import Services

SEARCH_K = 60  # chunks retrieved for a topic: many, since a timeline spans many days
TOPIC_WEIGHT = 2.0  # how much a sentence naming the topic outranks a merely central one


def on_topic(topic_words: set[str], text: str) -> bool:
    """Contains at least half of the topic's content words."""
    found = content_words(text)
    return len(topic_words & found) * 2 >= len(topic_words)


def timeline(services: Services, topic: str, since: date | None, until: date | None,
             reference: date, max_items: int, undated: bool = False
             ) -> tuple[list[BriefItem], int, str]:
    """The topic's entries in date order: items, articles on the topic, and a message."""
    words = content_words(topic)
    if not words:
        return [], 0, f"the topic {topic!r} has no words to search for"
    result = search(topic, services, SearchOptions(
        k=SEARCH_K, filters=make_filters(since=since, until=until),
        reference=None if undated else reference))  # a reference date hides undated articles
    catalog = services.index.catalog
    best: dict[str, float] = {}
    for hit in result.hits:
        best[hit.article_id] = max(best.get(hit.article_id, 0.0), hit.score)
    records = {a: r for a in best if (r := catalog.get(a)) and (r.article.published or undated)
               and on_topic(words, f"{r.article.title} {r.article.text}")}
    if not records:
        where = window_phrase(since, until, "in the library")
        return [], 0, f"no articles about {topic!r} {where}"
    stories = _same_news(records, story_ids(catalog, records), catalog)
    groups = _groups(records, stories, best, max_items)
    frequency = document_frequency(lead_text(r) for r in records.values())
    items: list[BriefItem] = []
    earlier: list[CitedLine] = []
    reported = lines.FactMemory()  # every sentence of the entries before, shown or not
    for (story, day), ids in groups:
        item = _entry(story, day, ids, records, words, earlier, frequency, reported)
        if item is not None:
            items.append(item)
            earlier.extend([item.headline, *item.facts])
        reported.add(s.text for a in ids for s in records[a].sentences)
    message = "" if len(records) > 1 else f"only one article about {topic!r} in this window"
    return items, len(records), message


def _same_news(records: dict[str, ArticleRecord], stories: dict[str, str], catalog: Catalog
               ) -> dict[str, str]:
    """Story ids with a day's stories about the same news merged (their articles' vectors
    as close as SAME_NEWS_COSINE): one timeline entry per event and day."""
    days = sorted(date_ordinal(r.article.published) or 0 for r in records.values())
    vectors = {m.article_id: m.vector for m in members_between(catalog, days[0], days[-1], True)
               if m.article_id in records and m.vector.size}
    merged = dict(stories)
    kept: list[tuple[str, str, np.ndarray]] = []  # (day, story, vector)
    for article_id in sorted(records, key=lambda a: (records[a].article.published or "", a)):
        vector, day = vectors.get(article_id), (records[article_id].article.published or "")[:10]
        if vector is None:
            continue
        same = next((story for d, story, v in kept if d == day and v.shape == vector.shape
                     and float(v @ vector) >= SAME_NEWS_COSINE), None)
        if same is not None:
            merged[article_id] = same
        else:
            kept.append((day, merged[article_id], vector))
    return merged


def _groups(records: dict[str, ArticleRecord], stories: dict[str, str], best: dict[str, float],
            max_items: int) -> list[tuple[tuple[str, str], list[str]]]:
    """(story, day) -> its articles; the `max_items` most relevant groups, by date."""
    groups: dict[tuple[str, str], list[str]] = {}
    for article_id, record in records.items():
        key = (stories[article_id], (record.article.published or "")[:10])
        groups.setdefault(key, []).append(article_id)
    strongest = sorted(groups.items(), key=lambda g: -max(best[a] for a in g[1]))[:max_items]
    return sorted(strongest, key=lambda g: (g[0][1] == "", g[0][1],  # undated last
                                            -max(best[a] for a in g[1])))


def _entry(story: str, day: str, ids: Sequence[str], records: dict[str, ArticleRecord],
           topic: set[str], earlier: list[CitedLine], frequency: dict[str, int],
           reported: lines.FactMemory) -> BriefItem | None:
    """One dated entry: the best new on-topic sentence and up to FACTS more new facts."""
    ids = sorted(ids, key=lambda a: (records[a].article.published or "", a))
    weights = lines.keyword_weights([lead_text(records[a]) for a in ids], frequency,
                                    max(len(records), 1))
    pool = sorted((c for a in ids for c in lines.candidates(
        a, records[a].article.text, records[a].sentences, weights)),
        key=lambda c: -(c.score + TOPIC_WEIGHT * _share(topic, c.text)))
    chosen: list[CitedLine] = []
    for candidate in pool:
        if len(chosen) > FACTS:
            break
        seen = [line.text for line in [*earlier, *chosen]]
        if (candidate.text in seen or lines.is_repeat(candidate.text, seen)
                or reported.repeats(candidate.text)):
            continue
        on_subject = _share(topic, candidate.text) > 0
        if not on_subject and (chosen or _leads_on_topic(pool, topic)):
            continue  # lines name the topic (a headline may not, if no sentence does)
        chosen.append(with_update(cite(candidate, records), earlier))
    if not chosen:
        return None  # nothing new that day
    sources = {records[a].article.source for a in ids}
    return BriefItem(story, day or None, len(sources), len(ids), chosen[0], tuple(chosen[1:]))


def _leads_on_topic(pool: Sequence[lines.Candidate], topic: set[str]) -> bool:
    return any(_share(topic, c.text) > 0 for c in pool)


def _share(topic: set[str], text: str) -> float:
    return len(topic & content_words(text)) / len(topic)
