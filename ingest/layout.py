"""Where each live chunk sits in its article: kept in the snapshot beside the BM25 index and
the vectors, so a search reads chunk texts from the catalog's articles instead of the vector
store (no Chroma import or round trip on the query path).

    >>> layout = ChunkLayout.build([(0, 0, 11, ((0, 5), (6, 11)))])
    >>> layout.position(0), layout.sentence_spans(0)
    ((0, 0, 11), ((0, 5), (6, 11)))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Placement = tuple[int, int, int, tuple[tuple[int, int], ...]]  # index, start, end, sentences


@dataclass(frozen=True)
class ChunkLayout:
    """Per chunk row: its index in the article, character span, and sentence spans."""

    positions: np.ndarray  # (rows, 3) int64: chunk index, start, end
    span_offsets: np.ndarray  # (rows + 1,) int64: row i's sentences are spans[o[i]:o[i+1]]
    spans: np.ndarray  # (sentences, 2) int64: start, end in the article text

    @classmethod
    def build(cls, placements: Sequence[Placement]) -> ChunkLayout:
        counts = [len(p[3]) for p in placements]
        spans = [span for p in placements for span in p[3]]
        return cls(
            positions=np.array([p[:3] for p in placements], dtype=np.int64).reshape(-1, 3),
            span_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]),
            spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        )

    def position(self, row: int) -> tuple[int, int, int]:
        index, start, end = (int(x) for x in self.positions[row])
        return index, start, end

    def sentence_spans(self, row: int) -> tuple[tuple[int, int], ...]:
        first, last = int(self.span_offsets[row]), int(self.span_offsets[row + 1])
        return tuple((int(a), int(b)) for a, b in self.spans[first:last])

    def save(self, folder: Path) -> None:
        np.save(folder / "positions.npy", self.positions)
        np.save(folder / "span_offsets.npy", self.span_offsets)
        np.save(folder / "spans.npy", self.spans)

    @classmethod
    def load(cls, folder: Path) -> ChunkLayout:
        return cls(np.load(folder / "positions.npy"), np.load(folder / "span_offsets.npy"),
                   np.load(folder / "spans.npy"))
