"""Decoding and normalisation shared by every source format.

What is text (`decode_bytes`): a BOM decides the encoding; else UTF-16 without BOM (by its
zero bytes), UTF-8, UTF-8 with a few broken bytes (kept as U+FFFD), then Windows-1252. A
multi-byte character cut off at the very end is dropped. Bytes are refused as binary when
more than 2 + 1 % of the characters are control characters (NUL included; escape sequences
do not count) or undecodable bytes; Windows-1252 is refused when over 30 % of it is non-ASCII.

Hostile characters (`normalize_text`, `normalize_line`): an article with a few stray control
characters is still news, so it is stored with them removed: C0/C1 controls except newline
and tab (vertical tab, form feed, NEL and U+2028/9 become line breaks; a lone carriage
return becomes a space unless the text ends its lines with it), ANSI/OSC terminal
escape sequences (whole), bidi embeddings, overrides and isolates (U+202A-E, U+2066-9), stray
BOMs and non-characters. None of them ever reaches the store.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from newsrag.errors import IngestError
from newsrag.text_safety import ESCAPE, ESCAPE_STARTS, strip_escapes_and_controls

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_LINE_BREAK = re.compile(r"[\x0b\x0c\x85\u2028\u2029]")
# What binary data is made of, once escape sequences are gone: controls and undecodable bytes.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ufffe\uffff]")
_INLINE_SPACE = re.compile(r"[ \t\u00a0]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
SAMPLE_CHARS = 32_768
TITLE_CHARS = 200


def decode_bytes(data: bytes) -> str:
    """Decode text (see the module docstring for the order); binary is refused."""
    text = _decode_any(data)
    _refuse_binary(text)
    return text


def _decode_any(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom):], encoding)
    if _looks_utf16(data):
        return _decode(data, "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
    try:
        return _decode(data, "utf-8")
    except IngestError:
        return _decode_broken(data)


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4096]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0) / len(sample[0::2])
    zeros_odd = sample[1::2].count(0) / len(sample[1::2])
    return max(zeros_even, zeros_odd) > 0.4 and min(zeros_even, zeros_odd) < 0.05


def _decode(data: bytes, encoding: str) -> str:
    """Strict decoding; only a character cut off at the very end is dropped."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        cut_at_end = exc.end == len(data) and exc.reason in ("unexpected end of data",
                                                              "truncated data")
        if cut_at_end and exc.start > 0:
            return _decode(data[:exc.start], encoding)
        raise IngestError(f"invalid {encoding}: {exc.reason} at byte {exc.start}") from None


def _decode_broken(data: bytes) -> str:
    """UTF-8 with a few bad bytes when it has more good multi-byte characters than bad
    bytes; otherwise Windows-1252, if it looks like text at all."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if non_ascii - broken > broken:
        return text
    text = data.decode("cp1252", errors="replace")
    _refuse_binary(text)
    sample = _sample(text)
    non_ascii = len(sample) - len(sample.encode("ascii", errors="ignore"))
    if _too_many(sample.count("\ufffd"), len(sample)) or non_ascii > 0.3 * len(sample):
        raise IngestError("undecodable bytes: neither UTF-8, UTF-16 nor Windows-1252 text")
    return text


def _refuse_binary(text: str) -> None:
    sample = _sample(text)
    if "\x1b" in sample:
        sample = ESCAPE.sub("", sample)
    bad = sum(1 for _ in _NOT_TEXT.finditer(sample))
    if _too_many(bad, len(sample)):
        what = "NUL bytes" if "\x00" in sample else "control characters"
        raise IngestError(f"binary content ({what}), not text")


def _too_many(bad: int, total: int) -> bool:
    return bad > 2 + total // 100  # a DOS end-of-file ^Z or a C string's NUL is no binary


def _sample(text: str) -> str:
    """The start, middle and end of a long text: binary tails and heads are both caught."""
    if len(text) <= 3 * SAMPLE_CHARS:
        return text
    middle = len(text) // 2
    return text[:SAMPLE_CHARS] + text[middle:middle + SAMPLE_CHARS] + text[-SAMPLE_CHARS:]


def strip_hostile(text: str) -> str:
    """Text without terminal escapes, controls (but \\n and \\t) or bidi overrides."""
    if any(start in text for start in ESCAPE_STARTS):  # before line ends are rewritten
        text = ESCAPE.sub("", text)
    if "\r" in text:
        text = _carriage_returns(text)
    if _LINE_BREAK.search(text):
        text = _LINE_BREAK.sub("\n", text)
    return strip_escapes_and_controls(text)


def _carriage_returns(text: str) -> str:
    """CRLF becomes a line end. A lone CR ends lines only in text that uses it as its line
    end (classic Mac: several, and no LF anywhere); elsewhere it is a stray inside a line,
    and as a line end it would cut a sentence in two (every line end is a sentence break)."""
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    mac = "\n" not in text and text.count("\r") > 1
    return text.replace("\r", "\n" if mac else " ")


def normalize_text(text: str) -> str:
    """NFC, \\n line ends, no hostile characters, no trailing spaces, at most one blank line."""
    text = strip_hostile(unicodedata.normalize("NFC", text))
    # Each pass is guarded by a cheap test: a 50 MB single line must not take seconds.
    if " \n" in text or "\t\n" in text or "\u00a0\n" in text:
        text = "\n".join(line.rstrip(" \t\u00a0") for line in text.split("\n"))
    if "  " in text or "\t" in text or "\u00a0" in text:
        text = _INLINE_SPACE.sub(" ", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def normalize_line(text: str, limit: int = 0) -> str:
    """A single-line field (title, author, source): whitespace collapsed, hostile characters
    removed, and with `limit`, cut at a word boundary to at most that many characters."""
    line = " ".join(strip_hostile(unicodedata.normalize("NFC", text)).split())
    if limit and len(line) > limit:
        cut = line[:limit - 1]
        line = (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut) + "…"
    return line


def parse_date(value: object) -> str | None:
    """Any common date form (ISO, RFC 2822, "2022/06/12", "June 12, 2022", epoch) as ISO 8601;
    None for anything else, however malformed (a bad date never costs an article)."""
    try:
        return _parse_date(value)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def _parse_date(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _iso(datetime.fromtimestamp(float(value), UTC), has_time=True)
    if isinstance(value, tuple):  # feedparser's struct_time, in UTC
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        return _iso(datetime(year, month, day, hour, minute, second, tzinfo=UTC), has_time=True)
    if not isinstance(value, str) or len(value) > 100:  # no date is that long: skip the parser
        return None
    raw = value.strip()
    if re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}", raw):
        year, month, day = (int(part) for part in re.split(r"[-/.]", raw))
        return _checked_date(year, month, day)
    from dateutil import parser as date_parser

    parsed = date_parser.parse(raw, default=datetime(2001, 1, 1))
    # A string without a year, month or day ("5", "Monday") is no date: dateutil would fill
    # the gaps from its default, so parse again with another default and compare.
    if parsed.date() != date_parser.parse(raw, default=datetime(2002, 2, 2)).date():
        return None
    return _iso(parsed, has_time=bool(re.search(r"\d:\d", raw)))


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
    return f"{moment.date().isoformat()}T{moment:%H:%M:%S}Z"  # strftime's %Y is not padded


def date_ordinal(iso: str | None) -> int | None:
    """A sortable number for a published date (days since 0001-01-01), for store filters."""
    if not iso:
        return None
    return datetime.fromisoformat(iso[:10]).toordinal()
