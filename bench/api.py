"""Benchmark `newsrag serve`: the OpenAI-compatible endpoint against the Python API, same run.

Run from the repo root:
    .venv/bin/python -m bench.api [--clients 1,4,16] [--questions 8] [--rounds 3]

Ingests the first --questions RealTime QA dev questions' gold articles and each one's top
--distractors search-result articles (plus the sample article) into bench/results/api-data
(kept between runs), starts `newsrag serve` as its own process on 127.0.0.1 with an API key,
and measures, with the extractive reader:
  - the server's overhead: one client asking each question directly (Assistant.answer in
    this process), over HTTP and streamed, back to back, --rounds times;
and for each client count:
  - direct: that many threads calling Assistant.answer in this process (the Python API);
  - http: that many `openai` clients asking /v1/chat/completions (not streamed);
  - stream: the same, streamed: time to the first content token and to the last chunk.
Each client asks max(2, questions / clients) of the questions (starting at a different
one, so at most the same questions in every mode). Prints Markdown tables
(p50, p95 latency, answers/s, time to the first streamed token, the server's overhead) and
writes bench/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import REPO, RESULTS, RTQA, free_port


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--distractors", type=int, default=5)
    parser.add_argument("--sample", action="store_true",
                        help="only the sample article and the config's example questions "
                             "(short answers: the server's overhead weighs most)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the paired one-client overhead measurement")
    return parser.parse_args()


def questions_and_articles(count: int, distractors: int) -> tuple[list[str], list[dict[str, Any]]]:
    with (RTQA / "questions_with_gold_doc.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line, _ in zip(handle, range(count), strict=False)]
    wanted = {d for r in rows for d in [*r["gold_doc_ids"], *r["gcs_doc_ids_ranked"][:distractors]]}
    with (RTQA / "corpus.jsonl").open(encoding="utf-8") as handle:
        articles = [a for a in map(json.loads, handle) if a["doc_id"] in wanted]
    return [r["question"] for r in rows], articles


def prepare(data_dir: Path, articles: list[dict[str, Any]]) -> Any:
    from newsrag.settings import load_settings

    env = dict(os.environ, NEWSRAG_DATA_DIR=str(data_dir))
    settings = load_settings(REPO / "config.toml", env=env)
    from ingest.pipeline import ingest
    from rag.services import build_services

    services = build_services(settings)
    feed = data_dir.parent / "api-articles.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    report = ingest([str(REPO / "data" / "sample"), str(feed)], settings, services.index)
    print(f"store: {report.stored} articles ({len(report.added)} new)", file=sys.stderr)
    return services


def start_server(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, NEWSRAG_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    newsrag = Path(sys.executable).parent / "newsrag"
    with log.open("wb") as out:
        server = subprocess.Popen([str(newsrag), "--config", str(REPO / "config.toml"), "serve",
                                   "--port", str(port)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    import httpx

    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server did not start: see {log}")


def run_clients(clients: int, questions: list[str], ask: Callable[[Any, str], float],
                make_client: Callable[[], Any]) -> dict[str, float]:
    """Each client asks its share of the questions; latencies and answers per second."""
    share = max(2, len(questions) // clients)

    def one(offset: int) -> list[float]:
        client = make_client()
        order = (questions * 2)[offset % len(questions):][:share]
        return [ask(client, q) for q in order]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        runs = list(pool.map(one, range(clients)))
    wall = time.perf_counter() - started
    times = sorted(t for run in runs for t in run)
    return {"answers": len(times), "p50_s": statistics.median(times),
            "p95_s": times[max(0, math.ceil(0.95 * len(times)) - 1)],
            "answers_per_s": len(times) / wall}


def streamed(client: Any, question: str) -> tuple[float, float]:
    """(seconds to the first content token, seconds to the last chunk)."""
    started = time.perf_counter()
    first = None
    for chunk in client.chat.completions.create(
            model="newsrag", stream=True, messages=[{"role": "user", "content": question}]):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    return first or math.nan, time.perf_counter() - started


def main() -> None:
    args = parse_args()
    if args.sample:
        from newsrag.settings import Settings

        questions, articles = list(Settings().ui.examples), []
    else:
        questions, articles = questions_and_articles(args.questions, args.distractors)
    data_dir = RESULTS / ("api-sample-data" if args.sample else "api-data")
    data_dir.mkdir(parents=True, exist_ok=True)
    services = prepare(data_dir, articles)
    from openai import OpenAI

    from rag.answering import Assistant
    from serve.keys import KeyStore

    keys = KeyStore.in_data_dir(data_dir)
    for record in keys.list():
        if record.active and record.name == "bench":
            keys.revoke("bench")
    _, key = keys.create("bench", "read", rate_per_minute=0)
    assistant = Assistant(services)
    port = free_port()
    server = start_server(data_dir, port, RESULTS / "api-server.log")
    base = f"http://127.0.0.1:{port}/v1"

    def client() -> Any:
        return OpenAI(base_url=base, api_key=key, max_retries=0, timeout=600)

    def over_http(c: Any, question: str) -> float:
        started = time.perf_counter()
        reply = c.chat.completions.create(model="newsrag",
                                          messages=[{"role": "user", "content": question}])
        assert reply.model_extra["newsrag"] is not None
        return time.perf_counter() - started

    def direct(_: Any, question: str) -> float:
        started = time.perf_counter()
        assistant.answer(question)
        return time.perf_counter() - started

    first_tokens: list[float] = []

    def stream(c: Any, question: str) -> float:
        first, total = streamed(c, question)
        first_tokens.append(first)
        return total

    rows = []
    try:
        for q in questions:  # warm both sides: models, caches, connection
            direct(None, q)
            over_http(client(), q)
        paired = overhead(questions, args.rounds, direct, over_http, client)
        print(json.dumps(paired), file=sys.stderr)
        for clients in (int(n) for n in args.clients.split(",")):
            row: dict[str, Any] = {"clients": clients}
            row["direct"] = run_clients(clients, questions, direct, lambda: None)
            row["http"] = run_clients(clients, questions, over_http, client)
            first_tokens.clear()
            row["stream"] = run_clients(clients, questions, stream, client)
            row["stream"]["first_token_p50_s"] = statistics.median(first_tokens)
            row["stream"]["first_token_p95_s"] = percentile(first_tokens, 0.95)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
        keys.revoke("bench")
    print_tables(paired, rows, len(questions), len(articles) + 1)
    target = RESULTS / ("api-sample.json" if args.sample else "api.json")
    target.write_text(json.dumps({"paired": paired, "rows": rows}, indent=2))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def overhead(questions: list[str], rounds: int, direct: Callable[[Any, str], float],
             over_http: Callable[[Any, str], float], client: Callable[[], Any]
             ) -> dict[str, float]:
    """One client: each question asked directly, then over HTTP, then streamed, back to
    back (the order turning each round), so load from elsewhere hits all three alike."""
    c = client()
    times: dict[str, list[float]] = {"direct": [], "http": [], "stream": [], "first": []}
    for round_ in range(rounds):
        for q in questions:
            steps = ["direct", "http", "stream"]
            for step in steps[round_ % 3:] + steps[:round_ % 3]:
                if step == "direct":
                    times["direct"].append(direct(None, q))
                elif step == "http":
                    times["http"].append(over_http(c, q))
                else:
                    first, total = streamed(c, q)
                    times["first"].append(first)
                    times["stream"].append(total)
    extra = [h - d for h, d in zip(times["http"], times["direct"], strict=True)]
    summary = {f"{name}_p50_s": statistics.median(values) for name, values in times.items()}
    summary.update({f"{name}_p95_s": percentile(values, 0.95)
                    for name, values in times.items()})
    summary["answers"] = len(times["direct"])
    summary["extra_p50_s"] = statistics.median(extra)
    summary["overhead_pct"] = 100 * statistics.median(
        h / d - 1 for h, d in zip(times["http"], times["direct"], strict=True))
    return summary


def print_tables(paired: dict[str, float], rows: list[dict[str, Any]], questions: int,
                 articles: int) -> None:
    corpus = "example" if articles == 1 else "RealTime QA"
    print(f"\n### API vs Python API — {questions} {corpus} questions x "
          f"{paired['answers'] // questions} rounds, {articles} articles, extractive, one "
          "client\n")
    print("| | p50 s | p95 s |\n|---|---|---|")
    for name, label in (("direct", "Python API (Assistant.answer)"),
                        ("http", "HTTP, not streamed"), ("stream", "HTTP, streamed: last chunk"),
                        ("first", "HTTP, streamed: first token")):
        print(f"| {label} | {paired[name + '_p50_s']:.3f} | {paired[name + '_p95_s']:.3f} |")
    print(f"\nServer overhead per question (median of paired differences): "
          f"{paired['extra_p50_s'] * 1000:.0f} ms, {paired['overhead_pct']:+.1f} %\n")
    print("| clients | direct p50 / p95 s | direct answers/s | HTTP p50 / p95 s | HTTP answers/s "
          "| stream first token p50 / p95 s | stream answers/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        d, h, s = r["direct"], r["http"], r["stream"]
        print(f"| {r['clients']} | {d['p50_s']:.3f} / {d['p95_s']:.3f} | "
              f"{d['answers_per_s']:.2f} | {h['p50_s']:.3f} / {h['p95_s']:.3f} | "
              f"{h['answers_per_s']:.2f} | "
              f"{s['first_token_p50_s']:.3f} / {s['first_token_p95_s']:.3f} | "
              f"{s['answers_per_s']:.2f} |")


if __name__ == "__main__":
    main()
