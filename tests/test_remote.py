"""Server-backed chat models: the real llama-cpp-python OpenAI-compatible server, and an Ollama
stub that records what the client sent. Everything runs on 127.0.0.1."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from newsrag.errors import ModelError
from newsrag.settings import GenerationSettings
from rag.generators import make_chat_model, packaged_gguf
from rag.prompt import build_messages
from rag.remote import OllamaChat, OpenAIChat, describe_cause
from tests.llm_server import free_port, llama_server, ollama_stub, silent_server
from tests.test_generators import SOURCES

QUESTION = "What will Trump and Putin discuss?"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies in the environment must not capture requests to our 127.0.0.1 servers."""
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        for name in ("NO_PROXY", "no_proxy"):
            current = os.environ.get(name, "")
            monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))


@pytest.fixture(scope="module")
def openai_url() -> Iterator[str]:
    """llama-cpp-python's own server, running the packaged SmolLM2 GGUF."""
    with llama_server(packaged_gguf()) as base_url:
        yield base_url


def openai_settings(base_url: str, **values: object) -> GenerationSettings:
    return GenerationSettings.model_validate(
        {"generator": "openai", "max_tokens": 60, "temperature": 0.0, **values,
         "openai": {"base_url": base_url, "model": "smollm2"}})


def ollama_settings(base_url: str, model: str = "llama3.2:3b", **values: object
                    ) -> GenerationSettings:
    return GenerationSettings.model_validate(
        {"generator": "ollama", **values,
         "ollama": {"base_url": base_url, "model": model}})


def test_the_registry_builds_both_backends_without_touching_the_network() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    openai_chat = make_chat_model(openai_settings(f"{closed}/v1"))
    ollama_chat = make_chat_model(ollama_settings(closed))
    assert isinstance(openai_chat, OpenAIChat) and openai_chat.name == "openai:smollm2"
    assert isinstance(ollama_chat, OllamaChat) and ollama_chat.name == "ollama:llama3.2:3b"


@pytest.mark.slow
def test_openai_streams_a_cited_answer_from_a_real_server(openai_url: str) -> None:
    chat = OpenAIChat(openai_settings(openai_url))
    deltas = list(chat.stream(build_messages(QUESTION, SOURCES)))
    assert len(deltas) > 1 and all(isinstance(delta, str) and delta for delta in deltas)
    assert "".join(deltas).strip()


@pytest.mark.slow
def test_openai_at_temperature_zero_is_deterministic(openai_url: str) -> None:
    messages = build_messages(QUESTION, SOURCES)
    first = "".join(OpenAIChat(openai_settings(openai_url)).stream(messages))
    second = "".join(OpenAIChat(openai_settings(openai_url)).stream(messages))
    assert first.strip() and first == second


@pytest.mark.slow
def test_openai_max_tokens_reaches_a_compatible_server(openai_url: str) -> None:
    # llama-cpp-python ignores max_completion_tokens (what ChatOpenAI sends by default) and would
    # write on to the end of its context; one token per streamed delta here.
    chat = OpenAIChat(openai_settings(openai_url, max_tokens=16))
    deltas = list(chat.stream([{"role": "user", "content": "Write a long story about a dragon."}]))
    assert 1 < len(deltas) <= 16


def test_openai_itself_gets_max_completion_tokens_and_other_servers_max_tokens() -> None:
    official = OpenAIChat(openai_settings("https://api.openai.com/v1", max_tokens=99))._build()
    local = OpenAIChat(openai_settings("http://127.0.0.1:8000/v1", max_tokens=99))._build()
    # OpenAI refuses a request that carries both names.
    assert (official.max_tokens, official.extra_body) == (99, None)
    assert (local.max_tokens, local.extra_body) == (None, {"max_tokens": 99})


@pytest.mark.slow
def test_openai_wrong_path_is_a_model_error_with_the_status(openai_url: str) -> None:
    wrong = openai_url.removesuffix("/v1")
    with pytest.raises(ModelError, match="^" + re.escape(f"the OpenAI-compatible server at {wrong} answered 404: Not Found") + "$"):
        list(OpenAIChat(openai_settings(wrong)).stream([{"role": "user", "content": "Hi"}]))


def test_openai_closed_port_is_a_model_error_naming_the_server() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError) as caught:
        list(OpenAIChat(openai_settings(base_url)).stream([{"role": "user", "content": "Hi"}]))
    assert str(caught.value) == (f"cannot reach the OpenAI-compatible server at {base_url}: "
                                 "connection refused")


def test_openai_silent_server_times_out_as_a_model_error() -> None:
    with silent_server() as url, pytest.raises(ModelError, match=r"did not answer within 0\.3 s$"):
        chat = OpenAIChat(openai_settings(f"{url}/v1", timeout_s=0.3))
        list(chat.stream([{"role": "user", "content": "Hi"}]))


def test_ollama_sends_the_model_messages_and_options_and_streams_the_reply() -> None:
    reply = ["Trump and Putin", " will discuss land", " and power plants [1]."]
    messages = [*build_messages(QUESTION, SOURCES), {"role": "assistant", "content": "Land [1]."},
                {"role": "user", "content": "And what else?"}]
    with ollama_stub(("llama3.2:3b",), reply) as stub:
        chat = OllamaChat(ollama_settings(stub.url, temperature=0.0, seed=7, max_tokens=64))
        assert list(chat.stream(messages)) == reply
    [(method, path, body)] = stub.requests
    assert (method, path, body["model"], body["stream"]) == ("POST", "/api/chat", "llama3.2:3b",
                                                             True)
    sent = [{"role": m["role"], "content": m["content"]} for m in body["messages"]]
    assert sent == messages
    assert body["options"]["temperature"] == 0.0
    assert (body["options"]["seed"], body["options"]["num_predict"]) == (7, 64)


def test_ollama_unknown_model_is_a_clear_model_error() -> None:
    with ollama_stub(("llama3.2:3b",), ["Hi"]) as stub, pytest.raises(ModelError) as caught:
        list(OllamaChat(ollama_settings(stub.url, model="qwen3:8b")).stream(
            [{"role": "user", "content": "Hi"}]))
    assert str(caught.value) == (f"the Ollama server at {stub.url} has no model 'qwen3:8b' "
                                 "(try: ollama pull qwen3:8b)")


def test_ollama_error_in_the_middle_of_the_stream_is_a_model_error() -> None:
    with ollama_stub(("llama3.2:3b",), ["Hi", " there"]) as stub:
        stream = OllamaChat(ollama_settings(stub.url, model="broken")).stream(
            [{"role": "user", "content": "Hi"}])
        assert next(stream) == "Hi"
        with pytest.raises(ModelError, match=r"failed: model runner has unexpectedly stopped$"):
            next(stream)


def test_ollama_wrong_path_reports_the_status() -> None:
    with ollama_stub(("llama3.2:3b",), ["Hi"]) as stub, pytest.raises(
            ModelError, match=r"answered 404: 404 page not found$"):
        list(OllamaChat(ollama_settings(f"{stub.url}/v1")).stream(
            [{"role": "user", "content": "Hi"}]))


def test_ollama_closed_port_is_a_model_error_naming_the_server() -> None:
    base_url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ModelError) as caught:
        list(OllamaChat(ollama_settings(base_url)).stream([{"role": "user", "content": "Hi"}]))
    assert str(caught.value) == f"cannot reach the Ollama server at {base_url}: connection refused"


def test_ollama_silent_server_times_out_as_a_model_error() -> None:
    with silent_server() as url, pytest.raises(ModelError, match=r"did not answer within 0\.3 s$"):
        list(OllamaChat(ollama_settings(url, timeout_s=0.3)).stream(
            [{"role": "user", "content": "Hi"}]))


def test_unknown_roles_are_refused_before_any_request() -> None:
    chat = OpenAIChat(openai_settings(f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(ValueError, match="unknown chat message role 'tool'"):
        list(chat.stream([{"role": "tool", "content": "{}"}]))


def test_describe_cause_reads_the_innermost_error_without_errno_noise() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise RuntimeError("Connection error.") from inner
    except RuntimeError as outer:
        assert describe_cause(outer) == "connection refused"
    assert describe_cause(TimeoutError()) == "TimeoutError"
