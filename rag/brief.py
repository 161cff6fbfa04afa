"""Briefings: "what happened this week" (the top stories of a window) and "how did this story
develop" (a dated timeline of a topic), every line a quoted sentence with its exact span,
checked by the same support judge as answers.

Without a topic, the window's stories (ingest/stories.py) are ranked by coverage, recency
and whether their lead dates the news, and picked for diversity
(rag/brief_rank.py); each item quotes the best lead of the story's (and its same-news)
articles, the earliest unless a later one is clearly better, and up to two key facts that add
names and figures the item has not given (rag/brief_lines.py). With a topic the
articles about it become a timeline (rag/timeline.py): one entry per story and day, saying
only what was new that day; a figure that changed is flagged with the earlier report.

    >>> week = brief(services, since=date(2022, 8, 8), until=date(2022, 8, 14))  # doctest: +SKIP
    >>> line = week.items[0].headline                                            # doctest: +SKIP
    >>> text = services.index.catalog.get(line.article_id).article.text          # doctest: +SKIP
    >>> text[line.char_start:line.char_end] == line.text                         # doctest: +SKIP
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from ingest.catalog import ArticleRecord
from ingest.stories import members_between
from rag import brief_lines as lines
from rag.brief_rank import RankedStory, entity_mentions, group_stories, pick_groups, rank_stories
from rag.fact_change import fact_change
from rag.judge import shared_judge
from rag.text import content_words

if TYPE_CHECKING:
    from rag.services import Services

DEFAULT_DAYS = 7  # a briefing without dates covers the week up to the reference day
FACTS = 2  # key facts per item beside its headline line
FACT_COSINE = 0.8  # related articles this close to a story lend it facts
FACT_SOURCES = 12  # articles a story's key facts are looked for in (its own come first)
NOVELTY = 0.8  # weight of the names and figures a fact adds to the item's earlier lines
OTHER_REPORTS = 1.0  # a fact from an article the item already cites scores this much less


@dataclass(frozen=True)
class Update:
    """A line that changes an earlier line's fact: the earlier line, and either both figures
    (kind "figures") or the verbs it reverses (kind "reversal": "close" -> "not close")."""

    earlier: CitedLine
    old: tuple[str, ...]
    new: tuple[str, ...]
    kind: Literal["figures", "reversal"] = "figures"


@dataclass(frozen=True)
class CitedLine:
    """A quoted sentence: `article.text[char_start:char_end] == text`, and its judged support."""

    text: str
    article_id: str
    title: str
    source: str
    url: str
    published: str | None
    char_start: int
    char_end: int
    support: float = 0.0
    update: Update | None = None


@dataclass(frozen=True)
class BriefItem:
    """One story (or, in a timeline, one story on one day)."""

    story_id: str
    date: str | None  # its earliest article in the window (timeline: that day)
    outlets: int  # distinct sources carrying the story in the window
    articles: int
    headline: CitedLine
    facts: tuple[CitedLine, ...] = ()
    related: int = 0  # other articles of the window about the same news
    score: float = 0.0


@dataclass(frozen=True)
class Briefing:
    kind: Literal["stories", "timeline"]
    topic: str | None
    since: str | None
    until: str | None
    items: tuple[BriefItem, ...]
    articles: int  # articles the briefing was drawn from
    message: str = ""  # why there are no items (or few)
    judge: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def brief(services: Services, topic: str | None = None, since: date | None = None,
          until: date | None = None, as_of: date | None = None, max_items: int = 10
          ) -> Briefing:
    """The top stories of [since, until] (default: the week up to `as_of`, else today), or
    with a topic its timeline; nothing published after `as_of` is used."""
    started = time.perf_counter()
    # Undated articles (files without a date) have no place in a window the user chose.
    undated = since is None and until is None and as_of is None
    reference = as_of or date.today()
    until = min(until, reference) if until else (reference if topic is None or as_of else None)
    if since is None and topic is None:
        since = (until or reference) - timedelta(days=DEFAULT_DAYS - 1)
    if since and until and since > until:
        return _empty(topic, since, until, 0, f"the window starts ({since}) after it ends "
                      f"({until})")
    if topic is not None:
        from rag.timeline import timeline

        items, considered, message = timeline(services, topic, since, until, reference,
                                              max_items, undated)
    else:
        items, considered, message = top_stories(services, since, until, max_items, undated)
    checked, judge = check_items(services, items)
    dropped = len(items) - len(checked)
    if dropped and not message:
        message = f"{dropped} item(s) left out: the judge did not find their lines supported"
    return Briefing("timeline" if topic is not None else "stories", topic, _iso(since),
                    _iso(until), tuple(checked), considered, message, judge,
                    {"total": time.perf_counter() - started})


def top_stories(services: Services, since: date | None, until: date | None, max_items: int,
                undated: bool = False) -> tuple[list[BriefItem], int, str]:
    """The window's stories, best first: items, articles considered, and a message if few."""
    import numpy as np

    catalog = services.index.catalog
    members = members_between(catalog, _ordinal(since), _ordinal(until), undated)
    if not members:
        return [], 0, f"no articles published {window_phrase(since, until)}"
    records = {m.article_id: r for m in members if (r := catalog.get(m.article_id))}
    leads = {a: lead_text(r) for a, r in records.items()}
    days = (until - since).days + 1 if since and until else DEFAULT_DAYS
    stories = group_stories(members)
    names, mentions = entity_mentions(stories, records, leads)
    demoted = frozenset(s for s, ms in stories.items() if all(
        lines.is_commentary(records[m.article_id].article.title) for m in ms))
    dated = frozenset(s for s, ms in stories.items() if any(lines.dated_lead(
        records[m.article_id].article.text, records[m.article_id].sentences) for m in ms))
    ranked = rank_stories(stories, names, mentions, _ordinal(until), days, demoted,
                          dated=dated)
    groups = pick_groups(np.stack([r.centroid for r in ranked]),
                         np.array([r.score for r in ranked]), max_items)
    frequency = document_frequency(leads.values())
    items: list[BriefItem] = []
    said: list[CitedLine] = []  # no fact is told twice in one briefing
    for pick, absorbed in groups:
        same_news = [m.article_id for i in absorbed for m in ranked[i].members]
        item = story_item(ranked[pick], same_news, records, leads, frequency, said)
        if item is not None:
            items.append(item)
            said.extend([item.headline, *item.facts])
    message = "" if len(members) > 1 else "only one article in this window"
    return items, len(members), message


def story_item(story: RankedStory, same_news: Sequence[str], records: dict[str, ArticleRecord],
               leads: dict[str, str], frequency: dict[str, int], said: Sequence[CitedLine]
               ) -> BriefItem | None:
    """The story's headline line (the best lead of its and its same-news articles) and key
    facts from its articles and those about the same news."""
    close = [a for a, cosine in story.related if a in records and cosine >= FACT_COSINE]
    sources = list(dict.fromkeys([m.article_id for m in story.members] + list(same_news)
                                 + close))[:FACT_SOURCES]
    weights = lines.keyword_weights([leads[a] for a in sources], frequency, len(leads))
    heard = [line.text for line in said]
    headline = lines.best_lead([m.article_id for m in story.members] + list(same_news), records,
                         weights, heard)
    if headline is None:
        return None
    facts = pick_facts(cite(headline, records), sources, records, weights, said)
    first = records[story.members[0].article_id].article.published
    related = len(set(same_news) | {a for a, _ in story.related})
    return BriefItem(story.story_id, first[:10] if first else None,
                     len({m.source for m in story.members}), len(story.members),
                     cite(headline, records), tuple(facts), related, round(story.score, 4))


def pick_facts(headline: CitedLine, sources: Sequence[str], records: dict[str, ArticleRecord],
               weights: dict[str, float], said: Sequence[CitedLine] = ()) -> list[CitedLine]:
    """Up to FACTS further sentences, none repeating a line already chosen; one that gives a
    later figure for a chosen line's fact is kept and flagged as an update."""
    pool = [c for a in sources for c in lines.candidates(
        a, records[a].article.text, records[a].sentences, weights)]
    chosen: list[CitedLine] = []
    earlier = [*said, headline]
    while len(chosen) < FACTS:
        known = " ".join(line.text for line in [headline, *chosen])
        cited = [records[a].article.text for a in {ln.article_id for ln in [headline, *chosen]}]
        # Names and figures the item already gave add nothing: score what is new; and
        # prefer other reports of the news to more of an article already cited (or a copy).
        ranked = sorted(pool, key=lambda c: -(c.score + NOVELTY * (
            lines.density(c.text, known) - lines.density(c.text))
            - OTHER_REPORTS * any(c.text in text for text in cited)))
        texts = [line.text for line in earlier]
        candidate = next((c for c in ranked if c.text not in texts
                          and not lines.is_repeat(c.text, texts)), None)
        if candidate is None:
            break
        pool.remove(candidate)
        line = with_update(cite(candidate, records), [headline, *chosen])
        chosen.append(line)
        earlier.append(line)
    return chosen


def with_update(line: CitedLine, earlier: Sequence[CitedLine]) -> CitedLine:
    """The line flagged as an update when it gives other figures for an earlier line's fact
    reported on an earlier day, or reverses it (rag/fact_change.py)."""
    for before in earlier:
        if (before.published or "") >= (line.published or ""):
            continue
        change = fact_change(before.text, line.text)
        if change:
            return replace(line, update=Update(replace(before, update=None), change.old,
                                               change.new, change.kind))
    return line


def cite(candidate: lines.Candidate, records: dict[str, ArticleRecord]) -> CitedLine:
    a = records[candidate.article_id].article
    return CitedLine(candidate.text, a.id, a.title, a.source, a.url, a.published,
                     candidate.start, candidate.end)


def check_items(services: Services, items: Sequence[BriefItem]) -> tuple[list[BriefItem], str]:
    """Every line checked: verbatim its cited span, and judged against it by the answers'
    judge (quotes at its balanced threshold: the strict one is for generated text). A fact
    that fails is dropped, an item whose headline fails is dropped."""
    if not items:
        return [], ""
    judge = shared_judge(services)
    all_lines = [line for item in items for line in (item.headline, *item.facts)]
    texts = {line.article_id: _article_text(services, line.article_id) for line in all_lines}
    scores = iter(judge.score([(line.text, [texts[line.article_id][
        line.char_start:line.char_end]]) for line in all_lines]))
    checked = []
    for item in items:
        head, *facts = [replace(line, support=round(next(scores), 4))
                        for line in (item.headline, *item.facts)]
        kept = [line for line in (head, *facts) if judge.supported(line.support) and texts[
            line.article_id][line.char_start:line.char_end] == line.text]
        if kept and kept[0] is head:
            checked.append(replace(item, headline=head, facts=tuple(kept[1:])))
    return checked, judge.name


def _article_text(services: Services, article_id: str) -> str:
    record = services.index.catalog.get(article_id)
    return record.article.text if record else ""


def lead_text(record: ArticleRecord) -> str:
    """The title and first sentences: what says what an article is about."""
    return " ".join([record.article.title] + [
        s.text for s in record.sentences[:lines.LEAD_SENTENCES]])


def document_frequency(texts: Iterable[str]) -> dict[str, int]:
    """Word -> how many of the texts contain it."""
    frequency: dict[str, int] = {}
    for text in texts:
        for word in content_words(text):
            frequency[word] = frequency.get(word, 0) + 1
    return frequency


def _empty(topic: str | None, since: date | None, until: date | None, considered: int,
           message: str) -> Briefing:
    return Briefing("timeline" if topic is not None else "stories", topic, _iso(since),
                    _iso(until), (), considered, message)


def _ordinal(day: date | None) -> int | None:
    return day.toordinal() if day else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def window_phrase(since: date | None, until: date | None,
                  unbounded: str = "at all (is anything ingested?)") -> str:
    """How a message names a date window: "between D1 and D2", "since D1", "up to D2"."""
    if since and until:
        return f"between {since} and {until}"
    if since:
        return f"since {since}"
    return f"up to {until}" if until else unbounded
