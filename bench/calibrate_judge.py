"""Calibrate the one support judge on long and short news sources; writes rag/support_weights.json
and prints docs/benchmarks.md's judge table (word-overlap baseline vs old judge vs new judge).

Run from the repo root: .venv/bin/python -m bench.calibrate_judge [--folds 5] [--no-write]
Dev sets (folds grouped by article or claim): long sources are WiCE claims against their whole
cited page, XSum summaries against their whole BBC article, and RealTime QA sentences with
corrupted copies against their whole article (eval/judge_devsets.py); short sources are WiCE
claims against the sentences their annotators cited and the RealTime QA claims against their
sentence and its neighbours. The judge scores each fact of a claim against its best evidence
window; to fit it, each training claim is represented by its weakest fact's best window under
the current weights, and the fit is repeated until those choices settle. All five sets weigh
the same, classes balanced within each; weights keep rag/judge_features.SIGNS. The threshold
maximises the mean balanced accuracy of the LONG sets; grounding's strict threshold is the
lowest at which "supported" is right PRECISION of the time on each short-source set (what
grounding judges: a sentence against the few it cites), classes weighed equally. Figures
are out of fold (each fold's thresholds chosen on its training part); the shipped weights
are then fitted on everything. The old judge is eval/heuristic.py and its weights at commit
OLD_REF, run unchanged; the baseline is the share of the claim's content
words found anywhere in the source. Features are cached under the temp dir, keyed by the
judge's source code and the data.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data"
WICE = DATA / "wice-dev" / "wice_claim_dev.jsonl"
XSUM = DATA / "xsum-hallucinations" / "xsum_hallucinations.jsonl"
RTQA = DATA / "realtimeqa-dev" / "corpus.jsonl"
CACHE = Path(tempfile.gettempdir()) / "newsrag-calibrate-judge"
OLD_REF = "dc58805"  # the last commit with the two-judge design
L2 = 1.0  # fixed, not tuned
ROUNDS = 4  # refits with windows re-chosen by the current weights
PRECISION = 0.9  # grounding's target, classes weighed equally within each set
# Cache keys: the dev sets depend on how they are built, the features on the judge's code.
DATA_CODE = ["eval/judge_devsets.py", "eval/judge_eval.py", "rag/text.py"]
JUDGE_CODE = ["rag/judge_text.py", "rag/judge_features.py", "rag/judge_align.py",
              "rag/numbers.py", "rag/text.py"]
Rows = list[list[np.ndarray]]  # per example, per fact: windows x FEATURES


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "rag" / "support_weights.json")
    parser.add_argument("--no-write", action="store_true", help="Print figures only.")
    parser.add_argument("--backend", default="onnx",
                        help="embedder whose cosine the judge reads (its weights record it)")
    return parser.parse_args()


def cached(name: str, key: str, build: Callable[[], Any]) -> Any:
    path = CACHE / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    started = time.perf_counter()
    value = build()
    print(f"{name}: built in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def code_key(paths: list[str]) -> str:
    """The code as this run loaded it (read once: an edit during a long run must not label
    features computed by the old code as the new code's)."""
    key = "\0".join(paths)
    if key not in _CODE:
        _CODE[key] = "\0".join((REPO / p).read_text(encoding="utf-8") for p in paths)
    return _CODE[key]


_CODE: dict[str, str] = {}


def dev_sets() -> dict[str, tuple[str, list[Any]]]:
    """name -> ("long" | "short", labelled examples)."""
    from eval.dataset import read_jsonl
    from eval.judge_devsets import rtqa_corrupted, wice_cited
    from eval.judge_eval import load_labelled

    def build() -> dict[str, tuple[str, list[Any]]]:
        wice = load_labelled(WICE)
        rtqa_long, rtqa_short = rtqa_corrupted(RTQA)
        return {
            "WiCE, whole page": ("long", wice),
            "XSum, whole article": ("long", load_labelled(XSUM)),
            "RealTime QA corrupted, whole article": ("long", rtqa_long),
            "WiCE, cited sentences": ("short", wice_cited(wice, [r for _, r in read_jsonl(WICE)])),
            "RealTime QA corrupted, sentence ±1": ("short", rtqa_short),
        }

    return cached("devsets", code_key(DATA_CODE), build)


def new_rows(judge: Any, name: str, examples: list[Any]) -> Rows:
    def build() -> Rows:
        rows: Rows = []
        for start in range(0, len(examples), 64):
            batch = examples[start:start + 64]
            rows += [list(a.rows) for a in judge.align([(e.claim, e.sources) for e in batch])]
        return rows

    key = "\0".join([code_key(JUDGE_CODE), judge.embedder.name, name,
                     *(e.claim + "\1".join(e.sources) for e in examples)])
    return cached("rows-" + name.split(",")[0].replace(" ", ""), key, build)


def old_judge(embedder: Any) -> Any:
    """eval/heuristic.py as it was at OLD_REF, with its own support features and weights."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{OLD_REF}:{path}"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout

    modules = {}
    for name, path in (("old_support", "rag/support.py"), ("old_heuristic", "eval/heuristic.py")):
        module = types.ModuleType(name)
        module.__dict__["__package__"] = "eval"
        sys.modules[name] = module
        exec(compile(show(path).replace("from rag.support import", "from old_support import"),
                     f"{OLD_REF}:{path}", "exec"), module.__dict__)
        modules[name] = module
    data = json.loads(show("eval/judge_weights.json"))
    heuristic = modules["old_heuristic"]
    weights = heuristic.JudgeWeights(tuple(data["weights"]), data["bias"], data["threshold"], {})
    return heuristic.HeuristicJudge(embedder, weights=weights)


def old_scores(judge: Any, name: str, examples: list[Any]) -> np.ndarray:
    key = "\0".join([OLD_REF, name, *(e.claim + "\1".join(e.sources) for e in examples)])
    return cached("old-" + name.split(",")[0].replace(" ", ""), key, lambda: np.array(
        [s for i in range(0, len(examples), 64)
         for s in judge.score([(e.claim, e.sources) for e in examples[i:i + 64]])]))


def overlap_scores(examples: list[Any]) -> np.ndarray:
    """The baseline: share of the claim's content words found anywhere in its sources."""
    from rag.text import content_words

    shares = []
    for e in examples:
        words = content_words(e.claim)
        found = set().union(*(content_words(s) for s in e.sources))
        shares.append(len(words & found) / len(words) if words else 1.0)
    return np.array(shares)


class Model:
    """Weights, bias and vetoes; claim probability = min over facts of max over windows."""

    def __init__(self, weights: np.ndarray, bias: float, vetoes: tuple[str, ...]) -> None:
        self.weights, self.bias, self.vetoes = weights, bias, vetoes

    def window_p(self, rows: np.ndarray, threshold: float | None) -> np.ndarray:
        from rag.judge_features import FEATURES

        p = 1.0 / (1.0 + np.exp(-(rows @ self.weights + self.bias)))
        if self.vetoes:
            vetoed = (rows[:, [FEATURES.index(v) for v in self.vetoes]] > 0).any(axis=1)
            # Without a threshold yet, a vetoed window simply cannot support.
            p = np.where(vetoed, 0.0 if threshold is None else np.minimum(p, 0.9 * threshold), p)
        return p

    def claim(self, facts: list[np.ndarray], threshold: float | None = None) -> float:
        return min((float(self.window_p(r, threshold).max()) if len(r) else 0.0
                    for r in facts), default=0.0)

    def chosen_row(self, facts: list[np.ndarray]) -> np.ndarray:
        """The row behind the claim's probability: its weakest fact's best window."""
        best = [(float(self.window_p(r, None).max()), r[int(np.argmax(self.window_p(r, None)))])
                for r in facts if len(r)]
        return min(best, key=lambda b: b[0])[1] if best else np.zeros(len(self.weights))


def fit(rows: Rows, y: np.ndarray, sets: np.ndarray, vetoes: tuple[str, ...]) -> Model:
    from rag.judge_features import FEATURES, SIGNS

    prior = np.array([4.0 if f in {"coverage", "cosine"} else 0.0 for f in FEATURES])
    model = Model(prior, -6.0, vetoes)
    for _ in range(ROUNDS):
        x = np.array([model.chosen_row(r) for r in rows])
        weights, bias = fit_signed(x, y, sets, np.asarray(SIGNS))
        model = Model(weights, bias, vetoes)
    return model


def fit_signed(x: np.ndarray, y: np.ndarray, sets: np.ndarray, signs: np.ndarray
               ) -> tuple[np.ndarray, float]:
    """Logistic regression (sets weigh the same, classes balanced within each) whose weights
    keep `signs`: while one has the wrong sign, the worst is fixed at 0 and the rest refitted."""
    from sklearn.linear_model import LogisticRegression

    weight = np.zeros(len(y))
    for s in np.unique(sets):
        member = sets == s
        for label in (0, 1):
            chosen = member & (y == label)
            weight[chosen] = 1.0 / max(chosen.sum(), 1)
    weight *= len(y) / weight.sum()
    active = np.ones(x.shape[1], dtype=bool)
    while True:
        model = LogisticRegression(C=1.0 / L2, max_iter=1000)
        model.fit(x[:, active], y, sample_weight=weight)
        full = np.zeros(x.shape[1])
        full[active] = model.coef_[0]
        wrong = full * signs
        if wrong.min() >= 0:
            return full, float(model.intercept_[0])
        active[int(np.argmin(wrong))] = False


def balanced(scores: np.ndarray, y: np.ndarray, t: float) -> float:
    said = scores >= t
    return float((said[y == 1].mean() + (~said[y == 0]).mean()) / 2)


def pick_threshold(scores: np.ndarray, y: np.ndarray, sets: np.ndarray,
                   long_sets: set[int]) -> float:
    """Best mean balanced accuracy over the long sets."""
    member = np.isin(sets, list(long_sets))
    candidates = np.unique(np.quantile(scores[member], np.linspace(0.01, 0.99, 197)))
    means = [np.mean([balanced(scores[sets == s], y[sets == s], t) for s in long_sets])
             for t in candidates]
    return float(candidates[int(np.argmax(means))])


def pick_strict(scores: np.ndarray, y: np.ndarray, sets: np.ndarray,
                short_sets: set[int]) -> float:
    """The lowest threshold whose balanced precision reaches PRECISION on every short-source
    set: grounding judges a sentence against the few sentences it cites."""
    for t in np.unique(np.quantile(scores, np.linspace(0.01, 0.995, 400))):
        ok = True
        for s in short_sets:
            said, truth = scores[sets == s] >= t, y[sets == s]
            tpr, fpr = said[truth == 1].mean(), said[truth == 0].mean()
            ok &= bool(tpr + fpr) and tpr / (tpr + fpr) >= PRECISION
        if ok:
            return float(t)
    return float(scores.max())


def fold_of(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    unique = np.unique(groups)
    assigned = dict(zip(np.random.default_rng(seed).permutation(unique),
                        np.arange(len(unique)) % folds, strict=True))
    return np.array([assigned[g] for g in groups])


def cross_validate(rows: Rows, y: np.ndarray, sets: np.ndarray, fold: np.ndarray,
                   long_sets: set[int], vetoes: tuple[str, ...]) -> np.ndarray:
    """Out-of-fold claim probabilities, shifted so each fold's threshold sits at 0.5."""
    shifted = np.zeros(len(y))
    for k in np.unique(fold):
        train = np.flatnonzero(fold != k)
        model = fit([rows[i] for i in train], y[train], sets[train], vetoes)
        seen = np.array([model.claim(rows[i]) for i in train])
        threshold = pick_threshold(seen, y[train], sets[train], long_sets)
        for i in np.flatnonzero(fold == k):
            shifted[i] = np.clip(model.claim(rows[i], threshold) - threshold + 0.5, 0, 1)
    return shifted


def baseline_out_of_fold(scores: np.ndarray, y: np.ndarray, sets: np.ndarray,
                         fold: np.ndarray, long_sets: set[int]) -> np.ndarray:
    shifted = np.zeros(len(y))
    for k in np.unique(fold):
        train = fold != k
        t = pick_threshold(scores[train], y[train], sets[train], long_sets)
        shifted[fold == k] = np.clip(scores[fold == k] - t + 0.5, 0, 1)
    return shifted


def choose_vetoes(rows: Rows, y: np.ndarray, sets: np.ndarray, fold: np.ndarray,
                  long_sets: set[int]) -> tuple[str, ...]:
    """Each conflict veto kept only if dropping it lowers the long sets' out-of-fold mean."""
    from rag.judge_features import CONFLICTS

    def long_mean(vetoes: tuple[str, ...]) -> float:
        p = cross_validate(rows, y, sets, fold, long_sets, vetoes)
        return float(np.mean([balanced(p[sets == s], y[sets == s], 0.5) for s in long_sets]))

    vetoes: tuple[str, ...] = CONFLICTS
    best = long_mean(vetoes)
    print(f"vetoes {vetoes}: long mean {best:.3f}", flush=True)
    for veto in CONFLICTS:
        trial = tuple(v for v in vetoes if v != veto)
        score = long_mean(trial)
        print(f"  without {veto}: {score:.3f}", flush=True)
        if score > best:
            vetoes, best = trial, score
    return vetoes


def table_rows(name: str, kind: str, y: np.ndarray, systems: dict[str, tuple[np.ndarray, float]]
               ) -> list[str]:
    from eval.judge_eval import best_threshold, f1_unsupported, roc_auc

    lines = []
    positive = y == 1
    for system, (scores, threshold) in systems.items():
        _, best = best_threshold(scores, positive)
        lines.append(f"| {name} | {kind} | {len(y)} | {system} | "
                     f"{balanced(scores, y, threshold):.3f} | {best:.3f} | "
                     f"{roc_auc(scores, positive):.3f} | "
                     f"{f1_unsupported(scores, positive, threshold):.3f} |")
    return lines


def main() -> None:
    args = parse_args()
    code_key(DATA_CODE), code_key(JUDGE_CODE)
    from newsrag.offline import prepare_offline

    prepare_offline(CACHE / "offline")
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings
    from rag.judge_align import AlignmentJudge, JudgeWeights, save_weights

    embedder = make_embedder(EmbeddingSettings(backend=args.backend))
    judge, old = AlignmentJudge(embedder), old_judge(embedder)
    sets_by_name = dev_sets()
    rows: Rows = []
    y_list: list[int] = []
    set_list: list[int] = []
    groups: list[str] = []
    old_list, overlap_list = [], []
    for index, (name, (_, examples)) in enumerate(sets_by_name.items()):
        rows += new_rows(judge, name, examples)
        old_list.append(old_scores(old, name, examples))
        overlap_list.append(overlap_scores(examples))
        y_list += [int(e.supported) for e in examples]
        set_list += [index] * len(examples)
        groups += [e.group for e in examples]
    y, sets = np.array(y_list), np.array(set_list)
    long_sets = {i for i, (kind, _) in enumerate(sets_by_name.values()) if kind == "long"}
    fold = fold_of(np.array(groups), args.folds, args.seed)
    vetoes = choose_vetoes(rows, y, sets, fold, long_sets)
    new_oof = cross_validate(rows, y, sets, fold, long_sets, vetoes)
    overlap = np.concatenate(overlap_list)
    overlap_oof = baseline_out_of_fold(overlap, y, sets, fold, long_sets)
    old_all = np.concatenate(old_list)
    print("\n| dev set | sources | n | judge | balanced acc. at shipped threshold | "
          "best-threshold balanced acc. | ROC-AUC | F1 unsupported |")
    print("|---|---|---|---|---|---|---|---|")
    figures = {}
    for index, (name, (kind, examples)) in enumerate(sets_by_name.items()):
        member = sets == index
        systems = {"word overlap": (overlap_oof[member], 0.5),
                   "old judge": (old_all[member], old.threshold),
                   "new judge": (new_oof[member], 0.5)}
        print("\n".join(table_rows(name, kind, y[member], systems)))
        said = new_oof[member] >= 0.5
        figures[name] = {k: round(float(said[[e.kind == k for e in examples]].mean()), 3)
                         for k in sorted({e.kind for e in examples})}
    print("\nnew judge, share judged supported by kind (out of fold):")
    for name, shares in figures.items():
        print(f"  {name}: {shares}")
    model = fit(rows, y, sets, vetoes)
    seen = np.array([model.claim(r) for r in rows])
    threshold = pick_threshold(seen, y, sets, long_sets)
    short_sets = set(np.unique(sets).tolist()) - long_sets
    strict = max(pick_strict(seen, y, sets, short_sets), threshold)
    for index, name in enumerate(sets_by_name):
        member = sets == index
        said, truth = seen[member] >= strict, y[member] == 1
        print(f"  at the strict threshold, {name}: supported recall {said[truth].mean():.2f}, "
              f"unsupported judged supported {said[~truth].mean():.2f} (in-sample)")
    print(f"\nthreshold {threshold:.3f}, strict {strict:.3f}, vetoes {vetoes}")
    from rag.judge_features import FEATURES

    print("weights: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, model.weights,
                                                                      strict=True)))
    if args.no_write:
        return
    metadata = {
        "data": {name: f"{kind}, n={len(e)}" for name, (kind, e) in sets_by_name.items()},
        "fit": f"sklearn logistic regression, L2={L2}, on each claim's weakest fact's best "
               f"window, {ROUNDS} rounds; sets weighed equally, classes balanced; signs kept",
        "threshold_rule": "maximises the mean balanced accuracy of the long-source sets",
        "strict_threshold_rule": f"lowest with balanced precision >= {PRECISION} on every "
                                 "short-source set",
        "cv": f"{args.folds}-fold grouped by article/claim, seed {args.seed}",
        "date": datetime.date.today().isoformat(),
    }
    save_weights(JudgeWeights(tuple(float(w) for w in model.weights), model.bias, threshold,
                              strict, vetoes, embedder.name, metadata), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
