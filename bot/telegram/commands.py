"""Handlers for questions (/ask, plain text, group mentions) and the /help, /sources and /stats
commands."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from telegram import Chat, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.answering.fact_format import capitalised
from bot.answering.followup import resolve
from bot.telegram.base import HandlerBase, markup
from bot.telegram.format import (
    answer_buttons,
    esc,
    page_buttons,
    pages,
    render_answer,
    render_sources_page,
    render_stats,
)
from bot.telegram.stream import AnswerPreview, pacer_for
from bot.types import Answer

if TYPE_CHECKING:
    from bot.charts import Chart

MAX_QUESTION_CHARS = 1000

MSG_WAIT_YOUR_TURN = (
    "Mình đang trả lời các câu trước của bạn — đợi có câu trả lời rồi hỏi tiếp nhé."
)
MSG_NO_ARTICLES = (
    "Chưa có bài viết nào được nạp, nên mình chưa trả lời được. Hãy nhờ quản trị viên nạp bài."
)


def question_problem(question: str) -> str | None:
    """Why a question is not one the bot should try to answer, in Vietnamese; None if fine."""
    if len(question) > MAX_QUESTION_CHARS:
        return (
            f"Câu hỏi dài quá ({_count(len(question))} ký tự). Hãy hỏi ngắn gọn, dưới "
            f"{_count(MAX_QUESTION_CHARS)} ký tự, ví dụ: "
            "“Huyện Tuần Giáo kết nạp bao nhiêu đảng viên?”"
        )
    if not any(ch.isalnum() for ch in question):
        return (
            "Mình chỉ hiểu câu hỏi bằng chữ. Hãy gõ câu hỏi, ví dụ: "
            "“Huyện Tuần Giáo kết nạp bao nhiêu đảng viên?”"
        )
    return None


def help_text(examples: Sequence[str]) -> str:
    lines = [
        "<b>Xin chào! Mình là tinbot.</b>",
        "Mình trả lời câu hỏi về các bài báo đã nạp — công tác phát triển đảng viên, tạo nguồn, "
        "quần chúng ưu tú và các số liệu được nêu — và luôn dẫn nguồn: mỗi câu trả lời có dấu "
        "[n] chỉ tới bài viết và câu trích nguyên văn.",
        "",
        "<b>Cách hỏi:</b> gõ câu hỏi (có dấu hay không dấu đều được). Trong nhóm, hãy nhắc tên "
        "mình, trả lời tin nhắn của mình, hoặc dùng /ask.",
        "Hỏi tiếp ngắn gọn cũng được, ví dụ “còn năm 2023 thì sao?” hay “ở Lai Châu thì sao?”.",
        "",
        "<b>Ví dụ:</b>",
        *[f"• {esc(q)}" for q in examples],
        "",
        "<b>Lệnh:</b>",
        "/ask &lt;câu hỏi&gt; — đặt câu hỏi",
        "/sources — các bài viết đã nạp",
        "/stats — thống kê",
        "/theodoi &lt;nơi hoặc chủ đề&gt; — nhận tin khi có bài mới",
        "/help — hướng dẫn này",
        "",
        "Bấm 📄 dưới câu trả lời để xem đoạn trích gốc, 👍/👎 để góp ý.",
    ]
    return "\n".join(lines)


def mentioned(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The message text without the bot's mention if the bot is addressed, else None."""
    text = message.text or ""
    replied = message.reply_to_message
    addressed = bool(replied and replied.from_user is not None and replied.from_user.id == bot_id)
    mention = f"@{bot_username}".lower()
    for entity, value in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        if (entity.type == MessageEntity.MENTION and value.lower() == mention) or (
            entity.type == MessageEntity.TEXT_MENTION
            and entity.user is not None
            and entity.user.id == bot_id
        ):
            addressed = True
            text = text.replace(value, " ")
    return " ".join(text.split()) if addressed else None


class CommandHandlers(HandlerBase):
    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        examples = await asyncio.to_thread(self.service.example_questions, 3)
        await self.reply(message, help_text(examples), quote=False)

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        # Keep the question as typed (context.args would lose line breaks and repeated spaces
        # only, but the command itself may carry "@botname").
        question = message.text.split(maxsplit=1)[1] if len(message.text.split()) > 1 else ""
        if not question.strip():
            await self.reply(
                message,
                "Hãy viết câu hỏi sau lệnh, ví dụ: "
                "<code>/ask Huyện Tuần Giáo kết nạp bao nhiêu đảng viên?</code>",
            )
            return
        await self.answer_question(update, context, question)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        question = message.text
        if message.chat.type != Chat.PRIVATE:
            addressed = mentioned(message, context.bot.username, context.bot.id)
            if addressed is None:
                return  # group chatter not addressed to the bot
            question = addressed
            if not question.strip():
                await self.reply(
                    message, "Bạn muốn hỏi gì? Ví dụ: /ask Núi Thành có bao nhiêu đảng viên?"
                )
                return
        await self.answer_question(update, context, question)

    async def answer_question(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
    ) -> None:
        message = update.effective_message
        chat = update.effective_chat
        user = update.effective_user
        if message is None or chat is None:
            return
        question = question.strip()
        problem = question_problem(question)
        if problem:
            await self.reply(message, esc(problem))
            return
        user_key = user.id if user is not None else chat.id
        wait = self.limiter.hit(user_key)
        if wait:
            await self.reply(
                message,
                f"Bạn hỏi hơi nhanh 🙂 Mình trả lời tối đa {self.limiter.limit} câu mỗi phút "
                f"cho mỗi người. Vui lòng thử lại sau {math.ceil(wait)} giây.",
            )
            return
        async with self.person_turn(user_key) as turn:
            if not turn:
                await self.reply(message, MSG_WAIT_YOUR_TURN)
                return
            await self._answer_in_turn(update, context, question, user_key)

    async def _answer_in_turn(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, user_key: int
    ) -> None:
        message = update.effective_message
        chat = update.effective_chat
        user = update.effective_user
        assert message is not None and chat is not None
        stats = await asyncio.to_thread(self.service.stats)
        if stats.articles == 0:
            await self.reply(message, MSG_NO_ARTICLES)
            return
        chat_data = context.chat_data if context.chat_data is not None else {}
        previous: dict[int, tuple[str, str]] = chat_data.setdefault("previous", {})
        # Set by ❓ under a follow notice: this one question is about that article only.
        scope: str | None = chat_data.get("scope", {}).pop(user_key, None)
        before = previous.get(user_key)
        resolved = resolve(question, before[0] if before else None)
        history = [before] if resolved.is_followup and before else None
        # With an LLM the answer takes seconds: its text is shown as the model writes it.
        preview = (
            AnswerPreview(context.bot, message, pacer_for(chat_data))
            if self.settings.llm != "none"
            else None
        )
        async with self.typing(context, chat.id):
            if preview is not None:
                answer = await preview.run(
                    lambda on_text: self.service.answer_stream(
                        resolved.question,
                        on_text,
                        history=history,
                        article_ids=[scope] if scope else None,
                    )
                )
            elif scope:
                answer = await asyncio.to_thread(
                    lambda: self.service.answer(
                        resolved.question, history=history, article_ids=[scope]
                    )
                )
            else:
                answer = await asyncio.to_thread(
                    self.service.answer, resolved.question, history=history
                )
            answer_id = await asyncio.to_thread(
                lambda: self.feedback.record_answer(
                    chat_id=chat.id,
                    user_id=user.id if user else None,
                    question=question,
                    answer=answer,
                )
            )
        previous[user_key] = (resolved.question, answer.text)
        text = render_answer(
            answer, understood_as=resolved.question if resolved.is_followup else None
        )
        keyboard = markup(answer_buttons(answer, answer_id))
        if preview is None or not await preview.finish(text, keyboard):
            await self.reply(message, text, keyboard=keyboard)
        if answer.figures:
            # A comparison, total or list across places or years: the figures as a chart too.
            chart = await asyncio.to_thread(self._answer_chart, answer)
            if chart is not None:
                await message.reply_photo(chart[0], caption=chart[1], parse_mode=ParseMode.HTML)

    async def on_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        articles = await asyncio.to_thread(self.service.articles)
        per_page = self.sources_per_page
        keyboard = markup(page_buttons(0, pages(len(articles), per_page)))
        text = render_sources_page(articles, 0, per_page)
        await self.reply(message, text, keyboard=keyboard)

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        place = " ".join(context.args or []).strip()
        if place:
            # "/stats Tuần Giáo": the figures reported for a place, each with its sentence, and
            # a chart of them when at least two compare.
            text, chart = await asyncio.to_thread(self._place_stats, place)
            await self.reply(message, text)
            if chart is not None:
                png, caption = chart
                await message.reply_photo(png, caption=caption, parse_mode=ParseMode.HTML)
            return
        stats = await asyncio.to_thread(self.service.stats)
        _, up, down = await asyncio.to_thread(self.feedback.counts)
        await self.reply(message, render_stats(stats, votes=(up, down)))

    def _place_stats(self, place: str, limit: int = 15) -> tuple[str, tuple[bytes, str] | None]:
        """The figures reported for a place, each with its sentence, and their chart."""
        from bot.answering.fact_format import format_facts
        from bot.charts import plan_chart

        facts = self.service.facts.query(place=place[:100])
        if not facts:
            return f"Không có số liệu nào khớp với “{esc(place[:100])}”.", None
        titles = {a.article_id: a.title for a in self.service.articles()}
        text = esc(format_facts(facts[:limit], titles))
        if len(facts) > limit:
            text += f"\n\n… và {len(facts) - limit} số liệu khác (xem <code>tinbot facts</code>)."
        chart = self._photo(plan_chart(facts, capitalised(facts[0].place)), titles)
        return f"<b>Số liệu về {esc(place[:100])}</b>\n\n{text}", chart

    def _answer_chart(self, answer: Answer) -> tuple[bytes, str] | None:
        from bot.charts import answer_chart

        return self._photo(answer_chart(answer.figures, answer.question))

    def _photo(
        self, chart: Chart | None, titles: dict[str, str] | None = None
    ) -> tuple[bytes, str] | None:
        """The chart as PNG bytes with its caption naming the sources."""
        from bot.charts import caption, render_png

        if chart is None:
            return None
        if titles is None:
            titles = {a.article_id: a.title for a in self.service.articles()}
        return render_png(chart), esc(caption(chart, titles))


def _count(n: int) -> str:
    """10000 → "10.000", as Vietnamese writes thousands."""
    return f"{n:,}".replace(",", ".")
