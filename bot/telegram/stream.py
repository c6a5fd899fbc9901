"""Showing a generated answer while the model writes it.

With ``TINBOT_LLM`` set an answer takes seconds, so its text is shown as it grows: as a message
draft (``sendMessageDraft``, Bot API 9.3+) in private chats, and where drafts are not available
(groups, or a Bot API server without them) as one message edited as the text grows. What is
shown is the model's unchecked text, as plain text; the answer itself — HTML, sources, buttons —
comes only after the grounding checks, and is the extractive answer when they fail. In a group
the preview message is edited into it, so the unchecked text does not stay behind.

Updates are throttled: drafts at most every ``DRAFT_INTERVAL`` seconds, edits at most one a
second per chat (Telegram answers faster edits with flood control), each spaced from the end of
the previous one, and a flood-control wait (``retry_after``) pushes the next one back. A
preview that falls behind skips to the latest text rather than replaying every step.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from telegram import Bot, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot.answering.grounding import MARKER_RE
from bot.telegram.delivery import DeliveryUnknown
from bot.telegram.format import MAX_MESSAGE, split_message, telegram_length
from bot.types import Answer

logger = logging.getLogger(__name__)

DRAFT_INTERVAL = 0.5  # seconds between draft updates
EDIT_INTERVAL = 1.0  # seconds between edits of a chat's messages
PREVIEW_SUFFIX = " …"  # marks the text as still being written
PACER_KEY = "stream_pacer"  # in chat_data: one pacer per chat, shared by its previews

_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


def preview_text(raw: str, limit: int = MAX_MESSAGE) -> str | None:
    """What to show of a model's text so far, as plain text: no reasoning, no ``[n]`` markers
    (the checked answer renumbers them), within Telegram's limit; None while there is nothing."""
    text = MARKER_RE.sub("", _THINK_RE.sub("", raw)).strip()
    if not text:
        return None
    room = limit - telegram_length(PREVIEW_SUFFIX)
    if telegram_length(text) > room:
        # A long answer's preview shows its beginning (the answer itself is sent in parts); a
        # character cut in half at the limit is dropped.
        text = text.encode("utf-16-le")[: 2 * room].decode("utf-16-le", "ignore").rstrip()
    return text + PREVIEW_SUFFIX


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


class Pacer:
    """Spaces one chat's preview updates: one at a time, each starting a given number of
    seconds after the previous one finished, so Telegram sees them at least that far apart."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._ready_at = 0.0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Callable[[float], None]]:
        """Wait for the chat's turn; the caller reports a call it made with the interval to
        keep after it (a turn that made none leaves the next one free to go at once)."""
        async with self._lock:
            delay = self._ready_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            yield self.hold

    def hold(self, seconds: float) -> None:
        """Nothing more before ``seconds`` from now (after a call, or when Telegram asks)."""
        self._ready_at = max(self._ready_at, time.monotonic() + seconds)


class AnswerPreview:
    """The growing text of one answer, shown as a draft or an edited message."""

    def __init__(self, bot: Bot, message: Message, pacer: Pacer) -> None:
        self.bot = bot
        self.message = message
        self.pacer = pacer
        self.drafts = message.chat.type == Chat.PRIVATE
        self.placeholder: Message | None = None  # the edited message, once sent
        self._latest: str | None = None
        self._shown: str | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._sending = False
        self._task: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Callable[[str], None]], Answer]) -> Answer:
        """Run ``work`` (a blocking service call taking the text callback) in a worker thread,
        showing the text it reports; the preview stops when it returns."""
        loop = asyncio.get_running_loop()

        def on_text(raw: str) -> None:  # in the worker thread: never wait on Telegram there
            with suppress(RuntimeError):  # the loop closed (shutdown): nothing left to show
                loop.call_soon_threadsafe(self.show, raw)

        try:
            return await asyncio.to_thread(work, on_text)
        except BaseException:
            await self.close()
            if self.placeholder is not None:
                # The answer failed: unchecked text must not stay in the chat.
                with suppress(TelegramError):
                    await self.placeholder.delete()
            raise
        finally:
            await self.close()  # the answer is known: later steps of the text are moot

    def show(self, raw: str) -> None:
        text = preview_text(raw)
        if text is None or self._stopping:
            return
        self._latest = text
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        """Stop updating. An update on its way is let through (cancelling it could let a stale
        edit arrive after the answer); one waiting for its turn is dropped."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        if not self._sending:
            task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    async def finish(self, text: str, keyboard: InlineKeyboardMarkup | None) -> bool:
        """Put the checked answer (Telegram HTML) in place of the preview. False when it is
        for the caller to send: drafts vanish when the answer is sent, and an answer too long
        for one message replaces the preview message with parts of its own."""
        await self.close()
        placeholder = self.placeholder
        if placeholder is None:
            return False
        if len(split_message(text)) == 1:
            try:
                async with self.pacer.turn() as called:
                    try:
                        await placeholder.edit_text(
                            text,
                            parse_mode=ParseMode.HTML,
                            link_preview_options=LinkPreviewOptions(is_disabled=True),
                            reply_markup=keyboard,
                        )
                    finally:
                        called(EDIT_INTERVAL)
                return True
            except DeliveryUnknown:
                raise  # it may well have arrived: sending it again could show it twice
            except TelegramError as exc:
                logger.warning("could not edit the preview into the answer: %s", exc)
        with suppress(TelegramError):
            await placeholder.delete()
        return False

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            if self._stopping:
                return
            async with self.pacer.turn() as called:
                self._wake.clear()
                text = self._latest
                if self._stopping or text is None or text == self._shown:
                    continue
                self._sending = True
                interval = DRAFT_INTERVAL if self.drafts else EDIT_INTERVAL
                try:
                    await self._send(text)
                    self._shown = text
                except RetryAfter as exc:
                    called(_seconds(exc.retry_after))
                    self._wake.set()  # the latest text, once the wait is over
                except TelegramError as exc:
                    self._failed(exc)
                except Exception:
                    # A preview is a courtesy: whatever goes wrong with it, the answer goes on.
                    logger.warning("answer preview stopped", exc_info=True)
                    return
                finally:
                    self._sending = False
                    called(interval)

    async def _send(self, text: str) -> None:
        if self.drafts:
            # The question's id names the draft: non-zero, and one per answer in the chat.
            await self.bot.send_message_draft(self.message.chat.id, self.message.message_id, text)
        elif self.placeholder is None:
            self.placeholder = await self.message.reply_text(
                text,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                do_quote=self.message.chat.type != Chat.PRIVATE,
            )
        else:
            await self.placeholder.edit_text(
                text, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )

    def _failed(self, exc: TelegramError) -> None:
        # A preview is a courtesy: its failures never fail the answer.
        if self.drafts and not isinstance(exc, NetworkError):
            # Refused outright (a Bot API server without drafts, say): edit a message instead.
            logger.info("message drafts unavailable (%s); previewing by edits", exc)
            self.drafts = False
            self._wake.set()
        else:
            logger.debug("preview not updated: %s", exc)


def pacer_for(chat_data: dict[Any, Any]) -> Pacer:
    pacer = chat_data.get(PACER_KEY)
    if not isinstance(pacer, Pacer):
        pacer = chat_data[PACER_KEY] = Pacer()
    return pacer
