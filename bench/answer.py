"""Benchmark cited answers on RealTime QA: correctness, citations, refusals, faithfulness, speed.

Run from the repo root (the corpus is ingested once into --data-dir and reused):
    .venv/bin/python bench/answer.py [--generators extractive,llama-cpp] [--limit N]

For each generator: the 103 questions whose gold article is in the corpus (free-form, no
choices) and the 226 whose gold article is absent. Prints Markdown tables (metrics per
generator; refusal-threshold calibration) and writes bench/results/answer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# bench/ingest.py is named like the `ingest` package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results" / "answer.json"
CORPUS_ARTICLES = 2030
_MARKERS = re.compile(r"\s*\[\d+\]")
JUDGE: Any = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--generators", default="extractive,llama-cpp")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N questions of each set")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "results" / "rtqa-index")
    return parser.parse_args()


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def open_services(data_dir: Path) -> Any:
    """Services on the RealTime QA index in data_dir, ingesting (or completing) it first."""
    from newsrag.settings import load_settings
    from rag.services import build_services

    # NEWSRAG_* variables still apply, e.g. NEWSRAG_RETRIEVAL__K=10 to compare settings.
    settings = load_settings(config=REPO / "config.toml",
                             env={**os.environ, "NEWSRAG_DATA_DIR": str(data_dir.resolve())})
    services = build_services(settings)
    if services.index.catalog.stats()["articles"] < CORPUS_ARTICLES:
        from ingest.pipeline import ingest

        print(f"ingesting {DATA / 'corpus.jsonl'} into {data_dir} (once) ...", file=sys.stderr)
        ingest([str(DATA / "corpus.jsonl")], settings, services.index)
    return services


def open_assistant(data_dir: Path) -> Any:
    from rag.answering import Assistant

    return Assistant(open_services(data_dir))


def run_question(assistant: Any, question: dict[str, Any], generator: str,
                 reference: Any = None) -> dict[str, Any]:
    from eval.metrics import contains_reference as contains_answer
    from eval.metrics import token_f1
    from rag.answering import AskOptions

    started = time.perf_counter()
    result = assistant.answer(question["question"],
                              options=AskOptions(generator=generator, reference=reference))
    seconds = time.perf_counter() - started
    text = _MARKERS.sub("", result.answer)
    golds = question["answer_text"]
    gold_ids = set(question.get("gold_doc_ids") or ())
    judged = [JUDGE.supported(JUDGE.score(s.text, [result.citations[n - 1].text
                                                    for n in s.citations]))
              for s in result.sentences]
    retrieved_text = " ".join(s.text for h in result.sources for s in h.sentences)
    return {
        "id": question["question_id"], "refused": result.refused, "fallback": result.fallback,
        "contains": not result.refused and contains_answer(text, golds),
        "f1": 0.0 if result.refused else max(token_f1(text, g) for g in golds),
        "gold_cited": any(c.article_id in gold_ids for c in result.citations),
        "gold_retrieved": any(h.article_id in gold_ids for h in result.sources),
        "answer_in_retrieved": contains_answer(retrieved_text, golds),
        "sentences": len(judged), "supported": sum(judged), "relevance": result.relevance,
        "seconds": seconds,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    answered = [r for r in rows if not r["refused"]]
    seconds = sorted(r["seconds"] for r in rows)
    share = lambda key, among=rows: sum(r[key] for r in among) / max(len(among), 1)  # noqa: E731
    return {
        "questions": len(rows), "contains_answer": share("contains"), "token_f1": share("f1"),
        "gold_cited": share("gold_cited"), "gold_retrieved": share("gold_retrieved"),
        "refused": share("refused"), "fallback": share("fallback", answered),
        "faithfulness": sum(r["supported"] for r in answered) / max(
            sum(r["sentences"] for r in answered), 1),
        "p50_s": statistics.median(seconds) if seconds else 0.0,
        "p95_s": seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))] if seconds else 0.0,
    }


def calibration_table(rows: list[dict[str, Any]]) -> list[str]:
    """Refusal thresholds vs. whether the answer string is anywhere in the retrieved text."""
    lines = ["| min_relevance | answerable answered | unanswerable refused | balanced acc. |",
             "|---|---|---|---|"]
    positives = [r["relevance"] for r in rows if r["answer_in_retrieved"]]
    negatives = [r["relevance"] for r in rows if not r["answer_in_retrieved"]]
    for threshold in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]:
        kept = sum(v >= threshold for v in positives) / max(len(positives), 1)
        refused = sum(v < threshold for v in negatives) / max(len(negatives), 1)
        balanced = (kept + refused) / 2
        lines.append(f"| {threshold:.2f} | {kept:.2f} | {refused:.2f} | {balanced:.3f} |")
    lines.append(f"\n{len(positives)} questions with the answer string in the retrieved text, "
                 f"{len(negatives)} without.")
    return lines


def table(summaries: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    lines = ["| generator | questions | contains answer | token F1 | gold cited | gold retrieved "
             "| refused | fallback | faithfulness | p50 s | p95 s |", "|" + "---|" * 11]
    for name, sets in summaries.items():
        for label, s in sets.items():
            lines.append(
                f"| {name} | {label} ({s['questions']}) | {s['contains_answer']:.2f} | "
                f"{s['token_f1']:.2f} | {s['gold_cited']:.2f} | {s['gold_retrieved']:.2f} | "
                f"{s['refused']:.2f} | {s['fallback']:.2f} | {s['faithfulness']:.2f} | "
                f"{s['p50_s']:.2f} | {s['p95_s']:.2f} |")
    return lines


def main() -> None:
    args = parse_args()
    assistant = open_assistant(args.data_dir)
    with_gold = load_jsonl(DATA / "questions_with_gold_doc.jsonl")[: args.limit]
    gold_ids = {q["question_id"] for q in load_jsonl(DATA / "questions_with_gold_doc.jsonl")}
    absent = [q for q in load_jsonl(DATA / "questions.jsonl")
              if q["question_id"] not in gold_ids][: args.limit]
    assistant.answer("warm-up: load the models before timing")
    global JUDGE
    from rag.support import SupportScorer

    # Measured at the balanced-accuracy threshold, not the stricter one grounding uses.
    JUDGE = SupportScorer(assistant.services.index.embedder)
    results: dict[str, Any] = {}
    summaries: dict[str, dict[str, dict[str, float]]] = {}
    for generator in args.generators.split(","):
        chat = assistant.chat_model(generator)
        if chat is not None:  # load the LLM before timing
            "".join(chat.stream([{"role": "user", "content": "Say hi."}]))
        rows = {label: [run_question(assistant, q, generator) for q in questions]
                for label, questions in (("gold in corpus", with_gold), ("gold absent", absent))}
        summaries[generator] = {label: summarize(r) for label, r in rows.items()}
        results[generator] = rows
        print("\n".join(table({generator: summaries[generator]})), file=sys.stderr)
    print("\n".join(table(summaries)))
    first = next(iter(results.values()))
    print("\nRefusal threshold (relevance of the best retrieved sentence):\n")
    print("\n".join(calibration_table(first["gold in corpus"] + first["gold absent"])))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"summaries": summaries, "rows": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
