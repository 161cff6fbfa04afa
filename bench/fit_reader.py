"""Fit the reader's three models on RealTime QA dev and write rag/ranker_weights.json.

Run from the repo root (uses the RealTime QA index of bench/answer.py, built once):
    .venv/bin/python -m bench.fit_reader [--data-dir bench/results/rtqa-index] [--k 10]

Every dev question (questions.jsonl: with and without its gold article) is asked on its quiz
date; the retrieved sentences' features are cached in bench/results/reader_rows.pkl. Then,
with folds grouped by week (so no week's news informs its own predictions):
1. the sentence ranker: logistic regression, label "the sentence contains a reference answer";
2. the candidate scorer, on candidates found with out-of-fold sentence scores: label "the
   candidate is a reference answer" (token F1 >= 0.5);
3. answerability, on out-of-fold ranker and candidate scores: label "the question is
   answerable here" (its gold article is in the corpus, or a reference answer string is in
   the retrieved text); its threshold keeps out-of-fold wrong declines of the gold-present
   questions at or under TARGET_WRONG_DECLINES.
Prints out-of-fold figures against the old hand-set ranking, then fits each model on all
questions and writes the weights.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
RESULTS = REPO / "bench" / "results"
WEIGHTS = REPO / "rag" / "ranker_weights.json"
TARGET_WRONG_DECLINES = 0.08
FOLDS = 5

from bench.answer import load_jsonl, open_services  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--k", type=int, default=None, help="chunks retrieved (default: config)")
    parser.add_argument("--refresh", action="store_true", help="recompute the cached rows")
    return parser.parse_args()


def quiz_date(question: dict[str, Any]) -> date:
    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per question: its record, whether its gold article is in the corpus, the analysis and
    the unscored sentence rows (cached)."""
    cache = RESULTS / "reader_rows.pkl"
    if cache.exists() and not args.refresh:
        return pickle.loads(cache.read_bytes())
    from rag.question import analyse_question
    from rag.search import SearchOptions, search
    from rag.sentence_ranker import sentence_rows

    services = open_services(args.data_dir)
    embedder = services.index.embedder
    gold_ids = {q["question_id"] for q in load_jsonl(DATA / "questions_with_gold_doc.jsonl")}
    out = []
    for n, question in enumerate(load_jsonl(DATA / "questions.jsonl"), start=1):
        asked = quiz_date(question)
        hits = search(question["question"], services, SearchOptions(k=args.k, reference=asked)).hits
        analysis = analyse_question(question["question"])
        rows = sentence_rows(question["question"], hits, embedder, analysis, asked)
        out.append({"question": question, "gold": question["question_id"] in gold_ids,
                    "analysis": analysis, "rows": rows})
        if n % 25 == 0:
            print(f"{n} questions read", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def folds(items: list[dict[str, Any]]) -> list[int]:
    """A fold number per question, grouped by week."""
    weeks = sorted({item["question"]["week"] for item in items})
    return [weeks.index(item["question"]["week"]) % FOLDS for item in items]


def fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Any:
    from sklearn.linear_model import LogisticRegression

    from rag.sentence_ranker import LogisticModel

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=0.5, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return LogisticModel(names, tuple(mean.tolist()), tuple(scale.tolist()),
                         tuple(model.coef_[0].tolist()), float(model.intercept_[0]))


def out_of_fold(items: list[dict[str, Any]], fold_of: list[int], build: Any,
                names: tuple[str, ...]) -> list[Any]:
    """A model per fold fitted on the other folds' rows; build(items) -> (x, y)."""
    models = []
    for fold in range(FOLDS):
        train = [it for it, f in zip(items, fold_of, strict=True) if f != fold]
        x, y = build(train)
        models.append(fit(x, y, names))
    return models


def sentence_xy(items: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    from eval.metrics import contains_reference
    from rag.sentence_ranker import model_matrix

    xs, ys = [], []
    for item in items:
        xs.extend(model_matrix(item["rows"]))
        ys.extend(contains_reference(row.text, item["question"]["answer_text"])
                  for row in item["rows"])
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=int)


def is_answer(text: str, answers: list[str]) -> bool:
    from eval.metrics import token_f1

    return max(token_f1(text, a) for a in answers) >= 0.5


def rescore(items: list[dict[str, Any]], fold_of: list[int], sentence_models: list[Any],
            candidate_models: list[Any] | None) -> None:
    """Each item's rows ranked (and candidates found) with its own fold's models."""
    from rag.candidates import find_candidates
    from rag.sentence_ranker import score_sentences

    for item, fold in zip(items, fold_of, strict=True):
        item["ranked"] = score_sentences(item["rows"], sentence_models[fold])
        if candidate_models is not None:
            item["candidates"] = find_candidates(item["ranked"], item["analysis"],
                                                 candidate_models[fold])


def candidate_xy(items: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for item in items:
        for candidate in item["candidates"]:
            xs.append(candidate.features)
            ys.append(is_answer(candidate.text, item["question"]["answer_text"]))
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=int)


def answerable(item: dict[str, Any]) -> bool:
    from eval.metrics import contains_reference

    retrieved = " ".join(r.text for r in item["rows"])
    return item["gold"] or contains_reference(retrieved, item["question"]["answer_text"])


def answerability_xy(items: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    from rag.reader import answerability_features

    xs = [answerability_features(it["ranked"], it["candidates"], it["analysis"]) for it in items]
    return np.asarray(xs, dtype=float), np.asarray([answerable(it) for it in items], dtype=int)


def main() -> None:
    args = parse_args()
    items = [it for it in collect(args) if it["rows"]]
    fold_of = folds(items)
    from rag.candidates import CANDIDATE_FEATURES
    from rag.reader import ANSWERABILITY_FEATURES
    from rag.sentence_ranker import FEATURES

    sentence_models = out_of_fold(items, fold_of, sentence_xy, FEATURES)
    placeholder = [fit(*_dummy(len(CANDIDATE_FEATURES)), CANDIDATE_FEATURES)] * FOLDS
    rescore(items, fold_of, sentence_models, placeholder)
    candidate_models = out_of_fold(items, fold_of, candidate_xy, CANDIDATE_FEATURES)
    rescore(items, fold_of, sentence_models, candidate_models)
    answer_models = out_of_fold(items, fold_of, answerability_xy, ANSWERABILITY_FEATURES)
    probabilities = [answer_models[f].probability(
        answerability_xy([it])[0][0]) for it, f in zip(items, fold_of, strict=True)]
    threshold = choose_threshold(items, probabilities)
    report(items, probabilities, threshold)
    write_weights(items, threshold)


def _dummy(width: int) -> tuple[np.ndarray, np.ndarray]:
    """A neutral first candidate model (only its ranking by mention order matters then)."""
    return np.vstack([np.zeros(width), np.ones(width)]), np.asarray([0, 1])


def choose_threshold(items: list[dict[str, Any]], probabilities: list[float]) -> float:
    """The highest threshold that declines at most TARGET_WRONG_DECLINES of gold-present."""
    gold = sorted(p for it, p in zip(items, probabilities, strict=True) if it["gold"])
    allowed = int(TARGET_WRONG_DECLINES * len(gold))
    return float(gold[allowed]) if gold else 0.5


def report(items: list[dict[str, Any]], probabilities: list[float], threshold: float) -> None:
    from eval.metrics import contains_reference, exact_match, token_f1
    from rag.reader import _short_answer

    lines = ["| set | questions | top sentence contains (old) | top sentence contains (new) "
             "| short answer EM | short answer F1 | declined |", "|" + "---|" * 7]
    for label, gold in (("gold in corpus", True), ("gold absent", False)):
        subset = [(it, p) for it, p in zip(items, probabilities, strict=True) if it["gold"] == gold]
        old = new = em = f1 = declined = 0.0
        for item, p in subset:
            answers = item["question"]["answer_text"]
            by_relevance = max(item["rows"], key=lambda r: r.relevance)
            old += contains_reference(by_relevance.text, answers)
            new += contains_reference(item["ranked"][0].text, answers)
            short, _ = _short_answer(item["ranked"], item["candidates"])
            text = short.text if short else ""
            em += max(exact_match(text, a) for a in answers)
            f1 += max(token_f1(text, a) for a in answers)
            declined += p < threshold
        n = max(len(subset), 1)
        lines.append(f"| {label} | {len(subset)} | {old / n:.2f} | {new / n:.2f} | "
                     f"{em / n:.2f} | {f1 / n:.2f} | {declined / n:.2f} |")
    absent_no_answer = [p for it, p in zip(items, probabilities, strict=True)
                        if not answerable(it)]
    share = sum(p < threshold for p in absent_no_answer) / max(len(absent_no_answer), 1)
    lines.append(f"\nOut of fold, folds grouped by week. Threshold {threshold:.3f}; "
                 f"declined {share:.2f} of the {len(absent_no_answer)} questions whose answer "
                 "is nowhere in the retrieved text.")
    print("\n".join(lines))


def write_weights(items: list[dict[str, Any]], threshold: float) -> None:
    """Each model refitted on every question (the candidate and answerability models on
    out-of-fold inputs, as they will see at run time)."""
    from rag.candidates import CANDIDATE_FEATURES
    from rag.reader import ANSWERABILITY_FEATURES
    from rag.sentence_ranker import FEATURES

    ranker = fit(*sentence_xy(items), FEATURES)
    candidate = fit(*candidate_xy(items), CANDIDATE_FEATURES)
    answer = fit(*answerability_xy(items), ANSWERABILITY_FEATURES)
    data = {
        "fitted_on": f"RealTime QA dev, {len(items)} questions asked on their quiz dates "
                     "(bench/fit_reader.py)",
        "ranker": ranker.to_json(), "candidate": candidate.to_json(),
        "answerability": {**answer.to_json(), "threshold": threshold},
    }
    WEIGHTS.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {WEIGHTS.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
