"""What each ``tinbot`` subcommand does; ``bot/cli.py`` parses the command line and calls one.
Every command opens the service as a context manager, so it is closed however the command ends."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answering.fact_format import capitalised, fact_to_json, format_facts
from bot.errors import TinbotError
from bot.settings import Settings
from bot.terminal import safe_json, safe_line, safe_text
from bot.types import Answer, IngestReport, IngestResult
from index.facts import FactStore
from index.store import ArticleStore
from ingest.metadata import parse_date

if TYPE_CHECKING:
    from bot.service import Tinbot
    from ingest.facts import Fact

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = REPO_ROOT / "samples" / "corpus"
DEMO_QUESTIONS = (
    "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên từ năm 2016 đến 31-3-2018?",
    "dang bo thanh pho kon tum co bao nhieu dang vien la nguoi co dao",
    "How many party members does Tuan Giao district have?",
    "Thành phố Lai Châu gặp khó khăn gì trong công tác phát triển đảng viên?",
    "Thành phố Hà Nội kết nạp bao nhiêu đảng viên trong năm 2021?",
)


def _open(settings: Settings) -> Tinbot:
    from bot.service import Tinbot

    return Tinbot.open(settings)


def _print_json(data: Any) -> None:
    print(safe_json(data))


def format_answer(answer: Answer) -> str:
    """The answer for a terminal; what came from the articles has its control characters
    escaped (see ``bot/terminal.py``)."""
    lines = [safe_text(answer.text)]
    if answer.citations:
        lines.append("")
        lines.append("Nguồn:" if answer.language == "vi" else "Sources:")
        for c in answer.citations:
            publisher = f" — {safe_line(c.publisher)}" if c.publisher else ""
            date = f" — {safe_line(c.date)}" if c.date else ""
            where = safe_line(c.link or c.origin)
            lines.append(f"[{c.n}] {safe_line(c.title)}{publisher}{date} — {where}")
    return "\n".join(lines)


def failure_line(result: IngestResult) -> str:
    """ "ORIGIN: REASON" once: ingest errors already start with the origin they name."""
    reason = result.reason or "unknown error"
    if not reason.startswith(f"{result.origin}: "):
        reason = f"{result.origin}: {reason}"
    return safe_line(reason)


def print_report(report: IngestReport, *, as_json: bool) -> None:
    if as_json:
        _print_json(
            {
                "added": report.count("added"),
                "unchanged": report.count("unchanged"),
                "updated": report.count("updated"),
                "failed": report.count("failed"),
                "skipped": report.count("skipped"),
                "removed": report.count("removed"),
                "results": [r.__dict__ for r in report.results],
            }
        )
        return
    for r in report.results:
        if r.status == "failed":
            print(f"failed     {failure_line(r)}", file=sys.stderr)
            continue
        note = f" ({safe_line(r.reason)})" if r.reason else ""
        print(f"{r.status:<10} {safe_line(r.title or r.origin)} [{r.chunks} passages]{note}")
        for warning in r.warnings:
            print(f"warning    {safe_line(r.origin)}: {safe_line(warning)}", file=sys.stderr)
    print(report.summary())


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as service:
        progress = args.progress if args.progress is not None else sys.stderr.isatty()
        report = service.ingest(args.sources, progress=progress and not args.json, prune=args.prune)
    print_report(report, as_json=args.json)
    return 0 if report.ok else 1


def format_explain(explained: dict[str, Any], features: int = 8) -> str:
    """The ranker's view of the best candidates, for a maintainer at a terminal."""
    lines = [
        f"Explain — asks: {', '.join(explained['answer_types']) or '(other)'}; "
        f"years: {', '.join(explained['years']) or '-'}; places: "
        f"{', '.join(explained['places']) or '-'}; threshold {explained['threshold']}; "
        f"decision: {explained['decision']} {explained['chosen'] or ''}".rstrip()
        + (f" ({explained['refusal']})" if explained.get("refusal") else "")
    ]
    for c in explained["candidates"]:
        flag = f" ✗ {c['mismatch']} mismatch" if c["mismatch"] else ""
        lines.append(
            f"#{c['rank']} p={c['probability']:.3f} (passage {c['passage_rank']}){flag} — "
            f"{c['text'][:160]}"
        )
        top = list(c["features"].items())[:features]
        lines.append("    " + ", ".join(f"{n}={f['value']:g}({f['effect']:+.2f})" for n, f in top))
    return "\n".join(lines)


def text_argument(value: str, what: str) -> str:
    """A command-line argument that is text to search or match, not a path: bytes that are not
    UTF-8 arrive as surrogate escapes, which nothing downstream can encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise TinbotError(
            f"{what} is not valid UTF-8 text: {value}; set the terminal to UTF-8"
        ) from None
    return value


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    question = text_argument(" ".join(args.question).strip(), "the question")
    for target in args.article or ():
        text_argument(target, "--article")
    if not question:
        raise TinbotError(
            'give a question, e.g. tinbot ask "Tuần Giáo kết nạp bao nhiêu đảng viên?"'
        )
    with _open(settings) as service:
        if service.stats().articles == 0:
            raise TinbotError(
                f"no articles ingested in {settings.data_dir}; run `tinbot ingest PATH` first"
            )
        article_ids = None
        if args.article:
            found = [service.store.find(a) for a in args.article]
            unknown = [a for a, f in zip(args.article, found, strict=True) if f is None]
            if unknown:
                raise TinbotError(f"no such article: {', '.join(unknown)} (see `tinbot sources`)")
            article_ids = [f.article_id for f in found if f is not None]
        for bound in (args.since, args.until):
            if bound and parse_date(bound) != bound:
                raise TinbotError(f"dates are YYYY-MM-DD, got {bound!r}")
        answer = service.answer(
            question, article_ids=article_ids, date_from=args.since, date_to=args.until
        )
        explained = service.explain(question) if args.explain else None
    if explained is not None:
        if args.json:
            _print_json({**answer.to_json(), "explain": explained})
        else:
            print(format_answer(answer))
            print()
            print(safe_text(format_explain(explained)))
        return 0
    if args.json:
        _print_json(answer.to_json())
    else:
        print(format_answer(answer))
    return 0


def _reading_store(settings: Settings) -> ArticleStore | None:
    """The article store for commands that only read it, without the model or the vectors;
    read-only when this process may not write the data dir. None before the first ingest."""
    path = settings.data_dir / "tinbot.sqlite3"
    if not path.exists():
        return None
    try:
        return ArticleStore(path)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        return ArticleStore(path, read_only=True)


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    store = _reading_store(settings)
    try:
        articles = store.articles() if store is not None else []
    finally:
        if store is not None:
            store.close()
    if args.json:
        _print_json([a.__dict__ for a in articles])
        return 0
    if not articles:
        print("No articles ingested yet. Run `tinbot ingest PATH_OR_URL`.")
    for a in articles:
        date = safe_line(a.date or "----------")
        print(f"{a.article_id}  {date}  {safe_line(a.title)}  ({a.chunks} passages)")
        print(f"{'':18}{safe_line(a.origin)}")
        known = [safe_line(x) for x in (a.publisher, a.link) if x and x != a.origin]
        if known:
            print(f"{'':18}{' — '.join(known)}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluate import load_cases, run_eval

    cases = load_cases(Path(args.file))
    with _open(settings) as service:
        if service.stats().articles == 0:
            raise TinbotError(
                f"no articles ingested in {settings.data_dir}; run `tinbot ingest` first"
            )
        report = run_eval(service, cases)
    metrics = report.metrics()
    if args.json:
        _print_json({"metrics": metrics, "cases": [r.to_json() for r in report.results]})
        return 0
    for r in report.results:
        mark = "ok " if (r.answer_ok and r.citation_ok and r.refusal_ok) else "BAD"
        print(f"{mark} {safe_line(r.case.id):<4} rank={r.rank} {safe_line(r.case.question)}")
        if mark == "BAD" or args.verbose:
            print(textwrap.indent(safe_text(r.answer), "      "))
    print()
    for key, value in metrics.items():
        print(f"{key:22} {value}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    samples = Path(args.samples)
    if not samples.is_dir():
        raise TinbotError(f"sample articles not found at {samples}")
    with _open(settings) as service:
        print(f"Ingesting the sample articles from {samples} into {settings.data_dir} …")
        report = service.ingest([str(samples)], progress=sys.stderr.isatty())
        print_report(report, as_json=False)
        for question in args.questions or DEMO_QUESTIONS:
            print("\n" + "=" * 78)
            print(f"? {safe_line(question)}\n")
            print(format_answer(service.answer(question)))
    return 0 if report.ok else 1


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    for target in args.targets:
        text_argument(target, "the article to remove")
    with _open(settings) as service:
        removed = []
        for target in args.targets:
            article = service.remove(target)
            if article is not None:
                print(f"removed {article.article_id}  {safe_line(article.title)}")
            elif (kept := service.remove_alias(target)) is not None:
                print(
                    f"removed alias {safe_line(target)} "
                    f"(the text stays as {safe_line(kept.origin)})"
                )
                article = kept
            removed.append(article)
    missing = [t for t, a in zip(args.targets, removed, strict=True) if a is None]
    if missing:
        raise TinbotError(f"not found: {', '.join(missing)} (see `tinbot sources`)")
    return 0


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import Tinbot

    if args.model:
        settings = settings.with_(embedder="sentence-transformers", embedding_model=args.model)
    # Opening the vector store with a new model is refused on purpose; reindex is the one place
    # that may replace it, so the collection is recreated before the service opens it.
    from index.vectors import VectorStore

    embedder = settings.embedder_instance()
    VectorStore(settings.chroma, embedder.name, embedder.dim, recreate=True)
    with Tinbot(settings, embedder) as service:
        count = service.reindex(progress=sys.stderr.isatty())
    print(f"reindexed {count} articles with {embedder.name}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as service:
        before = service.verify()
        repaired = service.repair() if args.repair else None
        after = service.verify() if repaired else before
    ok = _consistent(after)
    if args.json:
        _print_json({"consistent": ok, "counts": after, "repaired": repaired})
    else:
        for key, value in after.items():
            print(f"{key:20} {value}")
        if repaired:
            print(
                f"repaired: {repaired['orphans_deleted']} orphan vectors deleted, "
                f"{repaired['articles_rewritten']} articles re-embedded"
            )
        print("consistent" if ok else "INCONSISTENT: run `tinbot check --repair`")
    return 0 if ok else 1


def _consistent(counts: dict[str, int]) -> bool:
    return (
        counts["passages"] == counts["lexical"] == counts["vectors"]
        and counts["orphan_vectors"] == counts["missing_vectors"] == 0
        and counts["duplicate_passages"] == counts["term_stat_errors"] == 0
    )


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    with _open(settings) as service:
        dest = service.backup(Path(args.dest))
    print(f"backed up {settings.data_dir} to {dest} (use it as TINBOT_DATA_DIR to restore)")
    return 0


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    import threading

    from bot.watch import Watcher

    feeds = args.feed or list(settings.watch_feeds)
    folders = args.folder or list(settings.watch_folders)
    if not feeds and not folders:
        raise TinbotError(
            "nothing to watch: give --feed URL / --folder PATH or set "
            "TINBOT_WATCH_FEEDS / TINBOT_WATCH_FOLDERS"
        )
    with _open(settings) as service:
        watcher = Watcher(service, feeds, folders, interval=args.interval)
        if args.once:
            report = watcher.poll_once(force=True)
            if args.json:
                _print_json(
                    {
                        "results": [r.__dict__ for r in report.results],
                        "feed_errors": report.feed_errors,
                        "feeds": watcher.feed_status(),
                    }
                )
            else:
                print_report(IngestReport(report.results), as_json=False)
                for url, error in report.feed_errors.items():
                    print(f"feed failed {safe_line(url)}: {safe_line(error)}", file=sys.stderr)
            return 0 if not report.feed_errors else 1
        print(
            f"watching {len(feeds)} feeds and {len(folders)} folders every "
            f"{watcher.interval:g} s; Ctrl-C to stop",
            file=sys.stderr,
        )
        stop = threading.Event()
        try:
            watcher.run(stop)
        except KeyboardInterrupt:
            stop.set()
    return 0


def cmd_facts(args: argparse.Namespace, settings: Settings) -> int:
    if args.place:
        text_argument(args.place, "--place")
    store = _reading_store(settings)
    if store is None:
        raise TinbotError(f"no articles ingested in {settings.data_dir}; run `tinbot ingest` first")
    try:
        facts = FactStore(store.conn)
        if not store.read_only:
            facts.refresh(store)
        found = facts.query(place=args.place, year=args.year, kind=args.kind)
        articles = {a.article_id: a for a in store.articles()}
    finally:
        store.close()
    if args.plot:
        _plot_facts(found, args, {k: a.title for k, a in articles.items()})
    if args.json:
        rows = [fact_to_json(f, getattr(articles.get(f.article_id), "origin", None)) for f in found]
        _print_json(rows)
        return 0
    if not found:
        print("Không có số liệu nào khớp.")
        return 0
    print(safe_text(format_facts(found, {k: a.title for k, a in articles.items()})))
    return 0


def _plot_facts(found: list[Fact], args: argparse.Namespace, titles: dict[str, str]) -> None:
    from bot.charts import plan_chart, render_png

    title = capitalised(found[0].place) if args.place and found else "Số liệu"
    if args.year:
        title += f" — {args.year}"
    chart = plan_chart(found, title)
    if chart is None:
        raise TinbotError("fewer than two figures match: nothing to chart (widen the filters)")
    args.plot.write_bytes(render_png(chart))
    # On stderr, so that --json output stays parseable.
    print(f"chart written to {args.plot}", file=sys.stderr)
    for number, article_id in enumerate(chart.sources, start=1):
        print(safe_text(f"  [{number}] {titles.get(article_id, article_id)}"), file=sys.stderr)
