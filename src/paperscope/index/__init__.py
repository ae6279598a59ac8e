"""Indexes derived from the store: keyword (BM25) and semantic (embeddings)."""
