"""Documents that hold many articles: JSON, JSON Lines and RSS/Atom feeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ingest.clean import normalize_line, normalize_text, parse_date
from ingest.formats import slug_id, source_from_url
from ingest.models import Article, Skip
from newsrag.errors import IngestError
from newsrag.settings import JsonFields


def parse_json_records(raw: str, location: str, fields: JsonFields) -> Iterator[Article | Skip]:
    """A JSON array (or one object, or {"articles": [...]}) of article records."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(data, dict):
        nested = data.get("articles") or data.get("items") or data.get("data")
        data = nested if isinstance(nested, list) else [data]
    if not isinstance(data, list):
        raise IngestError("JSON is neither an article object nor a list of them")
    for index, record in enumerate(data):
        yield _record_or_skip(record, f"{location}#{index}", location, fields)


def parse_jsonl_records(raw: str, location: str, fields: JsonFields) -> Iterator[Article | Skip]:
    """One article record per line; a broken line is skipped with its line number."""
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{location}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skip(where, f"malformed JSON line: {exc.msg}")
            continue
        yield _record_or_skip(record, where, location, fields)


def _record_or_skip(
    record: Any, where: str, location: str, fields: JsonFields
) -> Article | Skip:
    if not isinstance(record, dict):
        return Skip(where, f"record is a {type(record).__name__}, not an object")
    try:
        return article_from_record(record, where, location, fields)
    except IngestError as exc:
        return Skip(where, str(exc))


def article_from_record(
    record: dict[str, Any], where: str, location: str, fields: JsonFields
) -> Article:
    """Map a record's keys to an Article using the configured field names."""
    text = _first(record, fields.text)
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"no text field (looked for {', '.join(fields.text)})")
    title = _first(record, fields.title)
    url = _first(record, fields.url)
    url = url if isinstance(url, str) else ""
    explicit_id = _first(record, fields.id)
    if explicit_id is not None and not isinstance(explicit_id, str | int):
        raise IngestError(f"id is a {type(explicit_id).__name__}, not a string")
    title = normalize_line(title) if isinstance(title, str) else ""
    source = _first(record, fields.source)
    return Article(
        id=str(explicit_id) if explicit_id not in (None, "") else slug_id(title, url or where),
        title=title,
        text=normalize_text(text),
        source=normalize_line(source) if isinstance(source, str) else source_from_url(url),
        url=url,
        published=parse_date(_first(record, fields.published)),
        authors=_authors(_first(record, fields.authors)),
        location=location,
    )


def _first(record: dict[str, Any], keys: list[str]) -> Any:
    for key in keys:
        if record.get(key) not in (None, "", []):
            return record[key]
    return None


def _authors(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    names = (normalize_line(v.get("name", "") if isinstance(v, dict) else str(v)) for v in value)
    return tuple(name for name in names if name)


def parse_feed(raw: bytes, location: str) -> Iterator[Article | Skip]:
    """An RSS or Atom feed: one article per entry, its content (or summary) as the text."""
    import feedparser

    feed = feedparser.parse(raw)
    if not feed.entries:
        if feed.bozo:
            raise IngestError(f"not a readable feed: {feed.bozo_exception}")
        raise IngestError("feed has no entries")
    outlet = normalize_line(feed.feed.get("title", ""))
    for index, entry in enumerate(feed.entries):
        where = f"{location}#{index}"
        try:
            yield _article_from_entry(entry, where, location, outlet)
        except IngestError as exc:
            yield Skip(where, str(exc))


def _article_from_entry(entry: Any, where: str, location: str, outlet: str) -> Article:
    contents = entry.get("content") or []
    body = contents[0].get("value", "") if contents else entry.get("summary", "")
    text = normalize_text(html_to_text(body))
    if not text:
        raise IngestError("feed entry has no text")
    title = normalize_line(entry.get("title", ""))
    link = entry.get("link", "")
    authors = [a.get("name", "") for a in entry.get("authors", [])] or [entry.get("author", "")]
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    return Article(
        id=slug_id(title, entry.get("id") or link or where),
        title=title,
        text=text,
        source=outlet or source_from_url(link),
        url=link,
        published=parse_date(tuple(published) if published else None),
        authors=_authors(authors),
        location=location,
    )


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, block elements on their own lines."""
    if "<" not in fragment:
        return fragment
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises several unrelated types on garbage
        return ""
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    for block in root.xpath(".//p|.//br|.//div|.//li|.//h1|.//h2|.//h3|.//h4"):
        block.tail = "\n\n" + (block.tail or "")
    return str(root.text_content())
