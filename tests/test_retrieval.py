"""Hybrid retrieval: the BM25 index kept in step with the store (real Chroma, real bm25s),
fusion arithmetic, diversity, and date filters. The embedder is the fake one."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from ingest.lexical import LexicalIndex, tokenize
from ingest.pipeline import ingest
from newsrag.settings import Settings
from rag.dates import resolve_dates
from rag.fusion import FusionWeights, Ranks, diversify, freshness, fused_score, reciprocal_rank
from rag.search import SearchOptions, make_filters, retrieve, search
from rag.services import Services, build_services
from tests.test_chain import ARTICLES, ingest_articles


def write_feed(folder: Path, records: list[dict[str, str]]) -> Path:
    feed = folder / "news.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    return feed


def bm25_articles(services: Services, query: str) -> list[str]:
    return [a for a, _, _ in services.index.lexical.search(query, 10).articles]


def bm25_chunk_articles(services: Services, query: str) -> set[str]:
    return {a for _, a, _ in services.index.lexical.search(query, 50).chunks}


def test_the_bm25_index_follows_add_replace_delete_and_prune(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    index = services.index
    assert bm25_articles(services, "harbour bridge")[0] == "bridge"
    generation = index.catalog.generation()

    # Replace: the bridge article now talks about a tunnel instead.
    records = [dict(a) for a in ARTICLES]
    records[1]["text"] = "The harbour tunnel opened to traffic on Friday after repairs."
    feed = write_feed(tmp_path, records)
    assert ingest([str(feed)], services.settings, index).updated == ["bridge"]
    assert index.catalog.generation() > generation
    assert "bridge" in bm25_chunk_articles(services, "tunnel")
    assert "bridge" not in bm25_chunk_articles(services, "commuters")

    # Delete.
    with index.writing():
        index.remove(["budget"])
    assert "budget" not in bm25_articles(services, "teachers classrooms schools")

    # Prune: a record vanishes from the feed.
    write_feed(tmp_path, [r for r in records if r["id"] not in ("budget", "flood-barrier")])
    report = ingest([str(feed)], services.settings, index, prune=True)
    assert report.deleted == ["flood-barrier"]
    assert "flood-barrier" not in bm25_chunk_articles(services, "barrier engineers")
    live = {r.article.id for r in index.catalog.list_articles()}
    snapshot = index.lexical.current()
    assert set(snapshot.article_ids) == live == {"bridge", "flood-gamma", "flood-delta"}
    assert len(snapshot.chunk_ids) == index.catalog.stats()["chunks"]


def test_a_fresh_process_loads_the_snapshot_and_rebuilds_a_stale_one(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    index = services.index
    folders = sorted(p.name for p in (tmp_path / "data" / "lexical").iterdir() if p.is_dir())
    assert len(folders) == 1  # written by ingest, before it released the lock
    reader = LexicalIndex(index.data_dir, index.catalog, index.store)
    assert reader.current().generation == index.catalog.generation()
    assert sorted(p.name for p in reader.root.iterdir() if p.is_dir()) == folders  # loaded

    # A write that never refreshed (a crash before the end of a run) leaves it stale.
    with index.catalog.transaction() as db:
        index.catalog._bump_generation(db)
    assert next(a for a, _, _ in reader.search("harbour bridge", 5).articles) == "bridge"
    rebuilt = sorted(p.name for p in reader.root.iterdir() if p.is_dir())
    assert len(rebuilt) == 2 and rebuilt[0] == folders[0]  # brought up to date by a delta
    assert reader.current().generation == index.catalog.generation()


def test_an_empty_store_searches_to_nothing(make_settings: Callable[..., Settings]) -> None:

    services = build_services(make_settings(NEWSRAG_EMBEDDING__BACKEND="tests.fakes:FakeEmbedder"))
    assert services.index.lexical.search("anything at all", 10).chunks == []
    assert retrieve("anything", services) == []


def test_tokens_are_stemmed_lower_case_words_without_stop_words() -> None:
    assert tokenize("The Senators VOTED on 3 bills in 2022; what's next?") == [
        "senat", "vote", "3", "bill", "2022", "next"]
    assert tokenize("Ukraine's grain: 20 million tonnes") == ["ukrain", "grain", "20", "million",
                                                              "tonn"]


def test_fusion_arithmetic() -> None:
    assert reciprocal_rank(None, 60) == 0.0
    assert reciprocal_rank(1, 60) == pytest.approx(1 / 61)
    weights = FusionWeights(dense=2.0, bm25=0.5, article=1.0, recency=0.1)
    score = fused_score(Ranks(dense=3, bm25=None, article=1), weights, rrf_k=10, freshness=0.5)
    assert score == pytest.approx(2 / 13 + 1 / 11 + 0.05)
    # A chunk first in both rankings beats one first in only one of them.
    both = fused_score(Ranks(1, 1, None), FusionWeights(1, 1, 0), 60)
    one = fused_score(Ranks(1, None, None), FusionWeights(1, 1, 0), 60)
    assert both == pytest.approx(2 * one)
    assert freshness(738_000, 738_007, 7.0) == pytest.approx(0.5)
    assert freshness(738_000, 738_000, 7.0) == 1.0
    assert freshness(738_001, 738_000, 7.0) == 1.0  # a day after: a time zone, not older
    assert freshness(738_010, 738_000, 7.0) == 0.0  # later still: a future date, never boosted
    assert freshness(None, 738_000, 7.0) == 0.0


def test_diversify_caps_articles_and_defers_duplicates() -> None:
    ranked = ["a1", "a2", "a3", "a4", "b1", "c1", "d1"]
    article = lambda item: item[0]  # noqa: E731
    assert diversify(ranked, 4, article, per_article=2) == ["a1", "a2", "b1", "c1"]
    copies = lambda x, y: {x[0], y[0]} == {"a", "b"}  # noqa: E731  b republishes a
    assert diversify(ranked, 4, article, 2, copies) == ["a1", "a2", "c1", "d1"]
    # Held-back items fill slots only when nothing else is left: duplicates, then overflow.
    assert diversify(ranked, 7, article, 2, copies) == ["a1", "a2", "c1", "d1", "b1", "a3",
                                                        "a4"]
    assert diversify([], 3, article, 2) == []


def test_hits_explain_their_ranks(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    result = search("harbour bridge repairs", services, SearchOptions(k=3))
    top = result.hits[0]
    assert top.article_id == "bridge" == result.articles[0]
    assert top.bm25_rank == 1 and top.article_rank == 1 and top.dense_rank is not None
    assert top.similarity is not None and 0 < top.similarity <= 1
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:], strict=False))
    # BM25 alone still finds a chunk the dense ranking would not have offered.
    bm25 = services.settings.retrieval.model_copy(update={"mode": "bm25"})
    lexical = Services(services.settings.model_copy(update={"retrieval": bm25}), services.index)
    (hit,) = retrieve("harbour", lexical, SearchOptions(k=1))
    assert hit.article_id == "bridge" and hit.dense_rank is None and hit.similarity is not None


def test_date_filters_apply_to_both_rankings(tmp_path: Path) -> None:
    services = ingest_articles(tmp_path)
    budget_words = "council budget schools teachers"
    until = make_filters(until=date(2025, 3, 5))
    assert {h.article_id for h in retrieve(budget_words, services, SearchOptions(k=10, filters=until))} == {
        "budget"}
    since = make_filters(since=date(2025, 3, 11))
    assert "budget" not in {h.article_id for h in retrieve(budget_words, services, SearchOptions(filters=since))}
    for mode in ("bm25", "dense"):
        tuned = services.settings.retrieval.model_copy(update={"mode": mode})
        only = Services(services.settings.model_copy(update={"retrieval": tuned}), services.index)
        assert {h.article_id for h in retrieve(budget_words, only, SearchOptions(filters=until))} == {"budget"}


def test_a_reference_date_hides_later_articles_and_resolves_relative_dates(
        tmp_path: Path) -> None:
    services = ingest_articles(tmp_path, NEWSRAG_RETRIEVAL__RESOLVE_DATES="true")
    question = "What did the council decide about the budget?"
    asked_early = {h.article_id for h in retrieve(question, services, SearchOptions(reference=date(2025, 3, 2)))}
    assert asked_early == {"budget"}  # everything else was published later
    # "this week" on 2025-03-21 covers 03-15..03-21 (plus a day of slack): only the bridge.
    this_week = search("What reopened this week after the budget debate?", services, SearchOptions(reference=date(2025, 3, 21)))
    assert this_week.window is not None and this_week.window.phrase == "this week"
    assert {h.article_id for h in this_week.hits} == {"bridge"}
    # Nothing published in the window (asked a year later): the phrase is just words again.
    late = search("What reopened this week after the budget debate?", services, SearchOptions(reference=date(2026, 3, 21)))
    assert late.window is None and "bridge" in {h.article_id for h in late.hits}
    # Without resolve_dates the phrase is just words.
    (tmp_path / "plain").mkdir()
    plain = ingest_articles(tmp_path / "plain", NEWSRAG_RETRIEVAL__RESOLVE_DATES="false")
    assert len({h.article_id for h in retrieve("What reopened this week?", plain, SearchOptions(reference=date(2025, 3, 21)))}) > 1


@pytest.mark.parametrize(("question", "since", "until"), [
    ("What happened today?", date(2022, 6, 16), date(2022, 6, 16)),
    ("Who resigned yesterday?", date(2022, 6, 15), date(2022, 6, 15)),
    ("What did the Senate pass this week?", date(2022, 6, 10), date(2022, 6, 16)),
    ("What happened last week in Kyiv?", date(2022, 6, 9), date(2022, 6, 16)),
    ("Who won the vote last Tuesday?", date(2022, 6, 14), date(2022, 6, 14)),
    # Asked on a Thursday, "Thursday" is today or a week ago: both, and the days between.
    ("What happened on Thursday?", date(2022, 6, 9), date(2022, 6, 16)),
    ("Who was missing early Thursday?", date(2022, 6, 9), date(2022, 6, 16)),
    ("What happened on Tuesday?", date(2022, 6, 14), date(2022, 6, 14)),
    ("What has changed since Monday?", date(2022, 6, 13), date(2022, 6, 16)),
    ("News from the past 3 days", date(2022, 6, 13), date(2022, 6, 16)),
    ("Which storms hit this past weekend?", date(2022, 6, 11), date(2022, 6, 12)),
    ("What did the Fed do this month?", date(2022, 6, 1), date(2022, 6, 16)),
])
def test_relative_dates_resolve_against_the_reference(question: str, since: date,
                                                      until: date) -> None:
    window = resolve_dates(question, date(2022, 6, 16))  # a Thursday
    assert window is not None and (window.since, window.until) == (since, until)


def test_questions_without_relative_dates_get_no_window() -> None:
    for question in ("Who won the 2022 World Cup?", "What is the weekly jobless claims figure?",
                     "How did Monday.com shares move?"):
        assert resolve_dates(question, date(2022, 6, 16)) is None, question
    window = resolve_dates("What happened this week?", date(2022, 6, 16))
    assert window is not None
    wide = window.widened(2, date(2022, 6, 16))
    assert (wide.since, wide.until) == (date(2022, 6, 8), date(2022, 6, 16))


def test_search_explain_on_the_command_line(tmp_path: Path) -> None:
    from tests.clirunner import run_cli

    feed = write_feed(tmp_path, ARTICLES)
    data = tmp_path / "data"
    assert run_cli("ingest", "-q", str(feed), data_dir=data).returncode == 0
    explained = run_cli("search", "--explain", "harbour bridge repairs", "--k", "2",
                        data_dir=data)
    assert explained.returncode == 0, explained.stderr
    first = explained.stdout.split("\n2. ")[0]
    assert first.startswith("1. [") and "Harbour bridge reopens" in first
    assert "ranks: dense #" in first and "BM25 #1 · article BM25 #1" in first
    assert "fused 0.1667" in first  # 0.5/21 + 1/21 + 2/21 (recency ~0: 2025 vs today)
    dated = run_cli("search", "--explain", "--as-of", "2025-03-21", "reopened this week",
                    data_dir=data, env={"NEWSRAG_RETRIEVAL__RESOLVE_DATES": "true"})
    assert dated.returncode == 0, dated.stderr
    assert '"this week" → published 2025-03-14 .. 2025-03-21' in dated.stdout
    assert "Harbour bridge reopens" in dated.stdout and "Council approves" not in dated.stdout
    bad = run_cli("search", "--as-of", "21/03/2025", "x", data_dir=data)
    assert bad.returncode == 2 and "--as-of" in bad.stderr
