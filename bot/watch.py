"""Keep the index fed: poll RSS/Atom feeds and mirror folders on an interval.

Each feed entry is ingested once (by GUID/link; identical text from elsewhere becomes an alias),
a failing feed is retried with exponential backoff, and what was fetched when is recorded in the
store's ``feeds`` / ``feed_entries`` tables.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.errors import IngestError
from bot.service import Tinbot
from bot.types import IngestResult
from ingest.feeds import FeedEntry, fetch_feed
from ingest.loaders import load, load_html
from ingest.models import RawDocument

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 6 * 3600
# Entries whose ingest failed are retried on later polls, but not for ever.
MAX_ENTRY_ATTEMPTS = 3
DONE = ("added", "updated", "unchanged", "skipped")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class PollReport:
    results: list[IngestResult] = field(default_factory=list)
    feed_errors: dict[str, str] = field(default_factory=dict)
    skipped_feeds: list[str] = field(default_factory=list)  # still backing off

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class Watcher:
    def __init__(
        self,
        tinbot: Tinbot,
        feeds: Sequence[str] = (),
        folders: Sequence[str] = (),
        interval: float | None = None,
    ) -> None:
        self.tinbot = tinbot
        self.feeds = list(feeds)
        self.folders = list(folders)
        self.interval = interval or tinbot.settings.watch_interval
        self.conn = tinbot.store.conn

    # --- one round --------------------------------------------------------------------------
    def poll_once(self, *, force: bool = False) -> PollReport:
        report = PollReport()
        for url in self.feeds:
            if not force and not self._due(url):
                report.skipped_feeds.append(url)
                continue
            self._poll_feed(url, report)
        for folder in self.folders:
            report.results.extend(self.tinbot.ingest([folder], prune=True).results)
        return report

    def _due(self, url: str) -> bool:
        row = self.conn.execute("SELECT next_poll FROM feeds WHERE url = ?", (url,)).fetchone()
        return row is None or row[0] <= time.time()

    def _poll_feed(self, url: str, report: PollReport) -> None:
        limits = self.tinbot.limits()
        try:
            entries = fetch_feed(url, limits)
        except IngestError as exc:
            failures = self._record_failure(url, str(exc))
            report.feed_errors[url] = str(exc)
            logger.warning("feed %s failed (%d in a row): %s", url, failures, exc)
            return
        self._record_success(url)
        seen: set[str] = set()
        for entry in entries:
            if entry.key in seen:  # the same entry twice in one feed
                continue
            seen.add(entry.key)
            if self._done(url, entry.key):
                continue
            result = self._ingest_entry(entry, url)
            report.results.append(result)
            self._record_entry(url, entry, result)

    def _ingest_entry(self, entry: FeedEntry, feed_url: str) -> IngestResult:
        origin = entry.link or f"{feed_url}#{entry.key}"
        raw: RawDocument | None = None
        error = "entry has neither a link nor content"
        if entry.link:
            try:
                raw = load(entry.link, self.tinbot.limits())
            except IngestError as exc:
                error = str(exc)
        if raw is None and entry.content:
            # The page is unreachable but the feed carries the text: better than nothing.
            try:
                page = f"<html><body><article>{entry.content}</article></body></html>"
                raw = load_html(page, origin)
            except IngestError as exc:
                error = str(exc)
        if raw is None:
            return IngestResult(origin, "failed", reason=error)
        if entry.published and not raw.date:
            raw = replace(raw, title=raw.title or entry.title, date=entry.published)
        return self.tinbot.ingest_raw(raw)

    # --- records ----------------------------------------------------------------------------
    def _done(self, feed_url: str, key: str) -> bool:
        row = self.conn.execute(
            "SELECT status, attempts FROM feed_entries WHERE feed_url = ? AND entry_key = ?",
            (feed_url, key),
        ).fetchone()
        return row is not None and (row[0] in DONE or row[1] >= MAX_ENTRY_ATTEMPTS)

    def _record_entry(self, feed_url: str, entry: FeedEntry, result: IngestResult) -> None:
        self._write(
            "INSERT INTO feed_entries(feed_url, entry_key, link, status, reason, article_id, "
            "fetched_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT(feed_url, entry_key) DO UPDATE SET status = excluded.status, "
            "reason = excluded.reason, article_id = excluded.article_id, "
            "fetched_at = excluded.fetched_at, attempts = feed_entries.attempts + 1",
            (
                feed_url,
                entry.key,
                entry.link,
                result.status,
                result.reason,
                result.article_id,
                _now(),
            ),
        )

    def _record_success(self, url: str) -> None:
        now = _now()
        self._write(
            "INSERT INTO feeds(url, last_polled, last_ok, failures, next_poll, last_error) "
            "VALUES (?, ?, ?, 0, ?, NULL) ON CONFLICT(url) DO UPDATE SET "
            "last_polled = excluded.last_polled, last_ok = excluded.last_ok, failures = 0, "
            "next_poll = excluded.next_poll, last_error = NULL",
            (url, now, now, time.time() + self.interval),
        )

    def _record_failure(self, url: str, error: str) -> int:
        row = self.conn.execute("SELECT failures FROM feeds WHERE url = ?", (url,)).fetchone()
        failures = (row[0] if row else 0) + 1
        delay = min(self.interval * 2**failures, MAX_BACKOFF_SECONDS)
        self._write(
            "INSERT INTO feeds(url, last_polled, failures, next_poll, last_error) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET "
            "last_polled = excluded.last_polled, failures = excluded.failures, "
            "next_poll = excluded.next_poll, last_error = excluded.last_error",
            (url, _now(), failures, time.time() + delay, error),
        )
        return failures

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        # The connection is shared with ingest; the write lock keeps this statement out of
        # another thread's open transaction.
        with self.tinbot.write_lock():
            self.conn.execute(sql, params)

    def feed_status(self) -> list[dict[str, object]]:
        rows = self.conn.execute(
            "SELECT f.url, f.last_polled, f.last_ok, f.failures, f.last_error, "
            "(SELECT COUNT(*) FROM feed_entries e WHERE e.feed_url = f.url) AS entries "
            "FROM feeds f ORDER BY f.url"
        ).fetchall()
        return [dict(r) for r in rows]

    # --- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; one failing round never ends the loop."""
        while not stop.is_set():
            try:
                report = self.poll_once()
                if report.results or report.feed_errors:
                    logger.info(
                        "watch: added %d, updated %d, failed %d, feed errors %d",
                        report.count("added"),
                        report.count("updated"),
                        report.count("failed"),
                        len(report.feed_errors),
                    )
            except Exception:
                logger.exception("watch round failed; trying again next round")
            stop.wait(self._sleep_seconds())

    def _sleep_seconds(self) -> float:
        """Until the next feed is due, or one interval for folders."""
        row = self.conn.execute("SELECT MIN(next_poll) FROM feeds").fetchone()
        wait = self.interval
        if row and row[0] is not None:
            wait = min(wait, max(1.0, row[0] - time.time()))
        return wait

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        """Run inside another process (``tinbot serve``) as a daemon thread."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="tinbot-watch", daemon=True)
        thread.start()
        return thread, stop
