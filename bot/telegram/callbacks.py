"""Button handlers: a cited passage (📄), a feedback vote (👍/👎), a page of /sources."""

from __future__ import annotations

import asyncio

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.telegram.base import HandlerBase, markup
from bot.telegram.callback_data import Button, FeedbackRef, PageRef, SourceRef, decode
from bot.telegram.format import (
    CONTEXT_CHARS,
    is_url,
    page_buttons,
    pages,
    render_passage,
    render_sources_page,
)

MSG_STALE_BUTTON = "Nút này không còn dùng được."
MSG_PRESSES_TOO_FAST = "Bạn bấm hơi nhanh 🙂 Đợi một chút rồi bấm lại nhé."
MAX_QUOTE_CHARS = 1500


class CallbackHandlers(HandlerBase):
    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        ref = decode(query.data)
        if ref is None:
            await query.answer(MSG_STALE_BUTTON)
            return
        if self.press_limiter.hit(query.from_user.id):
            await query.answer(MSG_PRESSES_TOO_FAST)
            return
        if isinstance(ref, SourceRef):
            await self.show_passage(update, ref)
        elif isinstance(ref, FeedbackRef):
            chat = update.effective_chat
            ok = chat is not None and await asyncio.to_thread(
                lambda: self.feedback.vote(
                    ref.answer_id, query.from_user.id, ref.rating, chat_id=chat.id
                )
            )
            await query.answer("Cảm ơn bạn đã góp ý!" if ok else MSG_STALE_BUTTON)
        elif isinstance(ref, PageRef):
            articles = await asyncio.to_thread(self.service.articles)
            per_page = self.sources_per_page
            count = pages(len(articles), per_page)
            page = min(ref.page, count - 1)
            await query.answer()
            if isinstance(query.message, Message):
                await query.edit_message_text(
                    render_sources_page(articles, page, per_page),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=markup(page_buttons(page, count)),
                )

    async def show_passage(self, update: Update, ref: SourceRef) -> None:
        query = update.callback_query
        assert query is not None
        # The bot cites sentences; a button asking for more (forged, or from an old release)
        # gets the start of it, in one message.
        end = min(ref.end, ref.start + MAX_QUOTE_CHARS)
        passage = await asyncio.to_thread(
            self.service.passage, ref.article_id, ref.start, end, CONTEXT_CHARS
        )
        if passage is None:
            await query.answer(
                "Không tìm thấy đoạn trích này nữa (bài viết có thể đã bị xoá hoặc cập nhật).",
                show_alert=True,
            )
            return
        await query.answer()
        if not isinstance(query.message, Message):
            return
        keyboard = (
            markup([[Button("🔗 Mở bài viết", url=passage.origin)]])
            if is_url(passage.origin)
            else None
        )
        await self.reply(query.message, render_passage(ref.n, passage), keyboard=keyboard)
