"""The naive LangChain pipeline bench/retrieval.py compares against, built once and cached.

RecursiveCharacterTextSplitter(1000, 200) → all-MiniLM-L6-v2 → Chroma (langchain-chroma) →
top-k chunks, articles ranked by their best chunk. The embeddings class does exactly what
langchain-huggingface's HuggingFaceEmbeddings does with its defaults (SentenceTransformer
.encode, batch 32); that package itself cannot be installed beside transformers 5, because
it pins huggingface-hub < 2. The build resumes where it stopped: embedding ~24,000 chunks
takes about an hour on a 2-core laptop CPU.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 256


class MiniLMEmbeddings:
    """HuggingFaceEmbeddings' behaviour for a local sentence-transformers folder."""

    def __init__(self, model_path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self.model.encode(texts, batch_size=32)]

    def embed_query(self, text: str) -> list[float]:
        return list(map(float, self.model.encode(text)))


def open_naive(folder: Path, articles: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """The naive vector store over the articles (built or completed first), and its manifest."""
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.embed import packaged_model_path

    class Wrapped(MiniLMEmbeddings, Embeddings):
        pass

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(str(folder), ChromaSettings(anonymized_telemetry=False))
    store = Chroma(collection_name="naive", client=client,
                   embedding_function=Wrapped(str(packaged_model_path())))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts, metas, ids = [], [], []
    for article in articles:
        for i, piece in enumerate(splitter.split_text(article["text"])):
            texts.append(piece)
            metas.append({"doc_id": article["doc_id"]})
            ids.append(f"{article['doc_id']}:{i}")
    manifest_path = folder / "manifest.json"
    manifest = (json.loads(manifest_path.read_text()) if manifest_path.exists()
                else {"chunks": len(ids), "embed_seconds": 0.0})
    have = set(store.get(include=[])["ids"])
    todo = [i for i, chunk_id in enumerate(ids) if chunk_id not in have]
    for start in range(0, len(todo), BATCH):
        batch = todo[start:start + BATCH]
        began = time.perf_counter()
        store.add_texts([texts[i] for i in batch], [metas[i] for i in batch],
                        ids=[ids[i] for i in batch])
        manifest["embed_seconds"] += time.perf_counter() - began
        manifest_path.write_text(json.dumps(manifest))
        print(f"naive baseline: {len(have) + start + len(batch)}/{len(ids)} chunks embedded",
              file=sys.stderr)
    return store, manifest


def naive_articles(store: Any, question: str, n: int, fetch: int = 100) -> list[str]:
    """Article ids ranked by their best chunk among the top `fetch` chunks."""
    ranked: dict[str, None] = {}
    for document in store.similarity_search(question, k=fetch):
        ranked.setdefault(document.metadata["doc_id"], None)
    return list(ranked)[:n]
