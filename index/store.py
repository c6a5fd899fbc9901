"""The canonical article store (SQLite in the data dir).

Articles, their passages and an embedding cache live here; the lexical index is an FTS5 table in
the same database, so one SQLite transaction updates an article and its lexical entries together.
Chroma is derived data: a passage only counts as live when its row exists here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.errors import StoreError
from index.migrations import LATEST, migrate, version
from index.models import ArticleInfo, Stats
from ingest.models import Article, Chunk


@dataclass(frozen=True)
class StoredChunk:
    id: int
    chunk_id: str
    article_id: str
    position: int
    start: int
    end: int
    text: str
    context: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _article(row: sqlite3.Row) -> Article:
    return Article(
        article_id=row["article_id"],
        origin=row["origin"],
        title=row["title"],
        date=row["date"],
        author=row["author"],
        text=row["text"],
        content_hash=row["content_hash"],
        extra=json.loads(row["extra"]),
    )


class ArticleStore:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """``read_only`` opens a database that this process may not write (a data dir on a
        read-only mount, or another user's): lists and look-ups work, every write fails."""
        if read_only:
            # immutable: a WAL database cannot otherwise be read where its -shm file cannot be
            # created; nothing can write it there either.
            target: str | Path = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = path
        self.read_only = read_only
        # check_same_thread=False: the bot reads from worker threads; writes are serialised by
        # the service's lock.
        self.conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, uri=read_only
        )
        try:
            self.conn.row_factory = sqlite3.Row
            if read_only:
                if version(self.conn) != LATEST:
                    raise StoreError(
                        f"{path} is read-only and needs a schema upgrade; open it once with "
                        "write access (any tinbot command) to upgrade it"
                    )
                return
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # --- articles -------------------------------------------------------------------------
    def by_origin(self, origin: str) -> Article | None:
        row = self.conn.execute("SELECT * FROM articles WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else _article(row)

    def by_hash(self, content_hash: str) -> Article | None:
        row = self.conn.execute(
            "SELECT * FROM articles WHERE content_hash = ? LIMIT 1", (content_hash,)
        ).fetchone()
        return None if row is None else _article(row)

    def get(self, article_id: str) -> Article | None:
        row = self.conn.execute(
            "SELECT * FROM articles WHERE article_id = ?", (article_id,)
        ).fetchone()
        return None if row is None else _article(row)

    def find(self, id_or_origin: str) -> Article | None:
        return self.get(id_or_origin) or self.by_origin(id_or_origin)

    def put(
        self,
        conn: sqlite3.Connection,
        article: Article,
        chunks: Sequence[Chunk],
        contexts: str,
        *,
        raw_text: str | None = None,
        minhash: bytes | None = None,
    ) -> list[StoredChunk]:
        """Insert or replace an article and its passages; call inside ``transaction()``."""
        now = _now()
        # An origin that becomes an article in its own right is no longer an alias.
        conn.execute("DELETE FROM aliases WHERE origin = ?", (article.origin,))
        conn.execute("DELETE FROM chunks WHERE article_id = ?", (article.article_id,))
        conn.execute(
            "INSERT INTO articles(article_id, origin, title, date, author, text, content_hash, "
            "extra, ingested_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(article_id) DO UPDATE SET origin=excluded.origin, title=excluded.title, "
            "date=excluded.date, author=excluded.author, text=excluded.text, "
            "content_hash=excluded.content_hash, extra=excluded.extra, "
            "updated_at=excluded.updated_at",
            (
                article.article_id,
                article.origin,
                article.title,
                article.date,
                article.author,
                article.text,
                article.content_hash,
                json.dumps(article.extra, ensure_ascii=False),
                now,
                now,
            ),
        )
        stored: list[StoredChunk] = []
        for chunk in chunks:
            cur = conn.execute(
                "INSERT INTO chunks(chunk_id, article_id, position, start, end, text, context) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.chunk_id,
                    chunk.article_id,
                    chunk.position,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    contexts,
                ),
            )
            assert cur.lastrowid is not None
            stored.append(
                StoredChunk(
                    cur.lastrowid,
                    chunk.chunk_id,
                    chunk.article_id,
                    chunk.position,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    contexts,
                )
            )
        if raw_text is not None:
            conn.execute(
                "INSERT OR REPLACE INTO sources(article_id, raw_text, content_type) "
                "VALUES (?, ?, ?)",
                (article.article_id, raw_text, article.extra.get("content_type", "text/plain")),
            )
        if minhash is not None:
            conn.execute(
                "INSERT OR REPLACE INTO signatures(article_id, minhash) VALUES (?, ?)",
                (article.article_id, minhash),
            )
        self.set_meta("last_ingest", now)
        self.bump_generation(conn)
        return stored

    def update_extra(self, article_id: str, extra: dict[str, str]) -> None:
        """Metadata read anew from an unchanged text (a page's publisher, which older versions
        did not keep): no passage changes, so nothing is embedded again."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE articles SET extra = ? WHERE article_id = ?",
                (json.dumps(extra, ensure_ascii=False), article_id),
            )
            self.bump_generation(conn)

    # --- aliases and near-duplicates ------------------------------------------------------
    def add_alias(self, origin: str, article_id: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO aliases(origin, article_id, added_at) VALUES (?, ?, ?)",
            (origin, article_id, _now()),
        )

    def alias_target(self, origin: str) -> str | None:
        row = self.conn.execute(
            "SELECT article_id FROM aliases WHERE origin = ?", (origin,)
        ).fetchone()
        return None if row is None else str(row[0])

    def aliases_of(self, article_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT origin FROM aliases WHERE article_id = ? ORDER BY origin", (article_id,)
        )
        return [str(r[0]) for r in rows]

    def remove_alias(self, origin: str) -> None:
        self.conn.execute("DELETE FROM aliases WHERE origin = ?", (origin,))

    def signatures(self) -> tuple[list[str], np.ndarray]:
        rows = self.conn.execute("SELECT article_id, minhash FROM signatures").fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.uint32)
        ids = [str(r[0]) for r in rows]
        return ids, np.vstack([np.frombuffer(r[1], dtype=np.uint32) for r in rows])

    def raw_text(self, article_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT raw_text FROM sources WHERE article_id = ?", (article_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def content_hashes(self) -> set[str]:
        """The hash of every stored text: what a reader can skip the costly work for."""
        return {str(r[0]) for r in self.conn.execute("SELECT content_hash FROM articles")}

    def origins(self) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT origin FROM articles")]

    def delete(self, conn: sqlite3.Connection, article_id: str) -> None:
        conn.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        conn.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))
        self.bump_generation(conn)

    @staticmethod
    def bump_generation(conn: sqlite3.Connection) -> None:
        """Mark that passages changed, so cached index statistics are recomputed."""
        ArticleStore.bump_counter(conn, "generation")

    @staticmethod
    def bump_counter(conn: sqlite3.Connection, key: str) -> None:
        """Add one to a counter in ``meta``, which other processes read to see a change."""
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (key,),
        )

    # --- chunks ---------------------------------------------------------------------------
    def chunks_of(self, article_id: str) -> list[StoredChunk]:
        rows = self.conn.execute(
            "SELECT * FROM chunks WHERE article_id = ? ORDER BY position", (article_id,)
        ).fetchall()
        return [StoredChunk(**dict(row)) for row in rows]

    def chunks_by_ids(self, chunk_ids: Iterable[str]) -> dict[str, StoredChunk]:
        ids = list(dict.fromkeys(chunk_ids))
        found: dict[str, StoredChunk] = {}
        for i in range(0, len(ids), 500):
            batch = ids[i : i + 500]
            marks = ",".join("?" * len(batch))
            for row in self.conn.execute(
                f"SELECT * FROM chunks WHERE chunk_id IN ({marks})", batch
            ):
                found[row["chunk_id"]] = StoredChunk(**dict(row))
        return found

    def duplicate_passages(self) -> int:
        """Passages whose exact text occurs twice within one article (should be none)."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM chunks "
            "GROUP BY article_id, start, end HAVING n > 1)"
        ).fetchone()
        return int(row[0])

    def all_chunk_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT chunk_id FROM chunks")}

    def article_ids_in_dates(self, date_from: str | None, date_to: str | None) -> set[str]:
        query = "SELECT article_id FROM articles WHERE date IS NOT NULL"
        params: list[str] = []
        if date_from:
            query += " AND date >= ?"
            params.append(date_from)
        if date_to:
            query += " AND date <= ?"
            params.append(date_to)
        return {row[0] for row in self.conn.execute(query, params)}

    # --- embedding cache ------------------------------------------------------------------
    def cached_vectors(self, keys: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            batch = list(keys[i : i + 500])
            marks = ",".join("?" * len(batch))
            for row in self.conn.execute(
                f"SELECT key, vector FROM embedding_cache WHERE key IN ({marks})", batch
            ):
                found[row[0]] = np.frombuffer(row[1], dtype=np.float32).tolist()
        return found

    def cache_vectors(self, items: dict[str, list[float]]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO embedding_cache(key, vector) VALUES (?, ?)",
            [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
        )

    # --- listings -------------------------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        rows = self.conn.execute(
            "SELECT a.article_id, a.title, a.date, a.origin, a.ingested_at, "
            "json_extract(a.extra, '$.url') AS link, "
            "json_extract(a.extra, '$.publisher') AS publisher, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.article_id) AS n "
            "FROM articles a ORDER BY a.date IS NULL, a.date DESC, a.title"
        ).fetchall()
        return [
            ArticleInfo(
                article_id=r["article_id"],
                title=r["title"],
                date=r["date"],
                origin=r["origin"],
                chunks=r["n"],
                ingested_at=r["ingested_at"],
                link=r["link"],
                publisher=r["publisher"],
            )
            for r in rows
        ]

    def stats(self) -> Stats:
        articles = self.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        chunks = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return Stats(articles=articles, chunks=chunks, last_ingest=self.get_meta("last_ingest"))
