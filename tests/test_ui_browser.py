"""The Gradio UI in a real headless Chromium, on the real embedder, with no network but loopback.

The tests of this module share one server and one browser and run in order: the first one
ingests the sample article through the Ingest tab, the later ones build on it.
Run with `-s` to see where the answer screenshot was saved.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, SAMPLE, SEED_TEXT
from tests.uiserver import chromium, ui_server

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Dialog, Locator, Page

    from rag.services import Services

pytestmark = pytest.mark.slow

SAMPLE_FILE = SAMPLE / "trump-putin-ceasefire-talks.txt"
FIRST_ANSWER_MS = 60_000  # the first question loads the embedding model and the support judge
ANSWER_MS = 60_000
SCREENSHOT = REPO / "bench" / "results" / "ui-answer.png"

PAYLOADS = ("<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=2">',
            "[click me](javascript:window.__pwned=3)",
            "{{constructor.constructor('window.__pwned=4')()}}", "${window.__pwned=5}")
# Under the 200-character title cap (ingest.clean), so the whole payload reaches the page.
HOSTILE_TITLE = "Zorblat river dam " + " ".join(PAYLOADS)
HOSTILE_BODY = f"""\
The Zorblat river dam opened on Monday after eleven years of construction in the northern valley. {PAYLOADS[0]}

Engineers said the Zorblat river dam will generate 900 megawatts of electricity {PAYLOADS[1]} for the whole region.

Local farmers welcomed the Zorblat river dam because its reservoir will irrigate their fields in dry summers. {PAYLOADS[2]}

The regional governor said the Zorblat river dam cost 2.4 billion euros {PAYLOADS[3]} and employed four thousand workers.

Critics of the Zorblat river dam warned that it flooded three villages and displaced a rare fish species. {PAYLOADS[4]}
"""
HOSTILE_URL = "javascript:window.__pwned=6"
HOSTILE_QUESTION = "How much electricity will the Zorblat river dam generate?"
HOSTILE_ELEMENTS = "script, img[onerror], a[href^='javascript' i], [onerror], [onclick]"
PANES = ("#nr-transcript", "#nr-source", "#nr-library")


@dataclass
class Browser:
    """The module's one browser context, and what it saw."""

    url: str
    services: Services
    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    accept_confirms: bool = False  # set only by the test that deletes an article

    def open(self) -> Page:
        page = self.context.new_page()
        page.on("dialog", self._dialog)
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        page.goto(self.url, wait_until="load")
        page.locator("#nr-ask").wait_for()
        return page

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        if self.accept_confirms and dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture(scope="module")
def server(offline_env: None, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Services]]:
    with ui_server(tmp_path_factory.mktemp("ui")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(server: tuple[str, Services], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Browser]:
    url, services = server
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        seen = Browser(url, services, context)
        context.on("request", lambda request: seen.requests.append(request.url))
        yield seen


@pytest.fixture(scope="module")
def page(browser: Browser) -> Page:
    """The page the chat flow tests share (one session: its transcript grows)."""
    return browser.open()


def expect(locator: Locator) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def ingest_file(page: Page, path: Path) -> str:
    """Upload `path` on the Ingest tab, press Ingest, return the report's text."""
    page.get_by_role("tab", name="Ingest").click()
    page.locator("#nr-files input[type=file]").set_input_files(str(path))
    expect(page.locator("#nr-files")).to_contain_text(path.name, timeout=30_000)
    page.locator("#nr-ingest").click()
    report = page.locator("#nr-report [role=status]")
    expect(report).to_contain_text("added", timeout=ANSWER_MS)
    return report.inner_text()


def ask(page: Page, question: str, timeout: float = ANSWER_MS) -> Locator:
    """Ask on the Chat tab; wait for the finished answer of the new turn and return it."""
    page.get_by_role("tab", name="Chat").click()
    turn = page.locator("#nr-transcript .nr-turn").count()
    page.locator("#nr-question textarea").fill(question)
    page.locator("#nr-ask").click()
    return finished_answer(page, turn, timeout)


def finished_answer(page: Page, turn: int, timeout: float = ANSWER_MS) -> Locator:
    answer = page.locator(f'#nr-transcript .nr-turn[data-turn="{turn}"] .nr-a')
    done = answer.and_(page.locator(".nr-a:not(.nr-streaming)"))
    expect(done).to_have_count(1, timeout=timeout)
    expect(page.locator("#nr-transcript .nr-streaming")).to_have_count(0)
    return answer


def citation(answer: Locator, n: int) -> Locator:
    return answer.locator(".nr-citation").filter(
        has=answer.page.locator(f'button.nr-cite-open[data-cite="{n}"]'))


def quoted(answer: Locator, n: int) -> str:
    """The sentence citation [n] quotes: under its entry, or in the answer text when the
    answer itself is that quote (each sentence is shown once)."""
    quote = citation(answer, n).locator("blockquote.nr-quote")
    if quote.count():
        return quote.inner_text()
    inline = answer.locator(f'.nr-text .nr-quoted[data-cite="{n}"]')
    if inline.count():
        return inline.inner_text()
    short = answer.locator(".nr-short")  # a short answer that is the whole sentence
    assert short.locator(f'button.nr-marker[data-cite="{n}"]').count() == 1
    return short.locator("strong").inner_text()


def open_citation(answer: Locator, n: int) -> Locator:
    """Click citation [n] of `answer`; return the highlighted sentence in the source pane."""
    page = answer.page
    answer.locator(f'button.nr-cite-open[data-cite="{n}"]').click()
    quote = quoted(answer, n)
    mark = page.locator("#nr-source mark.nr-cited")
    expect(mark).to_have_text(quote, timeout=30_000)
    return mark


def assert_in_view(mark: Locator) -> None:
    """The mark is scrolled into the visible part of both the window and the source pane."""
    assert mark.is_visible()
    expect(mark).to_be_in_viewport(ratio=1.0)
    box = mark.evaluate("""(m) => {
        const r = m.getBoundingClientRect();
        const p = document.querySelector('#nr-source').getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                paneTop: p.top, paneBottom: p.bottom, width: innerWidth, height: innerHeight};
    }""")
    assert 0 <= box["top"] < box["bottom"] <= box["height"], box
    assert 0 <= box["left"] < box["right"] <= box["width"], box
    assert box["paneTop"] <= box["top"] and box["bottom"] <= box["paneBottom"], box


def save_screenshot(page: Page, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The page as it looks now, in the test's tmp dir and at bench/results/ui-answer.png."""
    path = tmp_path / "ui-answer.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOT)
    with capsys.disabled():  # shown with or without -s
        print(f"\nscreenshot: {SCREENSHOT} (also {path})")
    return SCREENSHOT


def test_upload_ask_and_open_the_cited_sentence(page: Page, browser: Browser, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from rag.answering import Assistant

    assert browser.services.index.catalog.stats()["articles"] == 0  # not pre-ingested
    assert "1 added" in ingest_file(page, SAMPLE_FILE)
    expect(page.locator("#nr-header")).to_contain_text("1 article ·")

    question = "What will Trump and Putin discuss?"
    answer = ask(page, question, timeout=FIRST_ANSWER_MS)
    expect(answer.locator(".nr-citations .nr-citation").first).to_be_visible()
    mark = open_citation(answer, 1)
    shown = mark.inner_text()
    assert shown == quoted(answer, 1)
    assert answer.inner_text().count(shown) == 1  # the cited sentence is shown once

    # The exact source sentence: same answer in-process, its citation's span of the article.
    expected = Assistant(browser.services).answer(question).citations[0]
    assert expected.n == 1
    article_id = page.locator("#nr-source article.nr-article").get_attribute("data-article")
    assert article_id == expected.article_id
    record = browser.services.index.catalog.get(article_id)
    assert record is not None
    assert shown == record.article.text[expected.char_start:expected.char_end] == expected.text
    assert shown in SEED_TEXT
    assert_in_view(mark)
    assert save_screenshot(page, tmp_path, capsys).stat().st_size > 10_000


def marker(page: Page, turn: int, n: int) -> Locator:
    return page.locator(f'#nr-transcript button.nr-marker[data-turn="{turn}"][data-cite="{n}"]')


def test_inline_marker_opens_its_citation(page: Page) -> None:
    """A user clicks the last [n] in the answer text (where the glyphs are drawn)."""
    answer = page.locator('#nr-transcript .nr-turn[data-turn="0"] .nr-a')
    inline = answer.locator(".nr-short button.nr-marker, .nr-text button.nr-marker")
    assert inline.count() >= 1, "the answer text carries no citation marker"
    n = int(inline.last.get_attribute("data-cite") or 0)
    quote = quoted(answer, n)
    glyphs = marker(page, 0, n).evaluate("""(button) => {
        button.scrollIntoView({block: 'center'});
        const range = document.createRange();
        range.selectNodeContents(button);
        const r = range.getBoundingClientRect();
        const x = r.x + r.width / 2, y = r.y + r.height / 2;
        return {x, y, hit: document.elementFromPoint(x, y) === button};
    }""")
    assert glyphs["hit"], f"the [{n}] glyphs are not the marker button's hit area"
    page.mouse.click(glyphs["x"], glyphs["y"])
    mark = page.locator("#nr-source mark.nr-cited")
    expect(mark).to_have_text(quote, timeout=30_000)
    assert_in_view(mark)


def test_inline_marker_has_a_visible_box(page: Page) -> None:
    expect(marker(page, 0, 1)).to_be_visible(timeout=2_000)


def test_follow_up_question_gets_its_own_cited_answer(page: Page) -> None:
    answer = ask(page, "When will they talk?")
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(2)
    assert answer.locator(".nr-citations .nr-citation").count() >= 1
    assert answer.locator(".nr-refused").count() == 0
    assert "nr-refused" not in (answer.get_attribute("class") or "")


def test_hostile_article_text_stays_text(browser: Browser, tmp_path: Path) -> None:
    hostile = tmp_path / "zorblat-dam.txt"
    hostile.write_text(f"---\ntitle: {HOSTILE_TITLE}\nurl: {HOSTILE_URL}\n---\n{HOSTILE_BODY}",
                       encoding="utf-8")
    page = browser.open()
    report = ingest_file(page, hostile)
    assert "1 added" in report, report

    answer = ask(page, HOSTILE_QUESTION)
    expect(answer.locator(".nr-citation").first).to_contain_text("Zorblat")
    mark = open_citation(answer, 1)
    assert "Zorblat" in mark.inner_text()
    expect(page.locator("#nr-source")).to_contain_text("<script>window.__pwned=1</script>")

    page.get_by_role("tab", name="Library").click()
    page.locator("#nr-library-search textarea").fill("Zorblat")
    row = page.locator("#nr-library tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(HOSTILE_TITLE)

    for each in browser.context.pages:
        assert each.evaluate("typeof window.__pwned") == "undefined"
    assert browser.dialogs == []
    for pane in PANES:
        assert page.locator(pane).locator(HOSTILE_ELEMENTS).count() == 0, pane
    texts = {pane: page.locator(pane).inner_text() for pane in PANES}
    for pane in PANES:
        assert "<script>" in texts[pane], pane
    assert all(payload in texts["#nr-source"] for payload in PAYLOADS)
    assert HOSTILE_TITLE in texts["#nr-library"]
    assert HOSTILE_TITLE in texts["#nr-transcript"]  # the citation's title
    hrefs = [href for pane in PANES
             for href in page.locator(pane).locator("a[href]").evaluate_all(
                 "(links) => links.map((a) => a.getAttribute('href'))")]
    assert all(href.startswith(("http://", "https://")) for href in hrefs), hrefs
    page.close()


def test_refusal_is_shown_as_a_refusal(page: Page) -> None:
    page.locator("#nr-new-chat").click()
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(0)
    answer = ask(page, "What is the recipe for sourdough bread?")
    refused = page.locator("#nr-transcript .nr-refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("The articles do not say.")
    expect(refused).to_contain_text("Not covered")
    assert answer.locator(".nr-citation").count() == 0


def test_library_delete_asks_then_removes_the_row(browser: Browser) -> None:
    page = browser.open()
    page.get_by_role("tab", name="Library").click()
    page.locator("#nr-library-search textarea").fill("Zorblat")
    delete = page.locator("#nr-library button.nr-delete")
    expect(delete).to_have_count(1)
    article_id = delete.get_attribute("data-delete")
    assert article_id

    before = len(browser.dialogs)
    browser.accept_confirms = True
    try:
        delete.click()
        expect(page.locator("#nr-library")).to_contain_text("No articles match that search",
                                                            timeout=30_000)
    finally:
        browser.accept_confirms = False
    assert [kind for kind, _ in browser.dialogs[before:]] == ["confirm"]
    assert "Zorblat river dam" in browser.dialogs[before][1]
    expect(page.locator("#nr-library button.nr-delete")).to_have_count(0)
    assert browser.services.index.catalog.get(article_id) is None
    expect(page.locator("#nr-header")).to_contain_text("1 article ·")  # counts refreshed
    page.locator("#nr-library-search textarea").fill("")
    expect(page.locator("#nr-library tbody tr")).to_have_count(1)  # the sample article stays
    page.close()


def test_two_tabs_asking_at_once_get_their_own_answers(browser: Browser) -> None:
    first, second = browser.open(), browser.open()
    first.locator("#nr-question textarea").fill("What will Trump and Putin discuss?")
    second.locator("#nr-question textarea").fill(
        "Where did U.S. and Russian delegations meet on February 18?")
    first.locator("#nr-ask").click()
    second.locator("#nr-ask").click()
    one, two = finished_answer(first, 0), finished_answer(second, 0)

    cited_one, cited_two = one.inner_text(), two.inner_text()
    assert "land" in cited_one or "power plants" in cited_one, cited_one
    assert "Riyadh" in cited_two, cited_two
    expect(first.locator("#nr-transcript .nr-turn")).to_have_count(1)
    expect(second.locator("#nr-transcript .nr-turn")).to_have_count(1)
    expect(first.locator("#nr-transcript .nr-q")).to_contain_text("Trump and Putin discuss")
    expect(second.locator("#nr-transcript .nr-q")).to_contain_text("February 18")
    first.close()
    second.close()


def test_the_browser_only_ever_talked_to_the_local_server(browser: Browser) -> None:
    """Runs last: every request of every test above went to 127.0.0.1 (no CDN, no fonts)."""
    assert browser.requests, "no requests were recorded"
    outside = [url for url in browser.requests
               if urlsplit(url).scheme not in ("data", "blob")
               and urlsplit(url).hostname != "127.0.0.1"]
    assert outside == []
