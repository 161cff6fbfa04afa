"""SIGKILL real `newsrag ingest` and `newsrag delete` processes at seeded random points of
every phase; after each kill the store must be consistent as a new process sees it, and a
re-run must converge to exactly the state of an uninterrupted run.

Where a kill lands is steered by newsrag's crash points (newsrag/crashpoints.py): the process
appends each point it reaches to a trace file, and either sleeps at the chosen arrival
("pause": the kill lands exactly there) or runs on for a random few milliseconds ("delay":
the kill lands inside whatever follows, e.g. inside Chroma's upsert or a SQLite commit).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsrag.crashpoints import PAUSE_ENV, TRACE_ENV
from newsrag.settings import Settings, load_settings
from tests.clirunner import NEWSRAG
from tests.conftest import REPO, rtqa_records
from tests.reliability import record
from tests.test_pipeline import assert_consistent, assert_consistent_view, full_state

pytestmark = pytest.mark.slow
FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
# Crash point -> the phase a kill there interrupts.
PHASES = {
    "recover": "recovery", "recover.store": "recovery", "recover.catalog": "recovery",
    "parse": "parse", "embed": "embed",
    "catalog.pending": "store add", "store.add": "store add", "stories.assign": "store add",
    "catalog.commit": "catalog commit", "files.record": "catalog commit",
    "drop.store": "drop old chunks", "drop.catalog": "drop old chunks",
    "catalog.remove": "delete", "snapshot.build": "snapshot publish",
    "snapshot.write": "snapshot publish", "snapshot.publish": "snapshot publish",
    "snapshot.cleanup": "snapshot publish",
}
REQUIRED = {"parse", "embed", "store add", "catalog commit", "drop old chunks", "recovery",
            "delete", "snapshot publish"}


@dataclass(frozen=True)
class Round:
    """One command run uninterrupted on the reference store and killed on the other."""

    name: str
    args: tuple[str, ...]
    targets: tuple[str, ...]  # crash points aimed at, in turn


@dataclass(frozen=True)
class Kill:
    phase: str
    point: str
    mode: str


def _settings(data: Path) -> Settings:
    return load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(data), **FAKE})


def _environment(data: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **FAKE, **extra})
    return env


def _command(args: tuple[str, ...]) -> list[str]:
    return [str(NEWSRAG), "--config", str(REPO / "config.toml"), *args]


def _run(args: tuple[str, ...], data: Path, trace: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    extra = {TRACE_ENV: str(trace)} if trace else {}
    return subprocess.run(_command(args), env=_environment(data, extra), capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def _kill_at(args: tuple[str, ...], data: Path, trace: Path, point: str, pause: bool,
             delay: float) -> Kill | None:
    """Run the command and SIGKILL it at `point` ("name:n"); None if it finished first."""
    extra = {TRACE_ENV: str(trace), **({PAUSE_ENV: point} if pause else {})}
    process = subprocess.Popen(_command(args), env=_environment(data, extra), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if trace.exists() and f"{point}\n" in trace.read_text():
            if not pause:
                time.sleep(delay)
            break
        time.sleep(0.003)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.returncode != -signal.SIGKILL:
        return None
    last = trace.read_text().split()[-1].rsplit(":", 1)[0] if trace.exists() else "startup"
    landed = point.rsplit(":", 1)[0] if pause else last
    return Kill(PHASES.get(landed, landed), landed, "pause" if pause else "delay")


def _arrivals(trace: Path) -> Counter[str]:
    return Counter(line.rsplit(":", 1)[0] for line in trace.read_text().split())


def _write_corpus(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")


def _rounds(corpus: Path, deleted: list[str]) -> list[Round]:
    ingest = ("ingest", "-q", "--prune", str(corpus))
    return [
        # "!": stop exactly there (here, so that the next run has leftovers to recover).
        Round("first ingest", ingest, (
            "parse", "embed", "catalog.pending", "store.add!", "recover.store", "catalog.commit",
            "embed", "store.add", "files.record", "snapshot.build", "snapshot.write",
            "snapshot.publish", "snapshot.cleanup")),
        Round("re-ingest changing, adding and pruning", ingest, (
            "parse", "embed", "store.add", "catalog.commit", "drop.store", "drop.catalog",
            "catalog.remove", "recover.catalog", "snapshot.write", "snapshot.publish")),
        Round("delete", ("delete", *deleted), (
            "catalog.remove", "drop.store", "drop.catalog", "snapshot.publish")),
    ]


def _changed(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """Every other article edited, the first three gone, six new ones at the end."""
    edited = [{**r, "text": f"{r['text']}\nUpdate: officials confirmed the report on Friday."}
              if i % 2 else r for i, r in enumerate(records[:20])]
    return edited[3:] + records[22:28]


def _replace(target: Path, source: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, target)


class Killer:
    """Kills one round's command at each of its targets in turn, checking after each kill."""

    def __init__(self, tmp: Path, data: Path, rng: random.Random, queries: list[str]) -> None:
        self.tmp, self.data, self.rng, self.queries = tmp, data, rng, queries
        self.kills: list[Kill] = []
        self.covered: set[str] = set()  # phases a paused kill landed in: certain, not timed
        self.orphans = 0
        self.attempts = 0

    def run_round(self, round_: Round, arrivals: Counter[str]) -> None:
        for aim in round_.targets:
            target = aim.rstrip("!")
            # A random arrival, and a random mode once a paused kill covered the phase; if
            # the command finishes first (an earlier kill already did that work), undo that
            # run and stop at the first arrival instead.
            pause = (aim.endswith("!") or PHASES[target] not in self.covered
                     or self.rng.random() < 0.5)
            point = f"{target}:{self.rng.randint(1, max(1, arrivals[target]))}"
            kill = self._attempt(round_, point, pause)
            if kill is None and not point.endswith(":1"):
                kill = self._attempt(round_, f"{target}:1", True)
            if kill is not None:
                self.kills.append(kill)
                if kill.mode == "pause":
                    self.covered.add(kill.phase)
                self._check(round_, kill)

    def _attempt(self, round_: Round, point: str, pause: bool) -> Kill | None:
        before = self.tmp / "before-attempt"
        _replace(before, self.data)
        self.attempts += 1
        trace = self.tmp / f"kill-{self.attempts}.trace"
        kill = _kill_at(round_.args, self.data, trace, point, pause, self.rng.uniform(0, 0.1))
        if kill is None:
            _replace(self.data, before)
        return kill

    def _check(self, round_: Round, kill: Kill) -> None:
        view = self.tmp / "view"
        _replace(view, self.data)  # checked as a new process would see it, on a copy
        try:
            self.orphans += assert_consistent_view(_settings(view), self.queries)
        except AssertionError as exc:
            raise AssertionError(f"after {kill} in round {round_.name!r}: {exc}") from exc


def test_sigkill_at_random_points_keeps_the_store_consistent_and_converges(
        tmp_path: Path) -> None:
    started = time.perf_counter()
    records = rtqa_records(28)
    corpus = tmp_path / "corpus.jsonl"
    reference, data = tmp_path / "reference", tmp_path / "killed"
    queries = [str(r["title"]) for r in records[:28:3]] + ["officials confirmed the report"]
    deleted = [str(r["doc_id"]) for r in records[5:11]]
    killer = Killer(tmp_path, data, random.Random(20240608), queries)
    for number, round_ in enumerate(_rounds(corpus, deleted)):
        if number < 2:
            _write_corpus(corpus, records[:20] if number == 0 else _changed(records))
        trace = tmp_path / f"reference-{number}.trace"
        done = _run(round_.args, reference, trace)
        assert done.returncode == 0, done.stderr
        expected = full_state(_settings(reference))
        killer.run_round(round_, _arrivals(trace))
        rerun = _run(round_.args, data)
        assert rerun.returncode == 0 or "no article with id" in rerun.stderr, rerun.stderr
        assert_consistent(_settings(data))
        assert full_state(_settings(data)) == expected, f"{round_.name!r} did not converge"

    phases = Counter(k.phase for k in killer.kills)
    assert len(killer.kills) >= 20 and killer.covered >= REQUIRED, phases
    record("crash safety", kills=len(killer.kills), attempts=killer.attempts,
           phases=dict(sorted(phases.items())),
           modes=dict(Counter(k.mode for k in killer.kills)), orphans_tracked=killer.orphans,
           inconsistent=0, lost=0, seconds=round(time.perf_counter() - started, 1))
