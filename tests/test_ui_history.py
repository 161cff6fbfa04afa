"""Chat history on disk, its exports, and the chat tab's small helpers (no browser, no model)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from newsrag.errors import NotFoundError
from newsrag.settings import Settings
from tests.made_answers import LAND, PESKOV, PLANTS, TITLE, declined_answer, short_answer_answer
from ui.chat import AskForm, check_question, example_questions
from ui.conversations import Conversations
from ui.history import Chat, ChatStore, export_json, export_markdown, new_id
from ui.render import ChatTurn

ALICE, BOB = "user:alice", "user:bob"


def conversation() -> list[ChatTurn]:
    answer = short_answer_answer()
    follow_up = answer.model_copy(update={"question": "And then?",
                                          "standalone_question": "What did Peskov say?"})
    return [ChatTurn(answer.question, answer.answer, answer),
            ChatTurn("And then?", follow_up.answer, follow_up),
            ChatTurn("Who won the 2022 World Cup?", "", declined_answer()),
            ChatTurn("Half way", "Trump said", None, "Stopped.")]


def test_a_conversation_round_trips_per_owner(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chats")
    saved = store.save(ALICE, Chat.new(conversation()))
    assert saved.title == "What will Trump and Putin discuss?"
    loaded = store.load(ALICE, saved.id)
    assert loaded.turns == saved.turns  # whole Answers, citations and spans included
    assert [c.id for c in store.list(ALICE)] == [saved.id] and store.list(BOB) == []
    with pytest.raises(NotFoundError):
        store.load(BOB, saved.id)  # another owner cannot open it
    for bad in ("../x", "", "A" * 32, saved.id + "/"):
        with pytest.raises(NotFoundError):
            store.load(ALICE, bad)
    assert list((tmp_path / "chats").rglob("*.json")) == [
        next((tmp_path / "chats").iterdir()) / f"{saved.id}.json"]


def test_rename_delete_and_newest_first(tmp_path: Path) -> None:
    store = ChatStore(tmp_path)
    first = store.save(ALICE, Chat.new(conversation()[:1]))
    second = store.save(ALICE, Chat.new(conversation()[2:3]))
    assert [c.id for c in store.list(ALICE)] == [second.id, first.id]
    renamed = store.rename(ALICE, first.id, "  Talks   in Riyadh ")
    assert renamed.title == "Talks in Riyadh"
    assert [c.title for c in store.list(ALICE)] == ["Talks in Riyadh", second.title]
    store.delete(ALICE, first.id)
    assert [c.id for c in store.list(ALICE)] == [second.id]
    (tmp_path / next(tmp_path.iterdir()).name / f"{new_id()}.json").write_text("{broken")
    assert [c.id for c in store.list(ALICE)] == [second.id]  # a damaged file is skipped


def test_exports_carry_the_citations() -> None:
    chat = Chat.new(conversation())
    markdown = export_markdown(chat)
    assert markdown.startswith("# What will Trump and Putin discuss?\n")
    assert f"**newsrag:** **{PLANTS}** [1]" in markdown
    assert f"- [1] “{LAND}” — *{TITLE}* (TROIB News, 2025-03-17) https://news.example/talks" \
        in markdown
    assert f"- [2] “{PESKOV}” — *Kremlin on the call* (Wire, 2025-03-18)" in markdown
    assert "*searched for: What did Peskov say?*" in markdown
    assert "**newsrag:** The articles do not say." in markdown
    assert "*Stopped.*" in markdown
    data = json.loads(export_json(chat))
    citations = data["turns"][0]["answer"]["citations"]
    assert [c["text"] for c in citations] == [LAND, PESKOV]
    assert citations[0]["char_end"] - citations[0]["char_start"] == len(LAND)


def test_owner_is_the_user_when_logged_in_else_the_browser(settings: Settings) -> None:
    conversations = Conversations(settings)
    browser = conversations.browser(None)
    assert conversations.browser(browser) == browser and conversations.browser("../x") != "../x"
    assert conversations.owner(browser, SimpleNamespace(username="alice")) == "user:alice"
    assert conversations.owner(browser, SimpleNamespace(username=None)) == f"browser:{browser}"
    secret = conversations.browser_secret()
    assert secret == Conversations(settings).browser_secret()  # kept across restarts
    path = settings.resolved_data_dir() / "ui-browser-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_after_an_answer_keeps_a_renamed_title(settings: Settings) -> None:
    conversations = Conversations(settings)
    turns = conversation()[:1]
    chat_id, *_ = conversations.saved(ALICE, "", turns)
    conversations.store.rename(ALICE, chat_id, "Talks")
    again, _, name, markdown, _ = conversations.saved(ALICE, chat_id, conversation()[:2])
    assert again == chat_id and name == "Talks"
    assert len(conversations.store.load(ALICE, chat_id).turns) == 2
    exported = Path(markdown["value"])
    assert exported.read_text(encoding="utf-8").startswith("# Talks\n")
    conversations.delete(ALICE, chat_id)
    assert not exported.exists() and conversations.store.list(ALICE) == []


def test_inline_checks_and_examples() -> None:
    assert check_question("  ", AskForm()) == ("Type a question first.", "")
    problem, dates = check_question("When?", AskForm(since="June 2022"))
    assert problem == "" and "'since' must be a date like 2025-03-17" in dates
    assert check_question("When?", AskForm(since="2025-03-01", as_of="2025-03-20")) == ("", "")
    assert example_questions(["A dam opens.", "A dam opens", "", "Markets", "Rain", "Sun"]) == [
        "What does the news say about “A dam opens”?",
        "What does the news say about “Markets”?", "What does the news say about “Rain”?"]


def test_generators_without_settings_say_so(make_settings) -> None:  # type: ignore[no-untyped-def]
    from ui.chat_tab import generator_choices

    plain = dict(generator_choices(make_settings()))
    assert plain["extractive"] == "extractive"
    assert plain["openai (not configured)"] == "openai"
    assert plain["llama-cpp"] == "llama-cpp"  # runs the packaged model without settings
    configured = dict(generator_choices(make_settings(
        NEWSRAG_GENERATION__OPENAI__BASE_URL="http://127.0.0.1:9/v1")))
    assert configured["openai"] == "openai"
