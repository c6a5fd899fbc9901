"""The Telegram bot: thin python-telegram-bot handlers over the ``Tinbot`` service.

A handler reads the update, runs the blocking service call in a worker thread (embedding, SQLite
and Chroma must not stall the event loop, or one slow question would hold up every other chat),
formats the result with ``bot.telegram.format`` and replies. The handlers live in
``bot.telegram.commands`` (questions, /help, /sources, /stats), ``bot.telegram.admin`` (/ingest
and uploads), ``bot.telegram.callbacks`` (buttons), ``bot.telegram.follow`` (/theodoi and the
news it brings) and ``bot.telegram.inline`` (``@bot câu hỏi`` in any chat); this module joins
them into one bot, adds the chat allow-list and the error handler, and builds the
``Application``. ``build_application`` takes its dependencies as arguments; only
``bot.telegram.cli`` reads the environment and runs the loop.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, Chat, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.errors import ConfigError
from bot.settings import Settings
from bot.telegram.admin import AdminHandlers
from bot.telegram.callback_data import ASK_PREFIX
from bot.telegram.callbacks import CallbackHandlers
from bot.telegram.commands import CommandHandlers
from bot.telegram.delivery import DeliveringRateLimiter, DeliveryUnknown
from bot.telegram.feedback import FeedbackStore
from bot.telegram.follow import FollowHandlers
from bot.telegram.inline import InlineHandlers
from bot.telegram.ratelimit import SlidingWindowLimiter

if TYPE_CHECKING:
    from bot.service import Tinbot

logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")

COMMANDS = (
    ("ask", "Đặt câu hỏi: /ask <câu hỏi>"),
    ("sources", "Các bài viết đã nạp"),
    ("stats", "Số bài viết, số đoạn, lần nạp gần nhất"),
    ("theodoi", "Nhận tin bài mới về một nơi hay chủ đề: /theodoi <tên>"),
    ("dangtheodoi", "Những nơi và chủ đề bạn đang theo dõi"),
    ("botheodoi", "Bỏ theo dõi: /botheodoi <tên>"),
    ("help", "Hướng dẫn và câu hỏi ví dụ"),
    ("ingest", "(Quản trị) Nạp bài viết từ URL: /ingest <url>"),
)

SEND_TIMEOUT_SECONDS = 20.0
MSG_ERROR = "Xin lỗi, đã có lỗi xảy ra khi xử lý yêu cầu của bạn. Vui lòng thử lại sau."
MSG_NOT_ALLOWED = "Xin lỗi, bot này không phục vụ cuộc trò chuyện này."


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


class TelegramBot(CommandHandlers, AdminHandlers, CallbackHandlers, FollowHandlers, InlineHandlers):
    """Every handler, sharing one service, feedback store and rate limiter."""

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("ask", self.on_ask))
        app.add_handler(CommandHandler("sources", self.on_sources))
        app.add_handler(CommandHandler("stats", self.on_stats))
        app.add_handler(CommandHandler("ingest", self.on_ingest))
        app.add_handler(CommandHandler(["theodoi", "follow"], self.on_follow))
        app.add_handler(CommandHandler(["botheodoi", "unfollow"], self.on_unfollow))
        app.add_handler(CommandHandler(["dangtheodoi", "following"], self.on_following))
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, self.on_document)
        )
        app.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_text
            )
        )
        app.add_handler(CallbackQueryHandler(self.on_ask_about, pattern=f"^{ASK_PREFIX}"))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(InlineQueryHandler(self.on_inline_query))
        app.add_error_handler(self.on_error)
        self.schedule_follow_news(app)

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

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(context.error, DeliveryUnknown):
            # The reply may have arrived: an apology on top would be a second answer.
            logger.warning("a reply's delivery is unknown: %s", context.error)
            return
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
        .rate_limiter(DeliveringRateLimiter())
        .post_init(_post_init)
    )
    if base_url:
        builder = builder.base_url(base_url).base_file_url(file_base_url(base_url))
    if request is not None:
        builder = builder.request(request)
    else:
        # A send that outlives the timeout may still arrive, and is then never sent again
        # (see bot.telegram.delivery): give Telegram time before calling it unknown.
        builder = builder.read_timeout(SEND_TIMEOUT_SECONDS).write_timeout(SEND_TIMEOUT_SECONDS)
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
