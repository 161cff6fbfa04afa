"""Load benchmark: many questions at once against one index, through the Python API and the UI.

Run from the repo root (on an index that already exists: nothing is ingested):
    .venv/bin/python -m bench.load [--data-dir bench/results/rtqa-index] [--concurrency 1,4,8]
        [--limit N] [--timeout-s 60] [--skip-api] [--skip-ui] [--json-out bench/results/load.json]

Asks the 103 RealTime QA dev questions (their text only, no question date) from
`--concurrency` threads at once (default 8), after a warm-up question that loads the models:
- API: one process, `build_services` + `Assistant.answer`, as the CLI and the UI use them.
- UI: the real `newsrag ui` started as a subprocess on 127.0.0.1 and a free port, one
  gradio_client Client per worker thread (each in use by one thread at a time) calling its
  `/ask` API (the server itself answers at most `ui.concurrency` questions at a time and
  queues the rest).
NEWSRAG_* variables apply to both (e.g. NEWSRAG_EMBEDDING__BACKEND=onnx). Prints a Markdown
table: errors (exceptions, and answers slower than --timeout-s), wall time, answered
questions per second, p50/p95/max latency of the answered questions, and peak RSS (VmHWM:
the UI server's; for API, this process's). Writes --json-out with every latency and the first
error messages.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from queue import Queue
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = REPO / "bench" / "results"

from bench.answer import DATA, load_jsonl  # noqa: E402
from bench.common import end_process, free_port  # noqa: E402

QUESTIONS = DATA / "questions_with_gold_doc.jsonl"
GUARD_MARGIN_S = 30.0  # beyond timeout_s x rounds, before a level gives up on its questions
START_TIMEOUT_S = 180.0  # for the UI server to answer HTTP
WARMUP_TIMEOUT_S = 300.0  # for the first question (loads the embedder)
KEPT_ERRORS = 5
UNFINISHED = "unfinished"
Ask = Callable[[str], Any]
Result = tuple[float, str | None, bool]  # seconds, error message or None, refused


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--concurrency", default="8", help="threads at once, e.g. 1,4,8")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="per question")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-ui", action="store_true")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    args.levels = [int(n) for n in args.concurrency.split(",")]
    if not args.data_dir.is_dir() or min(args.levels) < 1:
        parser.error(f"--data-dir {args.data_dir} must be an existing index; levels >= 1")
    args.data_dir = args.data_dir.resolve()
    return args


def proc_mb(pid: int | str, field: str) -> float:
    """VmRSS / VmHWM of a process, in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise ValueError(f"no {field} in /proc/{pid}/status")


def timed(ask: Ask, question: str, timeout_s: float) -> Result:
    """One question: its seconds, error message (or None), and whether it was refused."""
    started = time.perf_counter()
    try:
        reply = ask(question)
    except Exception as exc:
        return time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:500], False
    seconds = time.perf_counter() - started
    refused = bool(reply["refused"] if isinstance(reply, dict) else reply.refused)
    slow = f"slow: {seconds:.1f} s > --timeout-s" if seconds > timeout_s else None
    return seconds, slow, refused


def run_level(ask: Ask, questions: list[str], threads: int, timeout_s: float
              ) -> tuple[list[Result], float]:
    """Every question from `threads` threads at once: per-question results and wall seconds."""
    guard = timeout_s * math.ceil(len(questions) / threads) + GUARD_MARGIN_S
    pool = ThreadPoolExecutor(threads, thread_name_prefix="load")
    started = time.perf_counter()
    futures: list[Future[Result]] = [
        pool.submit(timed, ask, q, timeout_s) for q in questions]
    wait(futures, timeout=guard)
    wall = time.perf_counter() - started
    pool.shutdown(wait=False, cancel_futures=True)
    return [f.result() if f.done() and not f.cancelled()
            else (wall, f"{UNFINISHED} after the {guard:.0f} s guard", False)
            for f in futures], wall


def nearest_rank(values: list[float], share: float) -> float:
    return values[max(0, math.ceil(share * len(values)) - 1)] if values else float("nan")


def summarize(path: str, threads: int, results: list[Result],
              wall: float, peak_mb: float | None) -> dict[str, Any]:
    ok = sorted(s for s, error, _ in results if error is None)
    errors = [error for _, error, _ in results if error is not None]
    ms = lambda s: round(1000 * s, 1)  # noqa: E731
    return {
        "path": path, "concurrency": threads, "questions": len(results), "errors": len(errors),
        "unfinished": sum(e.startswith(UNFINISHED) for e in errors),
        "refused": sum(refused for *_, refused in results),
        "wall_s": round(wall, 2), "throughput_qps": round(len(ok) / wall, 3),
        "p50_ms": ms(statistics.median(ok)) if ok else None,
        "p95_ms": ms(nearest_rank(ok, 0.95)) if ok else None,
        "max_ms": ms(ok[-1]) if ok else None, "peak_rss_mb": peak_mb,
        "first_errors": errors[:KEPT_ERRORS], "latencies_ms": [ms(s) for s in ok],
    }


def each_level(levels: list[int], one_level: Callable[[int], dict[str, Any]]
               ) -> list[dict[str, Any]]:
    rows = []
    for threads in levels:
        rows.append(one_level(threads))
        print(table_lines(rows[-1:])[-1], file=sys.stderr, flush=True)
    return rows


# --- the Python API, in this process -----------------------------------------------------


def open_assistant(data_dir: Path) -> Any:
    """The CLI's Assistant on data_dir (bench/answer.py's would ingest the RealTime QA corpus)."""
    from newsrag.settings import load_settings
    from rag.answering import Assistant
    from rag.services import build_services

    settings = load_settings(config=REPO / "config.toml",
                             env={**os.environ, "NEWSRAG_DATA_DIR": str(data_dir)})
    services = build_services(settings)
    articles = services.index.catalog.stats()["articles"]
    if not articles:
        sys.exit(f"bench/load.py: {data_dir} holds no articles: ingest some first")
    print(f"API: {articles} articles in {data_dir}", file=sys.stderr)
    return Assistant(services)


def api_rows(data_dir: Path, questions: list[str], levels: list[int], timeout_s: float
             ) -> list[dict[str, Any]]:
    assistant = open_assistant(data_dir)
    assistant.answer("warm-up: load the models before timing")

    def one_level(threads: int) -> dict[str, Any]:
        results, wall = run_level(assistant.answer, questions, threads, timeout_s)
        return summarize("API", threads, results, wall, proc_mb("self", "VmHWM"))

    return each_level(levels, one_level)


# --- the UI server, as a subprocess ------------------------------------------------------


@contextmanager
def ui_process(data_dir: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`newsrag ui` on 127.0.0.1 and a free port; yields (process, url), stops it after."""


    port = free_port()
    env = {**os.environ, "NEWSRAG_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", "from newsrag.cli import main; main()",
               "--config", str(REPO / "config.toml"), "ui", "--host", "127.0.0.1",
               "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield process, f"http://127.0.0.1:{port}/"
    finally:
        end_process(process, 15)


def wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the UI server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"the UI server did not answer within {START_TIMEOUT_S:.0f} s:\n"
             f"{log.read_text()[-3000:]}")


def ui_asker(clients: Queue[Any], timeout_s: float) -> Ask:
    """`/ask` through a client no other thread is using at the time."""

    def ask(question: str) -> Any:
        client = clients.get()
        try:
            job = client.submit(question, None, api_name="/ask")
            try:
                reply = job.result(timeout=timeout_s)
            except TimeoutError:
                job.cancel()
                raise TimeoutError(f"no /ask reply within {timeout_s:g} s") from None
        finally:
            clients.put(client)
        if not (isinstance(reply, dict) and "answer" in reply):
            raise ValueError(f"unexpected /ask reply: {reply!r:.200}")
        return reply

    return ask


def make_client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def ui_level(url: str, questions: list[str], threads: int, timeout_s: float,
             pid: int) -> dict[str, Any]:
    clients: Queue[Any] = Queue()
    for _ in range(threads):
        clients.put(make_client(url))
    try:
        results, wall = run_level(ui_asker(clients, timeout_s), questions, threads, timeout_s)
    finally:
        while not clients.empty():
            clients.get().close()
    return summarize("UI", threads, results, wall, proc_mb(pid, "VmHWM"))


def warm_up(url: str, pid: int) -> dict[str, Any]:
    """Check `/ask` exists and ask it once (loads the models); the server's RSS before and after."""
    memory: dict[str, Any] = {"url": url, "idle_rss_mb": proc_mb(pid, "VmRSS")}
    client = make_client(url)
    try:
        if "/ask" not in client.view_api(print_info=False, return_format="dict")[
                "named_endpoints"]:
            sys.exit(f"the UI at {url} has no /ask endpoint")
        clients: Queue[Any] = Queue()
        clients.put(client)
        ui_asker(clients, WARMUP_TIMEOUT_S)("warm-up: load the models before timing")
    finally:
        client.close()
    memory["warm_rss_mb"] = proc_mb(pid, "VmRSS")
    return memory


def ui_rows(data_dir: Path, questions: list[str], levels: list[int], timeout_s: float
            ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="newsrag-load-") as tmp:
        log = Path(tmp) / "ui.log"
        with ui_process(data_dir, log) as (process, url):
            wait_until_up(process, url, log)
            memory = warm_up(url, process.pid)
            rows = each_level(levels, lambda n: ui_level(url, questions, n, timeout_s,
                                                         process.pid))
            memory["peak_rss_mb"] = proc_mb(process.pid, "VmHWM")
    return rows, memory


# --- report ------------------------------------------------------------------------------


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| path | concurrency | questions | errors | wall s | throughput q/s | p50 ms "
             "| p95 ms | max ms | peak RSS MB |", "|" + "---|" * 10]
    for r in rows:
        cells = [r["path"], r["concurrency"], r["questions"], r["errors"], r["wall_s"],
                 r["throughput_qps"], r["p50_ms"], r["p95_ms"], r["max_ms"], r["peak_rss_mb"]]
        lines.append("| " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    return lines


def report(args: argparse.Namespace, questions: list[str], rows: list[dict[str, Any]],
           ui: dict[str, Any] | None) -> None:
    print("\n".join(table_lines(rows)))
    if ui:
        print(f"\nUI server RSS: {ui['idle_rss_mb']} MB idle after start, {ui['warm_rss_mb']} MB "
              f"after the warm-up question, {ui['peak_rss_mb']} MB peak.")
    print("\nRefused (answered \"not covered\"): " + ", ".join(
        f"{r['path']} x{r['concurrency']} {r['refused']}/{r['questions']}" for r in rows))
    for r in rows:
        for message in r["first_errors"]:
            print(f"{r['path']} x{r['concurrency']} error: {message}")
    env = {k: v for k, v in os.environ.items() if k.startswith("NEWSRAG_")}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(
        {"data_dir": str(args.data_dir), "questions": len(questions), "timeout_s": args.timeout_s,
         "newsrag_env": env, "ui_server": ui, "rows": rows}, indent=1) + "\n")


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    questions = [q["question"] for q in load_jsonl(QUESTIONS)][: args.limit]
    rows: list[dict[str, Any]] = []
    ui = None
    if not args.skip_api:
        rows += api_rows(args.data_dir, questions, args.levels, args.timeout_s)
        gc.collect()
    if not args.skip_ui:
        ui_part, ui = ui_rows(args.data_dir, questions, args.levels, args.timeout_s)
        rows += ui_part
    report(args, questions, rows, ui)
    if any(r["unfinished"] for r in rows):
        sys.stdout.flush()
        os._exit(1)  # threads still stuck in a question would block the interpreter's exit


if __name__ == "__main__":
    main()
