"""Quoted answers (`ask.style = "quotes"`): sweeps RELATIVE_CUTOFF (how many sentences).

Run from the repo root after bench/answer.py has built its index:
    .venv/bin/python -m bench.extractive_cutoff
Ranks the retrieved sentences once per RealTime QA question (the 103 with their gold article
in the corpus) with the learned ranker, then picks with each cut-off; prints a Markdown table.
(The old sweep of the hand-set ranker's lexical weight is gone with that ranker: the learned
one is fitted by bench/fit_reader.py.)
"""

from __future__ import annotations

from bench import answer as bench
from eval.metrics import contains_reference
from rag import extractive
from rag.search import retrieve
from rag.sentence_ranker import rank_sentences


def main() -> None:
    assistant = bench.open_assistant(bench.REPO / "bench" / "results" / "rtqa-index")
    services = assistant.services
    questions = bench.load_jsonl(bench.DATA / "questions_with_gold_doc.jsonl")
    ranked = [rank_sentences(q["question"], retrieve(q["question"], services),
                             services.index.embedder) for q in questions]
    print("| cut-off | max sentences | contains answer | gold cited | mean sentences |")
    print("|---|---|---|---|---|")
    for cutoff in (0.7, 0.8, 0.85, 0.9, 0.95, 1.0):
        extractive.RELATIVE_CUTOFF = cutoff
        for most in (1, 3):
            if most == 1 and cutoff != 1.0:
                continue
            picks = [extractive.pick_extractive(r, most) for r in ranked]
            contains = sum(contains_reference(" ".join(p.text for p in pick), q["answer_text"])
                           for pick, q in zip(picks, questions, strict=True))
            cited = sum(any(p.hit.article_id in q["gold_doc_ids"] for p in pick)
                        for pick, q in zip(picks, questions, strict=True))
            size = sum(len(p) for p in picks) / len(picks)
            print(f"| {cutoff:.2f} | {most} | {contains / len(questions):.2f} | "
                  f"{cited / len(questions):.2f} | {size:.2f} |")
    extractive.RELATIVE_CUTOFF = 0.85


if __name__ == "__main__":
    main()
