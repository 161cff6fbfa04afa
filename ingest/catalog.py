"""The article catalog (SQLite): full texts, sentence spans, and which chunk set is live.

The catalog is the source of truth. Chroma holds chunk vectors under ids `{version}:{i}`; a
chunk counts only while its version is its article's live version here. Chunk sets being
written are recorded as `pending` before Chroma sees them, and replaced ones as `garbage`
before they are deleted, so a crash at any point can be undone by `leftover_chunk_sets`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.clean import date_ordinal
from ingest.models import Article, Sentence
from ingest.sqlite_guard import reporting_failures
from newsrag.errors import StoreError, describe_failure

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
    url TEXT NOT NULL, published TEXT, published_day INTEGER, authors TEXT NOT NULL,
    location TEXT NOT NULL, content_hash TEXT NOT NULL, version TEXT NOT NULL,
    n_chunks INTEGER NOT NULL, sentences TEXT NOT NULL, ingested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_location ON articles(location);
CREATE INDEX IF NOT EXISTS articles_ingested ON articles(ingested_at);
CREATE TABLE IF NOT EXISTS chunk_sets (
    version TEXT PRIMARY KEY, article_id TEXT NOT NULL, n_chunks INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'garbage'))
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, article_ids TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class ArticleRecord:
    """A stored article with its live chunk version and sentence spans."""

    article: Article
    version: str
    n_chunks: int
    sentences: tuple[Sentence, ...]
    ingested_at: str


@dataclass(frozen=True)
class LiveArticle:
    """What ingest needs to know of a stored article: is it unchanged, and whose is it."""

    content_hash: str
    version: str
    location: str


@dataclass(frozen=True)
class ChunkSet:
    version: str
    article_id: str
    n_chunks: int

    def chunk_ids(self) -> list[str]:
        return [f"{self.version}:{i}" for i in range(self.n_chunks)]


@reporting_failures
class Catalog:
    """One SQLite file; safe for one writer and many readers (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"article catalog {self.path} is unreadable: "
                             f"{describe_failure(exc)}") from None
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")  # may fail too (a full disk): then roll back as well
        except BaseException:
            if db.in_transaction:
                with suppress(sqlite3.Error):  # the original error says more
                    db.execute("ROLLBACK")
            raise

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        """A counter every add, replace and delete of an article bumps."""
        return int(self.get_meta("generation") or 0)

    def _bump_generation(self, db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
                   "SET value = CAST(value AS INTEGER) + 1")

    def live_articles(self) -> dict[str, LiveArticle]:
        """article id -> its content hash, live version and location, read in one query."""
        rows = self.db.execute("SELECT id, content_hash, version, location FROM articles")
        return {row[0]: LiveArticle(*row[1:]) for row in rows}

    def live_chunk_sets(self) -> dict[str, tuple[str, int]]:
        """article id -> its live version and chunk count, read in one query."""
        rows = self.db.execute("SELECT id, version, n_chunks FROM articles")
        return {row[0]: (row[1], row[2]) for row in rows}

    def live_versions(self, article_ids: Iterable[str]) -> dict[str, str]:
        ids = list(set(article_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            sql = f"SELECT id, version FROM articles WHERE id IN ({marks})"
            found.update(self.db.execute(sql, part).fetchall())
        return found

    def mark_pending(self, sets: Iterable[ChunkSet]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO chunk_sets VALUES (?, ?, ?, 'pending')",
                [(s.version, s.article_id, s.n_chunks) for s in sets],
            )

    def make_live(
        self, entries: Iterable[tuple[Article, ChunkSet, list[Sentence]]]
    ) -> list[ChunkSet]:
        """Atomically switch articles to their new chunk sets; returns the replaced sets."""
        replaced: list[ChunkSet] = []
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.transaction() as db:
            for article, chunk_set, sentences in entries:
                old = db.execute(
                    "SELECT version, n_chunks FROM articles WHERE id = ?", (article.id,)
                ).fetchone()
                if old and old[0] != chunk_set.version:
                    replaced.append(ChunkSet(old[0], article.id, old[1]))
                db.execute("INSERT OR REPLACE INTO articles VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           _article_row(article, chunk_set, sentences, now))
                db.execute("DELETE FROM chunk_sets WHERE version = ?", (chunk_set.version,))
            db.executemany(
                "INSERT OR REPLACE INTO chunk_sets VALUES (?, ?, ?, 'garbage')",
                [(s.version, s.article_id, s.n_chunks) for s in replaced],
            )
            self._bump_generation(db)
        return replaced

    def remove_articles(self, article_ids: Iterable[str]) -> list[ChunkSet]:
        """Delete articles; their chunk sets become garbage for the caller to drop."""
        removed: list[ChunkSet] = []
        with self.transaction() as db:
            for article_id in article_ids:
                row = db.execute(
                    "SELECT version, n_chunks FROM articles WHERE id = ?", (article_id,)
                ).fetchone()
                if row:
                    removed.append(ChunkSet(row[0], article_id, row[1]))
                    db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
                    db.execute("INSERT OR REPLACE INTO chunk_sets VALUES (?, ?, ?, 'garbage')",
                               (row[0], article_id, row[1]))
            if removed:
                self._bump_generation(db)
        return removed

    def leftover_chunk_sets(self) -> list[ChunkSet]:
        """Pending and garbage sets: chunks in the store that no article owns."""
        rows = self.db.execute("SELECT version, article_id, n_chunks FROM chunk_sets")
        return [ChunkSet(*row) for row in rows]

    def forget_chunk_sets(self, sets: Iterable[ChunkSet]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM chunk_sets WHERE version = ?", [(s.version,) for s in sets])

    def get(self, article_id: str) -> ArticleRecord | None:
        row = self.db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _record(row) if row else None

    def list_articles(self) -> list[ArticleRecord]:
        rows = self.db.execute("SELECT * FROM articles ORDER BY published DESC, title")
        return [_record(row) for row in rows]

    def ingested_since(self, after: str, limit: int = -1) -> list[ArticleRecord]:
        """Articles stored or updated after `after` ("2026-01-31T12:00:00Z"), newest first,
        at most `limit` of them (-1: all)."""
        rows = self.db.execute("SELECT * FROM articles WHERE ingested_at > ? "
                               "ORDER BY ingested_at DESC, title LIMIT ?", (after, limit))
        return [_record(row) for row in rows]

    def count_ingested_since(self, after: str) -> int:
        """How many articles `ingested_since(after)` would list."""
        (count,) = self.db.execute("SELECT COUNT(*) FROM articles WHERE ingested_at > ?",
                                   (after,)).fetchone()
        return int(count)

    def lexical_rows(self) -> list[dict[str, Any]]:
        """What the BM25 index needs of every article, in one query."""
        rows = self.db.execute(
            "SELECT id, title, text, source, published_day, version FROM articles ORDER BY id")
        keys = ("id", "title", "text", "source", "day", "version")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def chunk_owners(self, article_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What a chunk needs of its live article: text, version and display fields."""
        ids = list(set(article_ids))
        keys = ("id", "title", "text", "source", "url", "published", "day", "version")
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):  # SQLite caps bound parameters
            part = ids[start:start + 500]
            rows = self.db.execute(
                "SELECT id, title, text, source, url, published, published_day, version "
                f"FROM articles WHERE id IN ({','.join('?' * len(part))})", part)
            found.update((row[0], dict(zip(keys, row, strict=True))) for row in rows)
        return found

    def all_locations(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for article_id, location in self.db.execute("SELECT id, location FROM articles"):
            found.setdefault(location, []).append(article_id)
        return found

    def unchanged_file_ids(self, path: str, size: int, mtime_ns: int, fingerprint: str
                           ) -> list[str] | None:
        """The article ids a file held when it was last fully ingested, if it is unchanged."""
        row = self.db.execute(
            "SELECT size, mtime_ns, fingerprint, article_ids FROM files WHERE path = ?", (path,)
        ).fetchone()
        if row is None or tuple(row[:3]) != (size, mtime_ns, fingerprint):
            return None
        return list(json.loads(row[3]))

    def record_files(self, files: Iterable[tuple[str, int, int, str, list[str]]]) -> None:
        rows = [(*f[:4], json.dumps(f[4])) for f in files]
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)

    def forget_files(self, paths: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def stats(self) -> dict[str, int]:
        articles, chunks = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(n_chunks), 0) FROM articles"
        ).fetchone()
        return {"articles": articles, "chunks": chunks}


def _article_row(
    article: Article, chunk_set: ChunkSet, sentences: list[Sentence], now: str
) -> tuple[object, ...]:
    spans = json.dumps([[s.start, s.end] for s in sentences])
    return (
        article.id, article.title, article.text, article.source, article.url, article.published,
        date_ordinal(article.published), json.dumps(list(article.authors)), article.location,
        article.content_hash, chunk_set.version, chunk_set.n_chunks, spans, now,
    )


def _record(row: sqlite3.Row | tuple[object, ...]) -> ArticleRecord:
    (id_, title, text, source, url, published, _day, authors, location, content_hash, version,
     n_chunks, spans, ingested_at) = row
    article = Article(
        id=str(id_), title=str(title), text=str(text), source=str(source), url=str(url),
        published=published if isinstance(published, str) else None,
        authors=tuple(json.loads(str(authors))), location=str(location),
        content_hash=str(content_hash),
    )
    sentences = tuple(
        Sentence(i, start, end, article.text[start:end])
        for i, (start, end) in enumerate(json.loads(str(spans)))
    )
    return ArticleRecord(article, str(version), int(str(n_chunks)), sentences, str(ingested_at))
