"""Telegram HTML rendering and keyboards, with no Telegram imports (pure, easy to test).

Everything that comes from articles or users is escaped here, and only here: answers, titles,
origins, passages, file names, questions. Messages longer than Telegram's limit are split on
paragraph boundaries, closing the tags open at a cut and reopening them in the next part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.telegram.callback_data import AskRef, Button, FeedbackRef, PageRef, SourceRef, fits
from bot.types import Answer, ArticleInfo, IngestReport, Passage, Stats

if TYPE_CHECKING:
    from bot.follows import FollowNews

MAX_MESSAGE = 4096  # Telegram's limit for a text message, in UTF-16 code units after parsing
SOURCES_PER_PAGE = 8
CONTEXT_CHARS = 300


def esc(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (``<``, ``>``, ``&``)."""
    return html.escape(text, quote=False)


def esc_attr(text: str) -> str:
    return html.escape(text, quote=True)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def is_url(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def format_date(date: str | None) -> str | None:
    """ISO ``2018-04-13`` → ``13/04/2018``, the way Vietnamese readers write dates."""
    if not date:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", date)
    if match:
        year, month, day = match.groups()
        return f"{day}/{month}/{year}"
    return date


def _link(origin: str) -> str | None:
    if not is_url(origin):
        return None
    host = urlsplit(origin).netloc
    return f'<a href="{esc_attr(origin)}">{esc(host)}</a>'


def source_line(
    n: int, title: str, date: str | None, origin: str, publisher: str | None = None
) -> str:
    """``[n] title — publisher — date — link``, the link only when the origin is a URL."""
    parts = [f"[{n}] {esc(title)}"]
    if publisher:
        parts.append(f"<i>{esc(publisher)}</i>")
    shown = format_date(date)
    if shown:
        parts.append(esc(shown))
    link = _link(origin)
    if link:
        parts.append(link)
    return " — ".join(parts)


def render_answer(answer: Answer, *, understood_as: str | None = None) -> str:
    """The answer with its ``[n]`` markers and a compact source list, as Telegram HTML."""
    vi = answer.language == "vi"
    lines: list[str] = []
    if understood_as:
        label = "Hiểu câu hỏi là" if vi else "Understood as"
        lines += [f"<i>{label}: {esc(understood_as)}</i>", ""]
    lines.append(esc(answer.text))
    if answer.citations:
        lines += ["", "<b>Nguồn:</b>" if vi else "<b>Sources:</b>"]
        lines += [
            source_line(c.n, c.title, c.date, c.link or c.origin, c.publisher)
            for c in answer.citations
        ]
    return "\n".join(lines)


def _trim_context(before: str, after: str) -> tuple[str, str]:
    """Context is cut at a character count; drop the partial words at its outer edges."""
    if before and not before[0].isspace():
        parts = before.split(None, 1)
        before = parts[1] if len(parts) == 2 else ""
    if after and not after[-1].isspace():
        parts = after.rsplit(None, 1)
        after = parts[0] if len(parts) == 2 else ""
    return before.lstrip(), after.rstrip()


def render_passage(n: int | None, passage: Passage) -> str:
    """A quoted passage in bold inside its surrounding context."""
    marker = f"[{n}] " if n is not None else ""
    lines = [f"<b>{marker}{esc(passage.title)}</b>"]
    details = [esc(d) for d in (format_date(passage.date),) if d]
    link = _link(passage.origin)
    if link:
        details.append(link)
    if details:
        lines.append(" — ".join(details))
    before, after = _trim_context(passage.before, passage.after)
    lead = "…" if before else ""
    tail = "…" if after else ""
    lines += ["", f"{lead}{esc(before)}<b>{esc(passage.quote)}</b>{esc(after)}{tail}"]
    return "\n".join(lines)


def format_timestamp(stamp: str | None) -> str | None:
    """ISO ``2024-01-02T03:04:05+00:00`` → ``02/01/2024 03:04 UTC``."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    zone = " UTC" if moment.utcoffset() == timedelta(0) else ""
    return moment.strftime("%d/%m/%Y %H:%M") + zone


def render_stats(stats: Stats, *, votes: tuple[int, int] | None = None) -> str:
    last = format_timestamp(stats.last_ingest) or "chưa có"
    lines = [
        "<b>Thống kê</b>",
        f"Số bài viết: {stats.articles}",
        f"Số đoạn đã lập chỉ mục: {stats.chunks}",
        f"Lần nạp gần nhất: {esc(last)}",
    ]
    if votes is not None:
        lines.append(f"Góp ý: 👍 {votes[0]} · 👎 {votes[1]}")
    return "\n".join(lines)


def pages(total: int, per_page: int = SOURCES_PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def render_sources_page(
    articles: Sequence[ArticleInfo], page: int, per_page: int = SOURCES_PER_PAGE
) -> str:
    if not articles:
        return "Chưa có bài viết nào được nạp."
    count = pages(len(articles), per_page)
    page = min(max(page, 0), count - 1)
    lines = [f"<b>Bài viết đã nạp</b> ({len(articles)}) — trang {page + 1}/{count}", ""]
    first = page * per_page
    for i, article in enumerate(articles[first : first + per_page], start=first + 1):
        lines.append(
            source_line(
                i, article.title, article.date, article.link or article.origin, article.publisher
            )
        )
    return "\n".join(lines)


_STATUS_VI = {
    "added": "Đã thêm",
    "updated": "Đã cập nhật",
    "unchanged": "Không đổi",
    "failed": "Không nạp được",
}


def render_ingest_report(report: IngestReport) -> str:
    lines: list[str] = []
    for r in report.results:
        label = _STATUS_VI[r.status]
        name = esc(r.title or r.origin)
        if r.status == "failed":
            lines.append(f"❌ {label}: {name} — {esc(r.reason or 'lỗi không rõ')}")
        else:
            note = f" ({esc(r.reason)})" if r.reason else ""
            lines.append(f"✅ {label}: <b>{name}</b> — {r.chunks} đoạn{note}")
    added, updated = report.count("added"), report.count("updated")
    unchanged, failed = report.count("unchanged"), report.count("failed")
    lines.append(f"\nThêm {added}, cập nhật {updated}, không đổi {unchanged}, lỗi {failed}.")
    return "\n".join(lines)


# --- splitting ---------------------------------------------------------------------------------

_ATOM_RE = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]|[<&]", re.S)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")


def _tag(atom: str) -> tuple[bool, str] | None:
    """(is_closing, name) for a tag atom, None for text."""
    match = _TAG_RE.fullmatch(atom)
    if match is None:
        return None
    return match.group(1) == "/", match.group(2).lower()


def _break_priority(atoms: list[str], cut: int) -> int:
    """How good a cut before ``atoms[cut]`` is: 3 paragraph, 2 line, 1 word, 0 anywhere."""
    prev = atoms[cut - 1]
    if prev == "\n":
        return 3 if cut >= 2 and atoms[cut - 2] == "\n" else 2
    if prev in (" ", "\t"):
        return 1
    return 0


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` UTF-16 units (counting tags, so
    every part also fits after parsing), preferring paragraph, then line, then word breaks.
    A tag open at a cut is closed at the end of the part and reopened at the start of the next,
    so every part is valid HTML on its own."""
    if telegram_length(text) <= limit:
        return [text] if _visible(text).strip() else []
    atoms = _ATOM_RE.findall(text)
    sizes = [telegram_length(a) for a in atoms]
    parts: list[str] = []
    carried: list[tuple[str, str]] = []  # (name, opening tag) open at the start of this part
    i = 0
    while i < len(atoms):
        prefix = "".join(tag for _, tag in carried)
        stack = list(carried)
        length = telegram_length(prefix)
        best: dict[int, tuple[int, list[tuple[str, str]]]] = {}
        j = i
        while j < len(atoms):
            atom = atoms[j]
            tag = _tag(atom)
            new_stack = stack
            if tag is not None:
                closing, name = tag
                if closing:
                    if stack and stack[-1][0] == name:
                        new_stack = stack[:-1]
                else:
                    new_stack = [*stack, (name, atom)]
            new_closers = sum(len(name) + 3 for name, _ in new_stack)
            if length + sizes[j] + new_closers > limit:
                break
            length += sizes[j]
            stack = new_stack
            j += 1
            if j < len(atoms):
                best[_break_priority(atoms, j)] = (j, list(stack))
        if j == len(atoms):
            cut, stack_at_cut = j, stack
        elif best:
            cut, stack_at_cut = best[max(best)]
        else:
            raise ValueError("a single tag is longer than the message limit")
        body = "".join(atoms[i:cut]).strip()
        closing_tags = "".join(f"</{name}>" for name, _ in reversed(stack_at_cut))
        part = prefix + body + closing_tags
        if _visible(part).strip():
            parts.append(part)
        carried = stack_at_cut
        i = cut
        while i < len(atoms) and atoms[i] in (" ", "\n", "\t"):
            i += 1
    return parts


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


# --- keyboards (described without Telegram types; the app turns them into markup) --------------


def answer_buttons(answer: Answer, answer_id: int | None, per_row: int = 4) -> list[list[Button]]:
    """One button per source opening its passage, a link button per URL source, 👍/👎."""
    rows: list[list[Button]] = []
    sources: list[Button] = []
    for c in answer.citations:
        ref = SourceRef(c.article_id, c.start, c.end, c.n)
        if fits(ref):
            sources.append(Button(f"📄 [{c.n}]", ref))
    links = [Button(f"🔗 [{c.n}]", url=c.origin) for c in answer.citations if is_url(c.origin)]
    for group in (sources, links):
        rows += [group[k : k + per_row] for k in range(0, len(group), per_row)]
    if answer_id is not None:
        rows.append(
            [
                Button("👍", FeedbackRef(answer_id, 1)),
                Button("👎", FeedbackRef(answer_id, -1)),
            ]
        )
    return rows


def page_buttons(page: int, total_pages: int) -> list[list[Button]]:
    row: list[Button] = []
    if page > 0:
        row.append(Button("◀ Trước", PageRef(page - 1)))
    if page < total_pages - 1:
        row.append(Button("Sau ▶", PageRef(page + 1)))
    return [row] if row else []


# --- follows -----------------------------------------------------------------------------------


def _quote_lines(news: FollowNews) -> list[str]:
    return [f"• “{esc(q.text)}”" for q in news.quotes]


def render_follow_notice(news: FollowNews) -> str:
    """One new (or changed) article for a follower: what it matched, title, date, link, the
    figure sentences for the place, and how to stop."""
    subjects = ", ".join(esc(s) for s in news.subjects)
    head = "🔄 Bài viết cập nhật về" if news.updated else "🔔 Bài viết mới về"
    lines = [f"{head} <b>{subjects}</b>", "", f"<b>{esc(news.title)}</b>"]
    details = [esc(d) for d in (format_date(news.date),) if d]
    link = _link(news.link) if news.link else None
    if link:
        details.append(link)
    if details:
        lines.append(" — ".join(details))
    if news.quotes:
        lines += ["", *_quote_lines(news)]
    lines += ["", f"<i>Thôi nhận tin: /botheodoi {esc(news.subjects[0])}</i>"]
    return "\n".join(lines)


def follow_buttons(news: FollowNews) -> list[list[Button]]:
    """📄 the first quoted sentence in its passage, ❓ ask about the article, 🔗 open it."""
    row: list[Button] = []
    if news.quotes:
        ref = SourceRef(news.article_id, news.quotes[0].start, news.quotes[0].end)
        if fits(ref):
            row.append(Button("📄 Xem đoạn trích", ref))
    ask = AskRef(news.article_id)
    if fits(ask):
        row.append(Button("❓ Hỏi về bài này", ask))
    rows = [row]
    if news.link and is_url(news.link):
        rows.append([Button("🔗 Mở bài viết", url=news.link)])
    return rows


def render_digest(items: Sequence[FollowNews]) -> str:
    """A day's news for a follower who asked for one message a day: ``[n]`` per article."""
    lines = [f"🗞 <b>Tin theo dõi trong ngày</b> ({len(items)} bài)"]
    for n, news in enumerate(items, start=1):
        subjects = ", ".join(esc(s) for s in news.subjects)
        lines += ["", source_line(n, news.title, news.date, news.link or ""), f"<i>{subjects}</i>"]
        lines += _quote_lines(news)[:1]
    return "\n".join(lines)


def digest_buttons(items: Sequence[FollowNews], per_row: int = 4) -> list[list[Button]]:
    sources = [
        Button(f"📄 [{n}]", SourceRef(news.article_id, news.quotes[0].start, news.quotes[0].end, n))
        for n, news in enumerate(items, start=1)
        if news.quotes
    ]
    sources = [b for b in sources if b.callback is not None and fits(b.callback)]
    return [sources[k : k + per_row] for k in range(0, len(sources), per_row)]
