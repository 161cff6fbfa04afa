"""Packing whole sentences into chunks of at most `chunk_tokens` tiktoken tokens.

    >>> from ingest.segment import split_sentences
    >>> article = Article(id="a", title="T", text="One short sentence. Another one here.")
    >>> [c.text for c in chunk_article(article, split_sentences(article.text), 8, count_tokens)]
    ['One short sentence.', 'Another one here.']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from ingest.models import Article, Chunk, Sentence

CountTokens = Callable[[str], int]


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
    header = article.title + (f" ({article.published[:10]})" if article.published else "")
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
    units = [piece for sentence in sentences
             for piece in _fit_sentence(article.text, sentence, chunk_tokens, count)]
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = _pack(article.text, units, first, chunk_tokens, count)
        chunks.append(_make_chunk(article, units[first:last], len(chunks), count, embed_title))
        if last >= len(units):
            break
        # Overlap never re-starts at or before the previous start, so packing always advances.
        first = max(last - overlap_sentences, first + 1)
    return chunks


def _pack(text: str, units: list[Sentence], first: int, budget: int, count: CountTokens) -> int:
    """Index one past the last unit that still fits after units[first]."""
    last = first + 1
    while last < len(units) and count(text[units[first].start:units[last].end]) <= budget:
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


def _fit_sentence(text: str, sentence: Sentence, budget: int, count: CountTokens) -> list[Sentence]:
    """The sentence itself, or consecutive word-boundary pieces of it that each fit the budget."""
    if count(sentence.text) <= budget:
        return [sentence]
    pieces: list[Sentence] = []
    start = sentence.start
    while start < sentence.end:
        end = _longest_fitting_end(text, start, sentence.end, budget, count)
        piece_text = text[start:end].rstrip()
        pieces.append(Sentence(sentence.index, start, start + len(piece_text), piece_text))
        start = end
        while start < sentence.end and text[start].isspace():
            start += 1
    return pieces


def _longest_fitting_end(text: str, start: int, stop: int, budget: int, count: CountTokens) -> int:
    """Binary search for the furthest word boundary (or character) whose span fits the budget."""
    low, high = start + 1, stop
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[start:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    space = text.rfind(" ", start + 1, low)
    return low if low == stop or space <= start else space
