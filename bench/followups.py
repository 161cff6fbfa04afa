"""Follow-up questions made standalone: the old carry-over against the current one.

    .venv/bin/python -m bench.followups [--data-dir bench/results/rtqa-index] [--skip-rtqa]

Two sets, each follow-up asked after its earlier turn(s):
- bench/data/followups.jsonl: 20 follow-ups over RealTime QA dev, written before the
  rewriting was changed, each asked on its quiz date. The earlier turn is given two ways:
  "written" (the first question and its reference answer, as a chat transcript holds them)
  and "live" (the first question answered by newsrag on this index, its full Answer: short
  answer and cited sentences).
- eval/datasets/sample.jsonl's 7 answerable follow-ups over the sample article (s27-s33),
  on a fresh index of that one article: there every rewrite finds the article, so what counts
  is whether the chunk holding the answer comes first.

Rewriters: the follow-up as typed; "before" (the rule before issue 17, kept verbatim below:
names and topic words of the previous questions only); "after" (rag.conversation now); and the
follow-up asked fresh, written by hand (an upper bound). Printed per rewriter: the share of
follow-ups whose standalone question names every expected entity, gold article hit@1/hit@5
and MRR@10, and the share whose answer is in the first / first five retrieved chunks; with
answers, the share whose whole answer (and short answer) contains a follow-up answer.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FOLLOWUPS = REPO / "bench" / "data" / "followups.jsonl"
SAMPLE_SET = REPO / "eval" / "datasets" / "sample.jsonl"
CORPUS_ARTICLES = 2030
# The entities a standalone rewrite of each sample follow-up must name: the referent of its
# pronoun, read off its history (written down before the rewriting was changed).
SAMPLE_ENTITIES = {"s27": ["Trump", "Putin"], "s28": ["Peskov"], "s29": ["Riyadh"],
                   "s30": ["Witkoff"], "s31": ["Istanbul"], "s32": ["Zhao"], "s33": ["Putin"]}
Rewriter = Callable[[dict[str, Any], list[Any]], str]


# --- the rule before issue 17, verbatim (rag/conversation.py at 5b5a797) -------------------
_OLD_WORD = re.compile(r"[A-Za-z][\w'’-]*|\d[\d,.]*")


_OLD_FOLLOWUP_WORDS = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|"
    r"then|the same|the other|which one)\b", re.IGNORECASE)
_OLD_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|so|what about|how about|why not|then)\b",
                                 re.IGNORECASE)


def old_rewrite(question: str, history: list[Any]) -> str:
    from rag.conversation import to_turns
    from rag.text import STOPWORDS, content_words

    turns = to_turns(history)
    followup = bool(_OLD_FOLLOWUP_WORDS.search(question) or _OLD_FOLLOWUP_START.search(question)
                    or len(content_words(question)) < 2)
    if not turns or not followup:
        return question
    have = content_words(question)
    names: list[str] = []
    words: list[str] = []
    for turn in reversed(turns[-2:]):
        for position, token in enumerate(_OLD_WORD.findall(turn.question)):
            if token.lower() in STOPWORDS or content_words(token) <= have:
                continue
            is_name = (token[0].isupper() and position > 0) or token[0].isdigit()
            bucket = names if is_name else words
            if token not in names and token not in words:
                bucket.append(token)
        if names:
            break
    carried = (names + words)[:6]
    return f"{question.strip()} (about: {', '.join(carried)})" if carried else question
# ----------------------------------------------------------------------------------------


def new_rewrite(question: str, history: list[Any]) -> str:
    from rag.conversation import rewrite_followup, to_turns

    return rewrite_followup(question, to_turns(history))


FRESH = "asked fresh (hand-written)"
REWRITERS: dict[str, Rewriter] = {
    "as typed": lambda case, history: case["followup"],
    "before (previous questions' words)": lambda case, history: old_rewrite(
        case["followup"], _as_text(history)),
    "after (rag.conversation)": lambda case, history: new_rewrite(case["followup"], history),
    FRESH: lambda case, history: case["fresh"] or case["followup"],
}


def _as_text(history: list[Any]) -> list[tuple[str, str]]:
    """What the old rule was given: (question, answer text) pairs."""
    return [(q, a if isinstance(a, str) else a.answer) for q, a in history]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def rtqa_cases() -> list[dict[str, Any]]:
    return [{"id": row["id"], "followup": row["followup"], "fresh": row["fresh_question"],
             "history": [(row["first_question"], row["first_answer"])],
             "entities": row["standalone_entities"], "answers": row["followup_answers"],
             "gold": set(row["gold_doc_ids"]),
             "reference": date.fromisoformat(row["question_date"])} for row in
            load_jsonl(FOLLOWUPS)]


def sample_cases() -> list[dict[str, Any]]:
    return [{"id": row["id"], "followup": row["question"], "fresh": "",
             "history": [tuple(pair) for pair in row["chat_history"]],
             "entities": SAMPLE_ENTITIES[row["id"]], "answers": row["reference_answers"],
             "gold": set(row["gold_article_ids"]), "reference": None}
            for row in load_jsonl(SAMPLE_SET) if row["id"] in SAMPLE_ENTITIES]


def score(services: Any, cases: Sequence[dict[str, Any]], rewrite: Rewriter,
          answers: bool) -> dict[str, float]:
    from eval.metrics import contains_reference, is_gold, mrr_at_10
    from rag.search import SearchOptions, search

    rows = []
    for case in cases:
        history = case["history"]
        standalone = rewrite(case, history)
        found = search(standalone, services, SearchOptions(k=10, reference=case["reference"]))
        ranks = [i for i, a in enumerate(found.articles[:10], 1) if is_gold(a, case["gold"])]
        texts = [hit.text for hit in found.hits]
        row = {"entities": all(contains_reference(standalone, [e]) for e in case["entities"]),
               "hit@1": bool(ranks) and ranks[0] == 1, "hit@5": bool(ranks) and ranks[0] <= 5,
               "mrr@10": mrr_at_10(found.articles, case["gold"]),
               "in chunk 1": contains_reference(" ".join(texts[:1]), case["answers"]),
               "in chunks 1-5": contains_reference(" ".join(texts[:5]), case["answers"])}
        if answers:
            row.update(_answered(services, case, standalone))
        rows.append(row)
    return {key: sum(float(r[key]) for r in rows) / len(rows) for key in rows[0]}


def _answered(services: Any, case: dict[str, Any], standalone: str) -> dict[str, bool]:
    """The whole answer to the standalone question (no history: the rewrite is under test)."""
    from eval.metrics import contains_reference
    from rag.answering import AskOptions, Assistant

    answer = Assistant(services).answer(standalone, None, AskOptions(reference=case["reference"]))
    short = answer.short_answer.text if answer.short_answer else ""
    return {"answer has it": not answer.refused and contains_reference(
                re.sub(r"\[\d+\]", "", answer.answer), case["answers"]),
            "short answer has it": contains_reference(short, case["answers"])}


def live_history(services: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same cases with the first question answered by newsrag (its whole Answer)."""
    from rag.answering import AskOptions, Assistant

    assistant = Assistant(services)
    live = []
    for case in cases:
        question = case["history"][0][0]
        answer = assistant.answer(question, None, AskOptions(reference=case["reference"]))
        live.append({**case, "history": [(question, answer)]})
    return live


def bm25_proxy(cases: list[dict[str, Any]]) -> Callable[..., dict[str, float]]:
    """Whole-article BM25 over the RealTime QA corpus, nothing after the quiz date (as
    bench/retrieval.py's baseline): a stand-in for newsrag's index while it is being built."""
    import bm25s
    import numpy as np
    import Stemmer

    from eval.metrics import contains_reference, mrr_at_10

    articles = load_jsonl(REPO.parent / "shared" / "data" / "realtimeqa-dev" / "corpus.jsonl")
    stemmer = Stemmer.Stemmer("english")
    index = bm25s.BM25()
    index.index(bm25s.tokenize([f"{a['title']}\n{a['text']}" for a in articles],
                               stopwords="en", stemmer=stemmer, show_progress=False),
                show_progress=False)
    ids = [a["doc_id"] for a in articles]
    days = np.array([date.fromisoformat(a["publish_date"][:10].replace("/", "-")).toordinal()
                     if a.get("publish_date") else 0 for a in articles])

    def scores(cases: Sequence[dict[str, Any]], rewrite: Rewriter) -> dict[str, float]:
        rows = []
        for case in cases:
            standalone = rewrite(case, case["history"])
            tokens = bm25s.tokenize(standalone, stopwords="en", stemmer=stemmer,
                                    show_progress=False)
            found, _ = index.retrieve(tokens, k=10, show_progress=False,
                                      weight_mask=days <= case["reference"].toordinal())
            ranked = [ids[i] for i in found[0]]
            rows.append({"entities": all(contains_reference(standalone, [e])
                                         for e in case["entities"]),
                         "hit@1": ranked[0] in case["gold"],
                         "hit@5": any(a in case["gold"] for a in ranked[:5]),
                         "mrr@10": mrr_at_10(ranked, case["gold"])})
        return {key: sum(float(r[key]) for r in rows) / len(rows) for key in rows[0]}
    return scores


def table(title: str, services: Any, cases: list[dict[str, Any]], answers: bool,
          scorer: Callable[..., dict[str, float]] | None = None) -> list[str]:
    measure = scorer or (lambda cases, rewrite: score(services, cases, rewrite, answers))
    results = {name: measure(cases, rewrite) for name, rewrite in REWRITERS.items()
               if name != FRESH or all(case["fresh"] for case in cases)}
    keys = list(next(iter(results.values())))
    lines = [f"\n{title} ({len(cases)} follow-ups)\n",
             "| rewriter | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    lines += [f"| {name} | " + " | ".join(f"{r[k]:.2f}" for k in keys) + " |"
              for name, r in results.items()]
    return lines


def examples(cases: list[dict[str, Any]]) -> list[str]:
    """Each follow-up's standalone question before and after, to read."""
    lines = ["\nRewrites (before → after):"]
    for case in cases:
        lines.append(f"  {case['id']}: {old_rewrite(case['followup'], _as_text(case['history']))}"
                     f"\n       → {new_rewrite(case['followup'], case['history'])}")
    return lines


def open_services(data_dir: Path, env: dict[str, str] | None = None) -> Any:
    import os

    from newsrag.settings import load_settings
    from rag.services import build_services

    settings = load_settings(config=REPO / "config.toml", env={
        **os.environ, **(env or {}), "NEWSRAG_DATA_DIR": str(data_dir.resolve())})
    return build_services(settings)


def sample_services(folder: Path) -> Any:
    from ingest.pipeline import ingest

    services = open_services(folder)
    ingest([str(REPO / "data" / "sample")], services.settings, services.index)
    return services


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "results" /
                        "rtqa-index")
    parser.add_argument("--skip-rtqa", action="store_true")
    parser.add_argument("--bm25-proxy", action="store_true",
                        help="also rank RealTime QA with whole-article BM25 (needs no index)")
    parser.add_argument("--no-answers", action="store_true",
                        help="retrieval only (no extractive answer per follow-up)")
    args = parser.parse_args()
    answers = not args.no_answers
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        services = sample_services(Path(folder))
        cases = sample_cases()
        lines += table("Sample article, eval/datasets/sample.jsonl", services, cases, answers)
        lines += examples(cases)
    if args.bm25_proxy:
        cases = rtqa_cases()
        lines += table("RealTime QA dev, written history, whole-article BM25 (proxy)", None,
                       cases, False, bm25_proxy(cases))
        lines += examples(cases)
    if not args.skip_rtqa:
        services = open_services(args.data_dir)
        if services.index.catalog.stats()["articles"] < CORPUS_ARTICLES:
            sys.exit(f"{args.data_dir} is not a complete RealTime QA index: build it with "
                     "bench/answer.py first")
        cases = rtqa_cases()
        lines += table("RealTime QA dev, written history", services, cases, answers)
        live = live_history(services, cases)
        lines += table("RealTime QA dev, live history (newsrag's own first answer)", services,
                       live, answers)
        lines += examples(live)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
