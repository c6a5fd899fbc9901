"""Result types of the answering and ingest services. No Telegram, Chroma or model imports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from index.models import ArticleInfo, Stats
from ingest.facts import Fact

__all__ = [
    "Answer",
    "ArticleInfo",
    "Citation",
    "Evidence",
    "IngestReport",
    "IngestResult",
    "IngestStatus",
    "Passage",
    "Stats",
]

REFUSAL_VI = "Không tìm thấy thông tin này trong các bài viết đã nạp."
REFUSAL_EN = "This information was not found in the ingested articles."


@dataclass(frozen=True)
class Citation:
    n: int  # the [n] marker used in the answer text
    article_id: str
    title: str
    date: str | None
    origin: str  # path or URL
    quote: str  # verbatim Article.text[start:end]
    start: int
    end: int
    link: str | None = None  # the article's web address (its URL origin, or a scraped URL: line)
    publisher: str | None = None  # the site that published it ("Báo Phú Thọ điện tử"), when known

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# The keys of each citation in ``tinbot ask --json``: a contract other tools read.
CITATION_KEYS = ("n", "article_id", "title", "date", "origin", "link", "publisher", "quote")


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # plain text with [n] markers; front ends escape/format it
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    language: Literal["vi", "en"] = "vi"
    # Which answerer produced it ("extractive", "llm:openai", ...) and why a fallback happened.
    answerer: str = "extractive"
    notes: list[str] = field(default_factory=list)
    # The facts a fact-table answer states (front ends may chart them); empty otherwise.
    figures: list[Fact] = field(default_factory=list)
    # The citation (its n) whose figure the answer's direct line states, when it has one.
    lead: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [{k: c.to_json()[k] for k in CITATION_KEYS} for c in self.citations],
        }


IngestStatus = Literal["added", "unchanged", "updated", "skipped", "removed", "failed"]


@dataclass(frozen=True)
class IngestResult:
    origin: str
    status: IngestStatus
    article_id: str | None = None
    title: str | None = None
    chunks: int = 0
    reason: str | None = None  # why it failed, in words a user can act on
    # What had to be repaired to read the source (it was ingested all the same).
    warnings: tuple[str, ...] = ()


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)

    def count(self, status: IngestStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def summary(self) -> str:
        text = (
            f"added {self.count('added')}, unchanged {self.count('unchanged')}, "
            f"updated {self.count('updated')}, failed {self.count('failed')}"
        )
        for extra in ("skipped", "removed"):
            if self.count(extra):
                text += f", {extra} {self.count(extra)}"
        return text


@dataclass(frozen=True)
class Passage:
    """A quoted span with surrounding context, for "show source" buttons."""

    article_id: str
    title: str
    date: str | None
    origin: str
    before: str
    quote: str
    after: str


@dataclass(frozen=True)
class Evidence:
    """A numbered retrieved passage handed to an answerer (extractive or generative)."""

    n: int
    chunk_id: str
    article_id: str
    title: str
    date: str | None
    origin: str
    text: str  # the passage, verbatim Article.text[start:end]
    start: int
    end: int
    score: float = 0.0  # fused retrieval score
    lexical: float = 0.0  # normalised BM25 (0 when the lexical side did not return it)
    similarity: float = 0.0  # raw cosine similarity (0 when the dense side did not)
    link: str | None = None  # the article's web address, when known
    publisher: str | None = None

    def citation(self, n: int, start: int, end: int) -> Citation:
        """Citation ``[n]`` of ``article.text[start:end]`` (offsets in the article), which lies
        within this passage."""
        return Citation(
            n=n,
            article_id=self.article_id,
            title=self.title,
            date=self.date,
            origin=self.origin,
            quote=self.text[start - self.start : end - self.start],
            start=start,
            end=end,
            link=self.link,
            publisher=self.publisher,
        )
