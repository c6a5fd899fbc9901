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
    link: str | None = None  # its web address (a URL origin, or a scraped URL: line)
    publisher: str | None = None  # the site that published it, read from an HTML page


@dataclass(frozen=True)
class Stats:
    articles: int
    chunks: int
    last_ingest: str | None
