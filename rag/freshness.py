"""Freshness of cited facts: a later article of the same story that gives other figures for
a cited sentence's fact ("12 dead" on Monday, "15 dead" on Wednesday) or reverses it ("will
close the plant" → "will not close the plant") is attached to the answer, so it can say "as
of 4 Mar; a later report on 6 Mar says ...".

The candidates are the cited article's story (ingest/stories.py: copies and same-day
rewrites) and the articles of the next `FOLLOW_DAYS` days whose document vector is close to
it (cosine >= `UPDATE_COSINE`): an update published days later is rarely a near copy. A later
sentence counts when it shares most of the cited sentence's words but not its numbers, or
denies a verb the cited sentence affirms (or the reverse; rag/fact_change.py), is published
after the cited article and not after the question's reference date.

    >>> answer = with_later_reports(answer, services, reference=None)   # doctest: +SKIP
    >>> answer.later_reports[0].new                                     # doctest: +SKIP
    ('15',)
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from ingest.clean import date_ordinal
from ingest.stories import StoryMember, members_between, story_ids, story_outlets
from rag.answer_layout import day
from rag.fact_change import fact_change
from rag.models import Answer, Citation, LaterReport

if TYPE_CHECKING:
    from ingest.catalog import ArticleRecord, Catalog
    from rag.services import Services

FOLLOW_DAYS = 14  # how long after a cited article its updates are looked for
UPDATE_COSINE = 0.8  # an article this close to the cited one reports the same news


def with_later_reports(answer: Answer, services: Services, reference: date | None
                       ) -> Answer:
    """The answer with the later reports that change its cited figures (if any)."""
    days = [d for c in answer.citations if (d := date_ordinal(c.published)) is not None]
    if answer.refused or not days:
        return answer
    catalog = services.index.catalog
    stories = story_ids(catalog, {c.article_id for c in answer.citations})
    members = story_outlets(catalog, set(stories.values()))
    last = max(days) + FOLLOW_DAYS
    nearby = members_between(catalog, min(days), min(last, reference.toordinal())
                             if reference else last)  # read once for every citation
    found = []
    for citation in answer.citations:
        later = list(dict.fromkeys([a for _, a in members.get(stories[citation.article_id], [])
                                    if a != citation.article_id]
                                   + _close_later(nearby, citation)))
        report = _first_change(citation, later, catalog, reference)
        if report is not None:
            found.append(report)
    return answer.model_copy(update={"later_reports": tuple(found)}) if found else answer


def _close_later(nearby: list[StoryMember], citation: Citation) -> list[str]:
    """Articles of the FOLLOW_DAYS after the cited one whose vectors are close to its own."""
    start = date_ordinal(citation.published)
    own = next((m.vector for m in nearby if m.article_id == citation.article_id), None)
    if start is None or own is None:
        return []
    return [m.article_id for m in nearby if m.day is not None
            and start < m.day <= start + FOLLOW_DAYS and m.vector.shape == own.shape
            and float(np.dot(m.vector, own)) >= UPDATE_COSINE]


def _first_change(citation: Citation, candidates: list[str], catalog: Catalog,
                  reference: date | None) -> LaterReport | None:
    """The latest report after the cited one that changes the cited sentence's fact."""
    cited_day = day(citation.published)
    if cited_day == "undated":
        return None
    newest: tuple[str, LaterReport] | None = None
    for article_id in candidates:
        record = catalog.get(article_id)
        published = day(record.article.published) if record else "undated"
        if record is None or published == "undated" or published <= cited_day or (
                reference and published > reference.isoformat()):
            continue
        report = _change_in(citation, record)
        if report and (newest is None or published > newest[0]):
            newest = (published, report)
    return newest[1] if newest else None


def _change_in(citation: Citation, record: ArticleRecord) -> LaterReport | None:
    for sentence in record.sentences:
        change = fact_change(citation.text, sentence.text)
        if change:
            a = record.article
            return LaterReport(citation=citation.n, article_id=a.id, title=a.title,
                               source=a.source, url=a.url, published=a.published,
                               text=sentence.text, char_start=sentence.start,
                               char_end=sentence.end, old=change.old, new=change.new,
                               kind=change.kind)
    return None
