"""Documents that hold many articles: JSON, JSON Lines and RSS/Atom feeds."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from ingest.clean import TITLE_CHARS, normalize_line, normalize_text, strip_hostile
from ingest.fields import checked_date, checked_url
from ingest.formats import MAX_AUTHORS, NAME_CHARS, slug_id, source_from_url
from ingest.models import Article, Skip
from newsrag.errors import IngestError
from newsrag.settings import JsonFields

MAX_ID_CHARS = 256


def parse_json_records(raw: str, location: str, fields: JsonFields) -> Iterator[Article | Skip]:
    """A JSON array (or one object, or {"articles": [...]}) of article records."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, 100,000 nested lists
        raise IngestError(f"invalid JSON: {_short(exc)}") from None
    if isinstance(data, dict):
        nested = data.get("articles") or data.get("items") or data.get("data")
        data = nested if isinstance(nested, list) else [data]
    if not isinstance(data, list):
        raise IngestError("JSON is neither an article object nor a list of them")
    for index, record in enumerate(data):
        yield _record_or_skip(record, f"{location}#{index}", location, fields)


def parse_jsonl_records(raw: str, location: str, fields: JsonFields) -> Iterator[Article | Skip]:
    """One article record per line; a broken line is skipped with its line number."""
    for number, line in enumerate(_lines(raw), start=1):
        if not line or line.isspace():
            continue
        where = f"{location}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skip(where, f"malformed JSON line: {exc.msg}")
            continue
        except (ValueError, RecursionError) as exc:
            yield Skip(where, f"malformed JSON line: {_short(exc)}")
            continue
        yield _record_or_skip(record, where, location, fields)


def _lines(raw: str) -> Iterator[str]:
    """Lines one at a time, not a list of copies. Only \n ends a line: str.splitlines()
    would also split at U+2028 and other separators that JSON strings may hold unescaped."""
    start = 0
    while start <= len(raw):
        end = raw.find("\n", start)
        end = len(raw) if end < 0 else end
        yield raw[start:end]
        start = end + 1


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
    if text is None or (isinstance(text, str) and not text.strip()):
        raise IngestError(f"no text field (looked for {', '.join(fields.text)})")
    if not isinstance(text, str):
        raise IngestError(f"text is a {_kind(text)}, not a string")
    url, url_notes = checked_url(_first(record, fields.url))
    published, date_notes = checked_date(_first(record, fields.published))
    title = _first(record, fields.title)  # other fields of a wrong type are left empty
    title = normalize_line(title, TITLE_CHARS) if isinstance(title, str) else ""
    source = _first(record, fields.source)
    return Article(
        id=_record_id(_first(record, fields.id)) or slug_id(title, url or where),
        title=title,
        text=normalize_text(text),
        source=(normalize_line(source, NAME_CHARS) if isinstance(source, str)
                else source_from_url(url)),
        url=url,
        published=published,
        authors=_authors(_first(record, fields.authors)),
        location=location,
        notes=(*url_notes, *date_notes),
    )


def _record_id(value: Any) -> str:
    """A record's own id, or "" when it has none; an id of a wrong type refuses the record."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise IngestError(f"id is a {_kind(value)}, not a string")
    found = normalize_line(str(value))
    if len(found) > MAX_ID_CHARS:
        raise IngestError(f"id longer than {MAX_ID_CHARS} characters")
    return found


def _kind(value: Any) -> str:
    names = {dict: "object", list: "list", bool: "boolean", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _short(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0][:120] or type(exc).__name__


def _first(record: dict[str, Any], keys: list[str]) -> Any:
    for key in keys:
        if record.get(key) not in (None, "", []):
            return record[key]
    return None


def _authors(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        return ()
    names = (v.get("name") if isinstance(v, dict) else v for v in value[:MAX_AUTHORS])
    found = (normalize_line(name, NAME_CHARS) for name in names if isinstance(name, str))
    return tuple(name for name in found if name)


def parse_feed(raw: bytes, location: str) -> Iterator[Article | Skip]:
    """An RSS or Atom feed: one article per entry, its content (or summary) as the text."""
    for _, item in feed_entries(raw, location):
        yield item


def feed_entries(raw: bytes, location: str) -> Iterator[tuple[str, Article | Skip]]:
    """(entry key, article or skip) per feed entry; the key is the entry's GUID, else its
    link, else its title, so the watcher can tell a changed entry from a new one."""
    import feedparser

    _refuse_entity_declarations(raw)
    # A stream, never bytes: feedparser opens bytes that name an existing file as that file.
    # Its HTML sanitiser and link resolver are off: html_to_text keeps only the text anyway,
    # and on tag-heavy content they took 7 s a megabyte.
    feed = feedparser.parse(io.BytesIO(raw), sanitize_html=False, resolve_relative_uris=False)
    if not feed.entries:
        if feed.bozo:
            raise IngestError(f"not a readable feed: {feed.bozo_exception}")
        raise IngestError("feed has no entries")
    outlet = normalize_line(feed.feed.get("title", ""), NAME_CHARS)
    for index, entry in enumerate(feed.entries):
        where = f"{location}#{index}"
        key = str(entry.get("id") or entry.get("link") or entry.get("title") or where)
        try:
            yield key, _article_from_entry(entry, where, location, outlet)
        except IngestError as exc:
            yield key, Skip(where, str(exc))


def _article_from_entry(entry: Any, where: str, location: str, outlet: str) -> Article:
    contents = entry.get("content") or []
    body = contents[0].get("value", "") if contents else entry.get("summary", "")
    text = normalize_text(html_to_text(strip_hostile(body)))
    if not text:
        raise IngestError("feed entry has no text")
    title = normalize_line(entry.get("title", ""), TITLE_CHARS)
    link, url_notes = checked_url(entry.get("link", ""))
    authors = [a.get("name", "") for a in entry.get("authors", [])] or [entry.get("author", "")]
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    published, date_notes = checked_date(tuple(parsed) if parsed else None)
    return Article(
        id=slug_id(title, entry.get("id") or link or where),
        title=title,
        text=text,
        source=outlet or source_from_url(link),
        url=link,
        published=published,
        authors=_authors(authors),
        location=location,
        notes=(*url_notes, *date_notes),
    )


def _refuse_entity_declarations(raw: bytes) -> None:
    """Entities are only declared in a DOCTYPE's internal subset: refuse feeds that have one
    (billion laughs, external entities) instead of trusting the parser's limits."""
    folded = raw.lower()  # feedparser's fallback SGML parser ignores case
    for codec in ("utf-8", "utf-16-le", "utf-16-be"):
        doctype = folded.find("<!doctype".encode(codec))
        if doctype >= 0 and folded.find("<!entity".encode(codec), doctype) >= 0:
            raise IngestError("feed declares XML entities (<!ENTITY> in its DOCTYPE): "
                              "refused, entity expansion and external entities are unsafe")


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
