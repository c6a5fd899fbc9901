"""Evidence for the answerers: retrieved passages numbered, with their article's details."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.types import Evidence

if TYPE_CHECKING:
    from index.retrieve import Hit
    from index.store import ArticleStore, StoredChunk
    from ingest.models import Article, Chunk


def example_questions(store: ArticleStore, n: int = 3) -> list[str]:
    """Questions the corpus can answer, built from article titles' places."""
    examples: list[str] = []
    place_re = re.compile(
        r"(?:huyện|thành phố|TP\.|tỉnh|phường|xã|Khối các cơ quan tỉnh)\s+"
        r"((?:[A-ZĐÂĂÊÔƠƯ][^\s,.:;]*\s?){1,3})"
    )
    for info in store.articles():
        match = place_re.search(info.title)
        if match:
            examples.append(f"{match.group(1).strip()} kết nạp được bao nhiêu đảng viên?")
        if len(examples) >= n:
            break
    if len(examples) < n:
        examples.append("Công tác tạo nguồn phát triển đảng viên được thực hiện thế nào?")
    return examples[:n]


def evidence_of(
    n: int,
    article: Article,
    chunk: Chunk | StoredChunk,
    score: float = 0.0,
    lexical: float = 0.0,
    similarity: float = 0.0,
) -> Evidence:
    """Passage ``n`` of the evidence an answerer reads: the chunk with its article's details."""
    return Evidence(
        n=n,
        chunk_id=chunk.chunk_id,
        article_id=article.article_id,
        title=article.title,
        date=article.date,
        origin=article.origin,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        lexical=lexical,
        similarity=similarity,
        link=article.extra.get("url"),
        publisher=article.extra.get("publisher"),
    )


def evidence_from_hits(hits: Sequence[Hit], store: ArticleStore) -> list[Evidence]:
    evidence: list[Evidence] = []
    articles = {}
    for n, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        if chunk.article_id not in articles:
            articles[chunk.article_id] = store.get(chunk.article_id)
        article = articles[chunk.article_id]
        if article is None:
            continue
        evidence.append(evidence_of(n, article, chunk, hit.score, hit.lexical, hit.similarity))
    return evidence
