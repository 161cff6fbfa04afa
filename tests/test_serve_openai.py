"""The OpenAI-compatible endpoint against the official `openai` client and LangChain's
ChatOpenAI, talking to the real server on 127.0.0.1 (real store, real embedder, extractive)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import ScriptedChat
from tests.serveserver import Api, api_server, article_text

pytestmark = pytest.mark.slow

BRIDGE = "How much did the Korvinth harbour bridge cost?"
# A plugin generator offered as the model "newsrag-serve-scripted" (serve.generators).
SCRIPTED = ScriptedChat(name="serve-scripted")


@pytest.fixture(scope="module")
def api(offline_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from rag.generators import CHAT_MODELS

    CHAT_MODELS.register("serve-scripted", lambda settings, options: SCRIPTED)
    env = {"NEWSRAG_SERVE__GENERATORS": '["serve-scripted"]'}
    with api_server(tmp_path_factory.mktemp("api-openai"), env) as running:
        yield running
    CHAT_MODELS.unregister("serve-scripted")


@pytest.fixture(scope="module")
def client(api: Api) -> Any:
    from openai import OpenAI

    with OpenAI(base_url=api.base_url, api_key=api.read_key, max_retries=0,
                timeout=120) as openai_client:
        yield openai_client


def newsrag_field(completion: Any) -> dict[str, Any]:
    extra = completion.model_extra or {}
    assert "newsrag" in extra, completion
    return extra["newsrag"]


def ask(client: Any, messages: list[dict[str, str]], **options: Any) -> Any:
    return client.chat.completions.create(model="newsrag", messages=messages, **options)


def test_models_lists_newsrag_and_its_generators(client: Any) -> None:
    names = [m.id for m in client.models.list()]
    assert names[0] == "newsrag"
    assert "newsrag-extractive" in names and "newsrag-serve-scripted" in names
    assert client.models.retrieve("newsrag-extractive").id == "newsrag-extractive"


def test_a_question_gets_a_cited_answer_whose_spans_are_the_article_text(
        api: Api, client: Any) -> None:
    completion = ask(client, [{"role": "user", "content": BRIDGE}])
    assert completion.object == "chat.completion"
    assert completion.model == "newsrag"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content
    extra = newsrag_field(completion)
    assert extra["declined"] is False
    assert "310 million" in extra["answer"]
    citations = extra["citations"]
    assert citations and {c["article_id"] for c in citations} == {"harbour-bridge"}
    for citation in citations:
        text = article_text(api, citation["article_id"])
        assert text[citation["char_start"]:citation["char_end"]] == citation["text"]
        assert f"[{citation['n']}]" in extra["answer"]
        # The Markdown Sources list names each citation for plain chat clients.
        assert f"- [{citation['n']}] *Korvinth opens its harbour bridge* (Korvinth Gazette, " \
               "2025-03-02)" in content
        assert citation["url"] == "https://gazette.example/korvinth-bridge"
    assert content.startswith(extra["answer"])
    assert "\n\n**Sources**\n" in content
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (completion.usage.prompt_tokens
                                             + completion.usage.completion_tokens)


def test_streamed_answer_is_the_same_with_citations_on_the_last_chunk(client: Any) -> None:
    plain = ask(client, [{"role": "user", "content": BRIDGE}])
    chunks = list(ask(client, [{"role": "user", "content": BRIDGE}], stream=True,
                      stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in with_choices)
    assert streamed == plain.choices[0].message.content
    finish = with_choices[-1]
    assert finish.choices[0].finish_reason == "stop"
    assert newsrag_field(finish)["citations"] == newsrag_field(plain)["citations"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_a_follow_up_is_rewritten_from_the_history(client: Any) -> None:
    first = ask(client, [{"role": "user", "content": BRIDGE}])
    follow_up = ask(client, [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": BRIDGE},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Who cut its ribbon?"}])
    extra = newsrag_field(follow_up)
    assert "Korvinth" in extra["standalone_question"]
    assert "Gazette" not in extra["standalone_question"]  # the Sources list is not history
    assert "Varrow" in extra["answer"]
    assert {c["article_id"] for c in extra["citations"]} == {"harbour-bridge"}


def test_a_question_the_articles_do_not_answer_is_declined_and_flagged(client: Any) -> None:
    completion = ask(client, [{"role": "user", "content": "Who won the 2022 World Cup?"}])
    extra = newsrag_field(completion)
    assert extra["declined"] is True
    assert extra["citations"] == []
    assert completion.choices[0].message.content.startswith("The articles do not say.")
    assert "**Sources**" not in completion.choices[0].message.content


def test_newsrag_options_ride_in_the_extra_body(client: Any) -> None:
    question = [{"role": "user", "content": BRIDGE}]
    elsewhere = ask(client, question, extra_body={"newsrag": {"sources": ["Farm Ledger"]}})
    assert all(c["source"] == "Farm Ledger" for c in newsrag_field(elsewhere)["citations"])
    before = ask(client, question, extra_body={"newsrag": {"as_of": "2025-02-01"}})
    assert all(c["article_id"] != "harbour-bridge" for c in newsrag_field(before)["citations"])
    narrowed = ask(client, question, extra_body={"newsrag": {"k": 1}})
    assert {c["article_id"] for c in newsrag_field(narrowed)["citations"]} == {"harbour-bridge"}


def test_langchain_chat_openai_gets_the_same_answer(api: Api, client: Any) -> None:
    from langchain_openai import ChatOpenAI

    plain = ask(client, [{"role": "user", "content": BRIDGE}])
    llm = ChatOpenAI(base_url=api.base_url, api_key=api.read_key, model="newsrag",
                     max_retries=0, timeout=120)
    reply = llm.invoke(BRIDGE)
    assert reply.content == plain.choices[0].message.content
    streamed = "".join(str(chunk.content) for chunk in llm.stream(BRIDGE))
    assert streamed == plain.choices[0].message.content


def test_openai_client_errors_carry_the_openai_error_shape(client: Any) -> None:
    import openai

    with pytest.raises(openai.NotFoundError) as missing:
        ask_model(client, "gpt-4o")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="newsrag", messages=[])
    assert empty.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def ask_model(client: Any, model: str) -> Any:
    return client.chat.completions.create(model=model,
                                          messages=[{"role": "user", "content": BRIDGE}])


def test_the_answer_json_of_the_rest_api_matches(api: Api, client: Any, tmp_path: Path) -> None:
    import httpx

    plain = ask(client, [{"role": "user", "content": BRIDGE}])
    response = httpx.post(f"{api.base_url}/answers", json={"question": BRIDGE},
                          headers={"Authorization": f"Bearer {api.read_key}"}, timeout=120)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["answer"] == newsrag_field(plain)["answer"]
    assert answer["citations"] == newsrag_field(plain)["citations"]
    assert answer["short_answer"]["text"] in answer["answer"]


def test_a_generator_model_streams_grounded_sentences(client: Any) -> None:
    reply = ("The Korvinth harbour bridge cost 310 million euros [1]. Mayor Ilsabet Varrow "
             "cut the ribbon [2].")
    SCRIPTED.error = None
    SCRIPTED.replies = [reply, reply]
    question = [{"role": "user", "content": BRIDGE}]
    plain = client.chat.completions.create(model="newsrag-serve-scripted", messages=question)
    chunks = list(client.chat.completions.create(model="newsrag-serve-scripted",
                                                 messages=question, stream=True))
    extra = newsrag_field(plain)
    assert extra["generator"] == "serve-scripted"
    assert "310 million" in extra["answer"] and "Varrow cut the ribbon" in extra["answer"]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and
              c.choices[0].delta.content]
    assert len(pieces) >= 3  # the short answer, the written sentences, then the Sources
    assert "".join(pieces) == plain.choices[0].message.content
    (finish,) = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert newsrag_field(finish)["citations"] == extra["citations"]
    assert all(c["article_id"] == "harbour-bridge" for c in extra["citations"])


def test_a_generator_failing_is_an_error_streamed_or_not(client: Any) -> None:
    import openai

    from newsrag.errors import ModelError

    SCRIPTED.error = ModelError("the LLM server at 127.0.0.1:9 is down")
    question = [{"role": "user", "content": BRIDGE}]
    try:
        with pytest.raises(openai.APIStatusError) as plain:
            client.chat.completions.create(model="newsrag-serve-scripted", messages=question)
        assert plain.value.status_code == 503
        assert plain.value.code == "model_unavailable"
        stream = client.chat.completions.create(model="newsrag-serve-scripted",
                                                messages=question, stream=True)
        with pytest.raises(openai.APIError, match=r"LLM server at 127\.0\.0\.1:9 is down"):
            for _ in stream:
                pass
    finally:
        SCRIPTED.error = None
    assert ask(client, question).choices[0].finish_reason == "stop"  # still serving
