"""Packing whole sentences into chunks of at most `chunk_tokens` tiktoken tokens.

    >>> from ingest.segment import split_sentences
    >>> article = Article(id="a", title="T", text="One short sentence. Another one here.")
    >>> [c.text for c in chunk_article(article, split_sentences(article.text), 5, count_tokens)]
    ['One short sentence.', 'Another one here.']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from ingest.models import Article, Chunk, Sentence

CountTokens = Callable[[str], int]
Fits = Callable[[str], bool]
# See _fitter: no chunk has more characters than this many per token of its budget.
MAX_CHARS_PER_TOKEN = 8
# Title characters in an embedded chunk's header.
HEADER_CHARS = 100


@cache
def _encoding(name: str) -> Any:
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    """tiktoken tokens in `text` (call newsrag.offline.prepare_offline first when offline)."""
    return len(_encoding(encoding).encode(text, disallowed_special=()))


def embed_text_for(article: Article, body: str, with_title: bool = True) -> str:
    """What the embedder reads: title and date give a chunk the context its sentences lack."""
    if not with_title:
        return body
    title = article.title
    if len(title) > HEADER_CHARS:  # the model reads 256 word pieces: leave them to the body
        title = title[:HEADER_CHARS - 1].rstrip() + "…"
    header = title + (f" ({article.published[:10]})" if article.published else "")
    return f"{header}\n{body}" if header else body


def chunk_article(
    article: Article,
    sentences: Sequence[Sentence],
    chunk_tokens: int,
    count: CountTokens = count_tokens,
    overlap_sentences: int = 0,
    embed_title: bool = True,
) -> list[Chunk]:
    """Consecutive sentences packed greedily; a sentence longer than the budget is split."""
    fits = _fitter(chunk_tokens, count)
    units = [piece for sentence in sentences
             for piece in _fit_sentence(article.text, sentence, chunk_tokens, fits)]
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = _pack(article.text, units, first, fits)
        chunks.append(_make_chunk(article, units[first:last], len(chunks), count, embed_title))
        if last >= len(units):
            break
        # Overlap never re-starts at or before the previous start, so packing always advances.
        first = max(last - overlap_sentences, first + 1)
    return chunks


def _fitter(budget: int, count: CountTokens) -> Fits:
    """Whether a span fits the budget: in tokens, and in characters at MAX_CHARS_PER_TOKEN.

    The character cap never binds on prose (~4.5 characters a token) but does on runs like
    "-----" (64 of them are 1 token and 64 word pieces): so a chunk at the smallest budget
    always fits the embedding model, and no giant span is ever sent to the tokenizer.
    """
    limit = budget * MAX_CHARS_PER_TOKEN
    return lambda span: len(span) <= limit and count(span) <= budget


def _pack(text: str, units: list[Sentence], first: int, fits: Fits) -> int:
    """Index one past the last unit that still fits after units[first]."""
    last = first + 1
    while last < len(units) and fits(text[units[first].start:units[last].end]):
        last += 1
    return last


def _make_chunk(
    article: Article, units: list[Sentence], index: int, count: CountTokens, embed_title: bool
) -> Chunk:
    start, end = units[0].start, units[-1].end
    body = article.text[start:end]
    return Chunk(
        article_id=article.id,
        index=index,
        start=start,
        end=end,
        text=body,
        sentences=tuple(units),
        n_tokens=count(body),
        embed_text=embed_text_for(article, body, embed_title),
    )


def _fit_sentence(text: str, sentence: Sentence, budget: int, fits: Fits) -> list[Sentence]:
    """The sentence itself, or consecutive word-boundary pieces of it that each fit."""
    if fits(sentence.text):
        return [sentence]
    pieces: list[Sentence] = []
    start = sentence.start
    while start < sentence.end:
        end = _longest_fitting_end(text, start, sentence.end, budget, fits)
        piece_text = text[start:end].rstrip()
        pieces.append(Sentence(sentence.index, start, start + len(piece_text), piece_text))
        start = end
        while start < sentence.end and text[start].isspace():
            start += 1
    return pieces


def _longest_fitting_end(text: str, start: int, stop: int, budget: int, fits: Fits) -> int:
    """The furthest word boundary (or character) whose span from `start` fits.

    Galloping, then binary search: each probe reads at most twice the piece's own length, so
    a 200,000-character sentence costs linear time, not a count of its whole rest per probe.
    """
    low, size = start + 1, max(budget, 1)
    while True:
        probe = min(stop, start + size)
        if not fits(text[start:probe]):
            high = probe - 1
            break
        low = probe
        if probe == stop:
            high = stop
            break
        size *= 2
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[start:middle]):
            low = middle
        else:
            high = middle - 1
    space = text.rfind(" ", start + 1, low)
    return low if low == stop or space <= start else space
