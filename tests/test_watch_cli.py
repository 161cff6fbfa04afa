"""`newsrag watch` as a user runs it: a real subprocess polling a real HTTP server on
127.0.0.1; `newsrag search` finds a new item; --status; a second watcher refused; SIGTERM
stops it cleanly; SIGKILL in every phase of a poll loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsrag.crashpoints import PAUSE_ENV, TRACE_ENV
from newsrag.settings import Settings, load_settings
from tests.clirunner import NEWSRAG, run_cli
from tests.conftest import REPO, rtqa_records
from tests.feedserver import FeedServer, feed_server, rss
from tests.processes import stop
from tests.reliability import Figures
from tests.test_pipeline import assert_consistent_view, full_state

FIGURES = Figures("watch: kills mid-poll", lost=0, duplicated=0)
LOOPBACK = {"NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true", "NEWSRAG_WATCH__DELAY_PER_HOST_S": "0"}
FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
RECORDS = rtqa_records(8)


def item(n: int) -> dict[str, str]:
    return {"guid": f"guid-{n}", "title": RECORDS[n]["title"], "text": RECORDS[n]["text"]}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


def start_watch(data: Path, *args: str, env: dict[str, str] | None = None,
                log: Path | None = None) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    environment.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **LOOPBACK,
                        **(env or {})})
    output = (log or data.parent / "watch.log").open("wb")
    return subprocess.Popen([str(NEWSRAG), "--config", str(REPO / "config.toml"), "watch",
                             *args], env=environment, cwd=REPO, stdout=output,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def status(data: Path, fake: bool = True) -> list[dict[str, object]]:
    done = run_cli("watch", "--status", "--json", data_dir=data, fake=fake)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def wait_for(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what} after {timeout_s:g} s")


@pytest.mark.slow
def test_a_new_item_becomes_searchable_and_sigterm_stops_the_watcher(
        server: FeedServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = server.put("/feed.xml", rss([item(0)]))
    watcher = start_watch(data, url, "--every", "10s")
    try:
        wait_for(lambda: (data / "watch.sqlite3").exists() and any(
            s["last_poll"] for s in status(data, fake=False)), 120, "the first poll")
        refused = run_cli("watch", url, "--once", data_dir=data, env=LOOPBACK)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1 and "already watching" in refused.stderr

        server.put("/feed.xml", rss([item(1), item(0)]))
        title = RECORDS[1]["title"]

        def found() -> bool:
            done = run_cli("search", title, "--json", data_dir=data, fake=False)
            return done.returncode == 0 and any(h["title"] == title
                                                for h in json.loads(done.stdout or "[]"))

        # Bounded, not timed: the figure (interval + seconds) is measured by bench/watch.py.
        wait_for(found, 120, "the new item in `newsrag search`")
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=60) == 0
    finally:
        stop(watcher)
    (state,) = status(data, fake=False)
    assert state["source"] == url and state["new_articles"] == 2 and state["failures"] == 0
    text = run_cli("watch", "--status", data_dir=data)
    assert url in text.stdout and "1 source(s) watched" in text.stdout


def test_status_lists_failures_and_nothing_to_watch_is_one_line(
        server: FeedServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = server.put("/feed.xml", rss([item(2)]))
    bad = server.base + "/missing.xml"
    done = run_cli("watch", good, bad, "--once", data_dir=data, env=LOOPBACK)
    assert done.returncode == 0, done.stderr
    assert "ok: 1 new" in done.stdout and "HTTP 404" in done.stdout
    states = {s["source"]: s for s in status(data)}
    assert states[good]["last_status"] == "ok: 1 new, 0 updated"
    assert states[bad]["failures"] == 1 and "HTTP 404" in str(states[bad]["last_error"])
    empty = run_cli("watch", data_dir=tmp_path / "other")
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1
    assert "nothing to watch" in empty.stderr
    bad_interval = run_cli("watch", good, "--every", "soon", data_dir=data)
    assert bad_interval.returncode == 1 and "not a duration" in bad_interval.stderr


def _settings(data: Path) -> Settings:
    return load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(data), **FAKE})


@pytest.mark.slow
@pytest.mark.parametrize("point", ["watch.fetched:1", "parse:3", "embed:1", "store.add:1",
                                   "catalog.commit:1", "snapshot.publish:1", "watch.record:1"])
def test_a_kill_mid_poll_loses_nothing_and_the_next_poll_converges(
        server: FeedServer, tmp_path: Path, point: str) -> None:
    url = server.put("/feed.xml", rss([item(n) for n in range(3, 8)]))
    reference = tmp_path / "reference"
    assert run_cli("watch", url, "--once", data_dir=reference, env=LOOPBACK).returncode == 0

    data, trace = tmp_path / "data", tmp_path / "trace"
    killed = start_watch(data, url, "--once", env={**FAKE, TRACE_ENV: str(trace),
                                                   PAUSE_ENV: point})
    try:
        wait_for(lambda: trace.exists() and point in trace.read_text().split(), 120,
                 f"crash point {point}")
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        stop(killed)
    assert_consistent_view(_settings(data))
    again = run_cli("watch", url, "--once", data_dir=data, env=LOOPBACK)
    assert again.returncode == 0, again.stderr
    assert full_state(_settings(data)) == full_state(_settings(reference))
    ids = [s for s in status(data)]
    assert len(ids) == 1 and ids[0]["failures"] == 0
    FIGURES["kills converged"] = FIGURES.get("kills converged", 0) + 1
