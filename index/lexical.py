"""Ranked lexical search for Vietnamese on SQLite FTS5.

Each passage is indexed twice: as tone-unified lower-case syllables (``exact``) and fully folded
(``folded``: no diacritics, đ→d), each with adjacent-syllable pairs joined by ``_`` so "đảng viên"
and "kết nạp" match as units. The article title is indexed in two more columns with a lower weight,
because a figure's place is often only named there.

Folding collides ("đảng"/"đang" → "dang"), so an accented question searches both fields with the
exact one weighted higher; an unaccented question can only be matched through the folded field.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from index.store import StoredChunk
from ingest.vietnamese import fold, is_accented, keys, with_bigrams

# Question words and function words that say nothing about which passage answers
# (compared in folded form, so they also catch unaccented questions).
STOPWORDS = frozenset(
    """
    bao nhieu may gi nao the sao ai dau khi luc la co khong duoc cua va cac nhung mot trong
    o tai cho voi den tu da se hay hoac ve nay do thi ma nhu boi vi de len ra vao
    how many much what which who whom whose when where why the a an of in on at to for from by
    is are was were be been did do does has have had and or with about into than that this
    """.split()
)
# "dang" is deliberately not a stopword: it is "đảng" (party) far more often than "đang".

_QUOTE_RE = re.compile(r'["]')

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(
    exact, folded, title_exact, title_folded,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS lexical_vocab USING fts5vocab(lexical, 'col');
CREATE TRIGGER IF NOT EXISTS chunks_lexical_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM lexical WHERE rowid = old.id;
END;
"""


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # higher is better (negated bm25)


def index_terms(text: str) -> tuple[str, str]:
    """(exact, folded) token strings for the FTS columns."""
    exact = with_bigrams(keys(text))
    folded = with_bigrams([fold(k) for k in keys(text)])
    return " ".join(exact), " ".join(folded)


def query_terms(question: str) -> tuple[list[str], list[str]]:
    """Content terms of a question: syllables that are not stopwords, plus pairs of them."""
    syllables = keys(question)
    folded = [fold(s) for s in syllables]
    keep = [f not in STOPWORDS for f in folded]
    exact_terms = [s for s, k in zip(syllables, keep, strict=True) if k]
    folded_terms = [f for f, k in zip(folded, keep, strict=True) if k]
    for i in range(len(syllables) - 1):
        # A pair survives when either side carries content ("kết nạp được", "có đạo"); pairs
        # the corpus never contains are ignored by the answerer's weighting.
        if keep[i] or keep[i + 1]:
            exact_terms.append(f"{syllables[i]}_{syllables[i + 1]}")
            folded_terms.append(f"{folded[i]}_{folded[i + 1]}")
    return list(dict.fromkeys(exact_terms)), list(dict.fromkeys(folded_terms))


def _or(terms: Sequence[str]) -> str:
    return " OR ".join('"' + _QUOTE_RE.sub("", t) + '"' for t in terms)


class LexicalIndex:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(SCHEMA)

    def add(self, conn: sqlite3.Connection, chunks: Sequence[StoredChunk], title: str) -> None:
        """Index passages; call inside the store's transaction that inserted them."""
        title_exact, title_folded = index_terms(title)
        conn.executemany(
            "INSERT INTO lexical(rowid, exact, folded, title_exact, title_folded) "
            "VALUES (?, ?, ?, ?, ?)",
            [(c.id, *index_terms(c.text), title_exact, title_folded) for c in chunks],
        )

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM lexical").fetchone()[0])

    def doc_freqs(self, terms: Collection[str], column: str = "folded") -> dict[str, int]:
        """How many passages contain each term: the answerer's notion of a term's weight."""
        found = dict.fromkeys(terms, 0)
        for term in terms:
            row = self.conn.execute(
                "SELECT doc FROM lexical_vocab WHERE col = ? AND term = ?", (column, term)
            ).fetchone()
            if row is not None:
                found[term] = int(row[0])
        return found

    def search(
        self, question: str, k: int = 10, article_ids: Collection[str] | None = None
    ) -> list[LexicalHit]:
        exact_terms, folded_terms = query_terms(question)
        if not folded_terms:
            return []
        if is_accented(question):
            match = (
                f"{{exact title_exact}} : ({_or(exact_terms)}) OR "
                f"{{folded title_folded}} : ({_or(folded_terms)})"
            )
            weights = (1.0, 0.35, 0.4, 0.15)
        else:
            match = f"{{folded title_folded}} : ({_or(folded_terms)})"
            weights = (0.0, 1.0, 0.0, 0.4)
        sql = (
            "SELECT c.chunk_id, bm25(lexical, ?, ?, ?, ?) AS rank FROM lexical "
            "JOIN chunks c ON c.id = lexical.rowid WHERE lexical MATCH ?"
        )
        params: list[object] = [*weights, match]
        if article_ids is not None:
            ids = list(article_ids)
            if not ids:
                return []
            sql += f" AND c.article_id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        sql += " ORDER BY rank LIMIT ?"
        params.append(k)
        return [LexicalHit(row[0], -float(row[1])) for row in self.conn.execute(sql, params)]
