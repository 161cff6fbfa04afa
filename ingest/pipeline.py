"""The ingest pipeline: sources → articles → sentences → chunks → vectors in the index.

Parsing and chunking run in a background thread while the main thread embeds (the model
releases the GIL), so both cores stay busy.

    >>> from newsrag.settings import load_settings
    >>> report = ingest(["data/sample"], load_settings(env={}))   # doctest: +SKIP
    >>> report.added                                               # doctest: +SKIP
    ['trump-putin-ceasefire-talks-…']
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.catalog import LiveArticle
from ingest.chunk import chunk_article, count_tokens
from ingest.embed import Embedder
from ingest.index import Index, PreparedArticle, open_index
from ingest.models import Article, IngestReport, Outcome, Skip
from ingest.provenance import holds, refusal
from ingest.segment import split_sentences
from ingest.sources import SourceFile, discover_sources, is_url, read_source
from newsrag.crashpoints import crash_point
from newsrag.settings import ChunkingSettings, Settings

OnEvent = Callable[[str, IngestReport], None]
FLUSH_CHUNKS = 256


@dataclass
class _Run:
    """What one run has seen so far, and what waits to be written."""

    index: Index
    report: IngestReport
    known: dict[str, LiveArticle]
    seen: dict[str, str] = field(default_factory=dict)  # article id -> where first seen
    # Locations whose full list of articles this run knows (parsed, or unchanged files).
    complete_locations: set[str] = field(default_factory=set)
    ids_by_location: dict[str, list[str]] = field(default_factory=dict)
    # Files with a refused id are read again next time: the id may be free by then.
    retry_locations: set[str] = field(default_factory=set)
    batch: list[PreparedArticle] = field(default_factory=list)
    done_files: list[tuple[str, int, int, str, list[str]]] = field(default_factory=list)
    # One store write runs in the background while the next batch is embedded.
    writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="newsrag-write"))
    writing: Future[None] | None = None


def ingest(
    inputs: Iterable[str],
    settings: Settings,
    index: Index | None = None,
    prune: bool = False,
    on_event: OnEvent | None = None,
    articles: Iterable[Article] = (),
) -> IngestReport:
    """Ingest files, directories and URLs, then `articles` already read (the watcher's feed
    entries); unchanged articles cost no embedding."""
    started = time.perf_counter()
    index = index or open_index(settings)
    notify = on_event or (lambda kind, report: None)
    with index.writing(verify=False):  # verified below, while the first batch is parsed
        run = _Run(index, IngestReport(), index.catalog.live_articles())
        fingerprint = pipeline_fingerprint(settings, index.embedder.name)
        events = _events(list(inputs), settings, index, fingerprint, run.known, articles)
        # Chroma takes a second to import and open: do it while the first batch is parsed.
        run.writing = run.writer.submit(index.verify)
        try:
            for kind, payload in _in_background(events):
                _handle(run, kind, payload)
                if sum(len(p.chunks) for p in run.batch) >= FLUSH_CHUNKS:
                    _flush(run)
                notify(kind, run.report)
            _flush(run)
            _wait_for_write(run)
        finally:
            run.writer.shutdown(wait=True)
        if prune:
            run.report.deleted = _prune(run)
            run.report.outcomes += [Outcome("deleted", "", i) for i in run.report.deleted]
    run.report.seconds = time.perf_counter() - started
    notify("done", run.report)
    return run.report


def pipeline_fingerprint(settings: Settings, embedder_name: str) -> str:
    """Everything that changes chunks or vectors; a change re-chunks and re-embeds."""
    return _digest([embedder_name, settings.chunking.model_dump()])


def _file_fingerprint(settings: Settings, pipeline: str) -> str:
    """What decides how an unchanged file parses: the pipeline plus the ingest settings."""
    return _digest([pipeline, settings.ingest.model_dump()])


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _events(inputs: list[str], settings: Settings, index: Index, fingerprint: str,
            known: dict[str, LiveArticle], articles: Iterable[Article] = ()
            ) -> Iterator[tuple[str, Any]]:
    """Runs in the background thread: everything but embedding and writing."""
    catalog = index.catalog
    file_fingerprint = _file_fingerprint(settings, fingerprint)
    uploads = (settings.resolved_data_dir() / "uploads").resolve()
    for source in discover_sources(inputs, settings.ingest):
        if isinstance(source, Skip):
            yield "skip", source
            continue
        if isinstance(source, SourceFile):
            ids = catalog.unchanged_file_ids(
                source.location, source.size, source.mtime_ns, file_fingerprint)
            # Articles deleted since are read again: delete, then re-ingest, restores them.
            if ids is not None and all(holds(known, i, source.location) for i in ids):
                yield "unchanged_file", (source.location, ids)
                continue
        location = source if isinstance(source, str) else source.location
        yield "parsing", location
        whole_file_failed = False
        for item in read_source(source, settings.ingest):
            if isinstance(item, Skip):
                whole_file_failed |= item.location == location
                yield "skip", item
                continue
            yield _article_event(item, settings, index, fingerprint, known, uploads)
        # A file that failed as a whole is not "complete": prune must not empty it.
        if isinstance(source, SourceFile) and not whole_file_failed:
            yield "file_done", (source.location, source.size, source.mtime_ns, file_fingerprint)
    for article in articles:
        yield _article_event(article, settings, index, fingerprint, known, uploads)


def _article_event(item: Article, settings: Settings, index: Index, fingerprint: str,
                   known: dict[str, LiveArticle], uploads: Path) -> tuple[str, Any]:
    """An article refused, or ready to store (prepared unless it is unchanged)."""
    refused = refusal(item, known.get(item.id), uploads)
    if refused is not None:
        return "refused", refused
    crash_point("parse")
    version = _version(item, fingerprint)
    held = known.get(item.id)
    unchanged = held is not None and (held.content_hash, held.version) == (
        item.content_hash, version)
    prepared = None if unchanged else _prepare(item, version, settings.chunking, index.embedder)
    return "article", (item, version, prepared)


def _version(article: Article, fingerprint: str) -> str:
    key = f"{article.id}\0{article.content_hash}\0{fingerprint}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _handle(run: _Run, kind: str, payload: Any) -> None:
    report = run.report
    if kind in ("skip", "refused"):
        _skip(run, payload)
        if kind == "refused":
            run.retry_locations.add(payload.location)
    elif kind == "unchanged_file":
        location, ids = payload
        for article_id in ids:
            run.seen.setdefault(article_id, location)
            report.outcomes.append(Outcome("unchanged", location, article_id))
        run.complete_locations.add(location)
        report.unchanged += len(ids)
    elif kind == "parsing":
        run.ids_by_location[payload] = []
    elif kind == "file_done":
        location = payload[0]
        run.complete_locations.add(location)
        ids = run.ids_by_location.pop(location, [])
        if location not in run.retry_locations:
            run.done_files.append((*payload, ids))
    elif kind == "article":
        _handle_article(run, *payload)


def _skip(run: _Run, skip: Skip) -> None:
    run.report.skipped.append(skip)
    run.report.outcomes.append(Outcome("skipped", skip.location, skip.article_id, skip.reason))


def _handle_article(run: _Run, article: Article, version: str,
                    prepared: PreparedArticle | None) -> None:
    first_seen = run.seen.get(article.id)
    if first_seen is not None:
        run.retry_locations.add(article.location)
        _skip(run, Skip(article.location,
                        f"duplicate article id {article.id!r} (also in {first_seen})", article.id))
        return
    run.seen[article.id] = article.location
    run.ids_by_location.setdefault(article.location, []).append(article.id)
    for note in article.notes:
        run.report.warnings.append(Skip(article.location, note, article.id))
        run.report.outcomes.append(Outcome("warning", article.location, article.id, note))
    if prepared is None:
        run.report.unchanged += 1
        run.report.outcomes.append(Outcome("unchanged", article.location, article.id))
        return
    if not prepared.chunks:
        _skip(run, Skip(article.location, f"no sentences ({article.id})", article.id))
        return
    run.batch.append(prepared)
    kind = "updated" if article.id in run.known else "added"
    getattr(run.report, kind).append(article.id)
    run.report.outcomes.append(Outcome(kind, article.location, article.id))


def _flush(run: _Run) -> None:
    """Embed the batch here, then store it in the writer thread after the previous write."""
    batch, files = run.batch, run.done_files
    run.batch, run.done_files = [], []
    if batch:
        crash_point("embed")
    vectors = run.index.embed(batch) if batch else []
    _wait_for_write(run)

    def write() -> None:
        if batch:
            run.index.write(batch, vectors)
        if files:
            crash_point("files.record")
            run.index.catalog.record_files(files)

    run.writing = run.writer.submit(write)
    run.report.chunks += sum(len(p.chunks) for p in batch)


def _wait_for_write(run: _Run) -> None:
    if run.writing is not None:
        run.writing.result()  # re-raises the writer's error here
        run.writing = None


def _prepare(article: Article, version: str, settings: ChunkingSettings,
             embedder: Embedder) -> PreparedArticle:
    """Split and chunk, shrinking the budget until every chunk fits the embedder unclipped."""
    sentences = split_sentences(article.text, settings.segmenter)
    budget = settings.chunk_tokens
    while True:
        chunks = chunk_article(
            article, sentences, budget, lambda text: count_tokens(text, settings.encoding),
            settings.overlap_sentences, settings.embed_title,
        )
        model_tokens = embedder.count_tokens([c.embed_text for c in chunks]) if chunks else [0]
        excess = max(model_tokens) - embedder.max_tokens
        if excess <= 0 or budget <= 16:
            return PreparedArticle(article, sentences, chunks, version)
        budget = max(16, budget - excess - 8)


def _prune(run: _Run) -> list[str]:
    """Articles whose file is gone, or that vanished from a file read in this run."""
    doomed = []
    for location, ids in run.index.catalog.all_locations().items():
        gone = not is_url(location) and not os.path.exists(location)
        for article_id in ids:
            vanished = location in run.complete_locations and article_id not in run.seen
            if gone or vanished:
                doomed.append(article_id)
    removed = run.index.remove(doomed)
    run.index.catalog.forget_files(
        loc for loc in run.index.catalog.all_locations() if not os.path.exists(loc))
    return removed


_DONE = object()


def _in_background(events: Iterator[tuple[str, Any]], depth: int = 64
                   ) -> Iterator[tuple[str, Any]]:
    """Run a generator in a daemon thread; re-raise its error in the consumer."""
    channel: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()  # set when the consumer is gone, so the producer never hangs

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for event in events:
                put(event)
                if stop.is_set():
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    threading.Thread(target=produce, name="newsrag-parse", daemon=True).start()
    try:
        while (item := channel.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()

