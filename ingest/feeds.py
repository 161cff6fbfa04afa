"""What one fetched feed, page or URL list holds for the watcher: keyed entries, with teasers
replaced by the linked article's main text.

A feed entry's key is its GUID (else link, else title): a changed entry keeps its key, so the
watcher stores it under the article id it had and the pipeline records it `updated`.

    >>> feed = b'''<rss><channel><title>Wire</title><item><guid>a1</guid><title>Rates rise</title>
    ... <description>The central bank raised its main rate by half a point.</description>
    ... </item></channel></rss>'''
    >>> [(e.key, e.item.title) for e in read_entries(feed, ".xml", "http://x.test/feed")]
    [('a1', 'Rates rise')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ingest.clean import decode_bytes
from ingest.fetch import Fetched
from ingest.formats import parse_html_document
from ingest.models import Article, Skip
from ingest.records import feed_entries
from ingest.sources import FEED_EXTENSIONS, parse_bytes
from newsrag.errors import IngestError
from newsrag.settings import IngestSettings, Settings

Fetch = Callable[[str], Fetched]


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a source: its stable key, and the article (or why there is none)."""

    key: str
    item: Article | Skip

    @property
    def digest(self) -> str:
        """What the source said about the entry; an equal digest means nothing changed."""
        return self.item.content_hash if isinstance(self.item, Article) else "skip"


def read_entries(body: bytes, kind: str, location: str,
                 settings: IngestSettings | None = None) -> Iterator[FeedEntry]:
    """The entries of a fetched body: a feed's items, a page's article, a file's records.

    A page is keyed by its address (a changed headline is still the same page); other
    records by their article id. Duplicate keys after the first are left out."""
    seen: set[str] = set()
    for key, item in _keyed(body, kind, location, settings or IngestSettings()):
        if key not in seen:
            seen.add(key)
            yield FeedEntry(key, item)


def _keyed(body: bytes, kind: str, location: str, settings: IngestSettings
           ) -> Iterator[tuple[str, Article | Skip]]:
    if kind in FEED_EXTENSIONS:
        yield from feed_entries(body, location)
        return
    for item in parse_bytes(body, kind, location, settings, url=location):
        key = location if kind in (".html", ".htm") else (
            item.article_id or item.location if isinstance(item, Skip) else item.id)
        yield key, item


def is_teaser(article: Article, settings: Settings) -> bool:
    """An entry whose text is probably a summary of the page it links to."""
    watch = settings.watch
    return (watch.fetch_pages and bool(article.url) and article.url != article.location
            and len(article.text) < max(watch.teaser_chars, 1))


def expand_teaser(article: Article, fetch: Fetch) -> Article:
    """The article with the linked page's main text (extracted by trafilatura), or as it
    was, with a note saying why, when the page cannot be fetched or holds less text."""
    try:
        fetched = fetch(article.url)
        page = parse_html_document(decode_bytes(fetched.body), article.location,
                                   url=fetched.url)
    except IngestError as exc:
        return _noted(article, f"kept the feed's text: {exc}")
    except Exception as exc:  # trafilatura or lxml failing on a hostile page
        return _noted(article, f"kept the feed's text: unreadable page ({type(exc).__name__})")
    if len(page.text) <= len(article.text):
        return article
    return replace(article, text=page.text, title=article.title or page.title,
                   published=article.published or page.published,
                   authors=article.authors or page.authors, content_hash="")


def _noted(article: Article, note: str) -> Article:
    return replace(article, notes=(*article.notes, note))
