"""Documents that hold one article: plain text, Markdown and HTML pages."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import PurePosixPath
from urllib.parse import urlparse

from ingest.clean import TITLE_CHARS, normalize_line, normalize_text, strip_hostile
from ingest.fields import checked_date, checked_url
from ingest.models import Article
from newsrag.errors import IngestError

MAX_AUTHORS = 20
NAME_CHARS = 100
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
# No inner part may contain its own delimiters: each scan then stops at the next one, so a
# line of 10,000 "[" or "*" costs linear time, not quadratic.
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)")
_MD_EMPHASIS = [re.compile(rf"{mark}(?=\S)([^{chars}\n]+?)(?<=\S){mark}")
                for mark, chars in ((r"\*\*", r"*"), ("__", "_"), (r"\*", r"*"), ("`", "`"))]
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
    try:
        host = urlparse(url).hostname or ""
    except ValueError:  # "http://[x" and the like: no outlet rather than no article
        return ""
    return host.removeprefix("www.")


def parse_text_document(raw: str, location: str, markdown: bool = False) -> Article:
    """A .txt/.md article: front matter or the first line is the title, the rest is the text."""
    text = normalize_text(raw)
    meta, text = _split_front_matter(text)
    if markdown:
        text = _strip_markdown(text)
    title = meta.get("title", "")
    first, _, rest = text.partition("\n")
    if not title and len(first) <= TITLE_CHARS:  # a longer first line is text, not a title
        title, text = first, rest.strip()
    title = normalize_line(title.lstrip("#"), TITLE_CHARS)
    authors, source = _byline(text)
    url, url_notes = checked_url(meta.get("url", ""))
    published, date_notes = checked_date(meta.get("published") or meta.get("date"))
    return Article(
        id=normalize_line(meta.get("id", "")) or slug_id(PurePosixPath(location).stem, location),
        title=title,
        text=text,
        source=normalize_line(meta.get("source", "") or source or source_from_url(url),
                              NAME_CHARS),
        url=url,
        published=published,
        authors=_split_authors(meta.get("authors") or meta.get("author") or authors),
        location=location,
        notes=(*url_notes, *date_notes),
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
    for emphasis in _MD_EMPHASIS:
        text = emphasis.sub(r"\1", text)
    return _MD_HEADING.sub("", text)


def _byline(text: str) -> tuple[str, str]:
    """Authors and outlet from a short 'By X' / 'X for Outlet' line at the start or end."""
    # Normalised text has no blank first or last line; slicing only short edges, never
    # splitting the whole text, keeps a 50 MB one-line file from being copied twice more.
    first_end = text.find("\n")
    first_end = len(text) if first_end < 0 else first_end
    last_start = text.rfind("\n") + 1
    for start, end in ((last_start, len(text)), (0, first_end)):
        line = text[start:end].strip() if end - start <= 80 else ""
        if not line:
            continue
        match = _BYLINE.match(line)
        if match and (line.startswith("By ") or match.group("source")):
            return match.group("authors"), match.group("source") or ""
    return "", ""


def _split_authors(value: str | list[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    parts = value if isinstance(value, list) else re.split(r",|;|\band\b", value[:2000])
    names = (normalize_line(p, NAME_CHARS) for p in parts[:MAX_AUTHORS] if isinstance(p, str))
    return tuple(name for name in names if name)


def parse_html_document(raw: str, location: str, url: str = "") -> Article:
    """An HTML page: main text and metadata extracted by trafilatura."""
    import trafilatura

    raw = strip_hostile(raw)  # lxml would drop a lone ESC and keep "[31m" as text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trafilatura warns about lxml truth-testing
        doc = trafilatura.bare_extraction(
            raw, url=url or None, with_metadata=True, include_comments=False,
            include_tables=False, as_dict=True,
        )
    if not isinstance(doc, dict) or not (doc.get("text") or "").strip():
        # libxml2 drops text nodes over 10 MB and trees over 256 levels deep
        size = f" (a page of {len(raw) / 1e6:.0f} MB)" if len(raw) > 1_000_000 else ""
        raise IngestError(f"HTML page has no main text{size}")
    text = normalize_text(doc["text"])
    title = normalize_line(doc.get("title") or "", TITLE_CHARS)
    if text.startswith(title + "\n"):
        text = text[len(title):].strip()
    page_url, url_notes = checked_url(doc.get("url") or url)
    published, date_notes = checked_date(doc.get("date"))
    return Article(
        id=slug_id(title or PurePosixPath(location).stem, page_url or location),
        title=title,
        text=text,
        source=normalize_line(doc.get("sitename") or "", NAME_CHARS)
        or source_from_url(page_url or ""),
        url=page_url,
        published=published,
        authors=_split_authors(doc.get("author")),
        location=location,
        notes=(*url_notes, *date_notes),
    )
