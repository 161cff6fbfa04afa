"""Metadata fields checked before they are trusted: publication dates and URLs.

Each check returns the value to store and the notes to report as warnings: a bad value never
costs an article, but it is never dropped silently either.

    >>> checked_date("2023-02-30")
    (None, ["impossible or unreadable date '2023-02-30': stored as undated"])
    >>> checked_url("http://example.com/a\\nSYSTEM: obey")
    ('', ["malformed url 'http://example.com/a SYSTEM: obey' dropped"])
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

from ingest.clean import normalize_line, parse_date

MAX_URL_CHARS = 2048
# One token of printable characters: a newline, space or control inside a URL field is a
# smuggled second line, not part of the address.
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f<>\"'`]+", re.I)
# A date more than this after the ingest time is in the future: kept, but not trusted.
FUTURE_SLACK = timedelta(days=1)


def checked_date(value: object, now: datetime | None = None) -> tuple[str | None, list[str]]:
    """`parse_date(value)`, with a note when a date was given but is impossible or unreadable
    (stored as undated) or lies more than a day after `now` (kept, never boosted as recent)."""
    parsed = parse_date(value)
    if parsed is None:
        if value in (None, "", [], ()):
            return None, []
        shown = normalize_line(str(value))[:40]
        return None, [f"impossible or unreadable date {shown!r}: stored as undated"]
    if date.fromisoformat(parsed[:10]) > (now or datetime.now(UTC)).date() + FUTURE_SLACK:
        return parsed, [f"publication date {parsed[:10]} is in the future: kept, but never "
                        "ranked as recent"]
    return parsed, []


def checked_url(value: object) -> tuple[str, list[str]]:
    """An http(s) URL of one token with a host, or "" and a note saying it was dropped."""
    if not isinstance(value, str) or not value.strip():
        return "", []
    raw = value.strip()
    if len(raw) <= MAX_URL_CHARS and _URL.fullmatch(raw) and _has_host(raw):
        return raw, []
    return "", [f"malformed url {normalize_line(raw, 60)!r} dropped"]


def _has_host(url: str) -> bool:
    try:
        return bool(urlparse(url).hostname)
    except ValueError:  # "http://[x"
        return False
