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


def test_normalize_text_keeps_paragraphs_and_drops_controls() -> None:
    raw = "Title\r\n\r\n\r\n\r\nFirst  line\x00 here.   \r\nSecond\u202e line\x1b[31m.\n"
    assert normalize_text(raw) == "Title\n\nFirst line here.\nSecond line[31m."
    assert normalize_line("  a\n b\tc ") == "a b c"


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
