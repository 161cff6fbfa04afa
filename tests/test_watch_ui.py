"""`newsrag ui --watch`: the watcher in a thread of the real UI process (real embedder, real
HTTP server on 127.0.0.1); the UI keeps answering through a slow poll cycle, the Feeds tab
and the header show the sources and what arrived."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from ingest.watch import WatcherBusyError, watch_lock
from tests.clirunner import run_cli
from tests.conftest import SAMPLE, rtqa_records
from tests.feedserver import feed_server, page, rss
from tests.reliability import Figures
from tests.uiserver import ui_server
from ui.render import escape
from ui.watch_panel import BackgroundWatch, WatchPanel

pytestmark = pytest.mark.slow
FIGURES = Figures("watch: UI during a poll")
RECORDS = rtqa_records(6)


def test_the_ui_answers_throughout_a_poll_and_shows_the_feeds(tmp_path: Path) -> None:
    from gradio_client import Client

    from ingest.pipeline import ingest

    with feed_server() as server:
        slow = RECORDS[0]
        # A teaser whose page trickles in for a few seconds: the poll cycle takes that long.
        server.put("/slow", page(slow["title"], slow["text"].split("\n\n")),
                   content_type="text/html", trickle_s=0.02)
        items = [{"guid": "slow", "title": slow["title"], "text": slow["text"][:200],
                  "link": server.base + "/slow"}]
        items += [{"guid": f"g{n}", "title": r["title"], "text": r["text"]}
                  for n, r in enumerate(RECORDS[1:], start=1)]
        url = server.put("/feed.xml", rss(items))
        env = {"NEWSRAG_WATCH__SOURCES": json.dumps([url]), "NEWSRAG_WATCH__EVERY": "1h",
               "NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true",
               "NEWSRAG_WATCH__DELAY_PER_HOST_S": "0", "NEWSRAG_UI__WATCH": "true"}
        with ui_server(tmp_path, env) as (address, services):
            ingest([str(SAMPLE)], services.settings, services.index)
            client = Client(address, verbose=False)
            panel = WatchPanel(services)
            client.predict("What will Trump and Putin discuss?", None, api_name="/ask")  # warm
            watching = BackgroundWatch(services).start()
            try:
                answered = _ask_until_polled(client, panel)
                with (pytest.raises(WatcherBusyError),  # one watcher per data dir
                      watch_lock(services.settings.resolved_data_dir())):
                    pass
            finally:
                watching.close()
            assert answered >= 1
            (state,) = panel.states()
            assert state.source == url and state.new_articles == len(RECORDS)
            html = panel.render_sources()
            assert url in html and "ok: 6 new" in html
            assert panel.header_note().startswith("feeds polled ")
            assert f"{len(RECORDS)} new, 0 updated" in panel.header_note()
            new = panel.render_new(None)
            titles = [r.article.title for r in services.index.catalog.list_articles()]
            assert len(titles) == len(RECORDS) + 1 and all(escape(t) in new for t in titles)
            assert "Nothing new" in panel.render_new(time.time() + 1)
    FIGURES["answers during a poll"] = answered


def _ask_until_polled(client: object, panel: WatchPanel) -> int:
    """Ask the UI's /ask API until the first poll is done; answers asked while it ran."""
    answered, deadline = 0, time.monotonic() + 180
    while time.monotonic() < deadline:
        states = panel.states()
        if states and states[0].last_poll:
            return answered
        result = client.predict("What will Trump and Putin discuss?", None,  # type: ignore[attr-defined]
                                api_name="/ask")
        assert isinstance(result, dict) and result["citations"], result
        answered += 1 if panel.states() and not panel.states()[0].last_poll else 0
    raise AssertionError("the first poll did not finish within 180 s")


def test_ui_watch_without_sources_is_one_line(tmp_path: Path) -> None:
    done = run_cli("ui", "--watch", "--port", "1", data_dir=tmp_path / "data")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "needs [watch] sources" in done.stderr


def test_the_watch_thread_stops_when_closed(tmp_path: Path) -> None:
    from rag.services import build_services
    from tests.uiserver import ui_settings

    with feed_server() as server:
        url = server.put("/feed.xml", rss([{"guid": "a", "title": RECORDS[1]["title"],
                                            "text": RECORDS[1]["text"]}]))
        settings = ui_settings(tmp_path, {"NEWSRAG_WATCH__SOURCES": json.dumps([url]),
                                          "NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true",
                                          "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"})
        watching = BackgroundWatch(build_services(settings)).start()
        watching.close()
        assert not any(t.name == "newsrag-watch" for t in threading.enumerate())
        with watch_lock(settings.resolved_data_dir()):  # the lock is free again
            pass


def test_the_feeds_tab_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from tests.uiserver import chromium

    with feed_server() as server:
        url = server.put("/feed.xml", rss([{"guid": "a", "title": RECORDS[2]["title"],
                                            "text": RECORDS[2]["text"]}]))
        broken = server.base + "/gone.xml"
        env = {"NEWSRAG_WATCH__SOURCES": json.dumps([url, broken]),
               "NEWSRAG_INGEST__ALLOW_PRIVATE_URLS": "true",
               "NEWSRAG_WATCH__DELAY_PER_HOST_S": "0",
               "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
        with ui_server(tmp_path, env) as (address, services):
            watching = BackgroundWatch(services).start()
            try:
                with chromium(tmp_path / "profile") as context:
                    page = context.new_page()
                    page.goto(address, wait_until="load")
                    page.get_by_role("tab", name="Feeds").click()
                    feeds = page.locator("#nr-feeds")
                    # The tab refreshes itself every few seconds: the first poll shows up.
                    expect(feeds.get_by_role("row", name=re.compile("ok: 1 new"))).to_be_visible(
                        timeout=60_000)
                    expect(feeds.get_by_role("row", name=re.compile("HTTP 404"))).to_be_visible()
                    fresh = page.locator("#nr-feeds-new")
                    expect(fresh).to_contain_text(RECORDS[2]["title"][:40], timeout=30_000)
                    expect(page.locator("#nr-header")).to_contain_text("feeds polled")
                    expect(page.locator("#nr-header")).to_contain_text("1 source failing")
                    page.screenshot(path=str(tmp_path / "feeds.png"))
                    _library_new_view(page, RECORDS[2]["title"][:40], tmp_path / "library.png")
                    # The Library's "Mark all as seen" is this browser's one last look.
                    page.get_by_role("tab", name="Feeds").click()
                    expect(fresh).to_contain_text("Nothing new since", timeout=30_000)
                    page.locator("#nr-feeds-seen").click()
                    expect(fresh).to_contain_text("Nothing new since")
            finally:
                watching.close()


def _library_new_view(page: object, title: str, shot: Path) -> None:
    """The Library's source list (compact, with the failing one) and its New view."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.get_by_role("tab", name="Library").click()
    watched = page.locator("#nr-library-sources")
    expect(watched.get_by_role("row", name=re.compile("HTTP 404"))).to_be_visible(timeout=30_000)
    expect(watched.get_by_role("row", name=re.compile("ok: 1 new"))).to_be_visible()
    expect(watched.locator("th")).to_have_count(3)
    count = page.locator("#nr-library-new")
    expect(count).to_contain_text("1 new article in the last 24 hours", timeout=30_000)
    page.locator("#nr-library-view input").click()
    page.get_by_role("option", name="New since you last looked").click()
    table = page.locator("#nr-library")
    expect(table).to_contain_text(title)
    expect(table).to_contain_text("1 article")
    page.locator("#nr-library-seen").click()
    expect(table).to_contain_text("Nothing new since")
    expect(count).to_contain_text("Nothing new since")
    page.screenshot(path=str(shot))
