"""Decoding and normalisation shared by every source format."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from newsrag.errors import IngestError

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# C0/C1 controls except tab and newline, plus bidi overrides that can disguise text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_INLINE_SPACE = re.compile(r"[ \t\u00a0]{2,}")


def decode_bytes(data: bytes) -> str:
    """Decode text: BOM, then UTF-8, then UTF-16 without BOM, then cp1252; binary is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom):], encoding)
    if _looks_utf16(data):
        return _decode(data, "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
    if b"\x00" in data[:8192]:
        raise IngestError("binary content (NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 100):
        raise IngestError("undecodable bytes: neither UTF-8, UTF-16 nor Windows-1252 text")
    return text


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4096]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0) / len(sample[0::2])
    zeros_odd = sample[1::2].count(0) / len(sample[1::2])
    return max(zeros_even, zeros_odd) > 0.4 and min(zeros_even, zeros_odd) < 0.05


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(f"invalid {encoding}: {exc.reason} at byte {exc.start}") from None


def normalize_text(text: str) -> str:
    """NFC, \\n line ends, no control characters, no trailing spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _INLINE_SPACE.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def normalize_line(text: str) -> str:
    """A single-line field (title, author, source): whitespace collapsed, controls removed."""
    return " ".join(_CONTROL.sub("", unicodedata.normalize("NFC", text)).split())


def parse_date(value: object) -> str | None:
    """Any common date form (ISO, RFC 2822, "2022/06/12", "June 12, 2022", epoch) as ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _iso(datetime.fromtimestamp(float(value), UTC), has_time=True)
    if isinstance(value, tuple):  # feedparser's struct_time, in UTC
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        return _iso(datetime(year, month, day, hour, minute, second, tzinfo=UTC), has_time=True)
    if not isinstance(value, str):
        return None
    raw = value.strip()
    if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", raw):
        year, month, day = (int(part) for part in re.split(r"[-/.]", raw))
        return _checked_date(year, month, day)
    try:
        from dateutil import parser as date_parser

        parsed = date_parser.parse(raw, fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        return None
    has_time = bool(re.search(r"\d:\d", raw))
    return _iso(parsed, has_time)


def _checked_date(year: int, month: int, day: int) -> str | None:
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def _iso(moment: datetime, has_time: bool) -> str:
    if not has_time:
        return moment.date().isoformat()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def date_ordinal(iso: str | None) -> int | None:
    """A sortable number for a published date (days since 0001-01-01), for store filters."""
    if not iso:
        return None
    return datetime.fromisoformat(iso[:10]).toordinal()
