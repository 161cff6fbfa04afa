"""Benchmark cited answers on RealTime QA: short answers, citations, declines, speed.

Run from the repo root (the corpus is ingested once into --data-dir and reused):
    .venv/bin/python -m bench.answer [--generators extractive,llama-cpp] [--limit N]
        [--label after]
    .venv/bin/python -m bench.answer --table bench/results/answer-before.json \
        bench/results/answer-after.json

Each question is asked on its quiz date (`--undated`: as of today). For each generator: the
103 questions whose gold article is in the corpus (free-form, no choices) and the 226 whose
gold article is absent. Measured: exact match and token F1 of the short answer against the
reference answers (the whole answer for code without short answers), whether the answer or
its cited sentences contain a reference answer, whether a gold article is cited, declines
(overall, and among questions whose answer is nowhere in the retrieved text), latency.
Prints Markdown tables and writes bench/results/answer-LABEL.json.
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
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results" / "answer.json"  # answer-LABEL.json beside it
CORPUS_ARTICLES = 2030
_MARKERS = re.compile(r"\s*\[\d+\]")
JUDGE: Any = None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--generators", default="extractive,llama-cpp")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N questions of each set")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "results" / "rtqa-index")
    parser.add_argument("--label", default="newsrag",
                        help="names the rows and the results file bench/results/answer-LABEL.json")
    parser.add_argument("--undated", action="store_true",
                        help="ask as of today instead of on each question's quiz date")
    parser.add_argument("--as-is", action="store_true",
                        help="use --data-dir as it is (e.g. a bench.perf slice store) instead of "
                             "completing it with the whole corpus; only answerable questions")
    parser.add_argument("--table", nargs="*", type=Path,
                        help="print one table from these results files and stop")
    return parser.parse_args()


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def open_services(data_dir: Path, as_is: bool = False) -> Any:
    """Services on the RealTime QA index in data_dir, ingesting (or completing) it first."""
    from newsrag.settings import load_settings
    from rag.services import build_services

    # NEWSRAG_* variables still apply, e.g. NEWSRAG_RETRIEVAL__K=10 to compare settings.
    settings = load_settings(config=REPO / "config.toml",
                             env={**os.environ, "NEWSRAG_DATA_DIR": str(data_dir.resolve())})
    services = build_services(settings)
    if not as_is and services.index.catalog.stats()["articles"] < CORPUS_ARTICLES:
        from ingest.pipeline import ingest

        print(f"ingesting {DATA / 'corpus.jsonl'} into {data_dir} (once) ...", file=sys.stderr)
        ingest([str(DATA / "corpus.jsonl")], settings, services.index)
    return services


def open_assistant(data_dir: Path, as_is: bool = False) -> Any:
    from rag.answering import Assistant

    return Assistant(open_services(data_dir, as_is))


def quiz_date(question: dict[str, Any]) -> Any:
    from datetime import datetime

    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


def run_question(assistant: Any, question: dict[str, Any], generator: str,
                 reference: Any = None) -> dict[str, Any]:
    from eval.metrics import contains_reference as contains_answer
    from eval.metrics import exact_match, token_f1
    from rag.answering import AskOptions

    started = time.perf_counter()
    result = assistant.answer(question["question"],
                              options=AskOptions(generator=generator, reference=reference))
    seconds = time.perf_counter() - started
    text = _MARKERS.sub("", result.answer)
    # The answer's first words: the short answer where there is one (code before the reader
    # had none: its whole answer is what a reader saw first).
    short_answer = getattr(result, "short_answer", None)
    short = short_answer.text if short_answer is not None else text
    shown = " ".join([text, *(c.text for c in result.citations)])
    golds = question["answer_text"]
    gold_ids = set(question.get("gold_doc_ids") or ())
    judged = ([JUDGE.supported(JUDGE.score(s.text, [result.citations[n - 1].text
                                                    for n in s.citations]))
               for s in result.sentences] if JUDGE is not None else [])
    retrieved_text = " ".join(s.text for h in result.sources for s in h.sentences)
    answered = not result.refused
    return {
        "id": question["question_id"], "refused": result.refused, "fallback": result.fallback,
        "short": short if answered else "", "answer": result.answer, "shown": shown,
        "contains": answered and contains_answer(shown, golds),
        "f1": max(token_f1(short, g) for g in golds) if answered else 0.0,
        "em": max(exact_match(short, g) for g in golds) if answered else 0.0,
        "gold_cited": any(c.article_id in gold_ids for c in result.citations),
        "gold_retrieved": any(h.article_id in gold_ids for h in result.sources),
        "answer_in_retrieved": contains_answer(retrieved_text, golds),
        "sentences": len(judged), "supported": sum(judged), "relevance": result.relevance,
        "seconds": seconds,
    }


def rescore(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows scored again with this checkout's metrics (runs of older code compare fairly)."""
    from eval.metrics import contains_reference, exact_match, token_f1

    golds = {q["question_id"]: q["answer_text"] for q in load_jsonl(DATA / "questions.jsonl")}
    out = []
    for row in rows:
        answers, answered = golds[row["id"]], not row["refused"]
        out.append({**row, "contains": answered and contains_reference(row["shown"], answers),
                    "f1": max(token_f1(row["short"], g) for g in answers) if answered else 0.0,
                    "em": max(exact_match(row["short"], g) for g in answers) if answered
                    else 0.0})
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    answered = [r for r in rows if not r["refused"]]
    unanswerable = [r for r in rows if not r["answer_in_retrieved"]]
    seconds = sorted(r["seconds"] for r in rows)
    share = lambda key, among=rows: sum(r[key] for r in among) / max(len(among), 1)  # noqa: E731
    return {
        "questions": len(rows), "contains_answer": share("contains"), "token_f1": share("f1"),
        "exact_match": share("em", rows) if rows and "em" in rows[0] else 0.0,
        "gold_cited": share("gold_cited"), "gold_retrieved": share("gold_retrieved"),
        "refused": share("refused"), "fallback": share("fallback", answered),
        "refused_without_answer_in_text": share("refused", unanswerable),
        "without_answer_in_text": len(unanswerable),
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
    lines = ["| code, generator | questions | short-answer EM | short-answer token F1 | "
             "contains answer | gold cited | gold retrieved | declined | declined, answer "
             "not in retrieved text | fallback | p50 s | p95 s |", "|" + "---|" * 12]
    for name, sets in summaries.items():
        for label, s in sets.items():
            without = (f"{s['refused_without_answer_in_text']:.2f} "
                       f"({s['without_answer_in_text']})")
            lines.append(
                f"| {name} | {label} ({s['questions']}) | {s['exact_match']:.2f} | "
                f"{s['token_f1']:.2f} | {s['contains_answer']:.2f} | {s['gold_cited']:.2f} | "
                f"{s['gold_retrieved']:.2f} | {s['refused']:.2f} | {without} | "
                f"{s['fallback']:.2f} | {s['p50_s']:.2f} | {s['p95_s']:.2f} |")
    return lines


def main() -> None:
    args = parse_args()
    if args.table:
        merged: dict[str, Any] = {}
        for path in args.table:
            for name, sets in json.loads(Path(path).read_text())["rows"].items():
                merged[name] = {label: summarize(rescore(rows)) for label, rows in sets.items()}
        print("\n".join(table(merged)))
        return
    assistant = open_assistant(args.data_dir, args.as_is)
    with_gold = load_jsonl(DATA / "questions_with_gold_doc.jsonl")[: args.limit]
    gold_ids = {q["question_id"] for q in load_jsonl(DATA / "questions_with_gold_doc.jsonl")}
    absent = [q for q in load_jsonl(DATA / "questions.jsonl")
              if q["question_id"] not in gold_ids][: args.limit]
    sets = [("gold in corpus", with_gold)] + ([] if args.as_is else [("gold absent", absent)])
    assistant.answer("warm-up: load the models before timing")
    results: dict[str, Any] = {}
    summaries: dict[str, dict[str, dict[str, float]]] = {}
    for generator in args.generators.split(","):
        chat = assistant.chat_model(generator)
        if chat is not None:  # load the LLM before timing
            "".join(chat.stream([{"role": "user", "content": "Say hi."}]))
        rows = {label: [run_question(assistant, q, generator,
                                     quiz_date(q) if not args.undated else None)
                        for q in questions]
                for label, questions in sets}
        name = f"{args.label}, {generator}"
        summaries[name] = {label: summarize(r) for label, r in rows.items()}
        results[name] = rows
        print("\n".join(table({name: summaries[name]})), file=sys.stderr)
    print("\n".join(table(summaries)))
    first = next(iter(results.values()))
    print("\nRefusal threshold (relevance of the best retrieved sentence):\n")
    print("\n".join(calibration_table(first["gold in corpus"] + first.get("gold absent", []))))
    out = RESULTS.with_name(f"answer-{args.label}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summaries": summaries, "rows": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
