"""Extractive answers: sweeps RELATIVE_CUTOFF (how many sentences) and LEXICAL_WEIGHT.

Run from the repo root after bench/answer.py has built its index:
    .venv/bin/python bench/extractive_cutoff.py
Ranks the retrieved sentences once per RealTime QA question (the 103 with their gold article
in the corpus), then picks with each cut-off, and re-ranks with each weight of word overlap
against embedding similarity; prints Markdown tables.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
# bench/ingest.py is named like the `ingest` package: keep this folder off the import path,
# and load bench/answer.py's helpers from its file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("bench_answer", HERE / "answer.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

from rag import extractive  # noqa: E402
from rag.search import retrieve  # noqa: E402


def main() -> None:
    assistant = bench.open_assistant(bench.REPO / "bench" / "results" / "rtqa-index")
    services = assistant.services
    questions = bench.load_jsonl(bench.DATA / "questions_with_gold_doc.jsonl")
    ranked = [extractive.rank_sentences(q["question"], retrieve(q["question"], services),
                                        services.index.embedder) for q in questions]
    print("| cut-off | max sentences | contains answer | gold cited | mean sentences |")
    print("|---|---|---|---|---|")
    for cutoff in (0.7, 0.8, 0.85, 0.9, 0.95, 1.0):
        extractive.RELATIVE_CUTOFF = cutoff
        for most in (1, 3):
            if most == 1 and cutoff != 1.0:
                continue
            picks = [extractive.pick_extractive(r, most) for r in ranked]
            contains = sum(bench.contains_answer(" ".join(p.text for p in pick), q["answer_text"])
                           for pick, q in zip(picks, questions, strict=True))
            cited = sum(any(p.hit.article_id in q["gold_doc_ids"] for p in pick)
                        for pick, q in zip(picks, questions, strict=True))
            size = sum(len(p) for p in picks) / len(picks)
            print(f"| {cutoff:.2f} | {most} | {contains / len(questions):.2f} | "
                  f"{cited / len(questions):.2f} | {size:.2f} |")
    extractive.RELATIVE_CUTOFF = 0.85
    sweep_lexical_weight(ranked, questions)


def sweep_lexical_weight(ranked: list[list[extractive.RankedSentence]],
                         questions: list[dict[str, object]]) -> None:
    print("\n| lexical weight | contains answer | gold cited |\n|---|---|---|")
    for weight in (0.0, 0.15, 0.3, 0.45, 0.6):
        contains = cited = 0
        for rows, q in zip(ranked, questions, strict=True):
            rescored = sorted((replace(r, score=(1 - weight) * r.similarity + weight * r.overlap)
                               for r in rows), key=lambda r: -r.score)
            pick = extractive.pick_extractive(rescored, 3)
            contains += bench.contains_answer(" ".join(p.text for p in pick), q["answer_text"])
            cited += any(p.hit.article_id in q["gold_doc_ids"] for p in pick)  # type: ignore
        print(f"| {weight:.2f} | {contains / len(questions):.2f} | "
              f"{cited / len(questions):.2f} |")


if __name__ == "__main__":
    main()
