"""The values that cross module boundaries: articles, their sentences and chunks, and reports."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    """One sentence: `article.text[start:end] == text`."""

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Article:
    """A normalised news article; `text` is what every character span refers to."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    published: str | None = None  # ISO 8601: "2022-06-17" or "2022-06-17T10:00:00Z"
    authors: tuple[str, ...] = ()
    location: str = ""  # the file path or URL it was read from
    content_hash: str = field(default="", compare=False)
    # What the parser distrusted and dropped (an impossible date, a malformed URL): warnings
    # for the ingest report, not part of the article.
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", hash_content(self))


def hash_content(article: Article) -> str:
    """A digest of everything a reader sees; a change anywhere means the article is updated."""
    payload = [article.title, article.text, article.source, article.url, article.published,
               list(article.authors)]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """Consecutive whole sentences of one article, packed to a token budget."""

    article_id: str
    index: int
    start: int
    end: int
    text: str
    sentences: tuple[Sentence, ...]
    n_tokens: int
    embed_text: str


@dataclass(frozen=True)
class Skip:
    """A source (or one record in it) that was not ingested, and why."""

    location: str
    reason: str
    article_id: str = ""


@dataclass(frozen=True)
class Outcome:
    """What happened to one article, record or file of an ingest run (for `ingest --json`)."""

    outcome: str  # added, updated, unchanged, skipped, deleted or warning
    location: str
    article_id: str = ""
    reason: str = ""


@dataclass
class IngestReport:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    # Stored all the same, but something about it was not trusted (an impossible date, ...).
    warnings: list[Skip] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def stored(self) -> int:
        return len(self.added) + len(self.updated) + self.unchanged
