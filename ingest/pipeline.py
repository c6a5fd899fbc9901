"""Turn a loaded document into an article: clean → metadata → identity; and read a source
through every stage that needs no index (load, clean, fingerprint, figures)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass

from ingest.clean import clean_text
from ingest.errors import EmptySourceError, IngestError
from ingest.facts import Fact, extract_facts
from ingest.loaders import LoadLimits, load
from ingest.metadata import extract_metadata, split_header
from ingest.models import Article, RawDocument
from ingest.similarity import Signature, signature

logger = logging.getLogger(__name__)

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
    if raw.publisher:
        extra["publisher"] = raw.publisher
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


@dataclass(frozen=True)
class SourceRead:
    """One source read as far as it goes without the index: why it failed (``error``, with the
    document when it was loaded), or its article with its fingerprint and figures — those two
    are None for a text the index already holds (unchanged, or an alias), which needs neither."""

    origin: str
    raw: RawDocument | None = None
    article: Article | None = None
    signature: Signature | None = None
    facts: list[Fact] | None = None
    error: str | None = None


def unexpected_failure(exc: Exception) -> str:
    return f"could not be read ({type(exc).__name__}: {exc}; `tinbot --verbose` logs where)"


def read_source(origin: str, limits: LoadLimits, known: Collection[str] = ()) -> SourceRead:
    """Load, clean, fingerprint and extract the figures of one source; ``known`` are the
    content hashes already stored. Whatever goes wrong with one source is that source's
    failure, returned, not raised: the rest of a folder is still ingested."""
    try:
        raw = load(origin, limits)
    except IngestError as exc:
        return SourceRead(origin, error=str(exc))
    except Exception as exc:  # a loader's bug must not end the whole ingest
        logger.debug("reading %s failed", origin, exc_info=True)
        return SourceRead(origin, error=unexpected_failure(exc))
    try:
        article = prepare(raw)
        if article.content_hash in known:
            return SourceRead(origin, raw, article)
        return SourceRead(origin, raw, article, signature(article.text), extract_facts(article))
    except IngestError as exc:
        return SourceRead(origin, raw, error=str(exc))
    except Exception as exc:
        logger.debug("cleaning %s failed", origin, exc_info=True)
        return SourceRead(origin, raw, error=unexpected_failure(exc))
