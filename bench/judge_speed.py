"""How fast the support judge is where it runs: eval judging and grounding, on real news.

Run from the repo root: .venv/bin/python -m bench.judge_speed [--answers 100] [--old]
Eval: ANSWERS answers built from RealTime QA gold articles, each with 10 chunks of context
(runs of 8 sentences from its article and from distractor articles), 3 answer sentences each
citing its source sentence (one of them with a changed number), judged by eval.judging exactly
as `newsrag eval` judges (every claim against the whole context, every sentence against its
citations, the references against the answer). Aim: <= 30 s per 100 answers.
Grounding: each answer's 3 sentences through rag.grounding.ground_sentences against the 12
sentences a prompt shows (the cited one and 11 others from its context; a third of the
sentences cite a wrong number, so re-attribution runs too). Aim: p50 <= 50 ms per sentence.
The judge is built once (as the Assistant holds it); spaCy and the embedder are warmed first.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "data" / "realtimeqa-dev" / "corpus.jsonl"
CHUNK = 8  # sentences per context chunk (~200 tokens)
PROMPT_SENTENCES = 12


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def articles() -> list[list[str]]:
    from ingest.segment import split_sentences

    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    texts = [r["text"] for r in rows if len(r["text"]) > 3000]
    return [[s.text for s in split_sentences(t) if len(s.text.split()) >= 6] for t in texts]


def build(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Per answer: context chunks, answer sentences (with the cited sentence), references."""
    pool = articles()
    built = []
    for _ in range(n):
        own = rng.choice([a for a in pool if len(a) >= 3 * CHUNK])
        chunks = [" ".join(own[i:i + CHUNK]) for i in range(0, 3 * CHUNK, CHUNK)]
        for other in rng.sample(pool, 7):
            start = rng.randrange(max(1, len(other) - CHUNK))
            chunks.append(" ".join(other[start:start + CHUNK]))
        cited = rng.sample(own[:3 * CHUNK], 3)
        said = [cited[0], cited[1], _change_number(cited[2], rng)]
        others = rng.sample([s for s in own[:3 * CHUNK] if s not in cited], PROMPT_SENTENCES - 3)
        built.append({"chunks": chunks, "said": said, "cited": cited,
                      "prompt": cited + others, "reference": cited[0].split()[0]})
    return built


def _change_number(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    digits = [i for i, w in enumerate(words) if w.isdigit()]
    if digits:
        i = rng.choice(digits)
        words[i] = str(int(words[i]) + 7)
    return " ".join(words)


def eval_seconds(judge: Any, items: list[dict[str, Any]]) -> float:
    from eval.judging import judge_answers
    from eval.models import EvalCase, Evidence, SentenceUnderTest, SystemAnswer

    cases = []
    for n, item in enumerate(items):
        sentences = tuple(SentenceUnderTest(text=s, citations=(Evidence(text=c),))
                          for s, c in zip(item["said"], item["cited"], strict=True))
        answer = SystemAnswer(question=f"q{n}", answer=" ".join(item["said"]),
                              sentences=sentences,
                              contexts=tuple(Evidence(text=c) for c in item["chunks"]))
        cases.append((EvalCase(id=f"q{n}", question=f"q{n}",
                               reference_answers=(item["reference"],)), answer))
    started = time.perf_counter()
    judge_answers(cases, judge)
    return time.perf_counter() - started


def grounding_ms(judge: Any, items: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per answer sentence (CPU time is what another
    session's load does not inflate; spaCy and ONNX run single-threaded here)."""
    from rag.grounding import DraftSentence, ground_sentences
    from rag.models import Citation

    wall, cpu = [], []
    for item in items:
        sources = [Citation(n=n, article_id="a", title="", url="", source="", published=None,
                            text=t, char_start=0, char_end=len(t))
                   for n, t in enumerate(item["prompt"], start=1)]
        # Right, wrong (re-attributed) and a changed number (every source scored, dropped).
        drafts = [DraftSentence(s, (n,)) for s, n in zip(item["said"], (1, 1, 3), strict=True)]
        started, started_cpu = time.perf_counter(), time.process_time()
        ground_sentences(drafts, sources, judge)
        wall.append(1000 * (time.perf_counter() - started) / len(drafts))
        cpu.append(1000 * (time.process_time() - started_cpu) / len(drafts))
    return wall, cpu


def main() -> None:
    args = parse_args()
    from newsrag.offline import prepare_offline

    prepare_offline(Path(tempfile.gettempdir()) / "newsrag-judge-speed")
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings
    from rag.judge_align import AlignmentJudge

    rng = random.Random(args.seed)
    items = build(args.answers + 5, rng)
    warm, items = items[:5], items[5:]
    embedder = make_embedder(EmbeddingSettings())
    judge = AlignmentJudge(embedder)
    eval_seconds(judge, warm)  # loads spaCy and the embedder
    judge = AlignmentJudge(embedder)  # cold caches for the timed runs
    seconds = eval_seconds(judge, items)
    grounding, cpu = grounding_ms(AlignmentJudge(embedder), items)
    print("| where | measured | aim |\n|---|---|---|")
    print(f"| eval judging, {len(items)} answers x 10 chunks | {seconds:.1f} s "
          f"({100 * seconds / len(items):.1f} s per 100 answers) | <= 30 s per 100 |")
    print(f"| grounding, per answer sentence | p50 {np.percentile(grounding, 50):.0f} ms, "
          f"p90 {np.percentile(grounding, 90):.0f} ms (CPU time p50 "
          f"{np.percentile(cpu, 50):.0f} ms) | p50 <= 50 ms |")


if __name__ == "__main__":
    main()
