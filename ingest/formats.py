"""Documents that hold one article: plain text, Markdown and HTML pages."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import PurePosixPath
from urllib.parse import urlparse

from ingest.clean import normalize_line, normalize_text, parse_date
from ingest.models import Article
from newsrag.errors import IngestError

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)
_BYLINE = re.compile(
    r"^(?:By\s+)?(?P<authors>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}"
    r"(?:\s*(?:,|and)\s*[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})*)"
    r"(?:\s+for\s+(?P<source>[A-Z][\w&.'’ -]{1,40}))?$"
)


def slug_id(hint: str, unique: str) -> str:
    """A readable, stable article id: a slug of `hint` plus a short hash of `unique`."""
    slug = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:48].rstrip("-") or "article"
    return f"{slug}-{hashlib.sha1(unique.encode()).hexdigest()[:8]}"


def source_from_url(url: str) -> str:
    host = urlparse(url).hostname or ""
    return host.removeprefix("www.")


def parse_text_document(raw: str, location: str, markdown: bool = False) -> Article:
    """A .txt/.md article: front matter or the first line is the title, the rest is the text."""
    text = normalize_text(raw)
    meta, text = _split_front_matter(text)
    if markdown:
        text = _strip_markdown(text)
    title = meta.get("title", "")
    if not title:
        first, _, rest = text.partition("\n")
        title, text = first, rest.strip()
    title = normalize_line(title.lstrip("#"))
    authors, source = _byline(text)
    url = meta.get("url", "")
    return Article(
        id=meta.get("id") or slug_id(PurePosixPath(location).stem, location),
        title=title,
        text=text,
        source=normalize_line(meta.get("source", "") or source or source_from_url(url)),
        url=url,
        published=parse_date(meta.get("published") or meta.get("date")),
        authors=_split_authors(meta.get("authors") or meta.get("author") or authors),
        location=location,
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end():].strip()


def _strip_markdown(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    return _MD_HEADING.sub("", text)


def _byline(text: str) -> tuple[str, str]:
    """Authors and outlet from a short 'By X' / 'X for Outlet' line at the start or end."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in (lines[-1:] + lines[:1]) if lines else []:
        if len(line) > 80:
            continue
        match = _BYLINE.match(line)
        if match and (line.startswith("By ") or match.group("source")):
            return match.group("authors"), match.group("source") or ""
    return "", ""


def _split_authors(value: str | list[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = value if isinstance(value, list) else re.split(r",|;|\band\b", value)
    return tuple(name for name in (normalize_line(str(p)) for p in parts) if name)


def parse_html_document(raw: str, location: str, url: str = "") -> Article:
    """An HTML page: main text and metadata extracted by trafilatura."""
    import trafilatura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trafilatura warns about lxml truth-testing
        doc = trafilatura.bare_extraction(
            raw, url=url or None, with_metadata=True, include_comments=False,
            include_tables=False, as_dict=True,
        )
    if not isinstance(doc, dict) or not (doc.get("text") or "").strip():
        raise IngestError("HTML page has no main text")
    text = normalize_text(doc["text"])
    title = normalize_line(doc.get("title") or "")
    if text.startswith(title + "\n"):
        text = text[len(title):].strip()
    page_url = doc.get("url") or url
    return Article(
        id=slug_id(title or PurePosixPath(location).stem, page_url or location),
        title=title,
        text=text,
        source=normalize_line(doc.get("sitename") or "") or source_from_url(page_url or ""),
        url=page_url or "",
        published=parse_date(doc.get("date")),
        authors=_split_authors(doc.get("author")),
        location=location,
    )
