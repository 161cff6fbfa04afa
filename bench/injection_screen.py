"""False positives of the prompt-injection screen (rag/screen.py) on real news.

Run from the repo root:
    .venv/bin/python bench/injection_screen.py [--show N]
Segments every article of ../shared/data/realtimeqa-dev/corpus.jsonl (title and text) as
ingestion does, screens each sentence and prints how many are flagged, by kind, with examples.
None of these articles is hostile, so every flag is a false positive.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# bench/ingest.py is named like the `ingest` package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / "shared" / "data" / "realtimeqa-dev" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=20, help="flagged sentences to print")
    args = parser.parse_args()
    from newsrag.offline import prepare_offline

    prepare_offline(Path(tempfile.mkdtemp(prefix="newsrag-screen-")))
    from ingest.segment import split_sentences
    from rag.screen import screen

    started = time.perf_counter()
    sentences, flagged, titles = 0, [], 0
    with CORPUS.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    for record in records:
        texts = [s.text for s in split_sentences(record.get("text") or "")]
        texts.append(record.get("title") or "")
        titles += 1
        sentences += len(texts)
        flagged += [(flag, text) for text in texts if (flag := screen(text))]
    elapsed = time.perf_counter() - started
    rate = len(flagged) / sentences
    print(f"{len(records)} articles, {sentences} sentences (incl. {titles} titles): "
          f"{len(flagged)} flagged = {100 * rate:.4f} % ({elapsed:.1f} s)")
    print("by kind:", dict(Counter(flag.kind for flag, _ in flagged)))
    for flag, text in flagged[:args.show]:
        print(f"- [{flag.kind}: {flag.match!r}] {text[:200]}")


if __name__ == "__main__":
    main()
