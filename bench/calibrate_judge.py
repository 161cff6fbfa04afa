"""Calibrate the eval suite's heuristic judge on WiCE dev and XSum; writes eval/judge_weights.json.

Run from the repo root: .venv/bin/python bench/calibrate_judge.py [--folds 5] [--out P]
Each example is one claim against a whole source, as the judge meets it in an eval: a WiCE claim
against every sentence of its cited page (label: fully supported; partially supported counts as
not), an XSum summary against its BBC article (label: not majority-hallucinated). The judge
picks its evidence sentences itself. Both data sets weigh the same in the fit, classes balanced
within each. Figures are out-of-fold (folds grouped by claim / by article), each fold's threshold
chosen on its training part; the shipped model is then fitted on everything. Weights keep the
signs eval/heuristic.py declares (a disagreeing number, date, name or negation never helps).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from newsrag.offline import prepare_offline

HERE = Path(__file__).resolve().parent
# Scripts here are named like packages: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data"
SOURCES = {"WiCE dev": DATA / "wice-dev" / "wice_claim_dev.jsonl",
           "XSum hallucinations": DATA / "xsum-hallucinations" / "xsum_hallucinations.jsonl"}
CACHE = Path(tempfile.gettempdir()) / "newsrag-calibrate-judge"
L2 = 1.0  # as for the grounding scorer: fixed, not tuned


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "judge_weights.json")
    return parser.parse_args()


def features_cached(judge, examples, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    from eval.heuristic import CANDIDATES, EVIDENCE_SENTENCES, JUDGE_FEATURES

    # Keyed by everything the features depend on, so a changed judge never reads stale rows.
    key = "\0".join([judge.embedder.name, *JUDGE_FEATURES, f"{CANDIDATES}/{EVIDENCE_SENTENCES}",
                     *(e.claim + "\1" + "\1".join(e.sources) for e in examples)])
    cached = CACHE / f"{name.split()[0]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if cached.is_file():
        return np.load(cached)
    started = time.perf_counter()
    rows = np.vstack([judge.features([(e.claim, e.sources) for e in examples[i:i + 64]])
                      for i in range(0, len(examples), 64)])
    print(f"{name}: features of {len(examples)} examples in {time.perf_counter() - started:.0f} s",
          flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cached, rows)
    return rows


def pick_threshold(scores: np.ndarray, x: np.ndarray, labels: np.ndarray,
                   sets: np.ndarray) -> float:
    """The threshold with the best balanced accuracy (averaged over the data sets), the judge's
    vetoes applied at each candidate threshold as they would be at run time."""
    from eval.heuristic import apply_vetoes
    from eval.judge_eval import balanced_accuracy

    def accuracy(t: float) -> float:
        judged = apply_vetoes(scores, x, t)
        return float(np.mean([balanced_accuracy(judged[sets == s], labels[sets == s], t)
                              for s in np.unique(sets)]))

    candidates = np.quantile(scores, np.linspace(0.01, 0.99, 197))
    return float(candidates[int(np.argmax([accuracy(t) for t in candidates]))])


def fit_signed(x: np.ndarray, y: np.ndarray, sets: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression whose weights keep eval.heuristic.FEATURE_SIGNS: while some weight
    has the wrong sign, the worst one is fixed at 0 and the rest refitted (an active set)."""
    from eval.heuristic import FEATURE_SIGNS
    from rag.support import fit_logistic

    signs = np.asarray(FEATURE_SIGNS)
    active = np.ones(x.shape[1], dtype=bool)
    while True:
        weights, bias = fit_logistic(x[:, active], y, L2, groups=sets)
        full = np.zeros(x.shape[1])
        full[active] = weights
        wrong = full * signs
        if wrong.min() >= 0:
            return full, bias
        active[int(np.argmin(wrong))] = False


def predict(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))


def cross_validate(x, y, sets, groups, folds: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Out-of-fold probabilities shifted so each fold's own threshold sits at 0.5."""
    from eval.heuristic import apply_vetoes

    unique = np.unique(groups)
    fold_of = dict(zip(np.random.default_rng(seed).permutation(unique),
                       np.arange(len(unique)) % folds, strict=True))
    fold = np.array([fold_of[g] for g in groups])
    shifted = np.zeros(len(y))
    for k in range(folds):
        train, test = fold != k, fold == k
        weights, bias = fit_signed(x[train], y[train], sets[train])
        threshold = pick_threshold(predict(x[train], weights, bias), x[train], y[train] == 1,
                                   sets[train])
        judged = apply_vetoes(predict(x[test], weights, bias), x[test], threshold)
        shifted[test] = np.clip(judged - threshold + 0.5, 0, 1)
    return shifted


def main() -> None:
    args = parse_args()
    prepare_offline(CACHE / "offline")
    from eval.heuristic import JUDGE_FEATURES, HeuristicJudge
    from eval.judge_eval import load_labelled, measure_scores
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings
    judge = HeuristicJudge(make_embedder(EmbeddingSettings()))
    blocks, labels, sets, groups, examples = [], [], [], [], {}
    for index, (name, path) in enumerate(SOURCES.items()):
        examples[name] = load_labelled(path)
        blocks.append(features_cached(judge, examples[name], name))
        labels += [int(e.supported) for e in examples[name]]
        sets += [index] * len(examples[name])
        groups += [e.group for e in examples[name]]
    x, y = np.vstack(blocks), np.array(labels)
    set_of, group_of = np.array(sets), np.array(groups)
    out_of_fold = cross_validate(x, y, set_of, group_of, args.folds, args.seed)
    reports = {}
    print("| data | n | supported | balanced acc. | F1 unsupported | ROC-AUC |")
    print("|---|---|---|---|---|---|")
    for index, name in enumerate(SOURCES):
        member = set_of == index
        report = measure_scores(out_of_fold[member], examples[name], 0.5, judge.name, name)
        reports[name] = report
        print(f"| {name} | {report.n} | {y[member].mean():.2f} | {report.balanced_accuracy:.3f}"
              f" | {report.f1_unsupported:.3f} | {report.roc_auc:.3f} |")
        print(f"  judged supported by label: {report.judged_supported}")
    weights, bias = fit_signed(x, y, set_of)
    threshold = pick_threshold(predict(x, weights, bias), x, y == 1, set_of)
    metadata = {
        "data": {name: str(path.relative_to(REPO.parent)) for name, path in SOURCES.items()},
        "n": {name: len(e) for name, e in examples.items()},
        "label": "1 = fully supported (WiCE 'supported'; XSum not majority-hallucinated)",
        "fit": f"numpy Newton logistic regression, L2={L2}, data sets weighted equally, "
               "classes balanced within each; weights kept to eval.heuristic.FEATURE_SIGNS "
               "(a wrong-signed weight is fixed at 0)",
        "threshold_rule": "maximises the mean of the data sets' balanced accuracies",
        "cv": f"{args.folds}-fold grouped by claim / article, seed {args.seed}; thresholds "
              "chosen on each training part",
        "cv_out_of_fold": {name: {"balanced_accuracy": round(r.balanced_accuracy, 4),
                                  "f1_unsupported": round(r.f1_unsupported, 4),
                                  "roc_auc": round(r.roc_auc, 4),
                                  "judged_supported": {k: round(v, 3) for k, v in
                                                       r.judged_supported.items()}}
                           for name, r in reports.items()},
        "date": datetime.date.today().isoformat(),
    }
    payload = {"feature_names": list(JUDGE_FEATURES), "weights": [round(w, 4) for w in weights],
               "bias": round(bias, 4), "threshold": round(threshold, 4),
               "embedder": judge.embedder.name, "metadata": metadata}
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"threshold {threshold:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
