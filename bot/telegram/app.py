"""The Telegram bot: thin python-telegram-bot handlers over the ``Tinbot`` service.

A handler reads the update, runs the blocking service call in a worker thread (embedding, SQLite
and Chroma must not stall the event loop, or one slow question would hold up every other chat),
formats the result with ``bot.telegram.format`` and replies. ``build_application`` takes its
dependencies as arguments; only ``bot.telegram.cli`` reads the environment and runs the loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering.followup import resolve
from bot.errors import ConfigError, TinbotError
from bot.settings import Settings
from bot.telegram.feedback import FeedbackStore
from bot.telegram.format import (
    CONTEXT_CHARS,
    SOURCES_PER_PAGE,
    Button,
    FeedbackRef,
    PageRef,
    SourceRef,
    answer_buttons,
    decode,
    encode,
    esc,
    is_url,
    page_buttons,
    pages,
    render_answer,
    render_ingest_report,
    render_passage,
    render_sources_page,
    render_stats,
    split_message,
)
from bot.telegram.ratelimit import SlidingWindowLimiter
from ingest.loaders import SUPPORTED_SUFFIXES

if TYPE_CHECKING:
    from bot.service import Tinbot

logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
MAX_QUESTION_CHARS = 1000
TYPING_REFRESH_SECONDS = 4.0  # Telegram shows "typing…" for about 5 s per chat action
# The cloud Bot API lets bots download files up to 20 MB; a self-hosted server has no such cap.
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_ORIGIN_PREFIX = "telegram-upload/"

COMMANDS = (
    ("ask", "Đặt câu hỏi: /ask <câu hỏi>"),
    ("sources", "Các bài viết đã nạp"),
    ("stats", "Số bài viết, số đoạn, lần nạp gần nhất"),
    ("help", "Hướng dẫn và câu hỏi ví dụ"),
    ("ingest", "(Quản trị) Nạp bài viết từ URL: /ingest <url>"),
)

MSG_ERROR = "Xin lỗi, đã có lỗi xảy ra khi xử lý yêu cầu của bạn. Vui lòng thử lại sau."
MSG_NOT_ADMIN = (
    "Xin lỗi, chỉ quản trị viên mới được nạp bài viết. Bạn vẫn có thể đặt câu hỏi về các bài "
    "viết đã có."
)
MSG_NOT_ALLOWED = "Xin lỗi, bot này không phục vụ cuộc trò chuyện này."
MSG_NO_ARTICLES = (
    "Chưa có bài viết nào được nạp, nên mình chưa trả lời được. Hãy nhờ quản trị viên nạp bài."
)
MSG_STALE_BUTTON = "Nút này không còn dùng được."


def check_token(token: str | None) -> str:
    """The token, or a one-line ConfigError saying what is wrong with it."""
    if token is None or not token.strip():
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather and export its token"
        )
    token = token.strip()
    if not TOKEN_RE.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is malformed; a token from @BotFather looks like "
            "123456789:AAH… (digits, a colon, then 30 or more letters, digits, _ or -)"
        )
    return token


def file_base_url(base_url: str) -> str:
    """Where files are downloaded for a given API base URL: ``…/bot`` → ``…/file/bot``."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return base_url.rstrip("/") + "/file/bot"


def _button(button: Button) -> InlineKeyboardButton:
    if button.url:
        return InlineKeyboardButton(button.text, url=button.url)
    if button.callback is None:
        raise ValueError(f"button {button.text!r} has neither a URL nor callback data")
    return InlineKeyboardButton(button.text, callback_data=encode(button.callback))


def markup(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    keyboard = [[_button(b) for b in row] for row in rows if row]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


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
        "/help — hướng dẫn này",
        "",
        "Bấm 📄 dưới câu trả lời để xem đoạn trích gốc, 👍/👎 để góp ý.",
    ]
    return "\n".join(lines)


class TelegramBot:
    """The handlers, holding the service and the stores they use."""

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

    # --- registration ------------------------------------------------------------------------
    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("ask", self.on_ask))
        app.add_handler(CommandHandler("sources", self.on_sources))
        app.add_handler(CommandHandler("stats", self.on_stats))
        app.add_handler(CommandHandler("ingest", self.on_ingest))
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, self.on_document)
        )
        app.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_text
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_error_handler(self.on_error)

    # --- helpers -----------------------------------------------------------------------------
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

    def mentioned(self, message: Message, bot_username: str, bot_id: int) -> str | None:
        """The message text without the bot's mention if the bot is addressed, else None."""
        text = message.text or ""
        replied = message.reply_to_message
        addressed = bool(
            replied and replied.from_user is not None and replied.from_user.id == bot_id
        )
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

    # --- gate --------------------------------------------------------------------------------
    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Optional allow-list of chats: everything else is refused before any handler runs."""
        allowed = self.settings.allowed_chat_ids
        chat = update.effective_chat
        if not allowed or chat is None or chat.id in allowed:
            return
        logger.info("refusing update from chat %s (not in TINBOT_ALLOWED_CHAT_IDS)", chat.id)
        if update.callback_query is not None:
            await update.callback_query.answer(MSG_NOT_ALLOWED)
        elif update.effective_message is not None and chat.type == Chat.PRIVATE:
            await update.effective_message.reply_text(f"{MSG_NOT_ALLOWED} (chat id {chat.id})")
        raise ApplicationHandlerStop

    # --- commands ----------------------------------------------------------------------------
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
            addressed = self.mentioned(message, context.bot.username, context.bot.id)
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
        stats = await asyncio.to_thread(self.service.stats)
        if stats.articles == 0:
            await self.reply(message, MSG_NO_ARTICLES)
            return
        chat_data = context.chat_data if context.chat_data is not None else {}
        previous: dict[int, tuple[str, str]] = chat_data.setdefault("previous", {})
        before = previous.get(user_key)
        resolved = resolve(question, before[0] if before else None)
        history = [before] if resolved.is_followup and before else None
        async with self.typing(context, chat.id):
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
        await self.reply(message, text, keyboard=markup(answer_buttons(answer, answer_id)))

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
            # "/stats Tuần Giáo": the figures reported for a place, each with its sentence.
            await self.reply(message, await asyncio.to_thread(self._place_stats, place))
            return
        stats = await asyncio.to_thread(self.service.stats)
        _, up, down = await asyncio.to_thread(self.feedback.counts)
        await self.reply(message, render_stats(stats, votes=(up, down)))

    def _place_stats(self, place: str, limit: int = 15) -> str:
        from bot.answering.fact_format import format_facts

        facts = self.service.facts.query(place=place[:100])
        if not facts:
            return f"Không có số liệu nào khớp với “{esc(place[:100])}”."
        titles = {a.article_id: a.title for a in self.service.articles()}
        text = esc(format_facts(facts[:limit], titles))
        if len(facts) > limit:
            text += f"\n\n… và {len(facts) - limit} số liệu khác (xem <code>tinbot facts</code>)."
        return f"<b>Số liệu về {esc(place[:100])}</b>\n\n{text}"

    async def on_ingest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        if not self.is_admin(update):
            await self.refuse_non_admin(update, message)
            return
        urls = context.args or []
        if len(urls) != 1 or not is_url(urls[0]):
            await self.reply(
                message,
                "Dùng: <code>/ingest https://…</code> (một địa chỉ http/https). "
                "Hoặc gửi tệp .txt, .html, .md, .pdf.",
            )
            return
        async with self.typing(context, chat.id):
            try:
                report = await asyncio.to_thread(self.service.ingest, [urls[0]])
            except TinbotError as exc:
                await self.reply(message, f"❌ Không nạp được: {esc(str(exc))}")
                return
        await self.reply(message, render_ingest_report(report))

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or message.document is None:
            return
        if not self.is_admin(update):
            await self.refuse_non_admin(update, message)
            return
        document = message.document
        name = PurePath(document.file_name or "").name or "document"
        suffix = PurePath(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            await self.reply(
                message,
                f"❌ Không nạp được {esc(name)}: chỉ nhận tệp .txt, .md, .html, .pdf.",
            )
            return
        limit = self.settings.max_source_bytes
        if self.cloud_api:
            limit = min(limit, CLOUD_DOWNLOAD_LIMIT)
        # Refuse before downloading: the size is in the update, the bytes are not.
        if document.file_size is not None and document.file_size > limit:
            await self.reply(
                message,
                f"❌ Không nạp được {esc(name)}: tệp quá lớn "
                f"({_mb(document.file_size)}; giới hạn {_mb(limit)}).",
            )
            return
        caption = (message.caption or "").strip()
        origin = caption if is_url(caption) else UPLOAD_ORIGIN_PREFIX + name
        async with self.typing(context, chat.id):
            telegram_file = await context.bot.get_file(document.file_id)
            data = bytes(await telegram_file.download_as_bytearray())
            try:
                report = await asyncio.to_thread(
                    self.service.ingest_bytes, data, filename=name, origin=origin
                )
            except TinbotError as exc:
                await self.reply(message, f"❌ Không nạp được {esc(name)}: {esc(str(exc))}")
                return
        await self.reply(message, render_ingest_report(report))

    # --- buttons -----------------------------------------------------------------------------
    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        ref = decode(query.data)
        if ref is None:
            await query.answer(MSG_STALE_BUTTON)
            return
        if isinstance(ref, SourceRef):
            await self.show_passage(update, ref)
        elif isinstance(ref, FeedbackRef):
            ok = await asyncio.to_thread(
                self.feedback.vote, ref.answer_id, query.from_user.id, ref.rating
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
        passage = await asyncio.to_thread(
            self.service.passage, ref.article_id, ref.start, ref.end, CONTEXT_CHARS
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

    # --- errors ------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("error while handling an update", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            if update.callback_query is not None:
                with suppress(TelegramError):
                    await update.callback_query.answer()
            await context.bot.send_message(update.effective_chat.id, MSG_ERROR)
        except TelegramError as exc:
            logger.warning("could not tell the user about the error: %s", exc)


def _count(n: int) -> str:
    """10000 → "10.000", as Vietnamese writes thousands."""
    return f"{n:,}".replace(",", ".")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    try:
        await app.bot.set_my_commands([BotCommand(name, doc) for name, doc in COMMANDS])
    except TelegramError as exc:  # the menu is a convenience; the bot works without it
        logger.warning("could not set the command menu: %s", exc)
    logger.info("serving as @%s", app.bot.username)


def build_application(
    settings: Settings,
    service: Tinbot,
    *,
    base_url: str | None = None,
    feedback: FeedbackStore | None = None,
    request: Any = None,
    get_updates_request: Any = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot application with every handler registered; nothing is started or fetched."""
    token = check_token(settings.telegram_token)
    base_url = base_url or settings.telegram_base_url
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(token)
        # Questions are answered in worker threads; updates are handled concurrently so one
        # slow question does not hold up other chats.
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter())
        .post_init(_post_init)
    )
    if base_url:
        builder = builder.base_url(base_url).base_file_url(file_base_url(base_url))
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    handlers = TelegramBot(
        settings,
        service,
        feedback or FeedbackStore.in_data_dir(settings.data_dir),
        SlidingWindowLimiter(settings.rate_limit_per_minute),
        cloud_api=not base_url,
    )
    handlers.register(app)
    app.bot_data["handlers"] = handlers
    return app
