"""The ``tinbot`` command line. Subcommand names, flags and JSON shapes are a contract that other
tools drive: add to them, never rename. The commands themselves are in ``bot/commands.py``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

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
from ingest.facts import KINDS

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings], int]


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
    try:
        settings = Settings.from_env(environ)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        for noisy in ("chromadb", "httpx", "httpcore", "trafilatura", "htmldate", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        handler: Handler = args.func
        return handler(args, settings)
    except TinbotError as exc:
        print(f"tinbot: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("tinbot: interrupted", file=sys.stderr)
        return 130


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
    p.set_defaults(func=cmd_facts)
