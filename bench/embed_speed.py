"""Embedding cost per word piece: newsrag's backends and the naive pipeline's, on the same articles.

Run from the repo root, after bench/retrieval.py has built bench/results/rtqa-index:
    .venv/bin/python -m bench.embed_speed [--articles 60] [--repeats 2]

bench/ingest_profile.py shows that the model's forward pass is 97 % of ingest's critical
path, so ingest speed is word pieces embedded × seconds per word piece. This measures the
second factor alone, with nothing else running in the process: the chunks newsrag embeds for
the first `--articles` articles of the dev store (title and date in front, as ingest builds
them) and the naive pipeline's 1000/200-character chunks of the same articles, each embedded
by each backend (`sentence-transformers` is torch, as the naive pipeline runs it). Each figure
is the best of `--repeats` timed runs after a warm-up; word pieces are counted after the
model's 256-piece truncation. Writes bench/results/embed_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.scale import RESULTS, settings_for

BACKENDS = ("sentence-transformers", "onnx", "onnx-int8")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--source", type=Path, default=RESULTS / "rtqa-index")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    return parser.parse_args()


def chunk_texts(source: Path, articles: int) -> dict[str, list[str]]:
    """newsrag's embedded chunk texts and the naive splitter's chunks, of the same articles."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.chunk import embed_text_for
    from ingest.models import Article
    from rag.services import build_services

    index = build_services(settings_for(source, "onnx")).index
    view = index.lexical.current()
    chosen = set(view.all_article_ids[:articles])
    ids = [c for c, a in zip(view.chunk_ids, view.chunk_article, strict=True)
           if view.all_article_ids[a] in chosen]
    owners = index.catalog.chunk_owners(chosen)
    newsrag = []
    for match in index.lexical.chunks(ids):
        owner = owners[match.chunk.article_id]
        article = Article(id=owner["id"], title=owner["title"], text=owner["text"],
                          published=owner["published"])
        newsrag.append(embed_text_for(article, match.chunk.text))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    naive = [t for owner in owners.values() for t in splitter.split_text(owner["text"])]
    return {"newsrag chunks": newsrag, "naive 1000/200 chunks": naive}


def measure(backend: str, texts: list[str], repeats: int) -> dict[str, Any]:
    from ingest.embed import make_embedder

    embedder = make_embedder(settings_for(RESULTS / "embed-speed", backend).embedding)
    embedder.embed_documents(texts[:32])  # load (and export) outside the timing
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        embedder.embed_documents(texts)
        best = min(best, time.perf_counter() - began)
    return {"backend": backend, "seconds": best}


def word_pieces(texts: list[str]) -> int:
    """Word pieces the model reads (after its 256-piece truncation), special tokens included."""
    from ingest.embed import make_embedder

    embedder = make_embedder(settings_for(RESULTS / "embed-speed", "onnx").embedding)
    return sum(min(n, embedder.max_tokens) for n in embedder.count_tokens(texts))


def main() -> None:
    args = parse_args()
    sets = chunk_texts(args.source, args.articles)
    rows = []
    for name, texts in sets.items():
        pieces = word_pieces(texts)
        for backend in args.backends.split(","):
            row = {"texts": name, "chunks": len(texts), "word_pieces": pieces,
                   **measure(backend, texts, args.repeats)}
            row["word_pieces_per_s"] = pieces / row["seconds"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| texts | chunks | word pieces | backend | seconds | word pieces/s |\n"
          "|---|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['texts']} | {r['chunks']} | {r['word_pieces']:,} | {r['backend']} "
              f"| {r['seconds']:.1f} | {r['word_pieces_per_s']:,.0f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "embed_speed.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
