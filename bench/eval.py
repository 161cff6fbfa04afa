"""Benchmark the eval suite: judging throughput, the RealTime QA report, and the judge's accuracy.

Run from the repo root: .venv/bin/python -m bench.eval [--limit N] [--skip-judge-table]
1. Answers the RealTime QA dev questions with the configured chain (extractive by default) over
   the corpus index (ingested once into bench/results/rtqa-index, shared with bench/answer.py),
   then times the heuristic judge alone on those answers: answers judged per second (aim: 100
   answers in under 30 s, excluding generation), cold (first judging) and warm (again).
2. Prints the eval report's metrics for that run.
3. Measures the shipped heuristic judge on WiCE dev and XSum (in-sample: the weights were
   fitted on them; bench/calibrate_judge.py prints the out-of-fold figures).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data"
LABELLED = {"WiCE dev": DATA / "wice-dev" / "wice_claim_dev.jsonl",
            "XSum hallucinations": DATA / "xsum-hallucinations" / "xsum_hallucinations.jsonl"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "results" / "rtqa-index")
    parser.add_argument("--skip-judge-table", action="store_true")
    return parser.parse_args()


def throughput(services: Any, limit: int | None) -> None:
    from eval.dataset import Dataset, load_dataset
    from eval.judges import make_judge
    from eval.judging import judge_answers
    from eval.metrics import METRICS, summarize
    from eval.runner import answer_cases, assistant_chain

    dataset = load_dataset(DATA / "realtimeqa-dev")
    dataset = Dataset(dataset.name, dataset.cases[:limit])
    chain = assistant_chain(services)
    chain("warm-up: load the models before timing", [])
    started = time.perf_counter()
    answers = answer_cases(dataset, chain, None, None)
    answering = time.perf_counter() - started
    items = list(zip(dataset.cases, answers, strict=True))
    judge = make_judge(services, "heuristic")
    for label in ("cold judge", "warm judge"):  # warm: the same judge, its vectors cached
        started = time.perf_counter()
        results = judge_answers(items, judge)
        seconds = time.perf_counter() - started
        n = len(items)
        print(f"| {label} | {n} | {seconds:.1f} s | {n / seconds:.1f} | "
              f"{100 * seconds / n:.1f} s |")
    print(f"\nanswering (not part of the aim): {answering:.1f} s for {len(items)} answers\n")
    print("| metric | value | 95% CI | n |\n|---|---|---|---|")
    for name in METRICS:
        s = summarize(name, [r.metrics.get(name) for r in results])
        if s.value is not None:
            print(f"| {name} | {s.value:.3f} | {s.low:.3f}–{s.high:.3f} | {s.n} |")


def judge_table(services: Any) -> None:
    from eval.judge_eval import load_labelled, measure_judge
    from eval.judges import make_judge

    judge = make_judge(services, "heuristic")
    print("\n| data | n | balanced acc. | F1 unsupported | ROC-AUC | threshold | s |")
    print("|---|---|---|---|---|---|---|")
    for name, path in LABELLED.items():
        started = time.perf_counter()
        report = measure_judge(judge, load_labelled(path), name)
        print(f"| {name} (in-sample) | {report.n} | {report.balanced_accuracy:.3f} | "
              f"{report.f1_unsupported:.3f} | {report.roc_auc:.3f} | {report.threshold:.3f} | "
              f"{time.perf_counter() - started:.0f} |")


def main() -> None:
    args = parse_args()
    from bench.answer import open_services

    services = open_services(args.data_dir)
    print("| judging | answers | time | answers/s | per 100 answers |\n|---|---|---|---|---|")
    throughput(services, args.limit)
    if not args.skip_judge_table:
        judge_table(services)


if __name__ == "__main__":
    main()
