"""The UI's handlers and HTML, without a browser: real Chroma, the fake embedder."""

from __future__ import annotations

import html
import re
from pathlib import Path

import gradio as gr
import pytest

from ingest.pipeline import ingest
from newsrag.errors import ConfigError, ModelError, NewsragError, NotFoundError
from newsrag.settings import Settings
from rag.answering import Assistant
from rag.services import Services, build_services
from tests.clirunner import run_cli
from tests.conftest import SAMPLE, SEED_TEXT
from ui.chat import AskForm, ChatHandlers
from ui.guard import as_ui_error, guarded
from ui.library import LibraryHandlers, render_library, render_report, safe_upload_name
from ui.render import escape, render_transcript, safe_href
from ui.server import auth_users, is_loopback

QUESTION = "What will Trump and Putin discuss?"
HOSTILE = ['<script>alert(1)</script>', '<img src=x onerror="alert(2)">',
           "[click](javascript:alert(3))", "{{constructor.constructor('alert(4)')()}}",
           "${alert(5)}", "`alert(6)`"]


@pytest.fixture
def services(settings: Settings) -> Services:
    built = build_services(settings)
    ingest([str(SAMPLE)], settings, built.index)
    return built


@pytest.fixture
def chat(services: Services) -> ChatHandlers:
    return ChatHandlers(Assistant(services))


def final_view(chat: ChatHandlers, question: str, turns: list = [], **form: object):  # noqa: B006
    views = list(chat.ask(question, turns, AskForm(**form)))  # type: ignore[arg-type]
    return views


def test_escape_leaves_no_markup_or_template_syntax() -> None:
    for text in HOSTILE:
        escaped = escape(text)
        assert not re.search(r"[<>{}$`\"']", escaped)
        assert html.unescape(escaped) == text
    assert safe_href("javascript:alert(1)") is None
    assert safe_href("data:text/html,x") is None
    assert safe_href("//evil.example/x") is None
    assert safe_href("https://news.example/a?b=1") == "https://news.example/a?b=1"


def test_ask_streams_then_shows_citations_and_sources(chat: ChatHandlers) -> None:
    views = final_view(chat, QUESTION)
    first, last = views[0], views[-1]
    assert "nr-streaming" in first.transcript and first.turns[0].answer is None
    answer = last.turns[0].answer
    assert answer is not None and not answer.refused and answer.citations
    for citation in answer.citations:
        assert escape(citation.text) in last.transcript
        assert f'data-cite="{citation.n}"' in last.transcript
        assert citation.text in SEED_TEXT
    assert "nr-streaming" not in last.transcript
    assert "0." in last.sources and "Trump-Putin Talks Ahead" in last.sources


def test_open_citation_highlights_exactly_the_cited_sentence(chat: ChatHandlers) -> None:
    turns = final_view(chat, QUESTION)[-1].turns
    citation = turns[0].answer.citations[0]
    pane = chat.open_citation(turns, 0, citation.n)
    marked = re.findall(r'<mark class="nr-cited"[^>]*>(.*?)</mark>', pane, re.S)
    assert [html.unescape(m) for m in marked] == [citation.text]
    with pytest.raises(NotFoundError):
        chat.open_citation(turns, 0, 99)


def test_citation_of_a_deleted_article_still_shows_the_quote(
        chat: ChatHandlers, services: Services) -> None:
    turns = final_view(chat, QUESTION)[-1].turns
    citation = turns[0].answer.citations[0]
    LibraryHandlers(services).delete(citation.article_id)
    pane = chat.open_citation(turns, 0, citation.n)
    assert "no longer in the library" in pane and escape(citation.text) in pane


def test_follow_up_uses_the_history(chat: ChatHandlers) -> None:
    turns = final_view(chat, QUESTION)[-1].turns
    second = final_view(chat, "When will they talk?", turns)[-1]
    assert len(second.turns) == 2
    answer = second.turns[1].answer
    assert answer is not None and not answer.refused
    assert "Trump" in answer.standalone_question or "Putin" in answer.standalone_question
    assert second.transcript.count('class="nr-turn"') == 2


def test_refusal_looks_like_a_refusal(chat: ChatHandlers) -> None:
    last = final_view(chat, "What is the best recipe for sourdough bread?")[-1]
    assert last.turns[0].answer.refused
    assert "nr-refused" in last.transcript and "Not covered" in last.transcript


def test_show_checks_marks_each_sentence(chat: ChatHandlers) -> None:
    last = final_view(chat, QUESTION, show_checks=True)[-1]
    assert last.transcript.count('class="nr-s nr-s-quoted"') == len(last.turns[0].answer.sentences)
    assert "nr-s-" not in chat.rerender(last.turns, False)


def test_bad_dates_and_empty_questions_are_clear_errors(chat: ChatHandlers) -> None:
    with pytest.raises(ConfigError, match="since"):
        final_view(chat, QUESTION, since="last week")
    with pytest.raises(NewsragError, match="type a question"):
        final_view(chat, "   ")
    filtered = final_view(chat, QUESTION, since="2030-01-01")[-1]
    assert filtered.turns[0].answer.refused  # nothing that new: no sources at all
    with pytest.raises(ConfigError, match="as of"):
        final_view(chat, QUESTION, as_of="yesterday")
    asked_before = final_view(chat, QUESTION, as_of="2001-01-01")[-1]
    assert asked_before.turns[0].answer.refused  # the article did not exist yet


def test_generator_failure_shows_inline_not_a_traceback(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(NEWSRAG_GENERATION__OPENAI__BASE_URL="http://127.0.0.1:9/v1",
                             NEWSRAG_GENERATION__TIMEOUT_S="5")
    services = build_services(settings)
    ingest([str(SAMPLE)], settings, services.index)
    last = final_view(ChatHandlers(Assistant(services)), QUESTION, generator="openai")[-1]
    assert last.turns[0].error and "nr-error" in last.transcript
    assert "Traceback" not in last.transcript


def test_upload_names_cannot_escape_the_uploads_folder(services: Services, tmp_path: Path) -> None:
    assert safe_upload_name("../../x.txt") == "x.txt"
    assert safe_upload_name("..\\..\\x.txt") == "x.txt"
    assert safe_upload_name("/etc/passwd") == "passwd"
    assert safe_upload_name("...") == "upload"
    source = tmp_path / "story.txt"
    source.write_text(SEED_TEXT, encoding="utf-8")
    library = LibraryHandlers(services)
    saved = library.save_upload(str(source), "../../x.txt")
    data_dir = services.settings.resolved_data_dir()
    assert isinstance(saved, Path) and saved.parent == data_dir / "uploads"
    assert saved.read_text(encoding="utf-8") == SEED_TEXT
    assert not (tmp_path.parent / "x.txt").exists()


def test_an_upload_never_writes_through_a_link_out_of_the_uploads_folder(
        services: Services, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    uploads = services.settings.resolved_data_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "story.txt").symlink_to(outside)
    source = tmp_path / "story.txt"
    source.write_text(SEED_TEXT, encoding="utf-8")
    with pytest.raises(NewsragError, match="outside the uploads folder"):
        LibraryHandlers(services).save_upload(str(source))
    assert outside.read_text(encoding="utf-8") == "keep me"


def test_upload_type_and_size_are_checked(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    services = build_services(make_settings(NEWSRAG_UI__MAX_UPLOAD_MB="0.001"))
    exe, big = tmp_path / "tool.exe", tmp_path / "big.txt"
    exe.write_bytes(b"MZ")
    big.write_text("x" * 5000)
    report = LibraryHandlers(services).ingest([str(exe), str(big)], "not-a-url")
    reasons = {skip.location: skip.reason for skip in report.skipped}
    assert "not accepted" in reasons["tool.exe"] and "limit" in reasons["big.txt"]
    assert "http(s)" in reasons["not-a-url"]
    assert not (services.settings.resolved_data_dir() / "uploads" / "tool.exe").exists()
    rendered = render_report(report)
    assert "0</strong> added" in rendered and "not accepted" in rendered


def test_url_box_splits_lines_and_spaces_and_the_report_names_titles_not_paths(
        services: Services, tmp_path: Path) -> None:
    library = LibraryHandlers(services)
    report = library.ingest([], "not a url\nhttp://127.0.0.1:9/a.html http://127.0.0.1:9/b.html"
                                "\n\n  ftp-less.example/c  \n")
    locations = [skip.location for skip in report.skipped]
    assert locations[:2] == ["not a url", "ftp-less.example/c"]  # one skip per line
    assert sum("127.0.0.1:9/" in loc for loc in locations) == 2  # both URLs were tried

    story = tmp_path / "dam.txt"
    story.write_text("---\ntitle: Dam opens\nurl: https://news.example/dam\n---\nThe Zorblat "
                     "river dam opened on Monday after ten years of work in the valley.\n",
                     encoding="utf-8")
    done = library.ingest_and_check([str(story)], "")
    shown = render_report(done)
    assert done.titles == ("Dam opens",) and "<li>Dam opens</li>" in shown
    assert str(services.settings.resolved_data_dir()) not in shown
    # The same file again from another folder: the same URL and content, not a second article.
    other = tmp_path / "copy"
    other.mkdir()
    (other / "dam-again.txt").write_text(story.read_text(encoding="utf-8"), encoding="utf-8")
    again = library.ingest_and_check([str(other / "dam-again.txt")], "")
    assert again.report.added == [] and again.titles == ()
    assert again.duplicates == (("Dam opens", "same URL as “Dam opens”"),)
    assert "not added again (same URL as “Dam opens”)" in html.unescape(render_report(again))
    assert [r.article.title for r in library.articles("dam opens")] == ["Dam opens"]
    assert "<strong>1</strong> duplicate ·" in render_report(again)
    # Without a URL: the same content (title, text, source, date) is the same article.
    for name in ("note.txt", "note-copy.txt"):
        (tmp_path / name).write_text(
            "Dam note\n\nThe Zorblat dam report was published on Tuesday by the council.\n",
            encoding="utf-8")
    assert library.ingest_and_check([str(tmp_path / "note.txt")], "").titles
    twice = library.ingest_and_check([str(tmp_path / "note-copy.txt")], "")
    assert twice.duplicates == (("Dam note", "same content as “Dam note”"),)


def test_report_groups_many_skips_of_one_kind_and_shows_warnings() -> None:
    from ingest.models import IngestReport, Skip

    report = IngestReport(skipped=[Skip(f"bad.jsonl:{n}", f"record {n}: no text")
                                   for n in range(1, 501)],
                          warnings=[Skip("a.md", "impossible date '2023-02-30': undated")])
    rendered = render_report(report)
    assert rendered.count("<li>") == 20 + 1 + 1  # 20 skips, the count line, the warning
    assert "… and 480 more skipped" in rendered
    assert "impossible date" in rendered and "bad.jsonl:21" not in rendered


def test_ingest_report_library_search_and_delete(services: Services, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(f"{HOSTILE[0]} dam story\n\nThe Zorblat river dam opened on Monday "
                       f"after ten years of work. {' '.join(HOSTILE)}\n", encoding="utf-8")
    library = LibraryHandlers(services)
    progress: list[str] = []
    report = library.ingest([str(hostile)], "", on_progress=progress.append)
    assert len(report.added) == 1 and progress
    assert "1</strong> added" in render_report(report)
    found = library.articles("DAM STORY")
    assert [r.article.title for r in found] == [f"{HOSTILE[0]} dam story"]
    table = render_library(found)
    assert "<script>" not in table and escape(HOSTILE[0]) in table
    library.delete(found[0].article.id)
    assert library.articles("dam story") == []
    with pytest.raises(NotFoundError):
        library.delete(found[0].article.id)
    assert "No articles match" in render_library([], "zzz")


def test_transcript_escapes_questions_and_errors() -> None:
    from ui.render import ChatTurn

    page = render_transcript([ChatTurn(HOSTILE[0], error=HOSTILE[1])])
    assert "<script>" not in page and "<img" not in page
    assert escape(HOSTILE[0]) in page


def test_errors_become_one_clear_line() -> None:
    assert as_ui_error(ModelError("model missing")).message == "model missing"
    internal = as_ui_error(KeyError("x")).message
    assert internal.startswith("internal error: KeyError") and "Traceback" not in internal

    @guarded
    def handler(value: str) -> str:
        raise ConfigError(f"bad {value}")

    with pytest.raises(gr.Error, match="bad k"):
        handler("k")


def test_only_loopback_may_be_served_without_authentication(settings: Settings) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert auth_users(settings.ui) is None
    open_ui = settings.ui.model_copy(update={"host": "0.0.0.0"})
    with pytest.raises(ConfigError, match="without authentication"):
        auth_users(open_ui)
    secured = open_ui.model_copy(update={"users": ["alice:s3cret:with-colon"]})
    assert auth_users(secured) == [("alice", "s3cret:with-colon")]
    with pytest.raises(ConfigError, match="name:password"):
        auth_users(open_ui.model_copy(update={"users": ["alice"]}))
    # Gradio keeps one password per name and strips the name typed at login.
    with pytest.raises(ConfigError, match="listed twice"):
        auth_users(open_ui.model_copy(update={"users": ["alice:a", "alice:b"]}))
    with pytest.raises(ConfigError, match="spaces"):
        auth_users(open_ui.model_copy(update={"users": ["alice :a"]}))


def test_cli_refuses_an_open_public_address(tmp_path: Path) -> None:
    result = run_cli("ui", "--host", "0.0.0.0", data_dir=tmp_path / "data")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("newsrag: error: refusing to serve on 0.0.0.0")
    assert "Traceback" not in result.stderr


def test_app_builds_with_an_ask_api_and_concurrent_questions(services: Services) -> None:
    from ui.server import create_app

    demo = create_app(services)
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert "ask" in api_names
    streaming = [fn for fn in demo.fns.values() if fn.concurrency_limit == services.settings.ui.concurrency]
    assert len(streaming) >= 2  # Enter and the Ask button: several users' questions at once


LAND = ("Trump, who is seeking Putin's backing for a 30-day ceasefire proposal that Ukraine "
        "accepted last week, mentioned that discussions will include topics related to land and "
        "power plants.")


def test_generated_answer_streams_and_show_checks_marks_dropped_sentences(
        chat: ChatHandlers) -> None:
    from rag.generators import register_chat_model
    from tests.fakes import ScriptedChat

    invented = "Putin also agreed to hand Crimea back to Ukraine on Friday."
    model = ScriptedChat(f"{LAND} [1] {invented} [2]", "", delta_chars=7)
    register_chat_model("ui-scripted", lambda settings, options: model)
    # The follow-up rewrite is skipped (first question), so the one reply is the answer.
    views = final_view(chat, QUESTION, generator="ui-scripted", show_checks=True)
    partial = [v for v in views if v.turns[-1].answer is None and v.turns[-1].text]
    assert partial, "the answer should appear before it is finished"
    answer = views[-1].turns[0].answer
    assert answer is not None and answer.generator == "scripted"
    assert [s.text for s in answer.dropped] == [invented]
    page = views[-1].transcript
    assert 'class="nr-s nr-s-dropped"' in page and escape(invented) in page
    assert "dropped as unsupported" in page
    hidden = chat.rerender(views[-1].turns, False)
    assert escape(invented) not in hidden  # without checks only the answer shows


def test_library_sorts_filters_reads_and_deletes_in_bulk(services: Services,
                                                         tmp_path: Path) -> None:
    from ui.chat import ChatHandlers

    stories = [("Alpha dam opens", "Wire", "2025-01-05"), ("Zebra crossing", "Daily", "2025-02-01"),
               ("Middle of the road", "Wire", "")]
    for n, (title, source, published) in enumerate(stories):
        date_line = f"published: {published}\n" if published else ""
        (tmp_path / f"s{n}.txt").write_text(
            f"---\ntitle: {title}\nsource: {source}\n{date_line}---\n{title} was reported on "
            f"by the {source} desk in a short story number {n} about the valley.\n",
            encoding="utf-8")
    library = LibraryHandlers(services)
    library.ingest([str(tmp_path / f"s{n}.txt") for n in range(3)], "")
    mine = {t for t, _, _ in stories}

    def titles(**how: object) -> list[str]:
        return [r.article.title for r in library.articles(**how) if r.article.title in mine]  # type: ignore[arg-type]

    assert titles(sort="title") == ["Alpha dam opens", "Middle of the road", "Zebra crossing"]
    assert titles(sort="newest") == ["Zebra crossing", "Alpha dam opens", "Middle of the road"]
    assert titles(sort="oldest") == ["Alpha dam opens", "Zebra crossing", "Middle of the road"]
    assert titles(sort="outlet")[0] == "Zebra crossing"  # Daily before Wire
    assert titles(outlets=["Wire"]) == ["Alpha dam opens", "Middle of the road"]
    assert titles(since="2025-01-06") == ["Zebra crossing"]  # undated ones only without dates
    assert titles(until="2025-01-05") == ["Alpha dam opens"]
    assert "Wire" in library.outlets() and "Daily" in library.outlets()
    table = render_library(library.articles(sort="title"))
    assert 'class="nr-read"' in table and "nr-delete-picked" in table and "<a " not in table
    assert "No articles match" in render_library([], "", filtered=True)

    record = library.articles("Alpha")[0]
    reader = ChatHandlers(Assistant(services)).open_article(record.article.id)
    assert "Alpha dam opens" in reader and "2025-01-05" in reader and "nr-cited" not in reader
    ids = [r.article.id for r in library.articles() if r.article.title in mine][:2]
    assert sorted(library.delete_many(ids)) == sorted(ids)
    assert len(titles()) == 1


def test_regenerate_asks_the_last_question_again_and_stop_marks_the_turn(
        chat: ChatHandlers) -> None:
    from ui.chat_tab import _regenerate, _stopped
    from ui.render import ChatTurn

    form = ("extractive", 5, "", "", [], False, "")
    empty = list(_regenerate(chat, [], *form))
    assert "Nothing to regenerate" in empty[-1][4]
    turns = final_view(chat, QUESTION)[-1].turns
    again = list(_regenerate(chat, turns, *form))[-1]
    assert [t.question for t in again[2]] == [QUESTION]  # replaced, not added
    assert again[2][0].answer is not None
    stopped, shown = _stopped([*turns, ChatTurn("When?", "They will")], False)
    assert stopped[-1].error == "Stopped." and "nr-streaming" not in shown
    assert "They will" in shown and "Stopped." in shown  # what had come is kept
    assert _stopped(turns, False)[0] == turns


def test_library_new_since_last_look_and_its_compact_source_list(services: Services,
                                                                 tmp_path: Path) -> None:
    """Without any watcher: an upload is new until "Mark all as seen"; the watched sources
    (here written as a watcher would) show in the Library compactly, errors escaped."""
    import time

    from ingest.watch_state import SourceState, WatchState
    from ui.fresh import render_count
    from ui.library_tab import library_table as _library
    from ui.watch_panel import WatchPanel

    catalog = services.index.catalog
    looked = time.time()
    time.sleep(1.05 - looked % 1)  # ingest times have whole seconds: the upload comes later
    title = "Fresh " + HOSTILE[1]
    (tmp_path / "fresh.txt").write_text(f"---\ntitle: {title}\nsource: Wire\n---\nThe valley "
                                        "dam opened its gates on Monday after the rains.\n",
                                        encoding="utf-8")
    LibraryHandlers(services).ingest([str(tmp_path / "fresh.txt")], "")
    everything = len(catalog.list_articles())
    new_view = _library(LibraryHandlers(services), "", "newest", None, None, None, "new", looked)
    assert escape(title) in new_view and "1 article" in new_view and HOSTILE[1] not in new_view
    assert everything > 1 and f"{everything} articles" in _library(
        LibraryHandlers(services), "", "newest", None, None, None, "all", looked)
    assert "1 new article</strong> since" in render_count(catalog, looked)
    first_visit = render_count(catalog, None)  # no look yet: the last 24 hours
    assert f"{everything} new articles</strong> in the last 24 hours" in first_visit
    seen = time.time() + 1
    assert "Nothing new since" in render_count(catalog, seen)
    assert "Nothing new since" in _library(LibraryHandlers(services), "", "newest", None,
                                           None, None, "new", seen)
    assert "No articles match" in _library(LibraryHandlers(services), "zzz", "newest", None,
                                           None, None, "new", seen)

    panel = WatchPanel(services)
    assert panel.render_sources(compact=True) == ""  # nothing watched: nothing in the Library
    state = WatchState(panel.path)
    state.save(SourceState("http://127.0.0.1:9/feed.xml", kind="feed", last_poll=time.time(),
                           last_status="HTTP 404", last_error=HOSTILE[0], failures=2))
    state.close()
    compact, full = panel.render_sources(compact=True), panel.render_sources()
    assert "http://127.0.0.1:9/feed.xml" in compact and escape(HOSTILE[0]) in compact
    assert HOSTILE[0] not in compact and 'class="nr-error"' in compact
    assert compact.count("<th>") == 3 and full.count("<th>") == 7 and "(2×)" in full
