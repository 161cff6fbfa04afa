"""Dense search at 1M chunks without the BM25 snapshot (whose one-session build ran out of
memory there): the 103 dev questions' nearest 50 chunks in Chroma over a bench.scale store
(embedded, and a `chroma run` server), and in the in-memory `DenseMatrix` over the dev
corpus's recorded vectors tiled to 1M rows (the copies' vectors); p50/p95 and peak RSS.

    .venv/bin/python -m bench.scale_no_snapshot [--data-dir bench/results/scale-1000k]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import RESULTS, RTQA, chroma_server, peak_rss_mb
from bench.perf import percentiles


def timed(search: Callable[[Any], object], queries: Sequence[Any]) -> dict[str, float]:
    """p50/p95 ms of `search` over the queries after a warm pass, and this process's peak RSS."""
    for query in queries:
        search(query)
    seconds = []
    for query in queries:
        began = time.perf_counter()
        search(query)
        seconds.append(time.perf_counter() - began)
    p50, p95 = percentiles(seconds)
    return {"p50_ms": p50, "p95_ms": p95, "peak_rss_mb": peak_rss_mb(os.getpid())}


def store_latency(data_dir: Path, port: int = 0) -> dict[str, Any]:
    """Run in a fresh process: open the store as ingest does and time `nearest`."""
    from bench.answer import load_jsonl
    from bench.scale import settings_for
    from ingest.embed import make_embedder
    from ingest.index import open_index
    from newsrag.offline import prepare_offline

    server = {"NEWSRAG_STORE__MODE": "server", "NEWSRAG_STORE__PORT": str(port)} if port else {}
    settings = settings_for(data_dir, "onnx", server)
    prepare_offline(data_dir / "cache")
    embedder = make_embedder(settings.embedding)
    store = open_index(settings, embedder=embedder).store
    vectors = [embedder.embed_query(q["question"])
               for q in load_jsonl(RTQA / "questions_with_gold_doc.jsonl")]
    began = time.perf_counter()
    store.nearest(vectors[0], 50)
    first = time.perf_counter() - began
    return {"count": store.count(), "first_s": first,
            **timed(lambda v: store.nearest(v, 50), vectors)}


def measure(data_dir: Path, port: int = 0) -> dict[str, Any]:
    script = ("import json; from pathlib import Path; from bench.scale_no_snapshot import *; "
              f"print(json.dumps(store_latency(Path({str(data_dir)!r}), {port})))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def dense_latency(rows: int) -> dict[str, Any]:
    """Run in a fresh process: DenseMatrix over `rows` tiled recorded vectors."""
    import numpy as np

    from bench.answer import load_jsonl
    from bench.scale import recorded_vectors, settings_for
    from ingest.dense import DenseMatrix
    from ingest.embed import make_embedder

    source = RESULTS / "rtqa-index"
    vectors = np.array(list(recorded_vectors(source, "onnx").values()), dtype=np.float32)
    tiled = np.tile(vectors, (rows // len(vectors) + 1, 1))[:rows]
    del vectors
    began = time.perf_counter()
    dense = DenseMatrix.build(tiled)
    build_s = time.perf_counter() - began
    del tiled
    embedder = make_embedder(settings_for(source, "onnx").embedding)
    queries = [np.asarray(embedder.embed_query(q["question"]), dtype=np.float32)
               for q in load_jsonl(RTQA / "questions_with_gold_doc.jsonl")]
    return {"count": rows, "build_s": build_s,
            **timed(lambda q: dense.nearest(q, 50), queries)}


def measure_dense(len_of: int) -> dict[str, Any]:
    script = ("import json; from bench.scale_no_snapshot import *; "
              f"print(json.dumps(dense_latency({len_of})))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "scale-1000k")
    folder = parser.parse_args().data_dir.resolve()
    rows = {"embedded": measure(folder)}
    with chroma_server(folder / "chroma", folder.parent / f"{folder.name}-chroma.log"
                       ) as (port, pid):
        rows["chroma run"] = {**measure(folder, port), "server_peak_rss_mb": peak_rss_mb(pid)}
    rows["in memory"] = measure_dense(len_of=rows["embedded"]["count"])
    print(json.dumps(rows, indent=1))
    (RESULTS / f"scale-no-snapshot-{folder.name}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
