"""The Embedder, ChatModel and SupportJudge contracts (tests/contracts.py) against the fakes
and every backend that runs here: the ONNX (fp32, int8) and sentence-transformers embedders,
the packaged SmolLM2 through llama-cpp and through an OpenAI-compatible server, and the
heuristic judge. (The llm and nli judges need a model that does not install offline; the
Ollama generator needs an Ollama server: their behaviour is tested with local stand-ins in
test_eval_llm_judge.py, test_eval_nli_judge.py and test_remote.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingest.embed import make_embedder
from newsrag.settings import EmbeddingSettings, GenerationSettings
from rag.generators import make_chat_model, packaged_gguf
from rag.judge_align import AlignmentJudge
from tests.contracts import ChatModelContract, EmbedderContract, JudgeContract
from tests.fakes import FakeEmbedder, OverlapJudge, ScriptedChat
from tests.llm_server import llama_server


class TestFakeEmbedder(EmbedderContract):
    @pytest.fixture(scope="class")
    @classmethod
    def embedder(cls) -> Any:
        return FakeEmbedder()


@pytest.mark.slow
class TestRealEmbedders(EmbedderContract):
    @pytest.fixture(scope="class", params=["onnx", "onnx-int8", "sentence-transformers"])
    @classmethod
    def embedder(cls, request: pytest.FixtureRequest) -> Any:
        return make_embedder(EmbeddingSettings(backend=request.param))


class TestScriptedChat(ChatModelContract):
    @pytest.fixture()
    def chat(self) -> Any:
        return ScriptedChat(*["The sky is blue."] * 4)


@pytest.mark.slow
class TestLlamaCppChat(ChatModelContract):
    @pytest.fixture(scope="class")
    @classmethod
    def chat(cls) -> Any:
        return make_chat_model(GenerationSettings(max_tokens=24), "llama-cpp")


@pytest.mark.slow
class TestOpenAICompatibleChat(ChatModelContract):
    @pytest.fixture(scope="class")
    @classmethod
    def chat(cls) -> Iterator[Any]:
        with llama_server(packaged_gguf()) as base_url:
            settings = GenerationSettings.model_validate(
                {"max_tokens": 24, "openai": {"base_url": base_url, "model": "smollm2"}})
            yield make_chat_model(settings, "openai")


class TestOverlapJudge(JudgeContract):
    @pytest.fixture()
    def judge(self) -> Any:
        return OverlapJudge()


@pytest.mark.slow
class TestHeuristicJudge(JudgeContract):
    @pytest.fixture(scope="class")
    @classmethod
    def judge(cls) -> Any:
        return AlignmentJudge(make_embedder(EmbeddingSettings()))
