"""Exact nearest-chunk search over the live chunks' vectors, in memory, with any filter.

The vectors live next to the BM25 snapshot (`vectors.npy`, memory-mapped), in the same row
order. Scanning every vector costs memory bandwidth (150 MB for 100k chunks), so a store of
more than `EXACT_ROWS` chunks is searched in two steps: all vectors projected onto their
`REDUCED_DIMS` main directions (a quarter of the bytes) pick `SHORTLIST` candidates, which are
then scored exactly. On the RealTime QA vectors (37k chunks, and grown to 100k) the shortlist held
99.96 % of the exact top 100; filters are a row mask, so a narrow date window costs nothing extra.

    >>> matrix = DenseMatrix.build(np.eye(3, dtype=np.float32))
    >>> matrix.nearest(np.array([0, 1, 0], dtype=np.float32), 1)
    [(1, 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

EXACT_ROWS = 30_000
REDUCED_DIMS = 96
SHORTLIST = 1_000
_PCA_SAMPLE = 20_000


@dataclass(frozen=True)
class DenseMatrix:
    """Unit vectors, one row per live chunk, and their reduced projection when large."""

    vectors: np.ndarray  # (rows, dims) float32
    basis: np.ndarray | None = None  # (dims, REDUCED_DIMS): main directions, or None
    reduced: np.ndarray | None = None  # (rows, REDUCED_DIMS) float32

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseMatrix:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors) <= EXACT_ROWS:
            return cls(vectors)
        basis = _main_directions(vectors)
        return cls(vectors, basis, np.ascontiguousarray(vectors @ basis))

    def nearest(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
                ) -> list[tuple[int, float]]:
        """Rows and cosine similarities of the k nearest allowed rows, best first."""
        if len(self.vectors) == 0 or k <= 0:
            return []
        _single_threaded_blas()
        query = np.asarray(query, dtype=np.float32)
        if self.reduced is None or self.basis is None:
            rows, scores = None, self.vectors @ query
        else:
            rows = _best(self.reduced @ (query @ self.basis), SHORTLIST, allowed)
            scores = self.vectors[rows] @ query
        if rows is None and allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        best = _best(scores, k, None)
        found = best if rows is None else rows[best]
        return [(int(r), float(s)) for r, s in zip(found, scores[best], strict=True)]

    def save(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self.vectors)
        if self.basis is not None and self.reduced is not None:
            np.save(folder / "basis.npy", self.basis)
            np.save(folder / "reduced.npy", self.reduced)

    @classmethod
    def load(cls, folder: Path) -> DenseMatrix:
        """Memory-mapped: pages load as searches touch them, and processes share them."""
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        if not (folder / "basis.npy").is_file():
            return cls(vectors)
        return cls(vectors, np.load(folder / "basis.npy"),
                   np.load(folder / "reduced.npy", mmap_mode="r"))


@lru_cache(maxsize=1)
def _single_threaded_blas() -> None:
    """Once per process: these scans are memory-bound, and a multi-threaded BLAS keeps its
    threads spinning after each call, which slowed the next question's ONNX embedding from
    15 to 30 ms (bench/scale.py: search p50 40 -> 26 ms at 10k chunks)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _best(scores: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
    """Indices of the k highest scores (allowed ones only), best first."""
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[np.isfinite(scores[top])]


def _main_directions(vectors: np.ndarray) -> np.ndarray:
    """The REDUCED_DIMS directions that keep most of the vectors' energy (uncentred PCA,
    since inner products, not distances to a mean, are what gets ranked)."""
    step = max(1, len(vectors) // _PCA_SAMPLE)
    sample = np.asarray(vectors[::step], dtype=np.float64)
    _, directions = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
    return np.ascontiguousarray(directions[:, ::-1][:, :REDUCED_DIMS], dtype=np.float32)
