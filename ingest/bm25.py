"""BM25 over several segments at once, scored as if they were one index.

A segment keeps raw term counts (not precomputed scores, as bm25s does), so documents can be
added in small segments and hidden by tombstones while IDF and the average length are taken
over every live document of every segment: scores equal those of one index built over the
live documents, bit for bit (the same integer statistics, the same float operations per
document). The formula is bm25s's default ("lucene": idf = ln(1 + (N - df + 0.5) / (df +
0.5)), k1 = 1.5, b = 0.75), and a query word repeated counts twice, as in bm25s.

    >>> counts = TermCounts.build([["harbour", "bridge"], ["flood", "barrier", "flood"]])
    >>> [round(float(s), 3) for s in score_segments([(counts, None)], ["flood"])[0]]
    [0.0, 0.372]
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class TermCounts:
    """Term frequencies of one segment's documents, stored by term (like a CSC matrix)."""

    terms: list[str]  # column -> term
    term_start: np.ndarray  # (terms + 1,) int64: term t's postings are [start[t], start[t+1])
    docs: np.ndarray  # (postings,) int32: document row of each posting, ascending per term
    freqs: np.ndarray  # (postings,) int32: how often the term occurs in that document
    lengths: np.ndarray  # (documents,) int64: tokens per document
    _column: dict[str, int] | None = None

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]]) -> TermCounts:
        """Counts of the documents in order; they are consumed one at a time and each posting
        is kept as three 4-byte integers, so a million chunks fit in a few GB (one Python
        tuple per posting took past 24 GiB there)."""
        vocab: dict[str, int] = {}
        term_col, doc_col, freq_col, lengths = (array("i"), array("i"), array("i"), array("q"))
        for row, tokens in enumerate(documents):
            for term, freq in Counter(tokens).items():
                term_col.append(vocab.setdefault(term, len(vocab)))
                doc_col.append(row)
                freq_col.append(freq)
            lengths.append(len(tokens))
        columns = [np.frombuffer(c, dtype=np.int32) for c in (term_col, doc_col, freq_col)]
        # Rows were appended in document order: a stable sort by term keeps them ascending.
        order = np.argsort(columns[0], kind="stable")
        term_sorted, doc_sorted, freq_sorted = (c[order] for c in columns)
        lengths_array = np.frombuffer(lengths, dtype=np.int64).copy()
        return cls._by_term(list(vocab), term_sorted, doc_sorted, freq_sorted, lengths_array)

    @classmethod
    def _from_triples(cls, terms: list[str], table: np.ndarray, lengths: np.ndarray
                      ) -> TermCounts:
        order = np.lexsort((table[:, 1], table[:, 0]))  # by term, then by document
        table = table[order]
        return cls._by_term(terms, table[:, 0], table[:, 1], table[:, 2], lengths)

    @classmethod
    def _by_term(cls, terms: list[str], term_col: np.ndarray, doc_col: np.ndarray,
                 freq_col: np.ndarray, lengths: np.ndarray) -> TermCounts:
        """Counts from postings already sorted by term, then by document."""
        per_term = np.bincount(term_col, minlength=len(terms))
        return cls(terms=terms,
                   term_start=np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
                   docs=doc_col.astype(np.int32), freqs=freq_col.astype(np.int32),
                   lengths=lengths)

    @property
    def size(self) -> int:
        return len(self.lengths)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Documents holding the term, and how often."""
        if self._column is None:
            object.__setattr__(self, "_column", {t: i for i, t in enumerate(self.terms)})
        assert self._column is not None
        column = self._column.get(term)
        if column is None:
            return _NONE, _NONE
        start, end = self.term_start[column], self.term_start[column + 1]
        return self.docs[start:end], self.freqs[start:end]

    def save(self, folder: Path, name: str) -> None:
        np.savez(folder / f"{name}.npz", term_start=self.term_start, docs=self.docs,
                 freqs=self.freqs, lengths=self.lengths)
        (folder / f"{name}.terms.json").write_text(json.dumps(self.terms), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, name: str) -> TermCounts:
        with np.load(folder / f"{name}.npz") as arrays:
            parts = {key: arrays[key] for key in ("term_start", "docs", "freqs", "lengths")}
        terms = json.loads((folder / f"{name}.terms.json").read_text(encoding="utf-8"))
        counts = cls(terms=terms, **parts)
        if not (len(counts.term_start) == len(terms) + 1 and len(counts.docs) == len(
                counts.freqs) == int(counts.term_start[-1])):
            raise ValueError(f"{name}: inconsistent term counts")
        if len(counts.docs) and int(counts.docs.max()) >= counts.size:
            raise ValueError(f"{name}: postings point past the last document")
        return counts


_NONE = np.zeros(0, dtype=np.int32)


def merge_counts(parts: Sequence[tuple[TermCounts, np.ndarray]]) -> TermCounts:
    """One segment of the given rows of each part, in order (rows renumbered from 0)."""
    vocab: dict[str, int] = {}
    tables, lengths, offset = [], [], 0
    for counts, rows in parts:
        renumber = np.full(counts.size, -1, dtype=np.int64)
        renumber[rows] = np.arange(len(rows)) + offset
        columns = np.array([vocab.setdefault(t, len(vocab)) for t in counts.terms],
                           dtype=np.int64)
        term_of = np.repeat(columns, np.diff(counts.term_start))
        doc = renumber[counts.docs]
        keep = doc >= 0
        tables.append(np.stack([term_of[keep], doc[keep],
                                counts.freqs[keep].astype(np.int64)], axis=1))
        lengths.append(counts.lengths[rows])
        offset += len(rows)
    table = np.concatenate(tables) if tables else np.zeros((0, 3), dtype=np.int64)
    merged = TermCounts._from_triples(list(vocab), table, np.concatenate(lengths or [_NONE]))
    return _drop_unused_terms(merged)


def _drop_unused_terms(counts: TermCounts) -> TermCounts:
    """Terms only dead documents held leave empty columns behind: drop them."""
    used = np.diff(counts.term_start) > 0
    if used.all():
        return counts
    kept = np.flatnonzero(used)
    per_term = np.diff(counts.term_start)[kept]
    return TermCounts(terms=[counts.terms[i] for i in kept],
                      term_start=np.concatenate([[0], np.cumsum(per_term)]).astype(np.int64),
                      docs=counts.docs, freqs=counts.freqs, lengths=counts.lengths)


Part = tuple[TermCounts, "np.ndarray | None"]  # a segment and its live rows' mask (None: all)


def score_segments(parts: Sequence[Part], tokens: Sequence[str]) -> list[np.ndarray]:
    """BM25 scores of every row of every part (0 for dead rows), with the statistics of
    the live rows of all parts together."""
    documents = sum(_live_count(c, alive) for c, alive in parts)
    scores = [np.zeros(c.size, dtype=np.float64) for c, _ in parts]
    if documents == 0:
        return scores
    total = sum(int(c.lengths.sum() if alive is None else c.lengths[alive].sum())
                for c, alive in parts)
    average = total / documents
    for token in tokens:
        found = [_live_postings(c, alive, token) for c, alive in parts]
        df = sum(len(docs) for docs, _ in found)
        if df == 0:
            continue
        idf = math.log(1 + (documents - df + 0.5) / (df + 0.5))
        for (counts, _), (docs, freqs), into in zip(parts, found, scores, strict=True):
            tf = freqs.astype(np.float64)
            norm = K1 * ((1 - B) + B * counts.lengths[docs] / average)
            into[docs] += idf * (tf / (norm + tf))
    return scores


def _live_count(counts: TermCounts, alive: np.ndarray | None) -> int:
    return counts.size if alive is None else int(np.count_nonzero(alive))


def _live_postings(counts: TermCounts, alive: np.ndarray | None, token: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    docs, freqs = counts.postings(token)
    if alive is None or not len(docs):
        return docs, freqs
    keep = alive[docs]
    return docs[keep], freqs[keep]
