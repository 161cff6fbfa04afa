"""Benchmark the UI server: answer latency through its /ask API, one user and several at once.

Run from the repo root:
    .venv/bin/python -m bench.ui [--generator extractive] [--users 1,2,4] [--rounds 3]

Starts the app on 127.0.0.1 over a fresh data dir holding the sample article, warms it up,
then for each user count has that many gradio_client clients ask the configured example
questions at the same time. Prints a Markdown table of per-question latency (p50, p95) and
throughput, and writes bench/results/ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = REPO / "bench" / "results" / "ui.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--generator", default="extractive")
    parser.add_argument("--users", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3, help="questions per user")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(generator: str, data_dir: Path) -> tuple[Any, Any]:
    from newsrag.settings import load_settings
    from ui.server import prepare_gradio, serve_ui

    env = dict(os.environ, NEWSRAG_DATA_DIR=str(data_dir), NEWSRAG_UI__PORT=str(free_port()),
               NEWSRAG_GENERATION__GENERATOR=generator)
    settings = load_settings(REPO / "config.toml", env=env)
    prepare_gradio(settings)
    from ingest.pipeline import ingest
    from rag.services import build_services

    services = build_services(settings)
    ingest([str(REPO / "data" / "sample")], settings, services.index)
    return serve_ui(services, block=False), settings


def one_user(url: str, questions: list[str]) -> list[float]:
    from gradio_client import Client

    client, took = Client(url, verbose=False), []
    for question in questions:
        started = time.perf_counter()
        answer = client.predict(question, None, api_name="/ask")
        took.append(time.perf_counter() - started)
        assert answer["citations"] or answer["refused"], answer
    return took


def measure(url: str, users: int, questions: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        runs = list(pool.map(lambda _: one_user(url, questions), range(users)))
    wall = time.perf_counter() - started
    latencies = sorted(t for run in runs for t in run)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return {"users": users, "questions": len(latencies),
            "p50_s": round(statistics.median(latencies), 3), "p95_s": round(p95, 3),
            "answers_per_s": round(len(latencies) / wall, 2)}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo, settings = start(args.generator, Path(tmp) / "data")
        try:
            questions = (settings.ui.examples * args.rounds)[:max(1, args.rounds)]
            one_user(demo.local_url, questions[:1])  # loads the models
            rows = [measure(demo.local_url, int(n), questions) for n in args.users.split(",")]
        finally:
            demo.close()
    print(f"\n### UI /ask latency — generator {args.generator}\n")
    print("| users at once | questions | p50 s | p95 s | answers/s |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['users']} | {row['questions']} | {row['p50_s']} | {row['p95_s']} | "
              f"{row['answers_per_s']} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"generator": args.generator, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
