"""LangChain edge: a retriever over the index and an LCEL chain returning `Answer`s.

LangChain objects stay in this module: Documents are converted to and from `Hit`s here.

    >>> chain = build_chain(assistant)                                           # doctest: +SKIP
    >>> chain.invoke({"question": "When is it?",
    ...               "chat_history": [("human", "What will Trump and Putin discuss?"),
    ...                                ("ai", "Land and power plants [1].")]})  # doctest: +SKIP
    Answer(question='When is it?', standalone_question='When will Trump and Putin discuss?', ...)
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from pydantic import ConfigDict

from ingest.store import Filters
from rag.answering import AskOptions, Assistant
from rag.models import Answer, Hit
from rag.search import SearchOptions, retrieve
from rag.services import Services


class NewsRetriever(BaseRetriever):
    """Top-k chunks as Documents (metadata: the Hit's fields, incl. score and sentence spans).

    >>> retriever = NewsRetriever(services=services, k=3, mmr=True)  # doctest: +SKIP
    >>> retriever.invoke("Trump Putin call")[0].metadata["title"]     # doctest: +SKIP
    'Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    services: Services
    k: int | None = None
    filters: Filters | None = None
    mmr: bool | None = None

    def _get_relevant_documents(self, query: str, *,
                                run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = retrieve(query, self.services,
                        SearchOptions(k=self.k, filters=self.filters, mmr=self.mmr))
        return [to_document(hit) for hit in hits]


def to_document(hit: Hit) -> Document:
    return Document(page_content=hit.text, metadata=hit.model_dump(mode="json", exclude={"text"}))


def to_hit(document: Document) -> Hit:
    return Hit.model_validate({**document.metadata, "text": document.page_content})


def build_chain(assistant: Assistant, options: AskOptions | None = None
                ) -> Runnable[dict[str, Any], Answer]:
    """{"question", "chat_history"} → Answer: rewrite | retrieve | generate and ground.

    chat_history takes LangChain messages, (role, content) pairs, role/content dicts or
    (question, answer) pairs.
    """
    options = options or AskOptions()
    retriever = NewsRetriever(services=assistant.services, k=options.k,
                              filters=options.filters, mmr=options.mmr)

    def standalone(inputs: dict[str, Any]) -> str:
        return assistant.standalone_question(
            inputs["question"], inputs.get("chat_history"), options.generator)

    def respond(inputs: dict[str, Any]) -> Answer:
        hits = [to_hit(document) for document in inputs["documents"]]
        with assistant.respond(inputs["question"], inputs["standalone_question"], hits,
                               options) as stream:
            return stream.answer

    return (
        RunnablePassthrough.assign(standalone_question=RunnableLambda(standalone))
        | RunnablePassthrough.assign(documents=itemgetter("standalone_question") | retriever)
        | RunnableLambda(respond)
    ).with_config(run_name="newsrag")
