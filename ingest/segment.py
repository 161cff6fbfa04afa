"""Sentence segmentation with exact character spans.

A line break is always a boundary (headlines, datelines and paragraphs in news text); inside a
line, the configured segmenter decides. Choice by measurement: see bench/segmenters.py.

    >>> [s.text for s in split_sentences('Talks began Feb. 18 in Riyadh. "It went well," he said.')]
    ['Talks began Feb. 18 in Riyadh.', '"It went well," he said.']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from ingest.models import Sentence

SplitLine = Callable[[str], list[str]]
# A naive baseline: end punctuation (maybe closing a quote), space, then a capital or digit.
_REGEX_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[\"'“‘(]?[A-Z0-9])")


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
    sentences: list[Sentence] = []
    for line_start, line in _lines(text):
        for start, end in _align(line, split_line(line)):
            sentences.append(
                Sentence(len(sentences), line_start + start, line_start + end, line[start:end])
            )
    return sentences


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            yield offset, line
        offset += len(line) + 1


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
