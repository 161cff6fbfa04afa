"""The Gradio UI in a real headless Chromium, on the real embedder, with no network but loopback.

The tests of this module share one server and one browser and run in order: the first one
ingests the sample article through the Ingest tab, the later ones build on it. The desktop and
mobile screenshots in docs/ are taken here (run with `-s` to see where they were saved).
"""

from __future__ import annotations

import json
import re
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
    from playwright.sync_api import BrowserContext, Dialog, Locator, Page, ViewportSize

    from rag.services import Services

pytestmark = pytest.mark.slow

SAMPLE_FILE = SAMPLE / "trump-putin-ceasefire-talks.txt"
FIRST_ANSWER_MS = 60_000  # the first question loads the embedding model and the support judge
ANSWER_MS = 60_000
SCREENSHOT = REPO / "docs" / "ui-answer.png"
MOBILE_SCREENSHOT = REPO / "docs" / "ui-mobile.png"
MOBILE: ViewportSize = {"width": 390, "height": 844}

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
PANES = ("#nr-transcript", "#nr-source", "#nr-library", "#nr-reader")


@dataclass
class Browser:
    """The module's one browser context, and what it saw."""

    url: str
    services: Services
    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    accept_confirms: bool = False  # set only by the test that deletes an article

    def open(self, viewport: ViewportSize | None = None) -> Page:
        page = self.context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
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
    # (the row's accessible name: its text may wrap between the name and the extension)
    expect(page.locator("#nr-files").get_by_role("row", name=re.compile(re.escape(path.name)))
           ).to_have_count(1, timeout=30_000)
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


def save_screenshot(page: Page, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    target: Path = SCREENSHOT) -> Path:
    """The page as it looks now, in the test's tmp dir and at `target` (in docs/)."""
    path = tmp_path / target.name
    page.screenshot(path=str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    with capsys.disabled():  # shown with or without -s
        print(f"\nscreenshot: {target} (also {path})")
    return target


def test_upload_ask_and_open_the_cited_sentence(page: Page, browser: Browser, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from rag.answering import Assistant

    assert browser.services.index.catalog.stats()["articles"] == 0  # not pre-ingested
    assert "1 added" in ingest_file(page, SAMPLE_FILE)
    expect(page.locator("#nr-header")).to_contain_text("1 article ·")

    question = "What will Trump and Putin discuss?"
    answer = ask(page, question, timeout=FIRST_ANSWER_MS)
    expect(answer.locator(".nr-citations .nr-citation").first).to_be_visible()
    # Each cited sentence once on the whole page; one card per article, its title once.
    cited = Assistant(browser.services).answer(question).citations
    assert len(cited) >= 2
    shown_page = page.locator("body").inner_text()
    for each in cited:
        assert shown_page.count(each.text) == 1, each.text
    assert answer.locator(".nr-card").count() == len({c.article_id for c in cited}) == 1
    assert answer.inner_text().count(cited[0].title) == 1
    mark = open_citation(answer, 1)
    shown = mark.inner_text()
    assert shown == quoted(answer, 1)
    assert answer.inner_text().count(shown) == 1  # the cited sentence is shown once

    # The exact source sentence: same answer in-process, its citation's span of the article.
    expected = cited[0]
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
    expect(answer.locator(".nr-searched")).to_contain_text("searched for: When will they talk?")
    # Copy puts the answer and its sources on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.locator("button.nr-copy").click()
    expect(answer.locator("button.nr-copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert answer.locator(".nr-cite-title").first.inner_text() in copied
    assert "searched for" in copied and "Copy" not in copied.splitlines()[-1]
    assert answer.locator(".nr-citations .nr-citation").count() >= 1
    assert answer.locator(".nr-refused").count() == 0
    assert "nr-refused" not in (answer.get_attribute("class") or "")


def scroll_state(page: Page, turn: int) -> dict[str, float]:
    """Where the transcript, the window and answer `turn` are scrolled to."""
    return page.evaluate("""(turn) => {
        const box = document.querySelector('#nr-transcript');
        const answer = box.querySelector(`.nr-turn[data-turn="${turn}"]`);
        return {transcript: box.scrollTop, window: scrollY,
                answer: answer.getBoundingClientRect().top};
    }""", turn)


def test_six_questions_keep_the_box_in_view_and_a_citation_keeps_the_place(page: Page) -> None:
    for question in ("How did Steve Witkoff describe the talks?",
                     "Where did U.S. and Russian delegations meet on February 18?",
                     "What will Trump and Putin discuss?", "What did the Kremlin say?"):
        ask(page, question)
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(6)
    box = page.locator("#nr-question textarea")
    expect(box).to_be_in_viewport(ratio=1.0)
    expect(page.locator("#nr-ask")).to_be_in_viewport(ratio=1.0)
    # The transcript scrolls on its own: back to the first answer's sources, the page stays put.
    first = page.locator('#nr-transcript .nr-turn[data-turn="0"] .nr-a')
    first.locator('button.nr-cite-open[data-cite="1"]').evaluate("""(button) => {
        const box = button.closest('#nr-transcript');
        box.scrollTop += button.getBoundingClientRect().top - box.getBoundingClientRect().top - 30;
    }""")
    before = scroll_state(page, 0)
    assert before["transcript"] > 0  # six answers do not fit: the transcript itself scrolls
    mark = open_citation(first, 1)
    assert scroll_state(page, 0) == before
    assert_in_view(mark)
    expect(box).to_be_in_viewport(ratio=1.0)
    # The sources shown are the first answer's, not the latest question's.
    expect(page.locator('#nr-sources [data-sources-of="0"]')).to_have_count(1)


def test_empty_question_and_bad_date_are_shown_beside_their_fields(page: Page) -> None:
    turns = page.locator("#nr-transcript .nr-turn").count()
    page.locator("#nr-question textarea").fill("   ")
    page.locator("#nr-ask").click()
    expect(page.locator("#nr-question-error")).to_contain_text("Type a question first.")
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(turns)
    assert page.locator(".error, .toast-body").count() == 0  # no badge, no toast

    page.locator("#nr-settings").get_by_text("Settings").first.click()
    since = page.locator("#nr-since input").first
    since.fill("June 2022")
    page.locator("#nr-question textarea").fill("What will Trump and Putin discuss?")
    page.locator("#nr-ask").click()
    expect(page.locator("#nr-date-error")).to_contain_text("'since' must be a date like")
    expect(page.locator("#nr-question-error")).to_have_text("")
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(turns)
    assert page.locator(".error, .toast-body").count() == 0
    since.fill("")
    answer = ask(page, "What will Trump and Putin discuss?")  # the box still works
    expect(answer.locator(".nr-citation").first).to_be_visible()
    expect(page.locator("#nr-date-error")).to_have_text("")
    page.locator("#nr-settings").get_by_text("Settings").first.click()


def test_history_survives_a_reload_and_exports_with_citations(page: Page) -> None:
    asked = page.locator("#nr-transcript .nr-q").all_inner_texts()
    first_answer = page.locator('#nr-transcript .nr-turn[data-turn="0"] .nr-a')
    cited = first_answer.locator("blockquote.nr-quote").first.inner_text()
    page.reload(wait_until="load")
    page.locator("#nr-ask").wait_for()
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(0)  # a reload starts afresh
    entry = page.locator("#nr-history label").filter(has_text=asked[0]).first
    expect(entry).to_be_visible(timeout=30_000)
    entry.click()
    expect(page.locator("#nr-transcript .nr-turn")).to_have_count(len(asked), timeout=30_000)
    assert page.locator("#nr-transcript .nr-q").all_inner_texts() == asked
    expect(page.locator("#nr-transcript")).to_contain_text(cited)

    with page.expect_download() as markdown:
        page.locator("#nr-export-md").click()
    text = Path(markdown.value.path()).read_text(encoding="utf-8")
    assert text.startswith(f"# {asked[0]}") and f"**You:** {asked[1]}" in text
    assert f"“{cited}”" in text and "- [1] “" in text
    with page.expect_download() as exported:
        page.locator("#nr-export-json").click()
    data = json.loads(Path(exported.value.path()).read_text(encoding="utf-8"))
    assert [t["question"] for t in data["turns"]] == asked
    citations = data["turns"][0]["answer"]["citations"]
    assert cited in [c["text"] for c in citations] and all(c["article_id"] for c in citations)

    page.locator("#nr-chat-name textarea, #nr-chat-name input").first.fill("Talks")
    page.locator("#nr-rename").click()
    expect(page.locator("#nr-history label").filter(has_text="Talks")).to_have_count(1)


def test_examples_come_from_the_library_and_ask_on_click(browser: Browser) -> None:
    page = browser.open()
    example = page.locator("#nr-examples button.nr-example").first
    expect(example).to_contain_text("Trump-Putin Talks Ahead")  # the sample's headline
    question = example.inner_text()
    example.click()
    answer = finished_answer(page, 0)
    expect(page.locator("#nr-transcript .nr-q")).to_contain_text(question)
    expect(answer.locator(".nr-citation").first).to_be_visible()
    page.close()


def test_on_a_phone_the_source_pane_opens_over_the_page(
        browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = browser.open(MOBILE)
    expect(page.locator("#nr-sidebar")).not_to_have_class(re.compile(r"\bopen\b"))
    side = page.locator("#nr-side")
    assert not side.is_visible() or "nr-open" not in (side.get_attribute("class") or "")
    answer = ask(page, "What will Trump and Putin discuss?")
    mark = open_citation(answer, 1)
    expect(side).to_have_class(re.compile(r"\bnr-open\b"))
    page.wait_for_function("""() => {  // the drawer has slid in
        const r = document.querySelector('#nr-side').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight + 1;
    }""")
    assert_in_view(mark)
    over = side.evaluate("""(side) => {
        const r = side.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {inside: side.contains(hit), position: getComputedStyle(side).position,
                left: r.left, right: r.right, bottom: r.bottom, width: innerWidth,
                height: innerHeight};
    }""")
    assert over["inside"] and over["position"] == "fixed", over
    assert over["left"] >= 0 and over["right"] <= over["width"], over
    assert over["bottom"] <= over["height"] + 1, over
    assert save_screenshot(page, tmp_path, capsys, MOBILE_SCREENSHOT).stat().st_size > 10_000
    side.locator("button.nr-close").click()
    expect(side).not_to_have_class(re.compile(r"\bnr-open\b"))
    page.close()


def test_hostile_article_text_stays_text(browser: Browser, tmp_path: Path) -> None:
    hostile = tmp_path / "zorblat-dam.txt"
    hostile.write_text(f"---\ntitle: {HOSTILE_TITLE}\nurl: {HOSTILE_URL}\n---\n{HOSTILE_BODY}",
                       encoding="utf-8")
    page = browser.open()
    page.get_by_role("tab", name="Ingest").click()
    page.locator("#nr-ingest").click()  # nothing chosen: said beside the button
    expect(page.locator("#nr-ingest-error")).to_contain_text("Choose files")
    assert page.locator(".error, .toast-body").count() == 0
    report = ingest_file(page, hostile)
    expect(page.locator("#nr-ingest-error")).to_have_text("")
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
    row.locator("button.nr-read").click()  # the in-app reader beside the table
    expect(page.locator("#nr-reader")).to_contain_text("<script>window.__pwned=1</script>")

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
