"""Benchmark ingest: cold throughput, raw encode rate, re-ingest speed-up, size, memory.

Run from the repo root: .venv/bin/python -m bench.ingest [--limit N] [--corpus P] [--data-dir D]
Prints a Markdown table, writes bench/results/ingest.json. The model loads before timing starts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from newsrag.offline import prepare_offline
from newsrag.settings import Settings, load_settings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "realtimeqa-dev" / "corpus.jsonl"
RESULTS = REPO / "bench" / "results" / "ingest.json"
Row = tuple[str, str, str]  # metric, value, aim


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N corpus lines")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a fresh temp dir")
    return parser.parse_args()


def corpus_file(corpus: Path, limit: int | None, scratch: Path) -> Path:
    """The corpus itself, or its first `limit` lines copied into the scratch dir."""
    if limit is None:
        return corpus.resolve()
    target = scratch / f"corpus-first-{limit}.jsonl"
    with corpus.open("rb") as src, target.open("wb") as dst:
        dst.writelines(itertools.islice(src, limit))
    return target


def embed_texts(source: Path, settings: Settings, embedder: Any) -> list[str]:
    """Re-chunk the articles exactly as the pipeline does and return the texts it embedded."""
    from ingest.models import Skip
    from ingest.pipeline import _prepare
    from ingest.sources import load_articles

    texts: list[str] = []
    seen: set[str] = set()
    for item in load_articles([str(source)], settings.ingest):
        if isinstance(item, Skip) or item.id in seen:
            continue
        seen.add(item.id)
        prepared = _prepare(item, "bench", settings.chunking, embedder)
        texts.extend(c.embed_text for c in prepared.chunks)
    return texts


def dir_bytes(root: Path, exclude: str = "cache") -> int:
    """Bytes under root, leaving out the top-level `exclude` folder (unpacked tiktoken files)."""
    total = 0
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d != exclude]
        total += sum(os.path.getsize(Path(folder) / f) for f in files)
    return total


def run(args: argparse.Namespace, scratch: Path) -> tuple[list[Row], dict[str, Any]]:
    data_dir = (args.data_dir or scratch / "data").resolve()
    config = REPO / "config.toml"
    settings = load_settings(config=config if config.is_file() else None,
                             env={"NEWSRAG_DATA_DIR": str(data_dir)})
    prepare_offline(settings.resolved_data_dir() / "cache")
    from ingest.index import open_index
    from ingest.pipeline import ingest

    source = corpus_file(args.corpus, args.limit, scratch)
    index = open_index(settings)
    started = time.perf_counter()
    index.embedder.embed_query("warm up")  # load the model outside the timed ingest
    model_load_s = time.perf_counter() - started

    load_before = os.getloadavg()[0]
    cpu = time.process_time()  # CPU seconds of all threads: steadier than wall under load
    first = ingest([str(source)], settings, index=index)
    first_s, first_cpu = first.seconds, time.process_time() - cpu
    articles = len(first.added) + len(first.updated)

    started = time.perf_counter()
    texts = embed_texts(source, settings, index.embedder)
    chunk_s = time.perf_counter() - started
    model: Any = index.embedder.model  # type: ignore[attr-defined]
    started, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True,
                 show_progress_bar=False)
    encode_s, encode_cpu = time.perf_counter() - started, time.process_time() - cpu
    load_after = os.getloadavg()[0]

    again = ingest([str(source)], settings, index=index)
    overhead, cpu_overhead = first_s / encode_s - 1, first_cpu / encode_cpu - 1
    speedup = first_s / again.seconds
    store_mb = dir_bytes(data_dir) / 1e6
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    rows: list[Row] = [
        ("articles ingested (skipped)", f"{articles} ({len(first.skipped)})", ""),
        ("chunks embedded (re-chunked for raw encode)", f"{first.chunks} ({len(texts)})",
         "equal"),
        ("model load (excluded from ingest time)", f"{model_load_s:.2f} s", ""),
        ("first ingest, wall (model preloaded)", f"{first_s:.2f} s", ""),
        ("first ingest articles/s", f"{articles / first_s:.1f}", ""),
        ("first ingest chunks/s", f"{first.chunks / first_s:.1f}", ""),
        ("parse + chunk alone (overlapped in the pipeline), wall", f"{chunk_s:.2f} s", ""),
        ("raw model.encode, wall", f"{encode_s:.2f} s", ""),
        ("raw model.encode chunks/s", f"{len(texts) / encode_s:.1f}", ""),
        ("pipeline overhead, wall (first / encode - 1)", f"{overhead:.1%}", "≤ 10%"),
        ("pipeline overhead, CPU time (first / encode - 1)", f"{cpu_overhead:.1%}", ""),
        ("re-ingest unchanged, wall", f"{again.seconds * 1000:.1f} ms", ""),
        ("re-ingest unchanged articles", f"{again.unchanged}", f"{articles}"),
        ("speed-up first / re-ingest", f"{speedup:.0f}×", "≥ 100×"),
        ("store size on disk (excl. cache/)", f"{store_mb:.1f} MB", ""),
        ("peak RSS", f"{rss_mb:.0f} MB", ""),
        ("machine load avg (1 min) before / after", f"{load_before:.2f} / {load_after:.2f}",
         f"< {os.cpu_count()}"),
    ]
    results = {
        "corpus": str(args.corpus), "limit": args.limit, "config": settings.config_path,
        "data_dir": str(data_dir), "batch_size": settings.embedding.batch_size,
        "cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after,
        "python": platform.python_version(), "articles": articles,
        "skipped": len(first.skipped), "chunks": first.chunks, "raw_chunks": len(texts),
        "model_load_s": model_load_s, "first_ingest_s": first_s, "first_ingest_cpu_s": first_cpu,
        "articles_per_s": articles / first_s, "chunks_per_s": first.chunks / first_s,
        "chunk_s": chunk_s, "raw_encode_s": encode_s, "raw_encode_cpu_s": encode_cpu,
        "raw_chunks_per_s": len(texts) / encode_s, "pipeline_overhead": overhead,
        "pipeline_cpu_overhead": cpu_overhead, "reingest_s": again.seconds,
        "reingest_unchanged": again.unchanged, "speedup": speedup, "store_mb": store_mb,
        "peak_rss_mb": rss_mb,
    }
    return rows, results


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        rows, results = run(args, Path(tmp))
    print("Model loaded before timing: ingest throughput excludes model load time.\n")
    print("| metric | value | aim |\n|---|---|---|")
    for metric, value, aim in rows:
        print(f"| {metric} | {value} | {aim} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
