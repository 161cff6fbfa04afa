import random
from collections.abc import Sequence

import pytest

from ingest.clean import date_ordinal, decode_bytes, normalize_line, normalize_text, parse_date
from newsrag.errors import IngestError

TEXT = "Zelenskyy met Macron in Paris — “talks went well,” he said. Ünïcödé"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with BOM
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-16-be"),
    ],
)
def test_decodes_utf8_and_utf16_with_or_without_bom(data: bytes) -> None:
    assert decode_bytes(data) == TEXT


def test_windows_1252_falls_back() -> None:
    assert decode_bytes("café “quoted”".encode("cp1252")) == "café “quoted”"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(range(256)) * 20, "binary"),
        (b"\xff\xfe" + b"\x00\xd8" * 4, "invalid utf-16"),
    ],
)
def test_binary_and_broken_text_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        decode_bytes(data)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        # A multi-byte character cut off at the very end is dropped, the rest kept as it is.
        ("Kyiv — “talks”".encode() + "é".encode()[:1], "Kyiv — “talks”"),
        ("naïve €".encode()[:-1], "naïve "),
        ("Grüße".encode("utf-16-le") + b"G", "Grüße"),
        (b"\xff\xfe" + "Grüße".encode("utf-16-le") + "😀".encode("utf-16-le")[:2], "Grüße"),
        ("Grüße".encode("utf-16-be") + "😀".encode("utf-16-be")[:2], "Grüße"),
        # UTF-8 with one bad byte in the middle stays UTF-8 (no mojibake of the rest).
        ("Zelenskyy — “ok” ".encode() + b"\xff" + " Ünï".encode(), "Zelenskyy — “ok” \ufffd Ünï"),
        # ASCII with a lone Windows-1252 byte is Windows-1252.
        (b"Caf\xe9 society and more plain ASCII words.", "Café society and more plain ASCII words."),
    ],
)
def test_truncated_and_mixed_encodings_keep_the_text(data: bytes, text: str) -> None:
    assert decode_bytes(data) == text


def _random_bytes(seed: int, alphabet: Sequence[int], size: int = 20_000) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.choice(alphabet) for _ in range(size))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_random_bytes(1, range(1, 256)), "binary|undecodable"),  # no NUL: cp1252 took this
        (_random_bytes(2, range(0x20, 0x100)), "binary|undecodable"),
        (_random_bytes(5, [*range(0x41, 0x5B), *range(0xC0, 0x100)]), "undecodable"),  # no controls
        (_random_bytes(3, range(1, 32)), "binary content \\(control characters\\)"),
        (("A real sentence here. " * 20).encode() + b"\x00" * 100, "binary content \\(NUL"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + _random_bytes(4, range(256), 3000), "binary"),
    ],
)
def test_binary_without_tell_tale_nuls_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        decode_bytes(data)


def test_a_few_stray_controls_do_not_make_text_binary() -> None:
    article = "Officials met on Monday. " * 40  # 1,000 characters
    noisy = article[:300] + "\x00\x07\x1b[1;31m\x1b]0;owned\x07" + article[300:] + "\x00"
    decoded = decode_bytes(noisy.encode())
    assert normalize_text(decoded) == normalize_text(article)


def test_normalize_text_keeps_paragraphs_and_drops_controls() -> None:
    raw = "Title\r\n\r\n\r\n\r\nFirst  line\x00 here.   \r\nSecond\u202e line\x1b[31m.\n"
    assert normalize_text(raw) == "Title\n\nFirst line here.\nSecond line."
    assert normalize_line("  a\n b\tc ") == "a b c"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("red \x1b[1;31mALERT\x1b[0m done", "red ALERT done"),  # CSI, whole
        ("a\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ b", "alink b"),  # OSC hyperlink
        ("title\x1b]0;pwned\x07 text", "title text"),  # OSC window title, BEL-terminated
        ("open \x1b]0;never closed", "open ]0;never closed"),  # no terminator: text stays
        ("\u202eevil\u202c \u2067isolate\u2069 \u202aembed\u202c", "evil isolate embed"),
        ("page one\x0cpage two\x0bline\u2028next\u2029para\x85end", "page one\npage two\nline\nnext\npara\nend"),
        ("stray\ufeff BOM and \x7f DEL \x9c ST", "stray BOM and DEL ST"),
        ("עברית \u200fمرحبا\u200e ok", "עברית \u200fمرحبا\u200e ok"),  # marks are legit RTL text
    ],
)
def test_hostile_characters_are_removed_from_text(raw: str, text: str) -> None:
    assert normalize_text(raw) == text


def test_normalize_line_removes_hostile_characters_and_clips() -> None:
    assert normalize_line("\x1b[31mBreaking\x1b[0m:\u202e news\x00") == "Breaking: news"
    long = normalize_line("word " * 100, 50)
    assert len(long) <= 50 and long.endswith("…") and long.startswith("word word")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022/06/12", "2022-06-12"),
        ("2022-06-12", "2022-06-12"),
        ("2022-06-12T10:30:00+02:00", "2022-06-12T08:30:00Z"),
        ("Sun, 12 Jun 2022 10:30:00 GMT", "2022-06-12T10:30:00Z"),
        ("June 12, 2022", "2022-06-12"),
        (1655029800, "2022-06-12T10:30:00Z"),
        ((2022, 6, 12, 10, 30, 0, 6, 163, 0), "2022-06-12T10:30:00Z"),
        ("2022/02/30", None),
        ("not a date", None),
        ("5", None),  # dateutil would make this the 5th of this month
        ("Monday", None),
        ("June 12, 2022" * 20, None),
        (float("inf"), None),
        (float("nan"), None),
        (1e20, None),
        (-1e12, None),
        ({"year": 2022}, None),
        ([2022, 6, 12], None),
        ((0, 0, 0, 0, 0, 0), None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_to_iso(value: object, expected: str | None) -> None:
    assert parse_date(value) == expected


def test_date_ordinal_sorts_like_dates() -> None:
    days = [date_ordinal(d) for d in ("2021-12-31", "2022-01-01", "2022-01-01T23:00:00Z")]
    assert days[0] is not None and days[0] + 1 == days[1] == days[2]
    assert date_ordinal(None) is None
