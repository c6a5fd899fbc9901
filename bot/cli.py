"""The ``tinbot`` command line. Subcommand names, flags and JSON shapes are a contract that other
tools drive: add to them, never rename. The commands themselves are in ``bot/commands.py``."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.commands import (
    SAMPLES_DIR,
    cmd_ask,
    cmd_backup,
    cmd_check,
    cmd_demo,
    cmd_eval,
    cmd_facts,
    cmd_ingest,
    cmd_reindex,
    cmd_remove,
    cmd_sources,
    cmd_watch,
)
from bot.errors import TinbotError
from bot.settings import Settings
from bot.terminal import safe_line
from ingest.facts import KINDS

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]

# A Bot API token, alone or in a Bot API URL (https://api.telegram.org/bot<TOKEN>/getMe).
_TOKEN_RE = re.compile(r"\b(bot)?\d+:[A-Za-z0-9_-]{20,}")
# OS errors that are about the data dir's medium, not about a bug: reported as one line.
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class RedactTokens(logging.Filter):
    """Removes Telegram bot tokens from every log record: at DEBUG, python-telegram-bot and
    httpx log the Bot API URLs, which carry the token, and a log file is no place for it."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return _TOKEN_RE.sub(lambda m: f"{m.group(1) or ''}<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(level: str, token: str | None) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("chromadb", "httpx", "httpcore", "trafilatura", "htmldate", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # On the handlers, not the root logger: a logger's filters do not see records that
    # propagate up from other loggers.
    redact = RedactTokens([token] if token else [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def _about_storage(exc: sqlite3.Error | OSError) -> bool:
    """Whether the error is the data dir's state (its medium, permissions, contents) rather
    than a bug, which keeps its traceback."""
    if isinstance(exc, OSError):
        return exc.errno in _STORAGE_ERRNOS
    # DatabaseError itself: "file is not a database", "database disk image is malformed".
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def storage_error(exc: sqlite3.Error | OSError, data_dir: Path) -> str:
    """One line naming the data dir and what is wrong with it."""
    text = str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        text = f"{exc.strerror or exc}{where}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"the disk of the data dir {data_dir} is full: {text}"
        return f"cannot write to the data dir {data_dir}: {text}"
    lowered = text.lower()
    if "disk is full" in lowered:
        return f"the disk of the data dir {data_dir} is full ({text})"
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"the data dir {data_dir} is read-only ({text}); `tinbot sources` and `tinbot facts` "
            "can read it as it is, other commands need write access"
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"the database in the data dir {data_dir} is damaged ({text}); restore a backup "
            "(made by `tinbot backup`) or move the data dir away and ingest again"
        )
    return f"the data dir {data_dir} cannot be used: {text}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinbot",
        description=(
            "Answer questions about Vietnamese news articles with cited passages. "
            "Settings come from TINBOT_* environment variables (see README)."
        ),
    )
    parser.add_argument("--data-dir", help="data directory (default: $TINBOT_DATA_DIR or ./data)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", help="add files, folders or URLs to the index")
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="also remove articles whose files under the given folders are gone",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="+")
    p.add_argument("--json", action="store_true", help="print answer and citations as JSON")
    p.add_argument(
        "--article", action="append", metavar="ID_OR_ORIGIN", help="only this article (repeatable)"
    )
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on/after")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on/before")
    p.add_argument(
        "--explain",
        action="store_true",
        help="also show the best candidate sentences with each feature, its effect and the "
        "probability: why the answer was chosen or refused",
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("sources", help="list the ingested articles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("eval", help="measure answer quality on a JSONL question file")
    p.add_argument("file", metavar="FILE.jsonl")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "demo", help="ingest the bundled sample articles and answer sample questions"
    )
    p.add_argument("--samples", default=str(SAMPLES_DIR), help="folder of sample articles")
    p.add_argument("questions", nargs="*", help="questions to ask instead of the built-in ones")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("remove", help="delete articles (by id or origin) from every index")
    p.add_argument("targets", nargs="+", metavar="ID_OR_ORIGIN")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "reindex", help="rebuild passages, lexical index and vectors from the stored articles"
    )
    p.add_argument(
        "--model", help="switch to this sentence-transformers model (name or local path)"
    )
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser(
        "check", help="verify that the store, the lexical index and the vectors agree"
    )
    p.add_argument("--repair", action="store_true", help="fix what disagrees")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", help="copy the data dir consistently while the bot runs")
    p.add_argument("dest", metavar="DEST_DIR", help="a new, empty folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("watch", help="poll RSS/Atom feeds and mirror folders on an interval")
    p.add_argument("--feed", action="append", metavar="URL", help="feed URL (repeatable)")
    p.add_argument("--folder", action="append", metavar="PATH", help="folder (repeatable)")
    p.add_argument("--interval", type=float, help="seconds between polls")
    p.add_argument("--once", action="store_true", help="poll everything once and exit")
    p.add_argument("--json", action="store_true", help="with --once: print the report as JSON")
    p.set_defaults(func=cmd_watch)

    add_facts_parser(sub)

    try:
        from bot.telegram.cli import add_feedback_parser, add_serve_parser
    except ImportError:  # the Telegram front end is optional at import time
        pass
    else:
        add_serve_parser(sub)
        add_feedback_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    environ = dict(os.environ)
    if args.data_dir:
        environ["TINBOT_DATA_DIR"] = args.data_dir
    settings: Settings | None = None
    try:
        settings = Settings.from_env(environ)
        level = "DEBUG" if args.verbose else settings.log_level.upper()
        configure_logging(level, settings.telegram_token)
        handler: Handler = args.func
        return handler(args, settings)
    except TinbotError as exc:
        print(f"tinbot: error: {safe_line(RedactTokens().redact(str(exc)))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("tinbot: interrupted", file=sys.stderr)
        return 130
    except (sqlite3.Error, OSError) as exc:
        # A read-only, damaged or full data dir: the command cannot go on, but that is no bug.
        if settings is None or not _about_storage(exc):
            raise
        print(f"tinbot: error: {safe_line(storage_error(exc, settings.data_dir))}", file=sys.stderr)
        return 1


def add_facts_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("facts", help="list the figures extracted from the articles")
    p.add_argument("--place", help='a place, any part of its name ("Tuần Giáo", "tuan giao")')
    p.add_argument("--year", type=int, help="figures whose period covers this year")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        metavar="KIND",
        help="one kind: " + ", ".join(sorted(KINDS)),
    )
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.add_argument(
        "--plot",
        metavar="PNG",
        type=Path,
        help="also draw the figures as a bar chart (one panel per kind and measure) into PNG",
    )
    p.set_defaults(func=cmd_facts)
