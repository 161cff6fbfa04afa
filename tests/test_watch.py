"""The watcher against a real HTTP server on 127.0.0.1 that the tests change between polls:
conditional GETs, teasers, corrections, duplicates, broken and hostile feeds, backoff,
politeness, URL lists and folders; real Chroma and the real packaged embedder."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest import fetch
from ingest.embed import Embedder, make_embedder
from ingest.index import open_index
from ingest.watch import Watcher, WatcherBusyError, watch_lock
from newsrag.settings import IngestSettings, Settings, load_settings
from tests.conftest import REPO, rtqa_records
from tests.feedserver import FeedServer, feed_server, page, rss
from tests.reliability import Figures

FIGURES = Figures("watch: hostile feeds", lost=0, duplicated=0)
RECORDS = rtqa_records(12)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return make_embedder(load_settings(REPO / "config.toml", env={}).embedding)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        yield running


@pytest.fixture
def watch_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**env: Any) -> Settings:
        values = {"NEWSRAG_DATA_DIR": str(tmp_path / "data"),
                  "NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true",
                  "NEWSRAG_INGEST__URL_TIMEOUT_S": "2", "NEWSRAG_WATCH__DELAY_PER_HOST_S": "0"}
        values.update({k: str(v) for k, v in env.items()})
        return load_settings(REPO / "config.toml", env=values)

    return build


def make_watcher(settings: Settings, embedder: Embedder, sources: list[str],
                 every: float = 10.0) -> Watcher:
    return Watcher(settings, [(s, every) for s in sources], open_index(settings, embedder))


def item(n: int, text: str | None = None, **extra: str) -> dict[str, str]:
    record = RECORDS[n]
    return {"guid": f"guid-{n}", "title": record["title"], "text": text or record["text"],
            **extra}


def stored(watcher: Watcher) -> dict[str, str]:
    return {r.article.id: r.article.text for r in watcher.index.catalog.list_articles()}


def test_new_entries_are_stored_then_a_304_costs_nothing(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", rss([item(0), item(1)]))
    watcher = make_watcher(watch_settings(), embedder, [url])
    (first,) = watcher.poll(force=True)
    assert (first.added, first.updated, first.state.kind) == (2, 0, "feed")
    (second,) = watcher.poll(force=True)
    assert second.state.last_status == "not modified" and second.added == 0
    hits = [h for h in server.hits if h.path == "/feed.xml"]
    assert [h.status for h in hits] == [200, 304] and hits[1].conditional
    assert all(h.user_agent.startswith("newsrag-watch/") for h in server.hits)
    assert len(stored(watcher)) == 2


def test_fetch_sends_validators_and_reads_a_304(server: FeedServer) -> None:
    settings = IngestSettings(allow_private_urls=True, url_timeout_s=2)
    url = server.put("/feed.xml", rss([item(0)]))
    first = fetch.fetch_url(url, settings)
    assert first.etag and first.last_modified and not first.not_modified
    by_etag = fetch.fetch_url(url, settings, etag=first.etag)
    by_date = fetch.fetch_url(url, settings, last_modified=first.last_modified)
    assert by_etag.not_modified and by_date.not_modified and by_etag.body == b""
    server.put("/feed.xml", rss([item(1)]))
    changed = fetch.fetch_url(url, settings, etag=first.etag)
    assert not changed.not_modified and changed.etag != first.etag and b"guid-1" in changed.body
    assert [h.status for h in server.hits] == [200, 304, 304, 200]


def test_a_new_item_is_found_by_search(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    from rag.search import SearchOptions, retrieve
    from rag.services import build_services

    url = server.put("/feed.xml", rss([item(0)]))
    settings = watch_settings()
    watcher = make_watcher(settings, embedder, [url])
    watcher.poll(force=True)
    server.put("/feed.xml", rss([item(2), item(0)]))
    (result,) = watcher.poll(force=True)
    assert result.added == 1
    services = build_services(settings)
    hits = retrieve(RECORDS[2]["title"], services, SearchOptions(k=3))
    assert hits and hits[0].title == RECORDS[2]["title"]


def test_a_teaser_is_replaced_by_its_page_and_a_dead_link_keeps_the_teaser(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    full = RECORDS[3]["text"]
    server.put("/story-3", page(RECORDS[3]["title"], full.split("\n\n")), content_type="text/html")
    teasers = [item(3, full[:200], link=server.base + "/story-3"),
               item(4, RECORDS[4]["text"][:200], link=server.base + "/gone")]
    url = server.put("/feed.xml", rss(teasers))
    watcher = make_watcher(watch_settings(), embedder, [url])
    watcher.poll(force=True)
    texts = sorted(stored(watcher).values(), key=len)
    assert len(texts) == 2
    assert texts[0].startswith(RECORDS[4]["text"][:100].strip()[:60])  # kept the teaser
    assert len(texts[1]) > 3 * 200 and full.split("\n\n")[-1].strip()[:40] in texts[1]
    FIGURES["teasers replaced by their page"] = 1


def test_a_changed_text_under_one_guid_replaces_the_article(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", rss([item(5)]))
    watcher = make_watcher(watch_settings(), embedder, [url])
    watcher.poll(force=True)
    (old_id,) = stored(watcher)
    corrected = RECORDS[5]["text"] + "\n\nCorrection: an earlier version misnamed the city."
    server.put("/feed.xml", rss([item(5, corrected, title="Corrected: " + RECORDS[5]["title"])]))
    (result,) = watcher.poll(force=True)
    assert (result.added, result.updated) == (0, 1)
    assert stored(watcher) == {old_id: corrected.strip()}
    assert result.state.updated_articles == 1


def test_duplicate_guids_are_stored_once(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", rss([item(6), item(6), {**item(7), "guid": "guid-6"}]))
    watcher = make_watcher(watch_settings(), embedder, [url])
    (result,) = watcher.poll(force=True)
    assert result.added == 1 and len(stored(watcher)) == 1


@pytest.mark.parametrize(("route", "options", "error"), [
    ("<rss><channel>\x00 &&& <<<", {}, "not a readable feed|feed has no entries"),
    ("x" * 300_000, {"content_type": "application/rss+xml"}, "larger than ingest.url_max_mb"),
    (rss([item(0)]), {"trickle_s": 0.05}, "timed out"),
    ("", {"status": 500}, "HTTP 500"),
    ("", {"status": 302, "location": "http://10.1.2.3/feed.xml"}, "private or local address"),
])
def test_hostile_feeds_fail_with_a_reason_and_back_off(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder,
        monkeypatch: pytest.MonkeyPatch, route: str, options: dict[str, Any], error: str) -> None:
    # Addresses are checked for real: loopback passes (the test server), 10/8 does not.
    public = fetch.is_public
    monkeypatch.setattr(fetch, "is_public", lambda a: a == "127.0.0.1" or public(a))
    settings = watch_settings(NEWSRAG_INGEST__ALLOW_PRIVATE_URLS="false",
                              NEWSRAG_INGEST__URL_MAX_MB="0.1",
                              NEWSRAG_INGEST__URL_TIMEOUT_S="1")
    url = server.put("/feed.xml", route, **options)
    watcher = make_watcher(settings, embedder, [url], every=10.0)
    states = [watcher.poll(force=True)[0].state for _ in range(3)]
    assert all(s.last_status == "error" for s in states), states
    import re

    assert re.search(error, states[-1].last_error), states[-1].last_error
    waits = [s.next_due - s.last_poll for s in states if s.last_poll]
    assert [round(w) for w in waits] == [20, 40, 80]  # interval x 2^failures
    assert stored(watcher) == {}
    FIGURES["hostile feeds failed and backed off"] = (
        FIGURES.get("hostile feeds failed and backed off", 0) + 1)


def test_backoff_stops_at_the_cap(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", "", status=404)
    watcher = make_watcher(watch_settings(NEWSRAG_WATCH__BACKOFF_CAP="50s"), embedder, [url])
    states = [watcher.poll(force=True)[0].state for _ in range(4)]
    assert [round(s.next_due - (s.last_poll or 0)) for s in states] == [20, 40, 50, 50]
    assert "HTTP 404" in states[0].last_error and states[-1].failures == 4


def test_a_vanished_feed_keeps_its_articles_and_converges_when_back(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    body = rss([item(8), item(9)])
    url = server.put("/feed.xml", body)
    watcher = make_watcher(watch_settings(), embedder, [url])
    watcher.poll(force=True)
    before = stored(watcher)
    del server.routes["/feed.xml"]
    assert watcher.poll(force=True)[0].state.failures == 1
    server.put("/feed.xml", rss([item(10), item(8), item(9)]))
    (back,) = watcher.poll(force=True)
    assert (back.added, back.updated, back.state.failures) == (1, 0, 0)
    after = stored(watcher)
    assert len(after) == 3 and set(before) < set(after)
    FIGURES["vanished feeds converged"] = 1


def test_a_page_a_url_list_and_a_folder(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder,
        tmp_path: Path) -> None:
    page_url = server.put("/page", page(RECORDS[11]["title"], RECORDS[11]["text"].split("\n\n")),
                          content_type="text/html")
    feed_url = server.put("/feed.xml", rss([item(0)]))
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# my sources\n{page_url}\n{feed_url}\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.txt").write_text(f"{RECORDS[1]['title']}\n\n{RECORDS[1]['text']}")
    watcher = make_watcher(watch_settings(), embedder, [str(urls), str(folder)])
    results = watcher.poll(force=True)
    assert [(r.state.kind, r.added) for r in results] == [("page", 1), ("feed", 1), ("folder", 1)]
    (folder / "two.txt").write_text(f"{RECORDS[2]['title']}\n\n{RECORDS[2]['text']}")
    results = watcher.poll(force=True)
    assert [r.added for r in results] == [0, 0, 1] and len(stored(watcher)) == 4


def test_requests_to_one_host_are_spaced(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    urls = [server.put(f"/feed-{n}.xml", rss([item(n)])) for n in range(3)]
    watcher = make_watcher(watch_settings(NEWSRAG_WATCH__DELAY_PER_HOST_S="0.4"), embedder,
                           urls)
    watcher.poll(force=True)
    times = [h.at for h in server.hits]
    assert len(times) == 3 and all(b - a >= 0.35 for a, b in itertools.pairwise(times))


def test_only_due_sources_are_polled_and_stop_ends_the_loop(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", rss([item(0)]))
    watcher = make_watcher(watch_settings(), embedder, [url], every=3600)
    assert len(watcher.poll()) == 1 and watcher.poll() == []  # due at once, then in an hour
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_second_watcher_is_refused(tmp_path: Path) -> None:
    with (watch_lock(tmp_path), pytest.raises(WatcherBusyError, match="already watching"),
          watch_lock(tmp_path)):
        pass
    with watch_lock(tmp_path):  # released: the next one may start
        pass


def test_a_quiet_cycle_merges_the_lexical_deltas(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    url = server.put("/feed.xml", rss([item(0)]))
    watcher = make_watcher(watch_settings(), embedder, [url], every=0.2)
    watcher.poll(force=True)  # the first write is the main snapshot
    server.put("/feed.xml", rss([item(1), item(0)]))
    cycles: list[int] = []

    def count(results: list[Any]) -> None:
        cycles.append(sum(r.added for r in results))
        if len(cycles) == 2:  # one cycle with the new item, one quiet
            watcher.stop.set()

    watcher.run(on_cycle=count)
    assert cycles == [1, 0]
    view = open_index(watch_settings(), embedder).lexical.current()
    assert len(view.segments) == 1 and len(stored(watcher)) == 2


def test_a_stop_mid_feed_saves_no_validators_so_the_next_poll_finishes_it(
        server: FeedServer, watch_settings: Callable[..., Settings], embedder: Embedder) -> None:
    for n in (3, 4):
        server.put(f"/story-{n}", page(RECORDS[n]["title"], RECORDS[n]["text"].split("\n\n")),
                   content_type="text/html")
    url = server.put("/feed.xml", rss([item(n, RECORDS[n]["text"][:200],
                                            link=f"{server.base}/story-{n}") for n in (3, 4)]))
    watcher = make_watcher(watch_settings(), embedder, [url])
    polite = watcher.fetch

    def stopping_after_a_page(address: str, *validators: str) -> Any:
        fetched = polite(address, *validators)
        if "/story-" in address:
            watcher.stop.set()  # Ctrl-C while the first teaser's page was read
        return fetched

    watcher.fetch = stopping_after_a_page  # type: ignore[assignment]
    (stopped,) = watcher.poll(force=True)
    assert stopped.state.last_poll is None and watcher.state.source(url).etag == ""
    assert len(stored(watcher)) == 1  # what was read before the stop is stored
    watcher.stop.clear()
    watcher.fetch = polite
    (finished,) = watcher.poll(force=True)
    assert finished.added == 1
    assert len(stored(watcher)) == 2 and finished.state.etag
