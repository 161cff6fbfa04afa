"""Ingestion: load news articles, split them into sentences and chunks, embed and store them."""
