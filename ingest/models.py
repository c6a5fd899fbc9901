"""Plain data passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawDocument:
    """What a loader produced: decoded text (or HTML already reduced to text) and its origin."""

    origin: str  # absolute path or URL, the article's identity
    text: str
    # Metadata a loader could read from the source itself (HTML <title>, trafilatura's date).
    title: str | None = None
    date: str | None = None
    author: str | None = None
    # The site that published it ("Báo Phú Thọ điện tử"): a provincial paper's name says which
    # province an article is about when its text does not.
    publisher: str | None = None
    content_type: str = "text/plain"
    # What the loader repaired to read it (invalid bytes replaced, stray NULs removed), for the
    # user to hear about: the article is ingested all the same.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Article:
    article_id: str  # stable id derived from the origin
    origin: str
    title: str
    date: str | None  # ISO yyyy-mm-dd when known
    author: str | None
    text: str  # cleaned, NFC; citation offsets index into this
    content_hash: str  # sha256 of ``text``
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # f"{article_id}-{position}-{hash8}"; changes whenever the text does
    article_id: str
    position: int
    start: int  # offsets into Article.text; Article.text[start:end] == text
    end: int
    text: str
