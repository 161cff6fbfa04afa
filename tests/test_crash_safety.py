"""SIGKILL `newsrag ingest` at random points: a re-run must converge to the uninterrupted state."""

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from newsrag.settings import load_settings
from tests.clirunner import NEWSRAG, run_cli
from tests.conftest import REPO, rtqa_records
from tests.test_pipeline import assert_consistent, store_state

pytestmark = pytest.mark.slow
SLOW_FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:SlowFakeEmbedder"}


def _settings(data: Path):  # type: ignore[no-untyped-def]
    return load_settings(REPO / "config.toml",
                         env={"NEWSRAG_DATA_DIR": str(data), **SLOW_FAKE})


def _kill_after(seconds: float, corpus: Path, data: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **SLOW_FAKE})
    process = subprocess.Popen(
        [str(NEWSRAG), "--config", str(REPO / "config.toml"), "ingest", "-q", str(corpus)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_sigkill_mid_ingest_then_rerun_converges(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    records = rtqa_records(40)
    reference, data = tmp_path / "reference", tmp_path / "killed"
    rng = random.Random(7)
    interrupted = 0
    for round_number in range(6):
        # Each round changes every title, so every article is re-embedded and replaced.
        corpus.write_text("\n".join(json.dumps({**r, "title": f"{r['title']} #{round_number}"})
                                    for r in records))
        done = run_cli("ingest", "-q", str(corpus), data_dir=reference, env=SLOW_FAKE)
        assert done.returncode == 0, done.stderr
        expected = store_state(_settings(reference))
        assert len(expected[0]) == 40

        _kill_after(rng.uniform(1.0, 4.0), corpus, data)
        interrupted += _was_interrupted(data, round_number)
        rerun = run_cli("ingest", "-q", str(corpus), data_dir=data, env=SLOW_FAKE)
        assert rerun.returncode == 0, rerun.stderr
        assert_consistent(_settings(data))
        assert store_state(_settings(data)) == expected
    assert interrupted >= 3, "kills should land mid-ingest; tune the timing"


def _was_interrupted(data: Path, round_number: int) -> bool:
    """True when the killed run left work undone (read without running recovery)."""
    from ingest.catalog import Catalog

    catalog = Catalog(data / "catalog.sqlite3")
    titles = [r.article.title for r in catalog.list_articles()]
    finished = len(titles) == 40 and all(t.endswith(f"#{round_number}") for t in titles)
    return not finished or bool(catalog.leftover_chunk_sets())
