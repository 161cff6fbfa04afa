"""Where a first ingest's time goes: a sampling profile of every thread, by pipeline stage.

Run from the repo root (needs py-spy, in the dev extras):
    .venv/bin/python -m bench.ingest_profile [--articles 240] [--variant onnx] [--rate 50]

The same question-preserving RealTime QA slice as bench/perf.py is ingested into a fresh
folder by a child process that py-spy samples (`--threads`, idle samples dropped). Each
sample is charged to the innermost pipeline stage on its stack; the table gives, per thread,
the seconds (samples / rate) and the share of that thread's busy time. The main thread is the
critical path (it embeds; parsing and chunking run in "newsrag-parse", Chroma and catalog
writes in "newsrag-write" beside it), so its embedding share bounds what any other change
can gain. A variant may carry settings after '+', as in bench/perf.py.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.common import REPO, RESULTS

WORK = RESULTS / "ingest-profile"
# Innermost match wins: each stage is recognised by a frame "function (path:line)".
STAGES = [
    ("embed: ONNX forward pass", r"Session\.run \("),
    ("embed: word pieces (tokenise, pad)", r"OnnxEmbedder\._run \(|OnnxEmbedder\.count_tokens \("),
    ("embed: model load", r"OnnxEmbedder\._load \(|exported_model \("),
    ("chunk: fit to the model (word-piece count)", r"_prepare \(ingest/pipeline\.py:249\)"),
    ("chunk: tiktoken counts", r"count_tokens \(ingest/chunk\.py"),
    ("chunk: packing sentences", r"chunk_article \("),
    ("segment into sentences", r"split_sentences \("),
    ("read, parse, clean", r"read_source \(|discover_sources \("),
    ("vector store add (Chroma)", r"\(ingest/store\.py|chromadb/"),
    ("stories (MinHash)", r"\(ingest/stories\.py"),
    ("lexical index + snapshot", r"\(ingest/(lexical|bm25|segments|snapshot)\.py"),
    ("catalog (SQLite)", r"\(ingest/catalog\.py"),
    ("imports and start-up", r"_find_and_load \(|build_services \("),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--variant", default="onnx")
    parser.add_argument("--rate", type=int, default=50, help="samples a second")
    parser.add_argument("--child", nargs=3, metavar=("FEED", "FOLDER", "VARIANT"),
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def ingest_child(feed: str, folder: str, variant: str) -> None:
    """The profiled process: one fresh ingest, its wall time in FOLDER/result.json."""
    from bench.perf import newsrag_settings
    from ingest.pipeline import ingest
    from rag.services import build_services

    settings = newsrag_settings(Path(folder), variant)
    began = time.perf_counter()
    report = ingest([feed], settings, build_services(settings).index)
    (Path(folder) / "result.json").write_text(json.dumps({
        "wall_s": time.perf_counter() - began, "chunks": report.chunks,
        "articles": len(report.added)}))


# A leaf frame that is a wait: the thread has nothing to do (a full queue, an idle writer).
WAITING = re.compile(r"^(Condition\.wait|Queue\.(get|put)|_worker) \(")


def stage_of(frames: list[str]) -> str:
    if frames and WAITING.search(frames[-1]):
        return "waiting (queue full, or no work)"
    for frame in reversed(frames):
        for name, pattern in STAGES:
            if re.search(pattern, frame):
                return name
    return "other"


def tally(raw: Path, rate: int) -> dict[str, dict[str, float]]:
    """Seconds per (thread, stage) from py-spy's raw (collapsed-stack) output."""
    seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.split(";")  # "thread (id): name", then root to leaf
        seconds[thread.partition(": ")[2] or thread][stage_of(frames)] += int(count) / rate
    return seconds


def table(seconds: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| thread | stage | busy s | share of the thread |", "|---|---|---:|---:|"]
    for thread, stages in sorted(seconds.items(), key=lambda t: -sum(t[1].values())):
        total = sum(stages.values())
        for stage, busy in sorted(stages.items(), key=lambda s: -s[1]):
            if busy / total >= 0.005:
                lines.append(f"| {thread} | {stage} | {busy:.1f} | {busy / total:.1%} |")
    return lines


def main() -> None:
    args = parse_args()
    if args.child:
        ingest_child(*args.child)
        return
    from bench.perf import corpus_slice

    folder = WORK / re.sub(r"[^\w.-]+", "_", args.variant)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    feed = WORK / "slice.jsonl"
    feed.write_text("".join(json.dumps(a) + "\n" for a in corpus_slice(args.articles)))
    raw = WORK / "profile.txt"
    spy = Path(sys.executable).with_name("py-spy")
    child = [sys.executable, "-m", "bench.ingest_profile", "--child", str(feed), str(folder),
             args.variant]
    subprocess.run([str(spy), "record", "--format", "raw", "--threads", "--rate",
                           str(args.rate), "-o", str(raw), "--", *child], cwd=REPO,
                          capture_output=True, text=True, check=True)
    result = json.loads((folder / "result.json").read_text())
    print(f"\n{args.variant}: {result['articles']} articles, {result['chunks']} chunks, "
          f"ingest wall {result['wall_s']:.0f} s (under the profiler)\n")
    print("\n".join(table(tally(raw, args.rate))))


if __name__ == "__main__":
    main()
