"""👍/👎 feedback on answers, kept in SQLite in the data dir and exportable as JSONL or CSV.

Every answer the bot sends is recorded (question as asked, the question actually answered after
follow-up resolution, answer text, sources) so that a vote, which arrives later through a button
carrying only the answer's row id, can be stored with everything needed to judge it. One vote per
user per answer; voting again changes it.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from bot.types import Answer

FILENAME = "feedback.sqlite3"
ExportFormat = Literal["jsonl", "csv"]
EXPORT_FIELDS = (
    "answer_id",
    "rating",
    "voted_at",
    "user_id",
    "chat_id",
    "question",
    "resolved_question",
    "answer",
    "refused",
    "sources",
    "answered_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    user_id INTEGER,
    question TEXT NOT NULL,
    resolved_question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    sources TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    created_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sources_of(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "n": c.n,
            "article_id": c.article_id,
            "title": c.title,
            "date": c.date,
            "origin": c.origin,
            "quote": c.quote,
        }
        for c in answer.citations
    ]


class FeedbackStore:
    """Thread-safe: handlers call it from worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / FILENAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            with conn:
                yield conn

    def record_answer(
        self,
        *,
        chat_id: int,
        user_id: int | None,
        question: str,
        answer: Answer,
    ) -> int:
        """Store an answer as sent; returns the id its feedback buttons carry: random, so that
        a forged button cannot vote on answers given to others."""
        answer_id = secrets.randbits(52)  # 16 digits at most: fits the callback data
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO answers (id, chat_id, user_id, question, resolved_question, answer, "
                "refused, sources, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    chat_id,
                    user_id,
                    question,
                    answer.question,
                    answer.text,
                    int(answer.refused),
                    json.dumps(sources_of(answer), ensure_ascii=False),
                    _now(),
                ),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def vote(self, answer_id: int, user_id: int, rating: int, *, chat_id: int) -> bool:
        """Store or change a user's vote. False when the answer is unknown or was not given in
        ``chat_id`` (a button under a message from another installation, or forged)."""
        if rating not in (-1, 1):
            raise ValueError("rating must be -1 or 1")
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM answers WHERE id = ? AND chat_id = ?", (answer_id, chat_id)
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "INSERT INTO votes (answer_id, user_id, rating, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_id) DO UPDATE SET rating = excluded.rating, "
                "created_at = excluded.created_at",
                (answer_id, user_id, rating, _now()),
            )
            return True

    def counts(self) -> tuple[int, int, int]:
        """(answers recorded, 👍 votes, 👎 votes)."""
        with self._connect() as conn:
            answers = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            up = conn.execute("SELECT COUNT(*) FROM votes WHERE rating = 1").fetchone()[0]
            down = conn.execute("SELECT COUNT(*) FROM votes WHERE rating = -1").fetchone()[0]
        return int(answers), int(up), int(down)

    def rows(self) -> list[dict[str, Any]]:
        """One row per vote, oldest first, with the answer it judges."""
        with self._connect() as conn:
            cursor = conn.execute(
                "SELECT v.answer_id, v.rating, v.created_at AS voted_at, v.user_id, a.chat_id, "
                "a.question, a.resolved_question, a.answer, a.refused, a.sources, "
                "a.created_at AS answered_at "
                "FROM votes v JOIN answers a ON a.id = v.answer_id "
                "ORDER BY v.created_at, v.answer_id, v.user_id"
            )
            rows = []
            for row in cursor:
                item = dict(row)
                item["rating"] = "up" if item["rating"] == 1 else "down"
                item["refused"] = bool(item["refused"])
                item["sources"] = json.loads(item["sources"])
                rows.append(item)
        return rows

    def export(self, out: TextIO, fmt: ExportFormat = "jsonl") -> int:
        """Write every vote to ``out``; returns how many were written."""
        rows = self.rows()
        if fmt == "jsonl":
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "sources": json.dumps(row["sources"], ensure_ascii=False)})
        else:
            raise ValueError(f"unknown export format {fmt!r}")
        return len(rows)

    def export_text(self, fmt: ExportFormat = "jsonl") -> str:
        buffer = io.StringIO()
        self.export(buffer, fmt)
        return buffer.getvalue()
