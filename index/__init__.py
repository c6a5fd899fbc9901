"""Indexes derived from ingested articles: dense vectors (Chroma), lexical (SQLite FTS5), hybrid."""
