"""Inline mode: ``@bot câu hỏi`` in any chat offers the answer to send there.

Telegram sends an inline query each time the person pauses while typing, so most queries are
superseded within a second. Each distinct question is answered once: by Telegram's cache
(``cache_time``) and by a short one here, keyed by the question; a query waits a moment
(``DEBOUNCE_SECONDS``) and is dropped when a newer one from the same person arrived meanwhile.
The answer is the extractive one even with an LLM set: it is instant, and Telegram gives a bot
only seconds to answer an inline query. Each result is one lead line of the answer (the figure
line) titled as such, described by its source, sending the whole cited answer with a button to
the source's web page. Inline queries count against a per-person budget of their own, a few
times ``TINBOT_RATE_LIMIT``, and wait for the person's turn like questions in chats do.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Generic, TypeVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.telegram.base import HandlerBase
from bot.telegram.commands import question_problem
from bot.telegram.format import format_date, is_url, render_answer, split_message
from bot.telegram.ratelimit import SlidingWindowLimiter
from bot.types import Answer, Citation

logger = logging.getLogger(__name__)

MIN_INLINE_CHARS = 4  # shorter queries are the first keystrokes of a question
INLINE_CACHE_SECONDS = 60  # how long Telegram may serve our results for the same query text
CACHE_TTL_SECONDS = 120.0  # our own cache of answers by question
CACHE_SIZE = 256
DEBOUNCE_SECONDS = 0.3
INLINE_QUERIES_PER_QUESTION = 5  # an inline question costs several queries as it is typed
MAX_RESULTS = 5
MAX_TITLE_CHARS = 120
MAX_DESCRIPTION_CHARS = 160
START_PARAMETER = "inline"  # the button above the results opens the bot's chat: /start inline

MSG_TYPE_A_QUESTION = "Gõ câu hỏi về các bài viết đã nạp"
MSG_NOT_FOUND = "Không tìm thấy trong các bài viết đã nạp"
MSG_TOO_FAST = "Bạn hỏi hơi nhanh — thử lại sau ít phút"
MSG_BUSY = "Đang trả lời câu trước của bạn…"

_MARKER_RE = re.compile(r"\s*\[(\d+)\]")
_QUOTE_MARKS = ("“", '"', "«", "„")
V = TypeVar("V")


@dataclass(frozen=True)
class InlineAnswer:
    results: tuple[InlineQueryResultArticle, ...]
    button: InlineQueryResultsButton | None  # shown above the results when there are none


class TTLCache(Generic[V]):
    """The last ``size`` values put, each for ``ttl`` seconds."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._clock():
            del self._items[key]
            return None
        return value

    def put(self, key: str, value: V) -> None:
        self._items[key] = (self._clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def lead_lines(answer: Answer) -> list[str]:
    """The lines of an answer that state its findings (figure lines such as "470 đảng viên —
    huyện Tuần Giáo, … [1]"), without an introduction ("Theo các bài viết đã nạp:") or the
    quoted sentences; an answer that only quotes leads with its first quote."""
    paragraph = answer.text.strip().split("\n\n", 1)[0]
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    statements = [line for line in lines if not (line.endswith(":") and "[" not in line)]
    leads = [line for line in statements if not line.startswith(_QUOTE_MARKS)]
    return leads or statements[:1] or lines[:1]


def plain_lead(line: str) -> tuple[str, list[int]]:
    """A lead line without its ``[n]`` markers, and the ``n`` it cites."""
    return _MARKER_RE.sub("", line).strip(), [int(n) for n in _MARKER_RE.findall(line)]


def source_url(citation: Citation) -> str | None:
    for candidate in (citation.link, citation.origin):
        if candidate and is_url(candidate):
            return candidate
    return None


def inline_message(answer: Answer) -> str:
    """The answer as one Telegram HTML message: whole when it fits, else its lead lines with
    the sources, else the first part."""
    text = render_answer(answer)
    if len(split_message(text)) == 1:
        return text
    parts = split_message(render_answer(replace(answer, text="\n".join(lead_lines(answer)))))
    return parts[0] if parts else split_message(text)[0]


def inline_answer(question: str, answer: Answer) -> InlineAnswer:
    """One result per lead line of the answer (up to ``MAX_RESULTS``), each sending the whole
    answer; none, and a button to the bot instead, when the articles do not say."""
    if answer.refused or not answer.citations:
        return InlineAnswer(
            (), InlineQueryResultsButton(MSG_NOT_FOUND, start_parameter=START_PARAMETER)
        )
    message = InputTextMessageContent(
        inline_message(answer),
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    by_n = {c.n: c for c in answer.citations}
    # Result ids must be unique within one answer and at most 64 bytes.
    stem = hashlib.sha256(question.encode("utf-8")).hexdigest()[:24]
    results = []
    for i, line in enumerate(lead_lines(answer)[:MAX_RESULTS]):
        lead, cited = plain_lead(line)
        source = next((by_n[n] for n in cited if n in by_n), answer.citations[0])
        lead = lead or source.title  # a line of markers only: Telegram needs a title
        details = [f"[{source.n}] {source.title}"]
        if date := format_date(source.date):
            details.append(date)
        url = source_url(source)
        keyboard = (
            InlineKeyboardMarkup([[InlineKeyboardButton(f"🔗 [{source.n}] Mở bài viết", url=url)]])
            if url
            else None
        )
        results.append(
            InlineQueryResultArticle(
                id=f"{stem}-{i}",
                title=_shorten(lead, MAX_TITLE_CHARS),
                input_message_content=message,
                description=_shorten(" — ".join(details), MAX_DESCRIPTION_CHARS),
                reply_markup=keyboard,
            )
        )
    return InlineAnswer(tuple(results), None)


class InlineHandlers(HandlerBase):
    @cached_property
    def inline_cache(self) -> TTLCache[InlineAnswer]:
        return TTLCache(CACHE_TTL_SECONDS, CACHE_SIZE)

    @cached_property
    def inline_limiter(self) -> SlidingWindowLimiter:
        return SlidingWindowLimiter(
            self.settings.rate_limit_per_minute * INLINE_QUERIES_PER_QUESTION
        )

    @cached_property
    def _latest_inline(self) -> dict[int, str]:
        return {}  # person → id of their newest inline query still waiting for an answer

    async def on_inline_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        person = query.from_user.id
        allowed = self.settings.allowed_chat_ids
        if allowed and person not in allowed:
            # An allow-list keeps the bot to some chats; inline mode would reach every chat.
            logger.info("refusing inline query from %s (not in TINBOT_ALLOWED_CHAT_IDS)", person)
            await self._answer(query, InlineAnswer((), None), personal=True)
            return
        question = " ".join(query.query.split())
        if len(question) < MIN_INLINE_CHARS or question_problem(question):
            hint = InlineQueryResultsButton(MSG_TYPE_A_QUESTION, start_parameter=START_PARAMETER)
            await self._answer(query, InlineAnswer((), hint))
            return
        key = question.casefold()
        cached = self.inline_cache.get(key)
        if cached is not None:
            await self._answer(query, cached)
            return
        latest = self._latest_inline
        latest[person] = query.id
        try:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            if latest.get(person) != query.id:
                return  # typed on: the newer query gets the answer
            if self.inline_limiter.hit(person):
                too_fast = InlineQueryResultsButton(MSG_TOO_FAST, start_parameter=START_PARAMETER)
                await self._answer(query, InlineAnswer((), too_fast), personal=True)
                return
            async with self.person_turn(person) as turn:
                if not turn:
                    busy = InlineQueryResultsButton(MSG_BUSY, start_parameter=START_PARAMETER)
                    await self._answer(query, InlineAnswer((), busy), personal=True)
                    return
                if latest.get(person) != query.id:
                    return
                cached = self.inline_cache.get(key)  # someone else may have asked meanwhile
                if cached is None:
                    answer = await asyncio.to_thread(
                        lambda: self.service.answer(question, generate=False)
                    )
                    cached = inline_answer(question, answer)
                    self.inline_cache.put(key, cached)
            await self._answer(query, cached)
        finally:
            if latest.get(person) == query.id:
                del latest[person]

    @staticmethod
    async def _answer(query: InlineQuery, answer: InlineAnswer, *, personal: bool = False) -> None:
        try:
            await query.answer(
                answer.results,
                # A refusal for this person (too fast, not served) must not be cached for all.
                cache_time=0 if personal else INLINE_CACHE_SECONDS,
                is_personal=personal or None,
                button=answer.button,
            )
        except BadRequest as exc:  # e.g. "query is too old": the person has moved on
            logger.warning("inline query %s not answered: %s", query.id, exc)
