"""Measure story clustering (ingest/stories.py) on the RealTime QA dev corpus.

Run from the repo root:
    .venv/bin/python -m bench.stories [--index bench/results/rtqa-index]
        [--sample 50] [--sweep]

The corpus holds, per quiz question, the gold article and the web-search results for it
(`retrieved_for`): copies and rewrites of one story across outlets, and distractors on the
same topic. Articles are matched in publication order, as a watcher would ingest them, with
the real model's document vectors (the mean of each article's chunk vectors, read from the
snapshot of the index bench/answer.py builds: `<index>/lexical/*/vectors.npy`, read only).
Printed: how many articles joined a story and by which rule; how the merges line up with the
questions (a merge "agrees" when both articles were retrieved for a common question: a
proxy, since two different stories can answer one question and a story can be retrieved for
questions of two weeks); and a seeded sample of merges for checking by hand, written to
bench/results/stories-sample.txt.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import ingest.stories as stories
from bench.common import RESULTS
from bench.common import RTQA as DATA
from ingest.clean import date_ordinal


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--index", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--sweep", action="store_true", help="try other thresholds too")
    return parser.parse_args()


def document_vectors(index: Path) -> dict[str, np.ndarray]:
    """article id -> the mean of its chunks' vectors, from the index's snapshot."""
    folder = next(p for p in (index / "lexical").iterdir() if (p / "vectors.npy").is_file())
    docs = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
    owner = np.load(folder / "chunk_article.npy")
    vectors = np.load(folder / "vectors.npy", mmap_mode="r")
    found = {}
    for row, article_id in enumerate(docs["article_ids"]):
        found[article_id] = stories.document_vector(np.asarray(vectors[owner == row]))
    return found


def cluster(records: list[dict[str, Any]], vectors: dict[str, np.ndarray],
            signatures: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Every article's match, in publication order."""
    known = stories.StoryIndex()
    matches = []
    for r in records:
        day = r["day"]
        vector = vectors.get(r["doc_id"], np.zeros(0, dtype=np.float32))
        match = known.match(r["doc_id"], day, signatures[r["doc_id"]], vector)
        known.add(r["doc_id"], match.story_id, day, signatures[r["doc_id"]], vector)
        matches.append({"id": r["doc_id"], "story": match.story_id, "matched": match.matched,
                        "jaccard": match.jaccard, "cosine": match.cosine})
    return matches


def summarise(records: list[dict[str, Any]], matches: list[dict[str, Any]]) -> dict[str, Any]:
    by_id = {r["doc_id"]: r for r in records}
    merges = [m for m in matches if m["matched"]]
    agree = sum(bool(set(by_id[m["id"]]["retrieved_for"])
                     & set(by_id[m["matched"]]["retrieved_for"])) for m in merges)
    copies = sum(m["jaccard"] >= stories.COPY_JACCARD for m in merges)
    sizes = Counter(m["story"] for m in matches)
    multi = {s for s, n in sizes.items() if n > 1}
    outlets = defaultdict(set)
    for m in matches:
        outlets[m["story"]].add(by_id[m["id"]]["source"])
    questions: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for q in r["retrieved_for"]:
            questions[q].append(r["doc_id"])
    story_of = {m["id"]: m["story"] for m in matches}
    per_question = [(len(ids), len({story_of[i] for i in ids})) for ids in questions.values()]
    return {
        "articles": len(records), "merges": len(merges), "copy_rule": copies,
        "rewrite_rule": len(merges) - copies, "agree_with_questions": agree,
        "stories_with_copies": len(multi), "articles_in_them": sum(sizes[s] for s in multi),
        "largest_story": max(sizes.values()),
        "multi_outlet_stories": sum(len(outlets[s]) > 1 for s in multi),
        "questions": len(questions),
        "questions_with_a_merged_story": sum(n > s for n, s in per_question),
        "docs_per_question": float(np.mean([n for n, _ in per_question])),
        "stories_per_question": float(np.mean([s for _, s in per_question])),
    }


def sample(records: list[dict[str, Any]], matches: list[dict[str, Any]], count: int) -> str:
    by_id = {r["doc_id"]: r for r in records}
    merges = [m for m in matches if m["matched"]]
    picked = random.Random(0).sample(merges, min(count, len(merges)))
    lines = []
    for n, m in enumerate(picked, start=1):
        lines.append(f"## {n}. J={m['jaccard']:.2f} cos={m['cosine']:.3f}")
        for article_id in (m["matched"], m["id"]):
            r = by_id[article_id]
            text = " ".join(r["text"].split())[:400]
            lines.append(f"- [{r['source']} {r['publish_date']}] {r['title']}\n  {text}")
    return "\n".join(lines)


def load_records() -> list[dict[str, Any]]:
    with (DATA / "corpus.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    for r in records:
        published = (r.get("publish_date") or "").replace("/", "-") or None
        r["day"] = date_ordinal(published) if published else None
        r["source"] = r["url"].split("/")[2].removeprefix("www.") if "//" in r["url"] else ""
    return sorted(records, key=lambda r: (r["day"] is None, r["day"] or 0, r["doc_id"]))


def main() -> None:
    args = parse_args()
    records = load_records()
    vectors = document_vectors(args.index)
    signatures = {r["doc_id"]: stories.signature(f"{r['title']}\n{r['text']}")
                  for r in records}
    matches = cluster(records, vectors, signatures)
    result = summarise(records, matches)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stories.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (RESULTS / "stories-sample.txt").write_text(sample(records, matches, args.sample),
                                                encoding="utf-8")
    if args.sweep:
        sweep(records, vectors, signatures)


def sweep(records: list[dict[str, Any]], vectors: dict[str, np.ndarray],
          signatures: dict[str, np.ndarray]) -> None:
    print("| copy J | copy cos | rewrite J | rewrite cos | days | merges | agree |")
    print("|---|---|---|---|---|---|---|")
    for copy_j, copy_cos, rewrite_j, cosine, days in [
            (0.5, 0.8, 0.12, 0.88, 4), (0.5, 0.0, 0.12, 0.88, 4), (0.4, 0.8, 0.12, 0.88, 4),
            (0.5, 0.8, 0.08, 0.85, 4), (0.5, 0.8, 0.2, 0.9, 4), (0.5, 0.8, 0.05, 0.92, 2),
            (0.5, 0.8, 1.1, 1.1, 4), (0.3, 0.8, 0.1, 0.8, 7)]:
        stories.COPY_JACCARD, stories.COPY_COSINE = copy_j, copy_cos
        stories.REWRITE_JACCARD, stories.REWRITE_COSINE = rewrite_j, cosine
        stories.REWRITE_DAYS = days
        result = summarise(records, cluster(records, vectors, signatures))
        print(f"| {copy_j} | {copy_cos} | {rewrite_j} | {cosine} | {days} | {result['merges']} "
              f"| {result['agree_with_questions']} |")


if __name__ == "__main__":
    main()
