"""Hundreds of malformed and hostile files in one `newsrag ingest` batch beside good articles.

The real CLI runs once over the folder (fake embedder: the parse side is under test): it must
not crash, store every good article and every sanitised one (equal to its clean twin), store
nothing from a bad file, report each bad file or record with a reason matching what
tests/hostile_files.py expects, never read the local secret that feeds point at, and stay
within a memory bound.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from ingest.catalog import Catalog
from ingest.models import Article
from tests.clirunner import run_cli
from tests.hostile_files import Corpus, Expected, generate
from tests.reliability import record

pytestmark = pytest.mark.slow

# Runs the CLI and reports the peak RSS of its process tree (the CLI is its only child).
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
# What no stored field may hold: C0/C1 controls but \t and \n, bidi controls, BOM, ESC.
HOSTILE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
# After the file name: a record's line (:3), index (#3) or id ([id]), then the reason.
SKIP_TAIL = re.compile(r"(?::\d+|#\d+| \[[^\]]*\])?: (?P<reason>.*)$")
# Peak RSS allowed. Measured 549 MB (was 1,160 MB before the fixes): 160 MB is the CLI with
# Chroma loaded; one 50 MB file adds up to ~180 MB while parsed (its text, a JSON value or a
# normalised copy, and the content hash of the refused article alive at once), and the
# allocator keeps some of each such peak. Nothing grows with the number of files.
PEAK_RSS_MB = 800


def _skips(stdout: str, corpus: Corpus) -> dict[str, list[str]]:
    """Reported skip reasons per generated file name."""
    prefix = f"  skipped {corpus.folder}/"
    names = sorted((f.name for f in corpus.files), key=len, reverse=True)
    found: dict[str, list[str]] = defaultdict(list)
    for line in stdout.splitlines():
        if not line.startswith("  skipped "):
            continue
        assert line.startswith(prefix), f"a skip outside the corpus: {line}"
        rest = line[len(prefix):]
        for name in names:
            tail = SKIP_TAIL.match(rest[len(name):]) if rest.startswith(name) else None
            if tail:
                found[name].append(tail.group("reason"))
                break
        else:
            raise AssertionError(f"a skip of no generated file: {line}")
    return found


def _matches(patterns: list[str], reasons: list[str]) -> bool:
    """Whether each reason matches a different pattern (a tiny bipartite matching)."""
    if len(patterns) != len(reasons):
        return False
    if not patterns:
        return True
    first, rest = patterns[0], patterns[1:]
    return any(re.search(first, reason) and _matches(rest, reasons[:i] + reasons[i + 1:])
               for i, reason in enumerate(reasons))


def _stored(data_dir: Path, corpus: Corpus) -> dict[str, list[Article]]:
    by_file: dict[str, list[Article]] = defaultdict(list)
    for stored in Catalog(data_dir / "catalog.sqlite3").list_articles():
        by_file[str(Path(stored.article.location).relative_to(corpus.folder))].append(
            stored.article)
    return by_file


def _fields(article: Article) -> list[str]:
    return [article.id, article.title, article.text, article.source, article.url,
            *article.authors]


def _check_file(expected: Expected, articles: list[Article], reasons: list[str],
                stored: dict[str, list[Article]]) -> list[str]:
    """Everything wrong with one file's outcome, as readable lines."""
    problems = []
    if len(articles) != expected.stored:
        problems.append(f"stored {len(articles)}, expected {expected.stored}")
    if not _matches(list(expected.refused), reasons):
        problems.append(f"reasons {reasons} do not match {list(expected.refused)}")
    if expected.twin and articles:
        twins = stored.get(expected.twin, [])
        if len(twins) != 1 or twins[0].text != articles[0].text:
            problems.append(f"text differs from its clean twin {expected.twin}")
    return [f"{expected.name} ({expected.category}): {p}" for p in problems]


def test_one_batch_of_hostile_files_stores_every_good_article(tmp_path: Path) -> None:
    corpus = generate(tmp_path / "corpus", tmp_path / "secret.txt")
    corpus.folder = corpus.folder.resolve()
    bad = [f for f in corpus.files if f.refused]
    assert len(bad) >= 500 and len(corpus.categories()) >= 30

    started = time.perf_counter()
    result = run_cli("ingest", "-q", "--verbose", str(corpus.folder), data_dir=tmp_path / "data",
                     prefix=(sys.executable, "-c", PEAK_RSS), timeout=600)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    peak_mb = int(re.search(r"peak-rss-kb (\d+)", result.stderr).group(1)) / 1024  # type: ignore[union-attr]

    stored = _stored(tmp_path / "data", corpus)
    skips = _skips(result.stdout, corpus)
    problems = [p for f in corpus.files
                for p in _check_file(f, stored.get(f.name, []), skips.get(f.name, []), stored)]
    assert not problems, f"{len(problems)} wrong outcomes:\n" + "\n".join(problems[:40])

    everything = [a for articles in stored.values() for a in articles]
    assert not [a.id for a in everything if any(HOSTILE.search(f) for f in _fields(a))]
    assert not any(corpus.secret in f for a in everything for f in _fields(a))
    assert corpus.secret not in result.stdout + result.stderr
    expected_stored = sum(f.stored for f in corpus.files)
    assert len(everything) == expected_stored
    assert result.stdout.startswith(f"added {expected_stored}, updated 0, unchanged 0, "
                                    f"skipped {sum(len(f.refused) for f in corpus.files)},")
    assert peak_mb < PEAK_RSS_MB, peak_mb
    record("malformed input", files=len(corpus.files), bad=len(bad),
           hostile_stored=sum(1 for f in corpus.files if f.stored and f.category != "good"),
           categories=len(corpus.categories()), good=sum(f.stored for f in corpus.files
                                                         if f.category == "good"),
           stored=len(everything), refused=sum(len(f.refused) for f in corpus.files), lost=0,
           peak_rss_mb=round(peak_mb), seconds=round(seconds, 1))
