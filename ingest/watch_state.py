"""What the watcher remembers between polls, in `<data_dir>/watch.sqlite3`: per source its
last poll, status, HTTP validators (ETag, Last-Modified), next due time and failures; per feed
entry the article id it was stored under and a digest of what the feed said.

An entry's digest is recorded only after its article is stored, so a watcher killed mid-poll
fetches the entry again next time and the pipeline finds the article unchanged (or stores it).

    >>> import tempfile, pathlib
    >>> state = WatchState(pathlib.Path(tempfile.mkdtemp()) / "watch.sqlite3")
    >>> state.source("http://example.org/feed.xml").failures
    0
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ingest.sqlite_guard import reporting_failures

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY, kind TEXT NOT NULL, every_s REAL NOT NULL,
    last_poll REAL, last_status TEXT NOT NULL, last_error TEXT NOT NULL,
    etag TEXT NOT NULL, last_modified TEXT NOT NULL, next_due REAL NOT NULL,
    failures INTEGER NOT NULL, new_articles INTEGER NOT NULL, updated_articles INTEGER NOT NULL,
    last_new REAL
);
CREATE TABLE IF NOT EXISTS entries (
    source TEXT NOT NULL, entry TEXT NOT NULL, article_id TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (source, entry)
);
"""


@dataclass(frozen=True)
class SourceState:
    """One watched source as last polled (times are Unix seconds)."""

    source: str
    kind: str = ""  # feed, page, list or folder, once polled
    every_s: float = 900.0
    last_poll: float | None = None
    last_status: str = "never polled"
    last_error: str = ""
    etag: str = ""
    last_modified: str = ""
    next_due: float = 0.0
    failures: int = 0
    new_articles: int = 0  # in total, since the source was first watched
    updated_articles: int = 0
    last_new: float | None = None  # when the latest new or updated article arrived

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    """A feed entry already stored: under which article id, with what content digest."""

    article_id: str
    digest: str


@reporting_failures
class WatchState:
    """The watcher's SQLite file; safe to read while a watcher writes (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # the UI's thread reads while the watcher's writes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def sources(self) -> list[SourceState]:
        """Every source ever watched, in the order they were added."""
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM sources ORDER BY rowid").fetchall()
        return [SourceState(*row) for row in rows]

    def source(self, source: str) -> SourceState:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM sources WHERE source = ?", (source,)).fetchone()
        return SourceState(*row) if row else SourceState(source)

    def save(self, state: SourceState) -> None:
        values = tuple(state.as_dict().values())
        with self._transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO sources VALUES ({','.join('?' * len(values))})",
                       values)

    def watch(self, source: str, every_s: float) -> SourceState:
        """The source's state, added if new; a changed interval applies from now."""
        state = self.source(source)
        if state.every_s != every_s or state.last_poll is None:
            state = replace(state, every_s=every_s)
            self.save(state)
        return state

    def entries(self, source: str) -> dict[str, Entry]:
        with self._transaction() as db:
            rows = db.execute("SELECT entry, article_id, digest FROM entries WHERE source = ?",
                              (source,)).fetchall()
        return {entry: Entry(article_id, digest) for entry, article_id, digest in rows}

    def record_entries(self, source: str, entries: Iterable[tuple[str, str, str]]) -> None:
        """Remember (entry key, article id, digest) of entries whose articles are stored."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                           [(source, *entry) for entry in entries])

    def close(self) -> None:
        self._db.close()
