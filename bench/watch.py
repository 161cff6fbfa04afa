"""Benchmark `newsrag watch`: how soon a new feed item is searchable, what an idle poll costs,
and how fast search stays while the watcher ingests.

    .venv/bin/python -m bench.watch [--feeds 20] [--start 2] [--releases 30] [--gap 6]

A loopback HTTP server serves `--feeds` RSS feeds whose items are RealTime QA dev articles
(teasers of 200 characters linking to article pages the watcher fetches and extracts). Each
feed starts with `--start` items; once the watcher has stored them and gone idle (a cycle
of 304s), one new item appears every `--gap` seconds in a
feed taken in turn, `--releases` times. A real `newsrag watch --every 10s` subprocess (real
ONNX embedder, real Chroma) polls them; this process searches each released title every
0.5 s through the library (as `newsrag search` would) until the article is among the top
10: appearance → searchable, p50/p95 (a catalog look-up first, so waiting items cost no
searches). Meanwhile a user thread searches twice a second, timed: search p50/p95 while the
watcher ingests. Then, watcher stopped, one in-process poll cycle of all feeds with nothing
changed is measured in CPU seconds: answered 304 (validators kept), and answered 200 with
the same entries. All feeds share one host here, so the per-host delay is 0.2 s (not 1 s):
at 1 s a cycle of 20 feeds on one host would take 20 s. Writes bench/results/watch.json.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html import escape
from pathlib import Path
from typing import Any

from bench.common import REPO, RESULTS, RTQA, end_process


class Feeds(http.server.ThreadingHTTPServer):
    """Feeds and pages by path; ETag answers 304 unless `validators` is off."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.validators = True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Feeds

    def do_GET(self) -> None:
        body, kind = self.server.bodies.get(self.path, (b"", ""))
        if not kind:
            self.send_error(404)
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.server.validators and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if self.server.validators:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(usegmt=True))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _rss(name: str, items: list[dict[str, Any]], base: str) -> bytes:
    parts = [f"<rss version='2.0'><channel><title>{name}</title>"]
    for item in items:
        parts.append(f"<item><guid>{escape(item['doc_id'])}</guid>"
                     f"<title>{escape(item['title'])}</title>"
                     f"<link>{base}/a/{escape(item['doc_id'])}</link>"
                     f"<description>{escape(item['text'][:200])}</description></item>")
    return ("".join(parts) + "</channel></rss>").encode()


def _page(item: dict[str, Any]) -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in item["text"].split("\n") if p.strip())
    return (f"<!doctype html><html><head><title>{escape(item['title'])}</title></head><body>"
            f"<article><h1>{escape(item['title'])}</h1>{paragraphs}</article></body></html>"
            ).encode()


def _articles(count: int) -> list[dict[str, Any]]:
    """Distinct-titled RealTime QA dev articles of reasonable length."""
    chosen, titles = [], set()
    with (RTQA / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title = (record.get("title") or "").strip()
            if len(title) > 20 and title not in titles and 1500 < len(record["text"]) < 8000:
                titles.add(title)
                chosen.append(record)
                if len(chosen) == count:
                    break
    return chosen


def _publish(server: Feeds, feeds: list[list[dict[str, Any]]]) -> None:
    for n, items in enumerate(feeds):
        server.bodies[f"/feed-{n}.xml"] = (_rss(f"Feed {n}", items[::-1], server.base),
                                           "application/rss+xml")


def _environment(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update({"NEWSRAG_DATA_DIR": str(data), "NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true",
                "NEWSRAG_WATCH__DELAY_PER_HOST_S": "0.2"})
    return env


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _searchable(title: str, services: Any, timings: list[float]) -> bool:
    """Whether a search for the title finds the article among the top 10; a cheap catalog
    look-up first, so pending items do not load the CPU the watcher needs."""
    from rag.search import SearchOptions, retrieve

    catalog = services.index.catalog
    if not catalog.db.execute("SELECT 1 FROM articles WHERE title = ?", (title,)).fetchone():
        return False
    started = time.perf_counter()
    hits = retrieve(title, services, SearchOptions(k=10))
    timings.append(time.perf_counter() - started)
    return any(h.title == title for h in hits)


def _user_searches(services: Any, stop: threading.Event, timings: list[float]) -> None:
    """A user searching twice a second while the watcher works."""
    from rag.search import SearchOptions, retrieve

    questions = ["covid vaccine for children", "flooding after storms", "interest rate rise",
                 "car recall air bags", "heat wave warning"]
    n = 0
    while not stop.wait(0.5):
        started = time.perf_counter()
        retrieve(questions[n % len(questions)], services, SearchOptions(k=10))
        timings.append(time.perf_counter() - started)
        n += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    from newsrag.settings import load_settings
    from rag.services import build_services

    records = _articles(args.feeds * args.start + args.releases)
    data = Path(tempfile.mkdtemp(prefix="bench-watch-")) / "data"
    server = Feeds()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for record in records:
        server.bodies[f"/a/{record['doc_id']}"] = (_page(record), "text/html")
    feeds = [records[n * args.start:(n + 1) * args.start] for n in range(args.feeds)]
    waiting = records[args.feeds * args.start:]
    _publish(server, feeds)
    urls = [f"{server.base}/feed-{n}.xml" for n in range(args.feeds)]
    settings = load_settings(REPO / "config.toml", env=_environment(data))
    log = (data.parent / "watch.log").open("wb")
    watcher = subprocess.Popen(
        [str(Path(sys.executable).parent / "newsrag"), "--config", str(REPO / "config.toml"),
         "watch", *urls, "--every", "10s"], env={**_environment(data), "PYTHONPATH": str(REPO)},
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        first = records[0]["title"]
        while not (data / "watch.sqlite3").exists():
            time.sleep(1)
        services = build_services(settings)
        warm: list[float] = []
        while not _searchable(first, services, warm):
            time.sleep(1)
        _wait_until_idle(data)
        print(f"initial {len(records) - len(waiting)} articles stored; releasing", flush=True)
        searches: list[float] = []
        done = threading.Event()
        user = threading.Thread(target=_user_searches, args=(services, done, searches))
        user.start()
        try:
            latencies, _ = _release(server, feeds, waiting, services, args.gap)
        finally:
            done.set()
            user.join()
    finally:
        end_process(watcher, grace_s=60)
    idle = _idle_cycles(settings, urls, server)
    server.shutdown()
    return {"feeds": args.feeds, "initial_items": args.feeds * args.start,
            "released": len(latencies), "interval_s": 10, "delay_per_host_s": 0.2,
            "appearance_to_searchable_s": {"p50": statistics.median(latencies),
                                           "p95": _percentile(latencies, 0.95),
                                           "max": max(latencies)},
            "search_while_ingesting_s": {"p50": statistics.median(searches),
                                         "p95": _percentile(searches, 0.95),
                                         "n": len(searches)},
            "idle_cycle_cpu_s": idle}


def _wait_until_idle(data: Path, timeout_s: float = 600) -> None:
    """Until a cycle found every feed unchanged: the start-up backlog is stored and merged."""
    from ingest.watch_state import WatchState

    state, deadline = WatchState(data / "watch.sqlite3"), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(s.last_status == "not modified" for s in state.sources()):
            return
        time.sleep(1)
    raise SystemExit("the watcher never went idle")


def _release(server: Feeds, feeds: list[list[dict[str, Any]]], waiting: list[dict[str, Any]],
             services: Any, gap: float) -> tuple[list[float], list[float]]:
    pending: dict[str, float] = {}
    latencies: list[float] = []
    searches: list[float] = []
    next_release = time.monotonic()
    deadline = time.monotonic() + gap * len(waiting) + 180
    while (waiting or pending) and time.monotonic() < deadline:
        if waiting and time.monotonic() >= next_release:
            record = waiting.pop(0)
            feeds[len(waiting) % len(feeds)].append(record)
            _publish(server, feeds)
            pending[record["title"]] = time.monotonic()
            next_release += gap
        for title, appeared in list(pending.items()):
            if _searchable(title, services, searches):
                latencies.append(time.monotonic() - appeared)
                del pending[title]
                print(f"  searchable after {latencies[-1]:.1f} s: {title[:60]}", flush=True)
        time.sleep(0.5)
    if pending:
        print(f"  {len(pending)} never became searchable", flush=True)
    return latencies, searches


def _idle_cycles(settings: Any, urls: list[str], server: Feeds) -> dict[str, float]:
    """CPU seconds of one poll of every feed with nothing new: 304s, then 200s."""
    from ingest.watch import Watcher

    quick = settings.model_copy(update={"watch": settings.watch.model_copy(
        update={"delay_per_host_s": 0.0})})
    watcher = Watcher(quick, [(u, 10.0) for u in urls])
    watcher.poll(force=True)  # settles validators after the subprocess's last cycle
    figures = {}
    for name, validators in (("not_modified_304", True), ("unchanged_200", False)):
        server.validators = validators
        cpu = []
        for _ in range(5):
            started = time.process_time()
            results = watcher.poll(force=True)
            cpu.append(time.process_time() - started)
            assert all(r.added == r.updated == 0 for r in results)
        figures[name] = statistics.median(cpu)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--start", type=int, default=2, help="items per feed at the start")
    parser.add_argument("--releases", type=int, default=30)
    parser.add_argument("--gap", type=float, default=6.0, help="seconds between new items")
    figures = run(parser.parse_args())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "watch.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
