"""The LangChain edge: NewsRetriever over real Chroma, and the LCEL chain returning Answers.

Retriever tests use the fake embedder (fast, exact control over similarity); the chain runs
end to end on the sample article with the real packaged embedder.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from ingest.index import open_index
from ingest.pipeline import ingest
from newsrag.settings import load_settings
from rag.answering import AskOptions, Assistant
from rag.chain import NewsRetriever, build_chain, to_document, to_hit
from rag.generators import register_chat_model
from rag.models import Answer
from rag.search import SearchOptions, make_filters, retrieve
from rag.services import Services, build_services
from tests.conftest import REPO, SAMPLE
from tests.fakes import ScriptedChat

FLOOD = ("The river flood warning told residents of the valley to evacuate before the water "
         "rose overnight. Emergency crews filled sandbags along the river banks.")
ARTICLES = [
    {"id": "budget", "title": "Council approves budget", "source": "Alpha News",
     "published": "2025-03-01",
     "text": "The city council approved the budget on Monday after a long debate about schools. "
             "Teachers welcomed the extra money for classrooms."},
    {"id": "bridge", "title": "Harbour bridge reopens", "source": "Beta Times",
     "published": "2025-03-20",
     "text": "The harbour bridge reopened to traffic on Thursday after two years of repairs. "
             "Commuters said the council budget paid for the work."},
    # Two syndicated copies of one story, and a different story on the same subject.
    {"id": "flood-gamma", "title": "Flood warning for the valley", "source": "Gamma Post",
     "published": "2025-03-10", "text": FLOOD},
    {"id": "flood-delta", "title": "Flood warning for the valley", "source": "Delta Daily",
     "published": "2025-03-10", "text": FLOOD},
    {"id": "flood-barrier", "title": "Valley flood barrier funded", "source": "Alpha News",
     "published": "2025-03-12",
     "text": "The river flood barrier for the valley will be funded next year, residents heard. "
             "Engineers expect the barrier to protect homes from the river."},
]


def ingest_articles(folder: Path, **env: str) -> Services:
    """ARTICLES ingested into a data dir under `folder`, with the fake embedder."""
    feed = folder / "news.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    settings = load_settings(REPO / "config.toml", env={
        "NEWSRAG_DATA_DIR": str(folder / "data"),
        "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder", **env})
    index = open_index(settings)
    assert sorted(ingest([str(feed)], settings, index).added) == sorted(a["id"] for a in ARTICLES)
    return build_services(settings, index)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return ingest_articles(tmp_path_factory.mktemp("chain"))


def test_documents_round_trip_to_the_same_hits(services: Services) -> None:
    question = "council budget debate"
    documents = NewsRetriever(services=services, k=3).invoke(question)
    assert all(isinstance(d, Document) for d in documents)
    hits = [to_hit(d) for d in documents]
    assert hits == retrieve(question, services, SearchOptions(k=3))
    assert hits[0].article_id == "budget"
    first = documents[0]
    assert first.page_content == hits[0].text
    assert first.metadata["title"] == "Council approves budget"
    assert first.metadata["source"] == "Alpha News" and "text" not in first.metadata
    assert [s["text"] for s in first.metadata["sentences"]] == [s.text for s in hits[0].sentences]
    assert all(to_hit(to_document(hit)) == hit for hit in hits)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_k_is_honoured(services: Services, k: int) -> None:
    documents = NewsRetriever(services=services, k=k).invoke("river flood valley")
    assert len(documents) == k
    assert len({(d.metadata["article_id"], d.metadata["chunk_index"]) for d in documents}) == k


def test_without_k_the_configured_k_applies(services: Services) -> None:
    documents = NewsRetriever(services=services).invoke("river flood valley")
    assert len(documents) == min(services.settings.retrieval.k, len(ARTICLES))


def test_filters_are_honoured(services: Services) -> None:
    question = "council budget"
    unfiltered = {d.metadata["source"] for d in NewsRetriever(services=services, k=5).invoke(
        question)}
    assert {"Alpha News", "Beta Times"} <= unfiltered
    by_source = NewsRetriever(services=services, k=5, filters=make_filters(("Beta Times",)))
    assert [d.metadata["article_id"] for d in by_source.invoke(question)] == ["bridge"]
    since = NewsRetriever(services=services, k=5, filters=make_filters(since=date(2025, 3, 11)))
    assert {d.metadata["article_id"] for d in since.invoke(question)} == {"bridge",
                                                                       "flood-barrier"}
    until = NewsRetriever(services=services, k=5, filters=make_filters(
        ("Alpha News",), until=date(2025, 3, 5)))
    assert [d.metadata["article_id"] for d in until.invoke(question)] == ["budget"]


def test_republished_copies_wait_behind_other_stories(services: Services) -> None:
    question = "river flood warning: should valley residents evacuate?"
    copies = ("flood-gamma", "flood-delta")  # the same text from two outlets
    retrieval = services.settings.retrieval.model_copy(
        update={"duplicate_similarity": 1.01, "one_per_story": False})
    undiversified = Services(services.settings.model_copy(update={"retrieval": retrieval}),
                             services.index)
    plain = retrieve(question, undiversified, SearchOptions(k=2))
    assert {h.article_id for h in plain} == set(copies)
    # Either rule alone defers the copy: the chunks' cosine, or the story ingest matched.
    for update in ({"duplicate_similarity": 1.01}, {"one_per_story": False}):
        one_rule = services.settings.retrieval.model_copy(update=update)
        alone = Services(services.settings.model_copy(update={"retrieval": one_rule}),
                         services.index)
        assert [h.article_id for h in retrieve(question, alone, SearchOptions(k=2))][1] == "flood-barrier"
    default = [h.article_id for h in retrieve(question, services, SearchOptions(k=2))]
    assert default[0] in copies and default[1] == "flood-barrier"
    # With room for everything, the deferred copy comes back after every other story.
    everything = [h.article_id for h in retrieve(question, services, SearchOptions(k=50))]
    assert set(copies) <= set(everything)
    assert everything[-1] in copies and everything[-1] != default[0]


def test_mmr_skips_near_duplicates(services: Services) -> None:
    question = "river flood warning: should valley residents evacuate?"
    diverse = NewsRetriever(services=services, k=2, mmr=True).invoke(question)
    ids = [d.metadata["article_id"] for d in diverse]
    copies = ("flood-gamma", "flood-delta")
    assert ids[0] in copies and ids[1] not in copies  # one copy, then another story
    assert [to_hit(d) for d in diverse] == retrieve(question, services, SearchOptions(k=2, mmr=True))


@pytest.fixture(scope="module")
def sample_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The sample article with the real embedder (the default generator: extractive)."""
    folder = tmp_path_factory.mktemp("chain-sample")
    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(folder)})
    index = open_index(settings)
    ingest([str(SAMPLE)], settings, index)
    return Assistant(build_services(settings, index))


QUESTION = "What will Trump and Putin discuss?"
HISTORY: list[Any] = [HumanMessage(QUESTION), AIMessage("Land and power plants. [1]")]


@pytest.mark.slow
def test_the_chain_returns_the_assistants_answer(sample_assistant: Assistant) -> None:
    answer = build_chain(sample_assistant).invoke({"question": QUESTION, "chat_history": []})
    assert isinstance(answer, Answer) and not answer.refused
    direct = sample_assistant.answer(QUESTION)
    assert (answer.answer, answer.citations, answer.sources) == (
        direct.answer, direct.citations, direct.sources)
    assert any("land and power plants" in c.text for c in answer.citations)
    assert answer.generator == "extractive" and answer.standalone_question == QUESTION


@pytest.mark.slow
def test_the_chain_composes_with_other_runnables(sample_assistant: Assistant) -> None:
    text = (build_chain(sample_assistant) | RunnableLambda(lambda ans: ans.answer)).invoke(
        {"question": QUESTION})
    assert isinstance(text, str) and "land and power plants" in text


@pytest.mark.slow
def test_a_followup_in_langchain_history_is_rewritten(sample_assistant: Assistant) -> None:
    followup = "And what did the Kremlin say?"
    answer = build_chain(sample_assistant).invoke({"question": followup,
                                                   "chat_history": HISTORY})
    assert answer.question == followup and not answer.refused
    assert answer.standalone_question != followup
    assert "Trump" in answer.standalone_question and "Putin" in answer.standalone_question
    assert "Kremlin" in answer.standalone_question
    assert any("Kremlin" in s.text for h in answer.sources for s in h.sentences)


@pytest.mark.slow
def test_the_chain_uses_the_chosen_chat_model_to_rewrite_and_answer(
        sample_assistant: Assistant) -> None:
    rewrite = "What did the Kremlin say about the talks between Trump and Putin?"
    chat = ScriptedChat(f"Rewritten question 2: {rewrite}", "The sources do not say.",
                        name="scripted-chain")
    register_chat_model("scripted-chain", lambda settings, options: chat)
    answer = build_chain(sample_assistant, AskOptions(generator="scripted-chain", k=2)).invoke(
        {"question": "And what did the Kremlin say?", "chat_history": HISTORY})
    assert answer.standalone_question == rewrite
    assert len(chat.calls) == 2 and f"Question: {rewrite}" in chat.prompts[1]
    assert len(answer.sources) == 2  # k from the options reached the retriever
    assert answer.fallback and answer.generator == "scripted-chain"
