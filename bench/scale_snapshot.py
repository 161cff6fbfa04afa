"""Benchmark the BM25 and vector snapshot at a million chunks: build, size on disk, load, search.

Run from the repo root, after bench/retrieval.py has built bench/results/rtqa-index:
    .venv/bin/python -m bench.scale_snapshot [--chunks 1000000]

bench/scale.py measures whole searches up to 1M chunks, but at 1M its one write session's
snapshot build ran out of memory (fixed since: `TermCounts.build` streams its documents). This
measures that build alone, without the hour of Chroma writes in front of it: the dev corpus's
live chunks (their articles from the catalog, their text cut from the articles by the
snapshot's layout, their vectors as the real model computed them) are copied under new ids
(`<id>~k`) until there are `--chunks` of them, and `ingest.snapshot.index_snapshot` builds one
snapshot of them all, as a full rebuild does after reading the store. Then `write_snapshot`
writes it (checksums included); a fresh process reads it back as a searching process does
(`read_snapshot`, checksums checked) and times the search's in-memory core for the 103 dev
questions: BM25 over chunks and over whole articles with the top 50 of each, and the exact
dense top 50, each after a warm pass. Last, the whole newsrag search (question embedding, BM25,
dense, fusion, chunk texts from the catalog) runs over it: the snapshot is published in a data
dir whose catalog is the source's with the copied articles added (bench/scale.py's
`search_latency`, dense search in memory; the Chroma store there holds only the source's
chunks, which an in-memory search never reads). Peak RSS is each process's VmHWM. Copies are
exact duplicates: latency and size figures, not retrieval quality. Writes
bench/results/scale_snapshot.json; `--reuse` measures an existing data dir again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.answer import load_jsonl
from bench.common import peak_rss_mb
from bench.perf import percentiles
from bench.scale import DATA, REPO, RESULTS, measure, settings_for

TOP = 50
VECTOR_FILES = {"vectors.npy", "basis.npy", "reduced.npy"}  # ingest/dense.py's


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--source", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--backend", default="onnx", help="embedder for the questions")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="skip the build: measure the "
        "data dir a previous run left (its build figures are kept)",
    )
    return parser.parse_args()


def copied_documents(source: Path, backend: str, wanted: int) -> tuple[list[Any], list[Any], Any]:
    """Catalog rows, stored chunks and their vectors: the source's live ones, copied under
    new ids until there are `wanted` chunks."""
    import numpy as np

    from ingest.segments import merge
    from ingest.snapshot import stored_chunk
    from rag.services import build_services

    index = build_services(settings_for(source, backend)).index
    base = merge(index.lexical.current())  # one segment, whatever deltas the source holds
    owners = index.catalog.chunk_owners(base.article_ids)
    articles: list[dict[str, Any]] = []
    chunks: list[Any] = []
    rows: list[int] = []
    copy = 0
    while len(chunks) < wanted:
        suffix = f"~{copy}" if copy else ""
        for a, article_id in enumerate(base.article_ids):
            if len(chunks) >= wanted:
                break
            owner = {**owners[article_id], "id": article_id + suffix}
            articles.append(
                {k: owner[k] for k in ("id", "title", "text", "source", "day", "version")}
            )
            for row in range(base.first_chunk[a], base.first_chunk[a + 1]):
                chunk_id = base.chunk_ids[row] + suffix
                chunks.append(stored_chunk(chunk_id, owner, base.layout, int(row)))
                rows.append(int(row))
        copy += 1
    vectors = np.asarray(base.dense.vectors)[np.array(rows)]
    return articles, chunks, vectors


def build_and_write(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from ingest.dense import DenseMatrix
    from ingest.snapshot import index_snapshot, write_snapshot

    began = time.perf_counter()
    articles, chunks, vectors = copied_documents(args.source, args.backend, args.chunks)
    prepared = time.perf_counter()
    snap = index_snapshot(1, articles, chunks, DenseMatrix.build(vectors))
    built = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    write_snapshot(folder, snap)
    return {
        "chunks": len(chunks),
        "articles": len(articles),
        "copy_s": prepared - began,
        "build_s": built - prepared,
        "write_s": time.perf_counter() - built,
        "build_peak_rss_mb": peak_rss_mb(os.getpid()),
    }


def sizes_mb(folder: Path) -> dict[str, float]:
    """The snapshot's files by part: BM25 postings, vectors (and projection), the rest."""
    parts = {"bm25_mb": 0.0, "vectors_mb": 0.0, "other_mb": 0.0}
    for path in folder.rglob("*"):
        if path.is_file():
            mb = path.stat().st_size / 2**20
            key = (
                "bm25_mb"
                if path.name.startswith(("chunks.", "articles."))
                else "vectors_mb"
                if path.name in VECTOR_FILES
                else "other_mb"
            )
            parts[key] += mb
    parts["total_mb"] = sum(parts.values())
    return parts


def search_core(folder: Path, backend: str) -> dict[str, Any]:
    """Load the snapshot as a searching process does, then time BM25 and dense top 50."""
    import numpy as np

    from ingest.embed import make_embedder
    from ingest.segments import SearchView
    from ingest.snapshot import read_snapshot
    from ingest.words import tokenize

    began = time.perf_counter()
    view = SearchView.compose([read_snapshot(folder, 1)])
    row: dict[str, Any] = {"load_s": time.perf_counter() - began}
    questions = [q["question"] for q in load_jsonl(DATA / "questions_with_gold_doc.jsonl")]
    embedder = make_embedder(settings_for(folder, backend).embedding)
    vectors = [np.asarray(embedder.embed_query(q), dtype=np.float32) for q in questions]

    def bm25(i: int) -> None:
        tokens = tokenize(questions[i])
        for scores in (view.chunk_scores(tokens), view.article_scores(tokens)):
            np.argpartition(-scores, TOP)[:TOP]

    def dense(i: int) -> None:
        view.nearest(vectors[i], TOP)

    for name, step in (("bm25", bm25), ("dense", dense)):
        for i in range(len(questions)):  # a warm pass: page in the mapped files
            step(i)
        seconds = []
        for i in range(len(questions)):
            start = time.perf_counter()
            step(i)
            seconds.append(time.perf_counter() - start)
        row[f"{name}_p50_ms"], row[f"{name}_p95_ms"] = percentiles(seconds)
    row["search_peak_rss_mb"] = peak_rss_mb(os.getpid())
    return row


def measure_search(folder: Path, backend: str) -> dict[str, Any]:
    """search_core in a fresh process, so its memory and load time are a reader's own."""
    script = (
        "import json; from pathlib import Path; from bench.scale_snapshot import *; "
        f"print(json.dumps(search_core(Path({str(folder)!r}), {backend!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def publish(data_dir: Path, source: Path) -> None:
    """Make `data_dir` (its snapshot already in lexical/1-scale) a store newsrag opens: the
    source's catalog and Chroma files, the copied articles added to the catalog under their
    new ids, and the catalog's generation set to the snapshot's."""
    shutil.rmtree(data_dir / "chroma", ignore_errors=True)
    shutil.copytree(source / "chroma", data_dir / "chroma")
    catalog = data_dir / "catalog.sqlite3"
    catalog.unlink(missing_ok=True)
    with sqlite3.connect(source / "catalog.sqlite3") as src, sqlite3.connect(catalog) as dst:
        src.backup(dst)  # includes what is still in the WAL
    snapshot = data_dir / "lexical" / "1-scale"
    article_ids = json.loads((snapshot / "docs.json").read_text())["article_ids"]
    copies = [(m[0], m[1]) for a in article_ids if (m := re.fullmatch(r"(.*)~\d+", a))]
    with sqlite3.connect(catalog) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(articles)")]
        rest = ", ".join(c for c in columns if c != "id")
        db.executemany(
            f"INSERT INTO articles (id, {rest}) SELECT ?, {rest} FROM articles WHERE id = ?", copies
        )
        db.execute("UPDATE meta SET value = '1' WHERE key = 'generation'")
    (data_dir / "lexical" / "CURRENT").write_text("1-scale", encoding="utf-8")
    (data_dir / "lexical" / "DELTAS").unlink(missing_ok=True)


def main() -> None:
    args = parse_args()
    data_dir = RESULTS / f"scale-snapshot-{args.chunks // 1000}k"
    folder = data_dir / "lexical" / "1-scale"
    report = RESULTS / "scale_snapshot.json"
    if args.reuse:
        kept = ("chunks", "articles", "copy_s", "build_s", "write_s", "build_peak_rss_mb")
        row = {k: v for k, v in json.loads(report.read_text()).items() if k in kept}
    else:
        print(f"building a {args.chunks}-chunk snapshot in {folder} ...", file=sys.stderr)
        row = build_and_write(args, folder)
    publish(data_dir, args.source)
    row.update(sizes_mb(folder))
    print(json.dumps(row), file=sys.stderr)
    row.update(measure_search(folder, args.backend))
    whole = measure(data_dir, args.backend, ("memory",))
    row.update({f"newsrag_{k.removeprefix('memory_')}": v for k, v in whole.items()})
    print_table(row)
    report.write_text(json.dumps(row, indent=1) + "\n")


def print_table(row: dict[str, Any]) -> None:
    print(
        f"\n| chunks | articles | build s | build peak RSS MB | write s | BM25 MB | vectors MB "
        f"| total MB | load s | BM25 top 50 p50 / p95 ms | dense top 50 p50 / p95 ms "
        f"| newsrag search p50 / p95 ms | newsrag peak RSS MB |\n|{'---|' * 13}\n"
        f"| {row['chunks']} | {row['articles']} "
        f"| {row['build_s']:.0f} | {row['build_peak_rss_mb']:.0f} | {row['write_s']:.0f} "
        f"| {row['bm25_mb']:.0f} | {row['vectors_mb']:.0f} | {row['total_mb']:.0f} "
        f"| {row['load_s']:.1f} | {row['bm25_p50_ms']:.0f} / {row['bm25_p95_ms']:.0f} "
        f"| {row['dense_p50_ms']:.0f} / {row['dense_p95_ms']:.0f} "
        f"| {row['newsrag_p50_ms']:.0f} / {row['newsrag_p95_ms']:.0f} "
        f"| {row['newsrag_peak_rss_mb']:.0f} |"
    )


if __name__ == "__main__":
    main()
