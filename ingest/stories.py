"""Stories across outlets: copies and rewrites of one news story share a `story_id`.

At ingest every article gets a MinHash signature of its word 3-shingles (datasketch) and a
document vector (the mean of its chunks' embeddings), kept in the catalog's `stories` table.
A new or changed article joins the story of the most similar stored article when

- its text is a near copy (estimated shingle Jaccard >= `COPY_JACCARD`, and an embedding
  cosine >= `COPY_COSINE`: pages that share only boilerplate, a newsletter sign-up or an ad
  survey, have near-equal shingles but unlike vectors) published within `COPY_DAYS` days
  (undated articles: any day), or
- it is a rewrite: some shared phrasing (Jaccard >= `REWRITE_JACCARD`), an embedding cosine
  >= `REWRITE_COSINE`, and publication within `REWRITE_DAYS` days;

otherwise it starts a story of its own (its `story_id` is its own id). A story never absorbs
another (no chains of merges): an article joins one story, the best match's. Signatures are
compared all at once with numpy (8 ms against 4k stored articles, 55 ms against 70k, plus
11 ms for the signature), so no LSH index is kept.
The thresholds were chosen on the RealTime QA dev corpus (bench/stories.py; figures in
docs/benchmarks.md).

    >>> a = signature("The central bank raised interest rates by half a point on Wednesday")
    >>> b = signature("The central bank raised interest rates by half a point on Wednesday.")
    >>> round(float((a == b).mean()), 1)
    1.0
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.catalog import Catalog

NUM_PERM = 128
SHINGLE = 3
COPY_JACCARD = 0.5
COPY_COSINE = 0.8
COPY_DAYS = 3
REWRITE_JACCARD = 0.12
REWRITE_COSINE = 0.88
REWRITE_DAYS = 0
_WORD = re.compile(r"\w+", re.UNICODE)
SCHEMA = """
CREATE TABLE IF NOT EXISTS stories (
    article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, day INTEGER,
    minhash BLOB NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_story ON stories(story_id);
"""


@dataclass(frozen=True)
class StoryInput:
    """What story matching needs of one article."""

    article_id: str
    text: str
    day: int | None  # publication date ordinal
    chunk_vectors: Sequence[Sequence[float]]


@dataclass(frozen=True)
class StoryMatch:
    story_id: str
    matched: str | None  # the stored article it was matched to, None if a new story
    jaccard: float
    cosine: float


def signature(text: str) -> np.ndarray:
    """MinHash of the text's lower-cased word 3-shingles."""
    from datasketch import MinHash

    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    minhash = MinHash(num_perm=NUM_PERM, seed=1)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    return np.asarray(minhash.hashvalues, dtype=np.uint64)


def document_vector(chunk_vectors: Sequence[Sequence[float]]) -> np.ndarray:
    matrix = np.asarray(chunk_vectors, dtype=np.float32)
    if matrix.size == 0:
        return np.zeros(0, dtype=np.float32)
    mean = matrix.mean(axis=0)
    return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)


class StoryIndex:
    """Signatures of stored articles, matched against new ones (in memory)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.stories: list[str] = []
        self.days: list[int] = []
        self.signatures: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []
        self._matrix: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, article_id: str, story_id: str, day: int | None, minhash: np.ndarray,
            vector: np.ndarray) -> None:
        self.ids.append(article_id)
        self.stories.append(story_id)
        self.days.append(-1 if day is None else day)
        self.signatures.append(minhash)
        self.vectors.append(vector)

    def match(self, article_id: str, day: int | None, minhash: np.ndarray,
              vector: np.ndarray) -> StoryMatch:
        """The story this article belongs to (its own id when none fits)."""
        if not self.ids:
            return StoryMatch(article_id, None, 0.0, 0.0)
        blocks = self._blocks()
        jaccard = np.concatenate([(s == minhash).mean(axis=1) for s, _, _ in blocks])
        cosine = np.concatenate([v @ vector if v.shape[1] == len(vector)
                                 else np.zeros(len(v), dtype=np.float32) for _, v, _ in blocks])
        days = np.concatenate([d for _, _, d in blocks])
        apart = (np.abs(days - day) if day is not None
                 else np.zeros(len(self.ids), dtype=np.int64))
        undated = (days < 0) | (day is None)
        copy = ((jaccard >= COPY_JACCARD) & (cosine >= COPY_COSINE)
                & (undated | (apart <= COPY_DAYS)))
        rewrite = ((jaccard >= REWRITE_JACCARD) & (cosine >= REWRITE_COSINE)
                   & ~undated & (apart <= REWRITE_DAYS))
        fits = (copy | rewrite) & (np.array(self.ids) != article_id)
        if not fits.any():
            return StoryMatch(article_id, None, 0.0, 0.0)
        best = int(np.argmax(np.where(fits, jaccard + cosine, -np.inf)))
        return StoryMatch(self.stories[best], self.ids[best], float(jaccard[best]),
                          float(cosine[best]))

    def _blocks(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """All rows as arrays: the stacked store, and rows added since (a batch's) stacked
        apart and folded in only when they grow, so each new article costs no copy of the
        whole store."""
        done = 0 if self._matrix is None else len(self._matrix[0])
        dims = max((len(v) for v in self.vectors), default=0)
        if self._matrix is not None and (self._matrix[1].shape[1] != dims
                                         or len(self.ids) - done > max(256, done // 4)):
            self._matrix, done = None, 0  # fold everything in again
        if self._matrix is None:
            self._matrix = self._stack(0, dims)
            done = len(self.ids)
        return [self._matrix] + ([self._stack(done, dims)] if done < len(self.ids) else [])

    def _stack(self, start: int, dims: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vectors = np.stack([v if len(v) == dims else np.zeros(dims, dtype=np.float32)
                            for v in self.vectors[start:]])
        return (np.stack(self.signatures[start:]), vectors,
                np.array(self.days[start:], dtype=np.int64))


def assign_stories(catalog: Catalog, articles: Iterable[StoryInput]) -> dict[str, StoryMatch]:
    """Match each article against the stored ones (and the earlier ones of this batch) and
    store its story; returns article id -> its match."""
    db = catalog.db
    db.executescript(SCHEMA)
    known = load_story_index(db)
    found, rows = {}, []
    for article in articles:
        minhash, vector = signature(article.text), document_vector(article.chunk_vectors)
        match = known.match(article.article_id, article.day, minhash, vector)
        known.add(article.article_id, match.story_id, article.day, minhash, vector)
        found[article.article_id] = match
        rows.append((article.article_id, match.story_id, article.day, minhash.tobytes(),
                     vector.tobytes()))
    with catalog.transaction() as tx:
        tx.executemany("INSERT OR REPLACE INTO stories VALUES (?, ?, ?, ?, ?)", rows)
    return found


def load_story_index(db: sqlite3.Connection) -> StoryIndex:
    """The stored signatures of live articles (rows of deleted ones are skipped)."""
    known = StoryIndex()
    rows = db.execute("SELECT s.article_id, s.story_id, s.day, s.minhash, s.vector "
                      "FROM stories s JOIN articles a ON a.id = s.article_id")
    for article_id, story_id, day, minhash, vector in rows:
        known.add(article_id, story_id, day, np.frombuffer(minhash, dtype=np.uint64),
                  np.frombuffer(vector, dtype=np.float32))
    return known


def story_ids(catalog: Catalog, article_ids: Iterable[str]) -> dict[str, str]:
    """article id -> its story id (its own id when it was never matched)."""
    ids = list(set(article_ids))
    found = {a: a for a in ids}
    if not _has_table(catalog):
        return found
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        found.update(catalog.db.execute(
            "SELECT article_id, story_id FROM stories WHERE article_id IN "
            f"({','.join('?' * len(part))})", part).fetchall())
    return found


def story_outlets(catalog: Catalog, stories: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """story id -> its live articles as (source, article id), earliest published first."""
    wanted = list(set(stories))
    found: dict[str, list[tuple[str, str]]] = {s: [] for s in wanted}
    if not _has_table(catalog):
        return found
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        rows = catalog.db.execute(
            "SELECT s.story_id, a.source, a.id FROM stories s JOIN articles a "
            f"ON a.id = s.article_id WHERE s.story_id IN ({','.join('?' * len(part))}) "
            "ORDER BY a.published IS NULL, a.published, a.id", part)
        for story, source, article_id in rows:
            found[story].append((source, article_id))
    return found


def _has_table(catalog: Catalog) -> bool:
    return catalog.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stories'").fetchone() \
        is not None


@dataclass(frozen=True)
class StoryMember:
    """A live article with its story and document vector (for briefings over a window)."""

    article_id: str
    story_id: str
    source: str
    day: int | None
    vector: np.ndarray


def members_between(catalog: Catalog, since_day: int | None, until_day: int | None,
                    undated: bool = False) -> list[StoryMember]:
    """Live articles published in [since_day, until_day] (ordinals, None: open) with their
    story and vector, earliest first (with `undated`, undated articles too, last)."""
    if not _has_table(catalog):
        return []
    where, args = [], []
    if since_day is not None:
        where.append("a.published_day >= ?")
        args.append(since_day)
    if until_day is not None:
        where.append("a.published_day <= ?")
        args.append(until_day)
    condition = " AND ".join(where)
    if condition and undated:
        condition = f"({condition}) OR a.published_day IS NULL"
    rows = catalog.db.execute(
        "SELECT a.id, s.story_id, a.source, a.published_day, s.vector FROM articles a "
        "JOIN stories s ON s.article_id = a.id "
        f"{'WHERE ' + condition if condition else ''} "
        "ORDER BY a.published_day IS NULL, a.published_day, a.published, a.id", args)
    return [StoryMember(a, s, source, day, np.frombuffer(vector, dtype=np.float32))
            for a, s, source, day, vector in rows]
