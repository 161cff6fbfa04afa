"""False positives of the prompt-injection screen (rag/screen.py) on real news, and its recall
on attack phrasings written before the screen was tuned for them.

Run from the repo root:
    .venv/bin/python -m bench.injection_screen [--show N]
Segments every article of ../shared/data/realtimeqa-dev/corpus.jsonl (title and text) as
ingestion does, screens each sentence and prints how many are flagged, by kind, with examples.
None of these articles is hostile, so every flag is a false positive. It also prints how many
sentences the cheap pre-filter sent to the spaCy parse (rag/addressing.py), and the recall on
tests/data/attack_phrasings.txt (first try, before tuning: 5 of 26).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
CORPUS = REPO.parent / "shared" / "data" / "realtimeqa-dev" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=20, help="flagged sentences to print")
    args = parser.parse_args()
    from newsrag.offline import prepare_offline

    prepare_offline(Path(tempfile.mkdtemp(prefix="newsrag-screen-")))
    from ingest.segment import split_sentences
    from rag.addressing import _MAYBE
    from rag.screen import fold, screen, screen_passage

    started = time.perf_counter()
    sentences, flagged, titles, parsed, passage = 0, [], 0, 0, []
    with CORPUS.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    for record in records:
        texts = [s.text for s in split_sentences(record.get("text") or "")]
        texts.append(record.get("title") or "")
        titles += 1
        sentences += len(texts)
        flagged += [(flag, text) for text in texts if (flag := screen(text))]
        parsed += sum(1 for text in texts if _MAYBE.search(fold(text)))
        # What evidence selection withholds on top: orders split in two, off-site links.
        passage += [(flag, text) for flag, text in zip(
            screen_passage(texts[:-1], url=record.get("url") or ""), texts[:-1], strict=True)
            if flag is not None and flag.kind in ("continued", "link")]
    elapsed = time.perf_counter() - started
    rate = len(flagged) / sentences
    print(f"{len(records)} articles, {sentences} sentences (incl. {titles} titles): "
          f"{len(flagged)} flagged = {100 * rate:.4f} % ({elapsed:.1f} s); "
          f"{parsed} parsed by spaCy ({100 * parsed / sentences:.2f} %)")
    print(recall(split_sentences, screen))
    print("by kind:", dict(Counter(flag.kind for flag, _ in flagged)))
    print(f"withheld by screen_passage on top (split orders, off-site links): {len(passage)}"
          f" = {100 * len(passage) / sentences:.4f} %", dict(Counter(f.kind for f, _ in passage)))
    for flag, text in flagged[:args.show] + passage[:args.show]:
        print(f"- [{flag.kind}: {flag.match!r}] {text[:200]}")


def recall(split: Any, screen: Any) -> str:
    """Attack lines of which the screen flags at least one sentence."""
    path = REPO / "tests" / "data" / "attack_phrasings.txt"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    caught = sum(1 for line in lines if any(screen(s.text) for s in split(line)))
    return f"recall on {path.name}: {caught} of {len(lines)} (first try: 5 of 26)"


if __name__ == "__main__":
    main()
