"""Data types of the index layer that the front ends show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArticleInfo:
    article_id: str
    title: str
    date: str | None
    origin: str
    chunks: int
    ingested_at: str  # ISO timestamp, UTC


@dataclass(frozen=True)
class Stats:
    articles: int
    chunks: int
    last_ingest: str | None
