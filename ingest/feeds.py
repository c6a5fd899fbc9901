"""RSS and Atom feeds: download under the same limits as any URL, list their entries."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingest.errors import IngestError
from ingest.loaders import LoadLimits, fetch_bytes

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
        "text/xml",
        "application/rdf+xml",
        "application/feed+json",
    }
)


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the entry's GUID/id, else its link: what "seen before" means
    link: str | None
    title: str | None
    published: str | None  # ISO date when the feed gives one
    content: str | None  # full HTML/text when the feed carries it (content:encoded, summary)


def parse_feed(data: bytes, url: str) -> list[FeedEntry]:
    import feedparser

    parsed = feedparser.parse(data)
    if parsed.get("bozo") and not parsed.entries:
        error = parsed.get("bozo_exception")
        raise IngestError(f"{url}: not a readable RSS/Atom feed ({error})")
    entries: list[FeedEntry] = []
    for item in parsed.entries:
        link = item.get("link") or None
        key = item.get("id") or item.get("guid") or link
        if not key:
            continue
        content = None
        if item.get("content"):
            content = "\n".join(part.get("value", "") for part in item["content"])
        elif item.get("summary"):
            content = item["summary"]
        published = None
        stamp = item.get("published_parsed") or item.get("updated_parsed")
        if stamp:
            published = time.strftime("%Y-%m-%d", stamp)
        entries.append(
            FeedEntry(
                key=str(key),
                link=str(link) if link else None,
                title=item.get("title") or None,
                published=published,
                content=content,
            )
        )
    return entries


def fetch_feed(url: str, limits: LoadLimits) -> list[FeedEntry]:
    data, _mime, _charset = fetch_bytes(url, limits, accept=FEED_TYPES | {"text/html"})
    return parse_feed(data, url)
