"""Retrieval and answering over the ingested news: search, cited answers."""
