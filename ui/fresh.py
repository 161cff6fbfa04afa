""""New since you last looked": one implementation for the Library and the Feeds tabs.

A browser's last look is a Unix time kept in its storage (LAST_LOOK_KEY); before the first
"Mark all as seen" it is 0 and "new" means the last 24 hours. New means stored or updated in
the catalog since then, by a watcher, `newsrag ingest` or an upload alike.

    >>> window(None, now=90000.0)
    (3600.0, 'in the last 24 hours')
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ingest.catalog import ArticleRecord, Catalog
from ui.render import escape, plural

LAST_LOOK_KEY = "newsrag-last-look"
DAY_S = 86400.0


def window(last_look: float | None, now: float | None = None) -> tuple[float, str]:
    """(since, how to say it): the last look, or 24 hours ago when there is none."""
    if last_look:
        return last_look, f"since {clock(last_look)}"
    return (time.time() if now is None else now) - DAY_S, "in the last 24 hours"


def arrived_since(catalog: Catalog, since: float, limit: int = -1) -> list[ArticleRecord]:
    """Articles stored (or updated) after `since` (Unix seconds), newest first."""
    return catalog.ingested_since(_stamp(since), limit)


def count_since(catalog: Catalog, since: float) -> int:
    return catalog.count_ingested_since(_stamp(since))


def render_count(catalog: Catalog, last_look: float | None) -> str:
    """ "3 new articles since 14:02" (the Library's line beside "Mark all as seen")."""
    since, when = window(last_look)
    count = count_since(catalog, since)
    css = "nr-note nr-new-count" + (" nr-has-new" if count else "")
    what = f"<strong>{plural(count, 'new article')}</strong>" if count else "Nothing new"
    return f'<div class="{css}" role="status">{what} {escape(when)}</div>'


def clock(seconds: float | None) -> str:
    """A moment as local time of day today, or date and time another day; "-" for none."""
    if not seconds:
        return "-"
    moment = datetime.fromtimestamp(seconds)
    today = moment.date() == datetime.now().date()
    return moment.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M")


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
