"""Admin handlers: /ingest of a URL and ingest of an uploaded document."""

from __future__ import annotations

import asyncio
from pathlib import PurePath

from telegram import Update
from telegram.ext import ContextTypes

from bot.errors import TinbotError
from bot.telegram.base import HandlerBase
from bot.telegram.format import esc, is_url, render_ingest_report
from ingest.loaders import SUPPORTED_SUFFIXES

# The cloud Bot API lets bots download files up to 20 MB; a self-hosted server has no such cap.
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_ORIGIN_PREFIX = "telegram-upload/"


class AdminHandlers(HandlerBase):
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


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
