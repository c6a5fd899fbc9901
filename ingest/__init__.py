"""Ingest pipeline: load → clean → metadata → chunk."""
