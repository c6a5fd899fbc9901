"""What every handler shares: the service and stores, HTML replies, "typing…", the admin check.

The handler groups (``commands``, ``admin``, ``callbacks``) are mixins over :class:`HandlerBase`,
combined into one ``TelegramBot`` by ``bot.telegram.app``: one object, so a setting such as
``sources_per_page`` is the same for the /sources command and its page buttons.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.settings import Settings
from bot.telegram.callback_data import Button, encode
from bot.telegram.feedback import FeedbackStore
from bot.telegram.format import SOURCES_PER_PAGE, split_message
from bot.telegram.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from bot.service import Tinbot

logger = logging.getLogger(__name__)

PRESSES_PER_MINUTE = 30
MAX_WAITING_PER_PERSON = 2  # questions queued behind the one being answered
TYPING_REFRESH_SECONDS = 4.0  # Telegram shows "typing…" for about 5 s per chat action

MSG_NOT_ADMIN = (
    "Xin lỗi, chỉ quản trị viên mới được nạp bài viết. Bạn vẫn có thể đặt câu hỏi về các bài "
    "viết đã có."
)


def _button(button: Button) -> InlineKeyboardButton:
    if button.url:
        return InlineKeyboardButton(button.text, url=button.url)
    if button.callback is None:
        raise ValueError(f"button {button.text!r} has neither a URL nor callback data")
    return InlineKeyboardButton(button.text, callback_data=encode(button.callback))


def markup(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    keyboard = [[_button(b) for b in row] for row in rows if row]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


class HandlerBase:
    """The service and the stores the handlers use, and the helpers they reply with."""

    def __init__(
        self,
        settings: Settings,
        service: Tinbot,
        feedback: FeedbackStore,
        limiter: SlidingWindowLimiter,
        *,
        cloud_api: bool,
    ) -> None:
        self.settings = settings
        self.service = service
        self.feedback = feedback
        self.limiter = limiter
        self.cloud_api = cloud_api
        self.sources_per_page = SOURCES_PER_PAGE
        # Presses are cheap but each may send a message: a budget of their own per person.
        self.press_limiter = SlidingWindowLimiter(PRESSES_PER_MINUTE)
        self._waiting: dict[int, int] = {}
        self._turns: dict[int, asyncio.Lock] = {}

    @asynccontextmanager
    async def person_turn(self, key: int) -> AsyncIterator[bool]:
        """One question at a time per person, so that one person's burst waits for itself
        instead of taking every worker thread from everyone else. Yields False (and takes no
        turn) when ``MAX_WAITING_PER_PERSON`` questions of theirs are already queued."""
        if self._waiting.get(key, 0) > MAX_WAITING_PER_PERSON:
            yield False
            return
        self._waiting[key] = self._waiting.get(key, 0) + 1
        lock = self._turns.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield True
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._turns.pop(key, None)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and user.id in self.settings.admin_ids

    async def refuse_non_admin(self, update: Update, message: Message) -> None:
        user = update.effective_user
        # The id is what an operator puts in TINBOT_ADMIN_IDS; saying it saves a lookup.
        suffix = f" (Mã người dùng của bạn: <code>{user.id}</code>.)" if user else ""
        await self.reply(message, MSG_NOT_ADMIN + suffix)

    @staticmethod
    async def reply(
        message: Message,
        text: str,
        *,
        keyboard: InlineKeyboardMarkup | None = None,
        quote: bool | None = None,
    ) -> list[Message]:
        """Send HTML in as many parts as needed; the keyboard goes under the last part."""
        parts = split_message(text)
        sent: list[Message] = []
        group = message.chat.type != Chat.PRIVATE
        for k, part in enumerate(parts):
            sent.append(
                await message.reply_text(
                    part,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=keyboard if k == len(parts) - 1 else None,
                    do_quote=(group if quote is None else quote) and k == 0,
                )
            )
        return sent

    @asynccontextmanager
    async def typing(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
        """Keep "typing…" visible while the work inside runs."""

        async def keep_typing() -> None:
            while True:
                try:
                    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
                except TelegramError as exc:  # a cosmetic call must not fail the answer
                    logger.debug("chat action failed: %s", exc)
                await asyncio.sleep(TYPING_REFRESH_SECONDS)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
