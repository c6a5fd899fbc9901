"""``tinbot serve`` (run the Telegram bot) and ``tinbot feedback export``."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import ConfigError, TinbotError
from bot.settings import Settings

logger = logging.getLogger(__name__)


def _rejected() -> ConfigError:
    # The token itself is a secret: never repeat it in a message that may land in a log.
    return ConfigError(
        "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized); check it with @BotFather"
    )


def _unreachable(base_url: str | None, exc: Exception) -> TinbotError:
    where = base_url or "https://api.telegram.org/bot"
    return TinbotError(f"cannot reach the Telegram Bot API at {where}: {exc}")


def check_telegram(token: str, base_url: str | None) -> str:
    """Ask the Bot API who we are, so a rejected token or an unreachable server is one line
    (python-telegram-bot's own start-up logs a traceback) and is found before the model loads.
    Returns the bot's username."""
    import asyncio

    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    async def get_me() -> str:
        bot = Bot(token, base_url=base_url) if base_url else Bot(token)
        async with bot:
            return bot.username

    try:
        return asyncio.run(get_me())
    except InvalidToken:
        raise _rejected() from None
    except NetworkError as exc:
        raise _unreachable(base_url, exc) from None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.service import Tinbot
    from bot.telegram.app import build_application, check_token

    token = check_token(settings.telegram_token)
    base_url = args.base_url or settings.telegram_base_url
    if args.webhook_url:
        parts = urlsplit(args.webhook_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"--webhook-url {args.webhook_url!r} is not an http(s) URL")
    username = check_telegram(token, base_url)
    logger.info("token accepted for @%s; loading the index", username)
    service = Tinbot.open(settings)
    watch = None
    if settings.watch_feeds or settings.watch_folders:
        from bot.watch import Watcher

        # Feeds and folders keep the index fed while the bot answers (same process, one writer).
        watch = Watcher(service, settings.watch_feeds, settings.watch_folders).start_thread()
    try:
        app = build_application(settings, service, base_url=base_url)
        try:
            if args.webhook_url:
                # A fresh secret each start: Telegram echoes it in a header on every delivery,
                # and requests without it are rejected, so only Telegram can post updates.
                secret = secrets.token_urlsafe(32)
                url_path = urlsplit(args.webhook_url).path.lstrip("/")
                logger.info(
                    "webhook mode: listening on %s:%d/%s",
                    args.webhook_listen,
                    args.webhook_port,
                    url_path,
                )
                app.run_webhook(
                    listen=args.webhook_listen,
                    port=args.webhook_port,
                    url_path=url_path,
                    webhook_url=args.webhook_url,
                    secret_token=secret,
                    allowed_updates=Update.ALL_TYPES,
                )
            else:
                logger.info("polling for updates")
                app.run_polling(allowed_updates=Update.ALL_TYPES)
        except InvalidToken:
            raise _rejected() from None
        except NetworkError as exc:
            raise _unreachable(base_url, exc) from None
    finally:
        if watch is not None:
            thread, stop = watch
            stop.set()
            thread.join(timeout=30)
        service.close()
    return 0


def cmd_feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram.feedback import FILENAME, ExportFormat, FeedbackStore

    fmt: ExportFormat
    if args.format:
        fmt = args.format
    elif args.output and Path(args.output).suffix.lower() == ".csv":
        fmt = "csv"
    else:
        fmt = "jsonl"
    path = settings.data_dir / FILENAME
    if not path.exists():
        raise TinbotError(f"no feedback recorded yet in {settings.data_dir}")
    store = FeedbackStore(path)
    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = store.export(out, fmt)
        print(f"exported {count} votes to {args.output}", file=sys.stderr)
    else:
        store.export(sys.stdout, fmt)
    return 0


def add_serve_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the Telegram bot (long polling, or a webhook with --webhook-url)",
        description=(
            "Run the Telegram bot. The token comes from TELEGRAM_BOT_TOKEN; admins from "
            "TINBOT_ADMIN_IDS. Long polling by default; --webhook-url sets a webhook instead "
            "(Telegram requires https on port 443, 80, 88 or 8443; put a TLS proxy in front)."
        ),
    )
    p.add_argument(
        "--webhook-url",
        metavar="URL",
        help="public URL Telegram posts updates to (enables webhook mode)",
    )
    p.add_argument(
        "--webhook-listen",
        metavar="HOST",
        default="127.0.0.1",
        help="address the webhook server binds (default 127.0.0.1; 0.0.0.0 for all)",
    )
    p.add_argument(
        "--webhook-port", metavar="N", type=int, default=8443, help="webhook port (default 8443)"
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="Bot API base URL, e.g. http://host:8081/bot (default: $TINBOT_TELEGRAM_BASE_URL "
        "or Telegram's)",
    )
    p.set_defaults(func=cmd_serve)


def add_feedback_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("feedback", help="export 👍/👎 feedback given in Telegram")
    sub = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write every vote with its question, answer and sources")
    e.add_argument("--format", choices=("jsonl", "csv"), help="default: from -o's suffix, or jsonl")
    e.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    e.set_defaults(func=cmd_feedback_export)
