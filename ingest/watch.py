"""The watcher: poll feeds, pages, URL lists and folders when due; store what is new or changed.

One poll cycle fetches every due source (conditional GET, one request at a time with a delay
per host), keeps the entries that are new or whose text changed, fetches the pages behind
teasers, and stores them all in one ingest run. A source's validators (ETag, Last-Modified)
and its entries' digests are saved only after that run, so a watcher killed mid-poll fetches
the same entries next time and converges. A failing source waits interval x 2^failures,
at most `watch.backoff_cap`.

    >>> from newsrag.settings import load_settings
    >>> watcher = Watcher(load_settings(env={}), [("http://127.0.0.1:8000/feed.xml", 10.0)])
    >>> watcher.run(threading.Event(), once=True)                  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from ingest.feeds import FeedEntry, expand_teaser, is_teaser, read_entries
from ingest.fetch import Fetched, fetch_url
from ingest.index import Index, held_lock, open_index
from ingest.models import Article, IngestReport, Skip
from ingest.pipeline import ingest
from ingest.sources import check_article, is_url, kind_of_response
from ingest.watch_state import SourceState, WatchState
from newsrag.crashpoints import crash_point
from newsrag.errors import NewsragError, StoreBusyError, explain
from newsrag.settings import Settings, parse_duration

BUSY_RETRY_S = 5.0  # the store was busy (another ingest): try again soon, not a failure
MAX_SLEEP_S = 30.0


class WatcherBusyError(NewsragError):
    """Another watcher already watches this data dir."""


@contextmanager
def watch_lock(data_dir: Path) -> Iterator[None]:
    """Held while a watcher runs: a second watcher on the same data dir is refused."""
    with held_lock(data_dir / "watch.lock", 0.0, lambda holder: WatcherBusyError(
            f"another watcher ({holder}) is already watching {data_dir}")):
        yield


def expand_sources(specs: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """URLs and folders as they are; a text file of URLs (one a line) becomes its URLs."""
    expanded: list[tuple[str, float]] = []
    for source, every in specs:
        urls = None if is_url(source) else _url_list(Path(source).expanduser())
        expanded += [(url, every) for url in urls] if urls else [(source, every)]
    return list(dict.fromkeys(expanded))


def _url_list(path: Path) -> list[str] | None:
    if not path.is_file() or path.stat().st_size > 1_000_000:
        return None
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    urls = [line for line in lines if line and not line.startswith("#")]
    return urls if urls and all(is_url(u) and "\n" not in u for u in urls) else None


class PoliteFetcher:
    """fetch_url with the watcher's User-Agent and at least `delay` seconds between two
    requests to one host (requests are made one at a time)."""

    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.settings = settings.ingest.model_copy(update={"user_agent":
                                                           settings.watch.user_agent})
        self.delay = settings.watch.delay_per_host_s
        self.stop = stop
        self.last: dict[str, float] = {}

    def __call__(self, url: str, etag: str = "", last_modified: str = "") -> Fetched:
        host = (urlparse(url).hostname or "").lower()
        wait = self.last.get(host, -1e9) + self.delay - time.monotonic()
        if wait > 0:
            self.stop.wait(wait)
        try:
            return fetch_url(url, self.settings, etag, last_modified)
        finally:
            self.last[host] = time.monotonic()


@dataclass
class Polled:
    """One source's fetch in this cycle, waiting for the ingest run."""

    state: SourceState
    articles: list[tuple[str, Article, str]] = field(default_factory=list)  # key, art., digest
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # key, digest, why
    folder: str = ""
    fetched: Fetched | None = None
    error: str = ""
    polled_at: float = 0.0  # when the fetch began: the next poll is due an interval later
    interrupted: bool = False  # stopped while reading its entries: its state is not saved


@dataclass(frozen=True)
class CycleResult:
    """What one poll did to one source."""

    state: SourceState
    added: int = 0
    updated: int = 0


class Watcher:
    """Polls its sources when due; state in `<data_dir>/watch.sqlite3`."""

    def __init__(self, settings: Settings, sources: list[tuple[str, float]],
                 index: Index | None = None, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.specs = sources
        self._index = index
        self.stop = stop or threading.Event()
        self.clock = clock
        self.state = WatchState(settings.resolved_data_dir() / "watch.sqlite3")
        self.fetch = PoliteFetcher(settings, self.stop)
        self.cap_s = parse_duration(settings.watch.backoff_cap)

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = open_index(self.settings)
        return self._index

    def run(self, stop: threading.Event | None = None, once: bool = False,
            on_cycle: Callable[[list[CycleResult]], None] | None = None) -> None:
        """Poll until `stop` is set (or once, every source, with `once`)."""
        if stop is not None:
            self.stop = self.fetch.stop = stop
        changed = False  # since the lexical deltas were last merged
        while not self.stop.is_set():
            results = self.poll(force=once)
            if on_cycle is not None and results:
                on_cycle(results)
            if once:
                return
            if any(r.added or r.updated for r in results):
                changed = True
            elif results and changed:  # a quiet cycle: fold the deltas into the main index
                self.index.lexical.merge()
                changed = False
            self.stop.wait(self.seconds_to_next_due())

    def seconds_to_next_due(self) -> float:
        dues = [self.state.source(s).next_due for s, _ in expand_sources(self.specs)]
        return min(max(min(dues, default=MAX_SLEEP_S) - self.clock(), 0.05), MAX_SLEEP_S)

    def poll(self, force: bool = False) -> list[CycleResult]:
        """One cycle: fetch every due source, then store their new entries in one run."""
        now = self.clock()
        states = [self.state.watch(s, every) for s, every in expand_sources(self.specs)]
        polled = [self._fetch(s) for s in states
                  if (force or s.next_due <= now) and not self.stop.is_set()]
        if not polled:
            return []
        crash_point("watch.fetched")
        report, failure = self._store(polled)
        return [self._finish(p, report, failure) for p in polled]

    def _fetch(self, state: SourceState) -> Polled:
        source, began = state.source, self.clock()
        if not is_url(source):
            exists = Path(source).expanduser().exists()
            return Polled(replace(state, kind="folder"), folder=source, polled_at=began,
                          error="" if exists else "no such file or directory")
        try:
            fetched = self.fetch(source, state.etag, state.last_modified)
        except NewsragError as exc:
            return Polled(state, error=explain(exc, debug_hint=""), polled_at=began)
        polled = Polled(state, fetched=fetched, polled_at=began)
        if fetched.not_modified:
            return polled
        kind = kind_of_response(fetched.content_type, fetched.url, fetched.body)
        polled.state = replace(state, kind="feed" if kind in (".xml", ".rss", ".atom")
                               else "page" if kind in (".html", ".htm") else kind.strip("."))
        try:
            entries = list(read_entries(fetched.body, kind, source, self.settings.ingest))
        except NewsragError as exc:
            polled.error = explain(exc, debug_hint="")
            return polled
        self._keep_changed(polled, entries)
        return polled

    def _keep_changed(self, polled: Polled, entries: list[FeedEntry]) -> None:
        known = self.state.entries(polled.state.source)
        for entry in entries:
            held = known.get(entry.key)
            if self.stop.is_set():
                polled.interrupted = True  # the validators must not hide the rest next time
                return
            if held is not None and held.digest == entry.digest:
                continue
            item = entry.item
            if isinstance(item, Article):
                if held is not None and held.article_id:
                    item = replace(item, id=held.article_id)  # a new headline, the same story
                if is_teaser(item, self.settings):
                    item = expand_teaser(item, self.fetch)
                item = check_article(item, self.settings.ingest)
            if isinstance(item, Skip):
                polled.skipped.append((entry.key, entry.digest, item.reason))
            else:
                polled.articles.append((entry.key, item, entry.digest))

    def _store(self, polled: list[Polled]) -> tuple[IngestReport | None, str]:
        """One ingest run for every fetched source; (report, "") or (None, why it failed)."""
        folders = [p.folder for p in polled if p.folder and not p.error]
        articles = [a for p in polled for _, a, _ in p.articles]
        if not folders and not articles:
            return IngestReport(), ""
        try:
            return ingest(folders, self.settings, self.index, articles=articles), ""
        except StoreBusyError as exc:
            return None, f"busy: {exc}"
        except NewsragError as exc:
            return None, explain(exc, debug_hint="")

    def _finish(self, polled: Polled, report: IngestReport | None, failure: str
                ) -> CycleResult:
        now, began, state = self.clock(), polled.polled_at, polled.state
        if polled.interrupted:
            return CycleResult(state)
        if report is None and failure.startswith("busy:") and not polled.error:
            state = replace(state, last_status="store busy", next_due=now + BUSY_RETRY_S)
            self.state.save(state)
            return CycleResult(state)
        error = polled.error or failure
        if error:
            failures = state.failures + 1
            wait = min(state.every_s * 2 ** failures, max(self.cap_s, state.every_s))
            state = replace(state, last_poll=began, last_status="error", last_error=error,
                            failures=failures, next_due=began + wait)
            self.state.save(state)
            return CycleResult(state)
        assert report is not None
        added, updated = self._record(polled, report)
        fetched = polled.fetched
        status = "not modified" if fetched and fetched.not_modified else (
            f"ok: {added} new, {updated} updated{_skips(polled)}")
        state = replace(
            state, last_poll=began, last_status=status, last_error="", failures=0,
            next_due=began + state.every_s, new_articles=state.new_articles + added,
            updated_articles=state.updated_articles + updated,
            last_new=now if added or updated else state.last_new,
            etag=fetched.etag if fetched else "",
            last_modified=fetched.last_modified if fetched else "")
        crash_point("watch.record")
        self.state.save(state)
        return CycleResult(state, added, updated)

    def _record(self, polled: Polled, report: IngestReport) -> tuple[int, int]:
        """Remember the entries now stored; count this source's new and updated articles."""
        outcome = {o.article_id: o.outcome for o in report.outcomes if o.article_id}
        if polled.folder:
            where = str(Path(polled.folder).expanduser().resolve())
            located = [o for o in report.outcomes if o.location.startswith(where)]
            return (sum(o.outcome == "added" for o in located),
                    sum(o.outcome == "updated" for o in located))
        stored = [(key, a.id, digest) for key, a, digest in polled.articles
                  if outcome.get(a.id) in ("added", "updated", "unchanged")]
        self.state.record_entries(polled.state.source,
                                  stored + [(key, "", digest) for key, digest, _ in polled.skipped])
        kinds = [outcome.get(a.id) for _, a, _ in polled.articles]
        return kinds.count("added"), kinds.count("updated")


def _skips(polled: Polled) -> str:
    if not polled.skipped:
        return ""
    return f", {len(polled.skipped)} skipped ({polled.skipped[0][2]})"
