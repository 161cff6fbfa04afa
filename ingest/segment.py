"""Sentence segmentation with exact character spans.

A line break is always a boundary (headlines, datelines and paragraphs in news text); inside a
line, the configured segmenter decides. Choice by measurement: see bench/segmenters.py.

    >>> [s.text for s in split_sentences('Talks began Feb. 18 in Riyadh. "It went well," he said.')]
    ['Talks began Feb. 18 in Riyadh.', '"It went well," he said.']
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache

from ingest.models import Sentence

SplitLine = Callable[[str], list[str]]
# nupunkt and the regex only ever end a sentence at one of these: a line without any is one
# sentence, and skipping the call saves ~50 µs a line (5 s for 100,000 one-word lines).
SENTENCE_ENDS = (".", "?", "!", "\u2026")
ENDS_NEEDED = {"nupunkt", "regex"}
CJK_ENDS = "。！？"
_CJK_BOUNDARY = re.compile(r"[。！？]+[」』”’）)]*")
LONG_TOKEN_CHARS = 500
_LONG_TOKEN = re.compile(rf"(?<!\S)\S{{{LONG_TOKEN_CHARS},}}")
# A naive baseline: end punctuation (maybe closing a quote), space, then a capital or digit.
_REGEX_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[\"'“‘(]?[A-Z0-9])")
# Titles that only ever stand before a name: a segmenter's boundary after one ("who played
# Lt. | Nyota Uhura …") cuts a name off its sentence, and the second half then misreads alone.
_TITLE_END = re.compile(r"(?:^|[\s(“\"])(?:Lt|Sgt|Maj|Gen|Col|Capt|Cmdr|Adm|Cpl|Pvt|Gov|Sen|Rep|"
                        r"Reps|Sens|Dr|Mr|Mrs|Ms|Mme|Prof|Rev|Hon|Insp|Supt)\.$")


@cache
def _nupunkt_splitter() -> SplitLine:
    import nupunkt

    return lambda line: [line[start:end] for start, end in nupunkt.sentence_spans(line)]


@cache
def _pysbd_splitter() -> SplitLine:  # optional: pip install pysbd
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return lambda line: list(segmenter.segment(line))


def _regex_splitter(line: str) -> list[str]:
    return _REGEX_BOUNDARY.split(line)


SEGMENTERS: dict[str, Callable[[], SplitLine]] = {
    "nupunkt": _nupunkt_splitter,
    "pysbd": _pysbd_splitter,
    "regex": lambda: _regex_splitter,
}


def split_sentences(text: str, segmenter: str = "nupunkt") -> list[Sentence]:
    """Sentences of `text` in order, each with `text[start:end] == sentence.text`."""
    split_line = SEGMENTERS[segmenter]()
    needs_end = segmenter in ENDS_NEEDED
    sentences: list[Sentence] = []
    for line_start, line in _lines(text):
        for part_start, part, alone in _parts(line):
            for piece_start, piece in [(0, part)] if alone else _cjk_pieces(part):
                if alone or (needs_end and not _has_end(piece)):
                    spans: Iterable[tuple[int, int]] = _align(piece, [piece])
                else:
                    spans = _join_titles(piece, _align(piece, split_line(piece)))
                offset = line_start + part_start + piece_start
                for start, end in spans:
                    sentences.append(Sentence(
                        len(sentences), offset + start, offset + end, piece[start:end]))
    return sentences


def _cjk_pieces(part: str) -> list[tuple[int, str]]:
    """`part` cut after each full-width sentence end (。！？ and any closing quote): Chinese
    and Japanese put no space after them, and no segmenter here splits there."""
    if not any(mark in part for mark in CJK_ENDS):
        return [(0, part)]
    cuts = [0, *(m.end() for m in _CJK_BOUNDARY.finditer(part)), len(part)]
    return [(a, part[a:b]) for a, b in itertools.pairwise(cuts) if part[a:b].strip()]


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            yield offset, line
        offset += len(line) + 1


def _parts(line: str) -> Iterator[tuple[int, str, bool]]:
    """The line, cut around runs of LONG_TOKEN_CHARS or more non-space characters: nupunkt
    takes quadratic time on such runs when they hold many "!", "?" or ".)" (a minute for
    200,000 "!"), and a run that long is no sentence anyway, so it stands alone."""
    cursor = 0
    for match in _LONG_TOKEN.finditer(line):
        if line[cursor:match.start()].strip():
            yield cursor, line[cursor:match.start()], False
        yield match.start(), match.group(), True
        cursor = match.end()
    if line[cursor:].strip():
        yield cursor, line[cursor:], False


def _join_titles(line: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with each one that ends in a title ("Lt.", "Gov.") joined to the next.

    >>> line = "Nichols, who played Lt. Nyota Uhura, died."
    >>> _join_titles(line, [(0, 23), (24, 42)])
    [(0, 42)]
    """
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and _TITLE_END.search(line, 0, joined[-1][1]):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _has_end(part: str) -> bool:
    return any(mark in part for mark in SENTENCE_ENDS)


def _align(line: str, pieces: list[str]) -> Iterator[tuple[int, int]]:
    """Map segmenter output back to spans of `line`; text it dropped joins the previous span."""
    cursor = 0
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        found = line.find(piece, cursor)
        if found < 0:
            continue  # the segmenter rewrote this piece; its text stays with a neighbour
        start = found
        if line[cursor:found].strip():
            if spans:
                spans[-1] = (spans[-1][0], found)
            else:
                start = cursor
        spans.append((start, found + len(piece)))
        cursor = found + len(piece)
    if not spans:
        spans = [(0, len(line))]
    elif line[cursor:].strip():
        spans[-1] = (spans[-1][0], len(line))
    for start, end in spans:
        start += len(line[start:end]) - len(line[start:end].lstrip())
        end -= len(line[start:end]) - len(line[start:end].rstrip())
        if end > start:
            yield start, end
