"""Turn a loaded document into an article: clean → metadata → identity."""

from __future__ import annotations

import hashlib

from ingest.clean import clean_text
from ingest.errors import EmptySourceError
from ingest.metadata import extract_metadata, split_header
from ingest.models import Article, RawDocument

# Fewer characters than this after cleaning is not an article.
MIN_ARTICLE_CHARS = 20


def article_id_for(origin: str) -> str:
    """Stable id from the origin: re-ingesting a path or URL updates the same article."""
    return "a" + hashlib.sha256(origin.encode("utf-8")).hexdigest()[:15]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare(raw: RawDocument) -> Article:
    header, body = split_header(raw.text)
    text = clean_text(body)
    if len(text) < MIN_ARTICLE_CHARS:
        raise EmptySourceError(f"{raw.origin}: empty — no article text left after cleaning")
    meta = extract_metadata(text, title=raw.title or header.title, when=raw.date or header.date)
    extra = {"content_type": raw.content_type}
    link = header.url or (raw.origin if raw.origin.startswith(("http://", "https://")) else None)
    if link:
        extra["url"] = link
    return Article(
        article_id=article_id_for(raw.origin),
        origin=raw.origin,
        title=meta.title,
        date=meta.date,
        author=raw.author or header.author or meta.author,
        text=text,
        content_hash=content_hash(text),
        extra=extra,
    )
