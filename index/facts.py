"""The fact table: every figure of every article, in the service's SQLite store.

Facts live in the same database as their article and are written in the same transaction, so an
article and its facts never disagree; a trigger deletes an article's facts with its row.
``facts_extracted`` records which extractor version read each article, so an upgraded extractor
(or a data dir from before facts existed) re-reads only what is stale, with no re-embedding.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from index.migrations import migrate
from ingest.facts import Fact, extract_facts
from ingest.vietnamese import fold

if TYPE_CHECKING:
    from index.store import ArticleStore

# Bump when ingest.facts changes what it extracts: stale articles are re-read on open.
EXTRACTOR_VERSION = 12
ARTICLES_CACHED = 256  # articles whose facts are kept between questions

_COLUMNS = tuple(f.name for f in fields(Fact))
_BOOL_COLUMNS = frozenset({"target", "per_year"})


def _row_to_fact(row: Sequence[object]) -> Fact:
    values = dict(zip(_COLUMNS, row, strict=True))
    for name in _BOOL_COLUMNS:
        values[name] = bool(values[name])
    return Fact(**values)  # type: ignore[arg-type]


class FactStore:
    """Facts over an open store connection (``ArticleStore.conn``); writes go through the
    caller's transaction, like ``LexicalIndex``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._places_cache: tuple[str | None, list[str]] | None = None
        self._articles_cache: dict[str, list[Fact]] = {}
        self._articles_generation: str | None = None
        migrate(conn)

    def replace(self, conn: sqlite3.Connection, article_id: str, facts: Iterable[Fact]) -> int:
        """Make ``facts`` the article's facts; call inside the store's transaction."""
        self._places_cache = None
        self._articles_cache.clear()
        conn.execute("DELETE FROM facts WHERE article_id = ?", (article_id,))
        marks = ", ".join("?" * len(_COLUMNS))
        rows = []
        for fact in facts:
            if fact.article_id != article_id:
                raise ValueError(f"fact of {fact.article_id} given for {article_id}")
            rows.append(tuple(getattr(fact, name) for name in _COLUMNS))
        conn.executemany(f"INSERT INTO facts ({', '.join(_COLUMNS)}) VALUES ({marks})", rows)
        conn.execute(
            "INSERT INTO facts_extracted(article_id, version) VALUES (?, ?) "
            "ON CONFLICT(article_id) DO UPDATE SET version = excluded.version",
            (article_id, EXTRACTOR_VERSION),
        )
        return len(rows)

    def delete(self, conn: sqlite3.Connection, article_id: str) -> None:
        self._places_cache = None
        self._articles_cache.clear()
        conn.execute("DELETE FROM facts WHERE article_id = ?", (article_id,))
        conn.execute("DELETE FROM facts_extracted WHERE article_id = ?", (article_id,))

    def stale_article_ids(self) -> list[str]:
        """Stored articles whose facts are missing or from an older extractor."""
        rows = self.conn.execute(
            "SELECT a.article_id FROM articles a LEFT JOIN facts_extracted x "
            "ON x.article_id = a.article_id WHERE x.version IS NULL OR x.version != ?",
            (EXTRACTOR_VERSION,),
        ).fetchall()
        return [row[0] for row in rows]

    def refresh(self, store: ArticleStore) -> int:
        """Extract the facts of every stale article (see ``stale_article_ids``); returns how
        many articles were read. Cheap: rules only, nothing is embedded."""
        stale = self.stale_article_ids()
        for article_id in stale:
            article = store.get(article_id)
            if article is None:
                continue
            facts = extract_facts(article)
            with store.transaction() as conn:
                self.replace(conn, article_id, facts)
                store.bump_generation(conn)  # other processes drop their cached facts
        return len(stale)

    def query(
        self,
        place: str | None = None,
        year: int | None = None,
        kind: str | None = None,
        *,
        article_id: str | None = None,
        exact_place: str | None = None,
    ) -> list[Fact]:
        """Facts about a place (any part of its name, with or without diacritics: "Tuần Giáo",
        "tuan giao", "huyện Tuần Giáo"), whose period covers ``year``, of ``kind``.
        ``exact_place`` is a place as ``places()`` names it: looked up by index, where a part
        of a name has to read every fact (37 ms per question at 100k passages)."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM facts WHERE 1 = 1"
        params: list[object] = []
        if exact_place:
            sql += " AND place_key = ?"
            params.append(fold(exact_place).strip())
        if place:
            sql += " AND place_key LIKE ?"
            params.append(f"%{fold(place).strip()}%")
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if article_id:
            sql += " AND article_id = ?"
            params.append(article_id)
        if year is not None:
            # An open end ("từ năm 2015 đến nay", an undated "đến nay") covers the year.
            sql += (
                " AND (year_from IS NULL OR year_from <= ?) AND (year_to IS NULL OR year_to >= ?)"
                " AND (year_from IS NOT NULL OR year_to IS NOT NULL)"
            )
            params += [year, year]
        sql += " ORDER BY article_id, figure_start"
        return [_row_to_fact(tuple(row)) for row in self.conn.execute(sql, params)]

    def places(self) -> list[str]:
        """Every place that facts are about, most facts first. Cached until the next write:
        grouping every fact costs far more than a question may spend at 100k passages."""
        generation = self._generation()
        cached = self._places_cache
        if cached is not None and generation is not None and cached[0] == generation:
            return cached[1]
        rows = self.conn.execute(
            "SELECT place, COUNT(*) AS n FROM facts WHERE place IS NOT NULL "
            "GROUP BY place ORDER BY n DESC, place"
        ).fetchall()
        places = [row[0] for row in rows]
        self._places_cache = (generation, places)
        return places

    def of_article(self, article_id: str) -> list[Fact]:
        """An article's facts, in text order. Cached until the next write: the answerer asks
        for the same few articles' facts several times per question."""
        generation = self._generation()
        if generation is None:
            return self.query(article_id=article_id)
        if self._articles_generation != generation:
            self._articles_cache.clear()
            self._articles_generation = generation
        facts = self._articles_cache.get(article_id)
        if facts is None:
            facts = self.query(article_id=article_id)
            if len(self._articles_cache) >= ARTICLES_CACHED:
                self._articles_cache.pop(next(iter(self._articles_cache)))
            self._articles_cache[article_id] = facts
        return facts

    def _generation(self) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        except sqlite3.OperationalError:  # standalone use: no store, no generation counter
            return None
        return "0" if row is None else str(row[0])

    def is_empty(self) -> bool:
        """No fact at all: asked on every question, where counting them costs milliseconds."""
        return self.conn.execute("SELECT 1 FROM facts LIMIT 1").fetchone() is None

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM facts").fetchone()[0])
