"""Follows: places and topics a chat asked to hear about, and the notices owed to it.

The tables live in the data dir's SQLite database beside the articles (migration 3), so a
follow survives a restart and an article written by any process — ``tinbot ingest`` in a
shell, ``tinbot watch``, an upload to the bot — is seen by the one scanning for news.

A notice is keyed by chat, article and content hash, and is marked sent *before* it is handed
to Telegram: a crash between the two loses that notice rather than sending it twice (the same
choice ``bot.telegram.delivery`` makes for answers). Each store operation opens its own
connection, so the bot's worker threads never share one and a write here never lands inside
an article transaction of the service's connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from index.migrations import migrate
from ingest.vietnamese import fold, keys

# Articles written this long before the newest one already scanned are read again (and skipped
# by their content hash): a writer's clock may stamp a commit a moment earlier than the last.
RESCAN_MARGIN = timedelta(seconds=60)
MAX_ATTEMPTS = 5  # sends that failed without delivering anything, before a notice is given up
_WATERMARK = "follow_watermark"

AddOutcome = Literal["added", "changed", "exists", "full"]
NoticeStatus = Literal["pending", "sent", "dropped", "failed"]


def subject_key(subject: str) -> str:
    """The folded syllables of a subject: "Mường  Ảng" and "muong ang" are one follow."""
    return " ".join(fold(k) for k in keys(subject))


def _now() -> str:
    # The same format as ``articles.updated_at``, so the two compare as strings.
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Follow:
    chat_id: int
    subject: str  # as typed
    subject_key: str
    digest: bool  # gathered into a daily message instead of one message per article
    created_at: str


@dataclass(frozen=True)
class Version:
    """An article as the scanner found it: a new article, or new text of a known one."""

    article_id: str
    content_hash: str
    updated_at: str
    updated: bool  # an earlier text of the article was scanned before


@dataclass(frozen=True)
class Notice:
    chat_id: int
    article_id: str
    content_hash: str
    subjects: tuple[str, ...]  # the follows the article matched, as typed
    digest: bool
    updated: bool  # new text of an article stored before, not a new article
    attempts: int = 0


class FollowStore:
    """Thread-safe: every call opens its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            migrate(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- a chat's follows ---------------------------------------------------------------------
    def add(
        self, chat_id: int, subject: str, *, user_id: int | None, digest: bool, limit: int
    ) -> AddOutcome:
        """Follow ``subject`` in ``chat_id``; "full" (nothing stored) at ``limit`` follows."""
        key = subject_key(subject)
        if not key:
            raise ValueError("a subject needs letters or digits")
        with self._write() as conn:
            row = conn.execute(
                "SELECT digest FROM follows WHERE chat_id = ? AND subject_key = ?", (chat_id, key)
            ).fetchone()
            if row is not None:
                if bool(row[0]) == digest:
                    return "exists"
                conn.execute(
                    "UPDATE follows SET digest = ? WHERE chat_id = ? AND subject_key = ?",
                    (int(digest), chat_id, key),
                )
                return "changed"
            count = conn.execute(
                "SELECT COUNT(*) FROM follows WHERE chat_id = ?", (chat_id,)
            ).fetchone()[0]
            if count >= limit:
                return "full"
            conn.execute(
                "INSERT INTO follows(chat_id, subject, subject_key, digest, user_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, subject, key, int(digest), user_id, _now()),
            )
            return "added"

    def remove(self, chat_id: int, subject: str) -> Follow | None:
        """Stop following; the follow removed, or None when the chat did not follow it."""
        key = subject_key(subject)
        with self._write() as conn:
            found = [f for f in self._follows(conn, chat_id) if f.subject_key == key]
            if not found:
                return None
            conn.execute(
                "DELETE FROM follows WHERE chat_id = ? AND subject_key = ?", (chat_id, key)
            )
            return found[0]

    def remove_chat(self, chat_id: int) -> int:
        """Forget every follow of a chat (it blocked the bot) and what it was still owed."""
        with self._write() as conn:
            removed = conn.execute("DELETE FROM follows WHERE chat_id = ?", (chat_id,)).rowcount
            conn.execute(
                "UPDATE follow_notices SET status = 'dropped' "
                "WHERE chat_id = ? AND status = 'pending'",
                (chat_id,),
            )
            return int(removed)

    def of_chat(self, chat_id: int) -> list[Follow]:
        with self._connect() as conn:
            return self._follows(conn, chat_id)

    def all(self) -> list[Follow]:
        with self._connect() as conn:
            return self._follows(conn, None)

    @staticmethod
    def _follows(conn: sqlite3.Connection, chat_id: int | None) -> list[Follow]:
        sql = "SELECT chat_id, subject, subject_key, digest, created_at FROM follows"
        params: tuple[int, ...] = ()
        if chat_id is not None:
            sql += " WHERE chat_id = ?"
            params = (chat_id,)
        rows = conn.execute(sql + " ORDER BY chat_id, created_at, subject_key", params)
        return [Follow(int(r[0]), r[1], r[2], bool(r[3]), r[4]) for r in rows]

    # --- scanning for news --------------------------------------------------------------------
    def unscanned(self, limit: int = 500) -> tuple[list[Version], str | None]:
        """Articles added or changed since the last scan, oldest first (at most ``limit``),
        and the newest ``updated_at`` the scan covers, to pass to ``record_scan``. Cheap while
        nothing changes: an index range of the last minute's writes."""
        with self._connect() as conn:
            # Read before the range, so every write up to it is in the range's snapshot.
            newest = conn.execute("SELECT MAX(updated_at) FROM articles").fetchone()[0]
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_WATERMARK,)).fetchone()
            since = ""
            if row is not None:
                since = (datetime.fromisoformat(row[0]) - RESCAN_MARGIN).isoformat()
            rows = conn.execute(
                "SELECT a.article_id, a.content_hash, a.updated_at, s.content_hash IS NOT NULL "
                "FROM articles a "
                "LEFT JOIN follow_scanned s ON s.article_id = a.article_id "
                "WHERE a.updated_at >= ? AND (s.content_hash IS NULL "
                "OR s.content_hash != a.content_hash) "
                "ORDER BY a.updated_at, a.article_id LIMIT ?",
                (since, limit),
            ).fetchall()
        versions = [Version(r[0], r[1], r[2], bool(r[3])) for r in rows]
        if len(versions) == limit:
            newest = versions[-1].updated_at  # the rest comes in the next scan
        if row is not None and (newest is None or newest <= row[0]):
            newest = None  # nothing to move forward
        return versions, newest

    def record_scan(
        self, versions: Sequence[Version], notices: Sequence[Notice], newest: str | None
    ) -> int:
        """Store what a scan found, in one transaction: the notices owed (a chat already owed
        or sent this version keeps what it has), each version as scanned, and ``newest`` as
        the watermark the next scan starts from. Returns how many notices are new."""
        if not versions and newest is None:
            return 0
        now = _now()
        with self._write() as conn:
            added = 0
            for n in notices:
                added += conn.execute(
                    "INSERT OR IGNORE INTO follow_notices(chat_id, article_id, content_hash, "
                    "subjects, digest, updated, status, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (
                        n.chat_id,
                        n.article_id,
                        n.content_hash,
                        json.dumps(list(n.subjects), ensure_ascii=False),
                        int(n.digest),
                        int(n.updated),
                        now,
                    ),
                ).rowcount
            conn.executemany(
                "INSERT INTO follow_scanned(article_id, content_hash) VALUES (?, ?) "
                "ON CONFLICT(article_id) DO UPDATE SET content_hash = excluded.content_hash",
                [(v.article_id, v.content_hash) for v in versions],
            )
            if newest is not None:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                    "SET value = max(value, excluded.value)",
                    (_WATERMARK, newest),
                )
            return added

    # --- delivering ---------------------------------------------------------------------------
    def pending(self, *, digest: bool, limit: int = 100) -> list[Notice]:
        """Notices not yet sent, oldest first: those sent one by one, or those for digests."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT chat_id, article_id, content_hash, subjects, digest, updated, attempts "
                "FROM follow_notices WHERE status = 'pending' AND digest = ? "
                "ORDER BY created_at, chat_id, article_id LIMIT ?",
                (int(digest), limit),
            ).fetchall()
        return [
            Notice(
                int(r[0]), r[1], r[2], tuple(json.loads(r[3])), bool(r[4]), bool(r[5]), int(r[6])
            )
            for r in rows
        ]

    def mark(self, notices: Sequence[Notice], status: NoticeStatus) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE follow_notices SET status = ?, sent_at = ? "
                "WHERE chat_id = ? AND article_id = ? AND content_hash = ?",
                [
                    (status, _now() if status == "sent" else None, n.chat_id, n.article_id,
                     n.content_hash)
                    for n in notices
                ],
            )  # fmt: skip

    def retry_later(self, notices: Sequence[Notice]) -> None:
        """A send failed and delivered nothing: back to pending, or given up after
        ``MAX_ATTEMPTS``."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE follow_notices SET attempts = attempts + 1, sent_at = NULL, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END "
                "WHERE chat_id = ? AND article_id = ? AND content_hash = ?",
                [(MAX_ATTEMPTS, n.chat_id, n.article_id, n.content_hash) for n in notices],
            )

    def get_state(self, key: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
