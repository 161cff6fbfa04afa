"""Stories across outlets: copies and rewrites of one story share a story id at ingest, the
context counts a story once, and search/list --json show it. Real RealTime QA text, real
Chroma and datasketch; the embedder is the fake one (a hashed bag of words)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ingest.clean import date_ordinal
from ingest.index import open_index
from ingest.pipeline import ingest
from ingest.stories import StoryIndex, signature, story_ids
from newsrag.settings import Settings
from rag.search import SearchOptions, retrieve
from rag.services import build_services
from tests.clirunner import run_cli
from tests.conftest import rtqa_records


def _record(r: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"id": r["doc_id"], "title": r["title"], "text": r["text"], "url": r["url"],
            "published": r["publish_date"].replace("/", "-"), **changes}


def _rewritten(text: str) -> str:
    """Another outlet's version: the same paragraphs, in reverse order."""
    return "\n\n".join(reversed([p for p in text.split("\n\n") if p.strip()]))


def _library(tmp_path: Path) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    records = rtqa_records(12)
    original = records[0]  # Netflix green-lights "Squid Game" season 2 (CNN)
    copy = _record(original, id="squid-game-wire", url="https://wire.example.com/squid-game",
                   title="Netflix confirms second season of Squid Game",
                   text=_rewritten(original["text"]))
    rows = [_record(r) for r in records] + [copy]
    feed = tmp_path / "news.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return feed, copy, rows


def test_copies_share_a_story_and_the_context_counts_it_once(
        settings: Settings, tmp_path: Path) -> None:
    feed, copy, rows = _library(tmp_path)
    index = open_index(settings)
    ingest([str(feed)], settings, index)
    stories = story_ids(index.catalog, [r["id"] for r in rows])
    original = rows[0]["id"]
    assert stories[copy["id"]] == stories[original] == original  # the first one names it
    assert len({stories[r["id"]] for r in rows[1:-1]} | {original}) == len(rows) - 1

    services = build_services(settings, index)
    question = "Is Squid Game coming back for a second season on Netflix?"
    context = retrieve(question, services, SearchOptions(k=4))
    carried = [h for h in context if h.story_id == original]
    assert carried and {h.article_id for h in carried} != {original, copy["id"]}
    assert all(h.story_outlets == 2 for h in carried)  # cnn.com and wire.example.com
    # With room to spare the other outlet's article still comes (deferred, not dropped).
    wide = retrieve(question, services, SearchOptions(k=30))
    assert {original, copy["id"]} <= {h.article_id for h in wide}

    # The rule is what keeps it out: without story rows, the copy enters the small context.
    with index.catalog.transaction() as db:
        db.execute("DELETE FROM stories")
    assert copy["id"] in {h.article_id for h in retrieve(question, services, SearchOptions(k=4))}


def test_a_changed_article_is_matched_again_and_a_deleted_one_leaves_its_story(
        settings: Settings, tmp_path: Path) -> None:
    feed, copy, rows = _library(tmp_path)
    index = open_index(settings)
    ingest([str(feed)], settings, index)
    # The copy is corrected into a different story altogether.
    rows[-1] = {**copy, "text": rtqa_records(20)[15]["text"]}
    feed.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert ingest([str(feed)], settings, index).updated == [copy["id"]]
    assert story_ids(index.catalog, [copy["id"]])[copy["id"]] == copy["id"]
    with index.writing():
        index.remove([rows[0]["id"]])
    assert story_ids(index.catalog, [rows[0]["id"]]) == {rows[0]["id"]: rows[0]["id"]}


def test_search_and_list_json_show_story_ids(tmp_path: Path) -> None:
    feed, copy, rows = _library(tmp_path)
    data = tmp_path / "data"
    assert run_cli("ingest", "-q", str(feed), data_dir=data).returncode == 0
    listed = {a["id"]: a["story_id"] for a in json.loads(
        run_cli("list", "--json", data_dir=data).stdout)}
    assert listed[copy["id"]] == listed[rows[0]["id"]] == rows[0]["id"]
    hits = json.loads(run_cli("search", "Squid Game season 2", "--json", data_dir=data).stdout)
    assert hits[0]["story_id"] == rows[0]["id"] and hits[0]["story_outlets"] == 2
    # An answer citing the story says how many outlets carry it.
    question = "Which show did Netflix green light for a second season?"
    answer = json.loads(run_cli("ask", question, "--json", data_dir=data).stdout)
    cited = [c for c in answer["citations"] if c["article_id"] in (rows[0]["id"], copy["id"])]
    assert cited and all(c["story_outlets"] == 2 for c in cited)
    shown = run_cli("ask", question, data_dir=data).stdout
    assert "the story is carried by 2 outlets" in shown


def test_matching_rules_on_real_text() -> None:
    records = rtqa_records(30)
    base, other = records[0], records[5]
    day = date_ordinal(base["publish_date"].replace("/", "-"))
    vector = np.eye(4, dtype=np.float32)[0]
    known = StoryIndex()
    known.add("original", "original", day, signature(base["text"]), vector)
    near = signature(base["text"].replace("Netflix", "The streamer", 1))
    assert known.match("copy", day, near, vector).story_id == "original"
    assert known.match("copy", day + 2, near, vector).story_id == "original"
    # Near-equal text with unlike vectors (shared boilerplate) is not a copy...
    unlike = np.eye(4, dtype=np.float32)[1]
    assert known.match("page", day, near, unlike).story_id == "page"
    # ...nor is a near copy a month later, nor an unrelated article on the same day.
    assert known.match("copy", day + 30, near, vector).story_id == "copy"
    assert known.match("other", day, signature(other["text"]), vector).story_id == "other"
    # A rewrite (some shared phrasing, close vectors) joins only on the same day.
    rewrite = signature(_rewritten(base["text"]) + " " + " ".join(other["text"].split()[:500]))
    assert 0.12 <= float((rewrite == known.signatures[0]).mean()) < 0.5
    assert known.match("rewrite", day, rewrite, vector).story_id == "original"
    assert known.match("rewrite", day + 1, rewrite, vector).story_id == "rewrite"
