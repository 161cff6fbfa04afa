"""Where articles come from: files, directories and URLs, each read by its format's parser.

    >>> from newsrag.settings import IngestSettings
    >>> items = list(load_articles(["data/sample"], IngestSettings()))
    >>> items[0].title
    'Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.clean import decode_bytes
from ingest.fetch import fetch_url
from ingest.formats import parse_html_document, parse_text_document
from ingest.models import Article, Skip
from ingest.records import parse_feed, parse_json_records, parse_jsonl_records
from newsrag.errors import IngestError
from newsrag.settings import IngestSettings

FEED_EXTENSIONS = {".xml", ".rss", ".atom"}


@dataclass(frozen=True)
class SourceFile:
    """A local file to read, with the stat fields that tell whether it changed."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def location(self) -> str:
        return str(self.path)


Source = SourceFile | str  # a str is a URL


def is_url(value: str) -> bool:
    return "://" in value and not os.path.exists(value)


def discover_sources(inputs: Iterable[str], settings: IngestSettings) -> Iterator[Source | Skip]:
    """Expand inputs into files (directories recursively, by extension) and URLs; a file
    reached twice (through links) is read once. Every problem is a Skip, never an error."""
    extensions = {ext.lower() for ext in settings.extensions}
    seen: set[Path] = set()
    for raw in inputs:
        if is_url(raw):
            yield raw
            continue
        path = Path(raw).expanduser()
        if path.is_dir():
            for found in walk_folder(path, settings.symlinks):
                # A link or folder that might hold articles is worth a skip line; "x.bak" not.
                named = Path(found.location) if isinstance(found, Skip) else found
                if named.suffix.lower() in extensions or (
                        isinstance(found, Skip) and not named.suffix):
                    yield from _once(found, seen)
        elif path.is_file():  # named on purpose: followed whatever ingest.symlinks says
            yield from _once(path, seen)
        elif path.is_symlink():
            yield Skip(raw, f"broken symbolic link (to {_link_text(path)})")
        else:
            yield Skip(raw, "no such file or directory")


def _once(found: Path | Skip, seen: set[Path]) -> Iterator[SourceFile | Skip]:
    if isinstance(found, Skip):
        yield found
        return
    source = _stat(found)
    if isinstance(source, Skip) or source.path not in seen:
        if isinstance(source, SourceFile):
            seen.add(source.path)
        yield source


def walk_folder(root: Path, symlinks: str) -> Iterator[Path | Skip]:
    """Files under `root` in path order (hidden ones left out), following symbolic links as
    `ingest.symlinks` says: "within" (only to targets inside `root`), "follow" or "skip".
    A broken link or an unreadable folder is a Skip; each real folder is walked once."""
    top = root.resolve()
    folders, files, problems = [root], [], []
    walked = {top}
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append(Skip(str(folder), f"unreadable folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            target = _link_target(path, top, symlinks) if entry.is_symlink() else path
            if isinstance(target, Skip):
                problems.append(target)
            elif target.is_dir():
                if (real := target.resolve()) not in walked:
                    walked.add(real)
                    folders.append(path)
            else:
                files.append(path)
    yield from problems
    yield from sorted(files)


def _link_target(link: Path, top: Path, symlinks: str) -> Path | Skip:
    """Where a link found in a folder leads, or why it is not followed."""
    try:
        real = link.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a link loop on older Pythons
        return Skip(str(link), f"broken symbolic link (to {_link_text(link)})")
    if symlinks == "skip":
        return Skip(str(link), 'symbolic link not followed (ingest.symlinks = "skip")')
    if symlinks == "within" and not real.is_relative_to(top):
        return Skip(str(link), f"symbolic link to {real}, outside {top}: not followed "
                               '(ingest.symlinks = "within")')
    return real


def _link_text(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def _stat(path: Path) -> SourceFile | Skip:
    try:
        resolved = path.resolve(strict=True)
        info = resolved.stat()
    except (OSError, RuntimeError) as exc:  # gone, or a link broken, since it was listed
        return Skip(str(path), f"unreadable: {getattr(exc, 'strerror', None) or exc}")
    return SourceFile(resolved, info.st_size, info.st_mtime_ns)


def read_source(source: Source, settings: IngestSettings) -> Iterator[Article | Skip]:
    """Parse one file or URL into articles; every failure becomes a Skip with its reason."""
    location = source if isinstance(source, str) else source.location
    try:
        for item in _parse(source, settings):
            yield item if isinstance(item, Skip) else check_article(item, settings)
    except IngestError as exc:
        yield Skip(location, str(exc))
    except Exception as exc:  # a parser library failing on hostile input must not stop a batch
        message = str(exc).split("\n", 1)[0][:200]
        yield Skip(location, f"unreadable: {type(exc).__name__}: {message}")


def _parse(source: Source, settings: IngestSettings) -> Iterator[Article | Skip]:
    if isinstance(source, str):
        fetched = fetch_url(source, settings)
        kind = kind_of_response(fetched.content_type, fetched.url, fetched.body)
        yield from parse_bytes(fetched.body, kind, fetched.url, settings, url=fetched.url)
        return
    cap = settings.max_file_mb * 1024 * 1024
    if source.size > cap:
        raise IngestError(f"file larger than ingest.max_file_mb ({settings.max_file_mb} MB)")
    if source.size == 0:
        raise IngestError("empty file")
    kind = source.path.suffix.lower()
    yield from parse_bytes(source.path.read_bytes(), kind, source.location, settings)


def parse_bytes(
    body: bytes, kind: str, location: str, settings: IngestSettings, url: str = ""
) -> Iterator[Article | Skip]:
    if kind in FEED_EXTENSIONS:
        yield from parse_feed(body, location)
        return
    raw = decode_bytes(body)
    del body  # a generator frame would keep a 50 MB file's bytes alive while it parses
    if not raw or raw.isspace():  # no strip(): that copies the whole text
        raise IngestError("no text")
    if kind in (".html", ".htm"):
        yield parse_html_document(raw, location, url=url)
    elif kind == ".json":
        yield from parse_json_records(raw, location, settings.json_fields)
    elif kind == ".jsonl":
        yield from parse_jsonl_records(raw, location, settings.json_fields)
    elif kind in (".md", ".markdown"):
        yield parse_text_document(raw, location, markdown=True)
    elif kind == ".txt" or kind == "":
        yield parse_text_document(raw, location)
    else:
        raise IngestError(f"unsupported file type {kind!r}")


def kind_of_response(content_type: str, url: str, body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if "rss" in content_type or "atom" in content_type or head.startswith((b"<rss", b"<feed")):
        return ".xml"
    if content_type == "application/json":
        return ".json"
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return ".html"
    if head.startswith(b"<?xml"):
        return ".xml"
    suffix = Path(url.split("?")[0]).suffix.lower()
    return suffix or ".txt"


def check_article(article: Article, settings: IngestSettings) -> Article | Skip:
    """Apply the size rules and fill a missing title from the text."""
    where = f"{article.location} [{article.id}]"
    if len(article.text) < settings.min_text_chars:
        return Skip(where, f"text too short ({len(article.text)} characters)")
    if len(article.text) > settings.max_article_chars:
        return Skip(where, f"text longer than ingest.max_article_chars "
                           f"({settings.max_article_chars})")
    if not article.title:
        first_line = article.text.split("\n", 1)[0]
        title = first_line if len(first_line) <= 100 else first_line[:97].rsplit(" ", 1)[0] + "…"
        article = replace(article, title=title, content_hash="")
    return article


def load_articles(inputs: Iterable[str], settings: IngestSettings) -> Iterator[Article | Skip]:
    """Every article (or skip) from files, directories and URLs, in a stable order."""
    for source in discover_sources(inputs, settings):
        if isinstance(source, Skip):
            yield source
        else:
            yield from read_source(source, settings)
