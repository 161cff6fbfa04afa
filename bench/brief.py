"""Benchmark briefings (rag/brief.py) on the RealTime QA dev corpus.

    .venv/bin/python -m bench.brief [--full] [--weeks 1-6] [--timelines 10] [--sample 30]

Store: bench/results/brief-rtqa-index, built on first use from the dev corpus's articles
published in some quiz week's window (the 8 days up to a quiz date: 699 of 2,030 articles,
about 6 minutes here); `--full` adds the other 1,331 (about 12 more minutes) so the timing row
is at 2k articles and timelines search the whole corpus.

Measured, for each of the 11 weeks: a brief of the 8 days up to the quiz date without a topic,
capped at 15 items (`--weeks 1-6`: only the first six of the 11 weeks, in date order);
quiz recall = the share of that week's questions (those with a gold
article in the corpus) whose reference answer appears in a brief line (eval.metrics'
`contains_reference`), and the share whose gold article a line cites. Ablations rank stories
by articles and outlets (and dated leads) alone, with entity centrality, and without
diversity. Lines: the share the judge supports, and that are verbatim their cited span;
`--sample` lines are written to bench/results/brief-lines.jsonl for a hand check. Timelines
for `--timelines` quiz questions (topic: the question's longest name): whether the answer
appears, whether entries are in date order, and whether a line repeats an earlier one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import REPO, RESULTS, RTQA

STORE = RESULTS / "brief-rtqa-index"
WINDOW_DAYS = 8  # the quiz date and the 7 days before it


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def quiz_day(question: dict[str, Any]) -> date:
    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


def open_store(full: bool) -> Any:
    """Services on the brief store, ingesting the week windows' articles (and with `full`
    the rest of the corpus) first if they are missing."""
    from ingest.pipeline import ingest
    from newsrag.settings import load_settings
    from rag.services import build_services

    settings = load_settings(config=REPO / "config.toml",
                             env={**os.environ, "NEWSRAG_DATA_DIR": str(STORE)})
    services = build_services(settings)
    corpus = load_jsonl(RTQA / "corpus.jsonl")
    ends = {quiz_day(q) for q in load_jsonl(RTQA / "questions.jsonl")}
    inside = [d for d in corpus if any(
        e - timedelta(days=WINDOW_DAYS - 1) <= _published(d) <= e for e in ends)]
    parts = [("window", inside)] + ([("rest", [d for d in corpus if d not in inside])]
                                    if full else [])
    with tempfile.TemporaryDirectory() as folder:
        for name, docs in parts:
            missing = [d for d in docs if services.index.catalog.get(d["doc_id"]) is None]
            if missing:
                path = Path(folder) / f"{name}.jsonl"
                path.write_text("".join(json.dumps(d) + "\n" for d in missing), encoding="utf-8")
                started = time.perf_counter()
                ingest([str(path)], settings, services.index)
                print(f"ingested {len(missing)} {name} articles in "
                      f"{time.perf_counter() - started:.0f} s")
    return services


def _published(doc: dict[str, Any]) -> date:
    return date.fromisoformat(doc["publish_date"][:10].replace("/", "-"))


def brief_lines(briefing: Any) -> list[Any]:
    return [line for item in briefing.items for line in (item.headline, *item.facts)]


def week_numbers(text: str) -> set[int]:
    """"1-6" -> {1, ..., 6}; "1,3,7-9" -> {1, 3, 7, 8, 9} (weeks numbered from 1 in date order).

    >>> sorted(week_numbers("1,3,7-9"))
    [1, 3, 7, 8, 9]
    """
    numbers: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def weekly(services: Any, max_items: int, weights: dict[str, float] | None = None,
           diversity: float | None = None, weeks: set[int] | None = None) -> dict[str, Any]:
    """Quiz recall of one brief per week (weights/diversity: an ablation; weeks: which
    weeks, numbered from 1 in date order, all if None)."""
    from eval.metrics import contains_reference
    from rag import brief_rank
    from rag.brief import brief

    saved = dict(brief_rank.WEIGHTS), brief_rank.DIVERSITY
    brief_rank.WEIGHTS.update(weights or {})
    brief_rank.DIVERSITY = diversity if diversity is not None else brief_rank.DIVERSITY
    questions = load_jsonl(RTQA / "questions_with_gold_doc.jsonl")
    chosen = [w for n, w in enumerate(sorted({q["week"] for q in questions}), 1)
              if weeks is None or n in weeks]
    questions = [q for q in questions if q["week"] in chosen]
    found = cited = 0
    lines, seconds, rows = [], [], []
    try:
        for week in chosen:
            asked = [q for q in questions if q["week"] == week]
            end = max(quiz_day(q) for q in asked)
            started = time.perf_counter()
            briefing = brief(services, since=end - timedelta(days=WINDOW_DAYS - 1), until=end,
                             as_of=end, max_items=max_items)
            seconds.append(time.perf_counter() - started)
            week_lines = brief_lines(briefing)
            text = " ".join(line.text for line in week_lines)
            hits = sum(contains_reference(text, q["answer_text"]) for q in asked)
            cites = sum(bool(set(q["gold_doc_ids"]) & {ln.article_id for ln in week_lines})
                        for q in asked)
            found, cited = found + hits, cited + cites
            rows.append((week, len(asked), hits, len(briefing.items), briefing.articles))
            lines.extend(week_lines)
    finally:
        brief_rank.WEIGHTS.clear()
        brief_rank.WEIGHTS.update(saved[0])
        brief_rank.DIVERSITY = saved[1]
    total = max(len(questions), 1)
    return {"recall": found / total, "gold_cited": cited / total, "weeks": rows,
            "lines": lines, "seconds": statistics.median(seconds)}


def judged(services: Any, lines: list[Any]) -> float:
    """The share of lines the answers' judge supports against their cited span."""
    from rag.judge import shared_judge

    judge = shared_judge(services)
    return sum(judge.supported(line.support) for line in lines) / max(len(lines), 1)


def verbatim(services: Any, lines: list[Any]) -> int:
    """How many lines are exactly their cited span of their article's stored text."""
    catalog = services.index.catalog
    return sum(bool((record := catalog.get(line.article_id))
                    and record.article.text[line.char_start:line.char_end] == line.text)
               for line in lines)


def main_entity(question: str) -> str:
    """The question's longest name ("Joey Chestnut", "Sri Lanka"); a bare acronym or
    short word ("US", "AC") names too much, so without a better one the question is the
    topic."""
    from rag.names import names_in

    names = [n for n in names_in(question) if not n[0].isdigit() and len(n) > 3]
    return max(names, key=len) if names else question


def timelines(services: Any, count: int) -> list[dict[str, Any]]:
    from eval.metrics import contains_reference
    from rag.brief import brief
    from rag.brief_lines import is_repeat

    questions = load_jsonl(RTQA / "questions_with_gold_doc.jsonl")
    step = max(len(questions) // count, 1)
    rows = []
    for question in questions[::step][:count]:
        topic = main_entity(question["question"])
        end = quiz_day(question)
        briefing = brief(services, topic, until=end, as_of=end, max_items=10)
        lines = brief_lines(briefing)
        days = [item.date or "" for item in briefing.items]
        repeats = sum(is_repeat(line.text, [e.text for e in lines[:i]])
                      or line.text in [e.text for e in lines[:i]]
                      for i, line in enumerate(lines))
        rows.append({"question": question["question"], "topic": topic,
                     "entries": len(briefing.items), "answer": contains_reference(
                         " ".join(ln.text for ln in lines), question["answer_text"]),
                     "in_order": days == sorted(days), "repeats": repeats,
                     "seconds": briefing.timings["total"]})
    return rows


def timing(services: Any) -> dict[str, float]:
    """A brief over the whole library (every article in the window), twice: first call in
    this process (after the weekly runs loaded the models) and again."""
    from rag.brief import brief

    articles = services.index.catalog.stats()["articles"]
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        briefing = brief(services, since=date(2000, 1, 1), until=date(2022, 8, 26),
                         as_of=date(2022, 8, 26), max_items=15)
        runs.append(time.perf_counter() - started)
    return {"articles": articles, "window_articles": briefing.articles, "first_s": runs[0],
            "again_s": runs[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help="Ingest the whole dev corpus.")
    parser.add_argument("--timelines", type=int, default=10)
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--max-items", type=int, default=15)
    parser.add_argument("--weeks", type=week_numbers, default=None,
                        help="Which weeks, numbered from 1 in date order: 1-6, 7-11, 1,3.")
    args = parser.parse_args()
    services = open_store(args.full)
    started = time.perf_counter()
    full = weekly(services, args.max_items, weeks=args.weeks)
    print(f"(first weekly brief incl. model loading; all weeks in "
          f"{time.perf_counter() - started:.1f} s)")
    ablations = {"articles + outlets (+ dated leads) only": weekly(services, args.max_items, {
        "related": 0.0, "entities": 0.0, "recency": 0.0}, weeks=args.weeks),
        "with entity centrality (weight 0.5, the default before)": weekly(
            services, args.max_items, {"entities": 0.5}, weeks=args.weeks),
        "no diversity (score order)": weekly(services, args.max_items, diversity=1.0,
                                             weeks=args.weeks)}
    print("\n| ranking | quiz recall | gold article cited | lines |")
    print("|---|---|---|---|")
    for name, run in {"coverage + recency + dated leads, MMR (default)": full,
                      **ablations}.items():
        print(f"| {name} | {run['recall']:.2f} | {run['gold_cited']:.2f} | "
              f"{len(run['lines'])} |")
    print(f"median weekly brief: {full['seconds']:.2f} s (the ablations reuse the judge's "
          "embeddings of the same lines, so their times are not comparable)")
    print("\n| week | questions | answer in brief | items | articles in window |")
    print("|---|---|---|---|---|")
    for week, asked, hits, items, articles in full["weeks"]:
        print(f"| {week} | {asked} | {hits} | {items} | {articles} |")
    print(f"\njudge supports {judged(services, full['lines']):.3f} of "
          f"{len(full['lines'])} lines; {verbatim(services, full['lines'])} of them are "
          "verbatim their cited span")
    sample = random.Random(24).sample(full["lines"], min(args.sample, len(full["lines"])))
    out = RESULTS / "brief-lines.jsonl"
    out.write_text("".join(json.dumps({"text": ln.text, "article": ln.article_id,
                                       "support": ln.support}) + "\n" for ln in sample))
    print(f"{len(sample)} lines for a hand check: {out}")
    if args.timelines:
        rows = timelines(services, args.timelines)
        print("\n| topic | entries | answer in timeline | date order | repeats | s |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['topic']} | {r['entries']} | {r['answer']} | {r['in_order']} | "
                  f"{r['repeats']} | {r['seconds']:.2f} |")
        print(f"answer in timeline: {sum(r['answer'] for r in rows)}/{len(rows)}")
    t = timing(services)
    print(f"\nbrief over all {t['articles']} articles ({t['window_articles']} in the window): "
          f"{t['first_s']:.2f} s, again {t['again_s']:.2f} s")


if __name__ == "__main__":
    main()
