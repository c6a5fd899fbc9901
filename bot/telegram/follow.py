"""Following places and topics: /theodoi, /botheodoi, /dangtheodoi, the "ask about this
article" button, and the repeating job that tells followers about new articles.

The job (python-telegram-bot's ``JobQueue``, every ``TINBOT_FOLLOW_POLL_SECONDS``) reads the
articles written since its last scan — by this process or any other, since they all write the
same SQLite store — matches them against every follow (``bot.follows``), records the notices
owed, and sends them. State lives in SQLite (``index.follows``), so a restart neither repeats
nor forgets a notice. A notice is marked sent before it is handed to Telegram; a send that
provably delivered nothing is retried on a later run, and a chat that blocked the bot (403
Forbidden) loses its follows. Follows belong to the chat they were made in: a private chat is
its person.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot.follows import FollowNews, news_for, scan
from bot.telegram.base import HandlerBase, markup
from bot.telegram.callback_data import AskRef, decode
from bot.telegram.delivery import DeliveryUnknown
from bot.telegram.format import (
    digest_buttons,
    esc,
    follow_buttons,
    render_digest,
    render_follow_notice,
    split_message,
)
from index.follows import Follow, FollowStore, Notice, subject_key

logger = logging.getLogger(__name__)

MAX_FOLLOWS = 20  # per chat: each follow is matched against every new article
MAX_SUBJECT_CHARS = 100
SEND_BATCH = 50  # notices per run; the rest go on the next run, a few seconds later
DIGEST_ITEMS = 20  # articles per digest message
# Digests go out at TINBOT_DIGEST_HOUR Vietnam time (UTC+7 all year, no daylight saving).
VIETNAM = timezone(timedelta(hours=7), "ICT")
DIGEST_DAY = "follow_digest_day"
FOLLOW_JOB = "follow-news"

_DIGEST_RE = re.compile(
    r"[\s,;(–-]*\b(?:hằng ngày|hàng ngày|hang ngay|mỗi ngày|moi ngay|daily)\)?\s*$", re.IGNORECASE
)
_QUOTES = "\"'“”‘’«»"

MSG_FOLLOW_USAGE = (
    "Dùng: <code>/theodoi &lt;nơi hoặc chủ đề&gt;</code>, ví dụ <code>/theodoi Tuần Giáo</code> "
    "hay <code>/theodoi tạo nguồn</code>. Thêm “hằng ngày” để nhận một bản tin mỗi ngày thay vì "
    "từng bài: <code>/theodoi Tuần Giáo hằng ngày</code>."
)
MSG_UNFOLLOW_USAGE = "Dùng: <code>/botheodoi &lt;nơi hoặc chủ đề&gt;</code>."
MSG_NONE = (
    "Bạn chưa theo dõi nơi hay chủ đề nào. Dùng <code>/theodoi &lt;nơi hoặc chủ đề&gt;</code>, "
    "ví dụ <code>/theodoi Tuần Giáo</code>."
)
MSG_ARTICLE_GONE = "Bài viết này không còn trong dữ liệu nữa."


def parse_subject(text: str) -> tuple[str, bool]:
    """("Tuần Giáo", True) from "Tuần Giáo hằng ngày": the subject, and whether a daily digest
    is wanted."""
    text = " ".join(text.split())
    digest = bool(_DIGEST_RE.search(text))
    if digest:
        text = _DIGEST_RE.sub("", text)
    return text.strip(_QUOTES + " ,;"), digest


def command_argument(message: Message) -> str:
    """What follows the command, as typed (``context.args`` would split it into words)."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def follow_list(follows: Sequence[Follow]) -> str:
    if not follows:
        return MSG_NONE
    lines = [f"<b>Bạn đang theo dõi</b> ({len(follows)}/{MAX_FOLLOWS}):"]
    for follow in follows:
        when = " <i>(bản tin hằng ngày)</i>" if follow.digest else ""
        lines.append(f"• {esc(follow.subject)}{when}")
    lines += ["", "Bỏ theo dõi: <code>/botheodoi &lt;tên&gt;</code>"]
    return "\n".join(lines)


class FollowHandlers(HandlerBase):
    @cached_property
    def follow_store(self) -> FollowStore:
        # The service's own database: follows, notices and articles are one store.
        return FollowStore(self.service.settings.data_dir / "tinbot.sqlite3")

    @cached_property
    def _follow_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    def schedule_follow_news(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Start the repeating job with the application (nothing runs before ``app.start``)."""
        _ = self.follow_store  # open (and migrate) now, not inside the first update
        if app.job_queue is None:
            # python-telegram-bot without its job-queue extra: follows are kept, not delivered.
            logger.warning("no JobQueue (install python-telegram-bot[job-queue]); no follow news")
            return
        if not logger.isEnabledFor(logging.DEBUG):
            # APScheduler logs every run at INFO: two lines every few seconds, saying nothing.
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        interval = self.settings.follow_poll_seconds
        app.job_queue.run_repeating(
            self.follow_job,
            interval=interval,
            first=interval,
            name=FOLLOW_JOB,
            # A run that outlives the interval makes the next one return at once (the lock);
            # two instances keep APScheduler from warning about the skipped one.
            job_kwargs={"max_instances": 2, "coalesce": True},
        )

    # --- commands ---------------------------------------------------------------------------
    async def on_follow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        subject, digest = parse_subject(command_argument(message))
        if not subject:
            follows = await asyncio.to_thread(self.follow_store.of_chat, chat.id)
            extra = f"\n\n{follow_list(follows)}" if follows else ""
            await self.reply(message, MSG_FOLLOW_USAGE + extra)
            return
        if len(subject) > MAX_SUBJECT_CHARS:
            await self.reply(
                message, f"Tên dài quá; hãy viết ngắn gọn, dưới {MAX_SUBJECT_CHARS} ký tự."
            )
            return
        if not subject_key(subject):
            await self.reply(message, MSG_FOLLOW_USAGE)
            return
        user = update.effective_user
        outcome = await asyncio.to_thread(
            lambda: self.follow_store.add(
                chat.id,
                subject,
                user_id=user.id if user else None,
                digest=digest,
                limit=MAX_FOLLOWS,
            )
        )
        name = f"<b>{esc(subject)}</b>"
        if outcome == "full":
            text = (
                f"Bạn đã theo dõi {MAX_FOLLOWS} nơi và chủ đề — mức tối đa. Bỏ bớt bằng "
                "<code>/botheodoi &lt;tên&gt;</code> (xem danh sách: /dangtheodoi) rồi thử lại."
            )
        elif outcome == "exists":
            text = f"Bạn đã theo dõi {name} rồi. Xem danh sách: /dangtheodoi"
        else:
            when = (
                f"mình sẽ gửi bạn một bản tin mỗi ngày lúc {self.settings.digest_hour} giờ"
                if digest
                else "mình sẽ nhắn bạn ngay"
            )
            head = "✅ Từ nay, " if outcome == "changed" else f"✅ Đã theo dõi {name}: "
            text = (
                f"{head}khi có bài viết mới nhắc tới {esc(subject)}, {when}.\n"
                f"Xem danh sách: /dangtheodoi · Bỏ theo dõi: /botheodoi {esc(subject)}"
            )
        await self.reply(message, text)

    async def on_unfollow(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        subject, _ = parse_subject(command_argument(message))
        if not subject:
            follows = await asyncio.to_thread(self.follow_store.of_chat, chat.id)
            await self.reply(message, f"{MSG_UNFOLLOW_USAGE}\n\n{follow_list(follows)}")
            return
        removed = await asyncio.to_thread(self.follow_store.remove, chat.id, subject[:200])
        if removed is not None:
            await self.reply(message, f"Đã bỏ theo dõi <b>{esc(removed.subject)}</b>.")
            return
        follows = await asyncio.to_thread(self.follow_store.of_chat, chat.id)
        await self.reply(
            message,
            f"Bạn không theo dõi “{esc(subject[:MAX_SUBJECT_CHARS])}”.\n\n{follow_list(follows)}",
        )

    async def on_following(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        follows = await asyncio.to_thread(self.follow_store.of_chat, chat.id)
        await self.reply(message, follow_list(follows))

    async def on_ask_about(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """❓ under a notice: the person's next question is answered from that article only."""
        query = update.callback_query
        if query is None:
            return
        ref = decode(query.data)
        if not isinstance(ref, AskRef):
            await query.answer()
            return
        article = await asyncio.to_thread(self.service.store.get, ref.article_id)
        if article is None:
            await query.answer(MSG_ARTICLE_GONE, show_alert=True)
            return
        await query.answer()
        if context.chat_data is not None:
            context.chat_data.setdefault("scope", {})[query.from_user.id] = ref.article_id
        if isinstance(query.message, Message):
            await self.reply(
                query.message,
                f"Hãy gõ câu hỏi về bài <b>{esc(article.title)}</b>: câu hỏi tiếp theo của bạn "
                "chỉ tìm câu trả lời trong bài này.",
            )

    # --- news -------------------------------------------------------------------------------
    async def follow_job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self.deliver_follows(context.bot)
        except sqlite3.OperationalError as exc:  # a writer held the database too long
            logger.warning("follow news postponed to the next run: %s", exc)

    async def deliver_follows(self, bot: Bot, *, now: datetime | None = None) -> int:
        """Scan for new articles and send what followers are owed; returns messages sent."""
        lock = self._follow_lock
        if lock.locked():
            return 0
        async with lock:
            store = self.follow_store
            await asyncio.to_thread(scan, self.service, store)
            sent = 0
            for notice in await asyncio.to_thread(store.pending, digest=False, limit=SEND_BATCH):
                sent += await self._send_notice(bot, notice)
            day = self._digest_day(now or datetime.now(UTC))
            if day is not None and await asyncio.to_thread(store.get_state, DIGEST_DAY) != day:
                sent += await self._send_digests(bot)
                await asyncio.to_thread(store.set_state, DIGEST_DAY, day)
            return sent

    def _digest_day(self, now: datetime) -> str | None:
        """Today (Vietnam time) once the digest hour has come, else None."""
        local = now.astimezone(VIETNAM)
        return local.date().isoformat() if local.hour >= self.settings.digest_hour else None

    async def _send_notice(self, bot: Bot, notice: Notice) -> int:
        store = self.follow_store
        news = await asyncio.to_thread(news_for, self.service, notice)
        if news is None:  # removed, or changed again: the newer text has its own notice
            await asyncio.to_thread(store.mark, [notice], "dropped")
            return 0
        text, keyboard = render_follow_notice(news), markup(follow_buttons(news))
        return await self._deliver(bot, notice.chat_id, [notice], text, keyboard)

    async def _send_digests(self, bot: Bot) -> int:
        store = self.follow_store
        by_chat: dict[int, list[Notice]] = defaultdict(list)
        for notice in await asyncio.to_thread(store.pending, digest=True, limit=10_000):
            by_chat[notice.chat_id].append(notice)
        sent = 0
        for chat_id, notices in by_chat.items():
            items: list[tuple[Notice, FollowNews]] = []
            for notice in notices:
                news = await asyncio.to_thread(news_for, self.service, notice)
                if news is None:
                    await asyncio.to_thread(store.mark, [notice], "dropped")
                else:
                    items.append((notice, news))
            for k in range(0, len(items), DIGEST_ITEMS):
                part = items[k : k + DIGEST_ITEMS]
                news_items = [news for _, news in part]
                delivered = await self._deliver(
                    bot,
                    chat_id,
                    [notice for notice, _ in part],
                    render_digest(news_items),
                    markup(digest_buttons(news_items)),
                )
                if not delivered:
                    break  # blocked or failing: the rest waits (or was dropped with the chat)
                sent += delivered
        return sent

    async def _deliver(
        self,
        bot: Bot,
        chat_id: int,
        notices: Sequence[Notice],
        text: str,
        keyboard: InlineKeyboardMarkup | None,
    ) -> int:
        """Send one message for these notices: 1 when it went (or may have), else 0."""
        store = self.follow_store
        # Marked before the send: a crash in between loses a notice instead of repeating it.
        await asyncio.to_thread(store.mark, notices, "sent")
        parts = split_message(text)
        k = 0
        try:
            for k, part in enumerate(parts):
                await bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    reply_markup=keyboard if k == len(parts) - 1 else None,
                )
        except Forbidden as exc:
            # Blocked, kicked from the group, or the account is gone: nobody is listening.
            logger.info("chat %s refuses messages (%s); its follows are removed", chat_id, exc)
            await asyncio.to_thread(store.mark, notices, "dropped")
            await asyncio.to_thread(store.remove_chat, chat_id)
            return 0
        except DeliveryUnknown as exc:
            logger.warning("follow news to chat %s may not have arrived: %s", chat_id, exc)
            return 1
        except TelegramError as exc:
            if k > 0:  # its first part arrived: sending it again would repeat that part
                logger.warning("follow news to chat %s arrived in part: %s", chat_id, exc)
                return 1
            logger.warning("follow news to chat %s failed, will retry: %s", chat_id, exc)
            await asyncio.to_thread(store.retry_later, notices)
            return 0
        return 1
