"""Which new articles concern which follows, and what to tell a follower about one.

A follow is a place or a topic. One that names a place or a person ("Mường Ảng", "huyện Tuần
Giáo": capitalised, as the question analyser reads names) matches an article that names it,
through the same folded-name lookup retrieval uses to put such articles first. Any other
subject ("tạo nguồn", "quần chúng ưu tú") matches an article that contains it as a phrase, or
whose passage is very close to it in meaning (``TOPIC_SIMILARITY``). The follower is then shown
the figure sentences the fact table holds for the place in that article, or else the sentence
where the subject occurs. No Telegram here: ``bot.telegram.follow`` sends what this finds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answering.question import analyse
from index.follows import Follow, FollowStore, Notice, Version, subject_key
from ingest.chunking import split_sentences

if TYPE_CHECKING:
    from bot.service import Tinbot
    from ingest.models import Article

# Raw cosine similarity (bundled e5) between a topic and a passage above which the passage is
# about the topic. Scores of e5 bunch up: on the 65 sample and news articles, off-topic
# subjects ("bóng đá", "giá vàng") reach 0.85 with some passage and phrases the articles use
# ("tạo nguồn") 0.89, while a passage on "kết nạp đảng viên trong trường học" scores 0.91 and
# the best unrelated one 0.90. So only a close paraphrase counts; the phrase itself is found
# lexically.
TOPIC_SIMILARITY = 0.905
MAX_QUOTES = 3


@dataclass(frozen=True)
class Quote:
    start: int  # offsets in the article's text
    end: int
    text: str


@dataclass(frozen=True)
class FollowNews:
    """What a follower is told about one article."""

    article_id: str
    title: str
    date: str | None
    link: str | None  # the article's web address, when known
    subjects: tuple[str, ...]  # the follows it matched, as typed
    quotes: tuple[Quote, ...]  # figure sentences for the place, or where the subject occurs
    updated: bool  # new text of an article stored before


def names_in(subject: str) -> tuple[str, ...]:
    """The folded places or people a subject names ("huyện Mường Ảng" → "muong ang"); empty
    for a topic."""
    return analyse(subject).entities


def matching(service: Tinbot, subject: str, article_ids: Sequence[str]) -> set[str]:
    """Which of these articles a follow of ``subject`` is told about."""
    if not article_ids:
        return set()
    names = names_in(subject)
    if names:
        found = set(article_ids)
        for name in names:
            found = service.lexical.articles_mentioning(name, found)
        return found
    found = service.lexical.articles_mentioning(subject_key(subject), article_ids)
    rest = [a for a in article_ids if a not in found]
    if rest:
        hits = service.search(subject, max(5, 3 * len(rest)), article_ids=rest)
        found |= {h.chunk.article_id for h in hits if h.similarity >= TOPIC_SIMILARITY}
    return found


def scan(service: Tinbot, store: FollowStore, limit: int = 500) -> int:
    """Match the articles written since the last scan against every follow and record the
    notices owed; returns how many are new. A follow hears only of articles written after it
    was made."""
    versions, newest = store.unscanned(limit)
    if not versions and newest is None:
        return 0
    follows = store.all()
    by_subject: dict[str, list[Follow]] = defaultdict(list)
    for follow in follows:
        by_subject[follow.subject_key].append(follow)
    owed: dict[Version, dict[int, tuple[list[str], bool]]] = defaultdict(dict)
    for group in by_subject.values():
        first = min(f.created_at for f in group)
        candidates = [v for v in versions if v.updated_at >= first]
        found = matching(service, group[0].subject, [v.article_id for v in candidates])
        for version in candidates:
            if version.article_id not in found:
                continue
            for follow in group:
                if version.updated_at < follow.created_at:
                    continue
                subjects, digest = owed[version].get(follow.chat_id, ([], True))
                # One message per article: several follows it matches share it, and it comes
                # at once if any of them wants news at once.
                owed[version][follow.chat_id] = (
                    [*subjects, follow.subject],
                    digest and follow.digest,
                )
    notices = [
        Notice(chat, v.article_id, v.content_hash, tuple(subjects), digest, v.updated)
        for v, chats in owed.items()
        for chat, (subjects, digest) in chats.items()
    ]
    return store.record_scan(versions, notices, newest)


def news_for(service: Tinbot, notice: Notice) -> FollowNews | None:
    """What to tell about a notice's article; None when the article is gone or has changed
    since (the newer text is a notice of its own)."""
    article = service.store.get(notice.article_id)
    if article is None or article.content_hash != notice.content_hash:
        return None
    quotes: dict[tuple[int, int], Quote] = {}
    for subject in notice.subjects:
        found = False
        for name in names_in(subject):
            for fact in service.facts.query(place=name, article_id=article.article_id):
                quote = Quote(fact.start, fact.end, fact.sentence)
                quotes.setdefault((fact.start, fact.end), quote)
                found = True
        if not found:
            about = _sentence_about(service, article, subject)
            if about is not None:
                quotes.setdefault((about.start, about.end), about)
    ordered = sorted(quotes.values(), key=lambda q: q.start)[:MAX_QUOTES]
    return FollowNews(
        article_id=article.article_id,
        title=article.title,
        date=article.date,
        link=article.extra.get("url"),
        subjects=notice.subjects,
        quotes=tuple(ordered),
        updated=notice.updated,
    )


def _sentence_about(service: Tinbot, article: Article, subject: str) -> Quote | None:
    """The first sentence that names the subject, else the first of the passage closest to
    it; never the headline, which the notice shows anyway."""
    text = article.text
    wanted = [f" {name} " for name in names_in(subject)] or [f" {subject_key(subject)} "]
    spans = [(s, e) for s, e in split_sentences(text) if text[s:e] != article.title]
    for start, end in spans:
        folded = f" {subject_key(text[start:end])} "
        if any(w in folded for w in wanted):
            return Quote(start, end, text[start:end])
    hits = service.search(subject, 1, article_ids=[article.article_id])
    if not hits:
        return None
    chunk = hits[0].chunk
    for start, end in spans:
        if start >= chunk.start and end <= chunk.end:
            return Quote(start, end, text[start:end])
    return None
