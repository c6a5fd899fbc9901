"""The SQLite schema of a data dir, as numbered migrations (``PRAGMA user_version``).

Every store that opens the database (articles and passages, the lexical index, the fact table)
calls ``migrate`` first, so a data dir made by any earlier release is brought up to date in
one place, and a data dir made by a newer release is refused instead of half-understood.
To change the schema, append a migration; never edit one that has shipped.

1. Release 0.1: articles, passages, the embedding cache, raw sources, aliases, near-duplicate
   signatures, feeds, meta; the FTS5 lexical index and the fact table, with the triggers that
   delete an article's lexical rows and facts with it. Written with ``IF NOT EXISTS``, so data
   dirs made by 0.1 (which set no version) are adopted as they are.
2. Maintained term statistics: ``lexical_terms`` holds each term's passage count per column
   (and the passage count itself under ``('*', '*')``), filled from the FTS index once and then
   kept in step by the lexical index's inserts and the chunk delete trigger, so a question's
   document frequencies are primary-key lookups instead of ``fts5vocab`` scans. The trigger
   splits a deleted row's terms with ``tinbot_terms``, which ``migrate`` registers on every
   connection it opens; a connection without it cannot delete passages (and so cannot make
   the counts drift).
3. Follows (``index/follows.py``): ``follows`` (a chat's followed places and topics),
   ``follow_notices`` (one row per chat, article and content hash: what was matched, and
   whether it was sent, which makes a notice exactly-once across restarts and processes) and
   ``follow_scanned`` (the content hash of each article as the follow scanner last read it,
   filled here with every stored article, so that rewriting an unchanged article — ``reindex``,
   ``check --repair`` — is not news); an index on ``articles.updated_at`` for the scanner.
"""

from __future__ import annotations

import json
import sqlite3

from index.errors import ConfigError

_V1_STORE = """
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY,
    origin TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    date TEXT,
    author TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL REFERENCES articles(article_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id, position);
CREATE TABLE IF NOT EXISTS embedding_cache (
    key TEXT PRIMARY KEY,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    -- What the loader produced before cleaning, so cleaning can be redone and audited.
    article_id TEXT PRIMARY KEY REFERENCES articles(article_id) ON DELETE CASCADE,
    raw_text TEXT NOT NULL,
    content_type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (
    -- Another origin that delivered exactly an article's text: recorded, not indexed twice.
    origin TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(article_id) ON DELETE CASCADE,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(article_id) ON DELETE CASCADE,
    minhash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    last_polled TEXT,
    last_ok TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_url TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    link TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    article_id TEXT,
    fetched_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (feed_url, entry_key)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_V1_LEXICAL = """
CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(
    exact, folded, title_exact, title_folded,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS lexical_vocab USING fts5vocab(lexical, 'col');
CREATE TRIGGER IF NOT EXISTS chunks_lexical_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM lexical WHERE rowid = old.id;
END;
"""
_V1_FACTS = """
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    segment TEXT,
    measure TEXT NOT NULL,
    value REAL NOT NULL,
    high REAL,
    denominator REAL,
    bound TEXT NOT NULL,
    unit TEXT,
    figure TEXT NOT NULL,
    target INTEGER NOT NULL,
    per_year INTEGER NOT NULL,
    place TEXT,
    place_key TEXT,
    period TEXT,
    year_from INTEGER,
    year_to INTEGER,
    sentence TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    figure_start INTEGER NOT NULL,
    figure_end INTEGER NOT NULL,
    whole REAL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS facts_article ON facts(article_id);
CREATE INDEX IF NOT EXISTS facts_place_kind ON facts(place_key, kind);
CREATE TABLE IF NOT EXISTS facts_extracted (
    article_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS articles_facts_delete AFTER DELETE ON articles BEGIN
    DELETE FROM facts WHERE article_id = old.article_id;
    DELETE FROM facts_extracted WHERE article_id = old.article_id;
END;
"""

_V2_TERMS = """
CREATE TABLE lexical_terms (
    col TEXT NOT NULL,
    term TEXT NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (col, term)
) WITHOUT ROWID;
INSERT INTO lexical_terms(col, term, doc)
    SELECT col, term, doc FROM lexical_vocab WHERE col IN ('exact', 'folded');
INSERT INTO lexical_terms(col, term, doc) SELECT '*', '*', COUNT(*) FROM lexical;
DROP TRIGGER chunks_lexical_delete;
CREATE TRIGGER chunks_lexical_delete AFTER DELETE ON chunks BEGIN
    UPDATE lexical_terms SET doc = doc - 1 WHERE col = 'exact' AND term IN (
        SELECT value FROM json_each(tinbot_terms(
            (SELECT exact FROM lexical WHERE rowid = old.id))));
    UPDATE lexical_terms SET doc = doc - 1 WHERE col = 'folded' AND term IN (
        SELECT value FROM json_each(tinbot_terms(
            (SELECT folded FROM lexical WHERE rowid = old.id))));
    UPDATE lexical_terms SET doc = doc - 1
        WHERE col = '*' AND term = '*' AND EXISTS (SELECT 1 FROM lexical WHERE rowid = old.id);
    DELETE FROM lexical WHERE rowid = old.id;
END;
"""

_V3_FOLLOWS = """
CREATE TABLE follows (
    chat_id INTEGER NOT NULL,
    subject TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    digest INTEGER NOT NULL DEFAULT 0,
    user_id INTEGER,
    created_at TEXT NOT NULL,
    PRIMARY KEY (chat_id, subject_key)
) WITHOUT ROWID;
CREATE TABLE follow_notices (
    chat_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    subjects TEXT NOT NULL,
    digest INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dropped', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    PRIMARY KEY (chat_id, article_id, content_hash)
);
CREATE INDEX follow_notices_status ON follow_notices(status, digest);
CREATE TABLE follow_scanned (
    article_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO follow_scanned(article_id, content_hash) SELECT article_id, content_hash FROM articles;
CREATE INDEX articles_updated ON articles(updated_at);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, _V1_STORE + _V1_LEXICAL + _V1_FACTS),
    (2, _V2_TERMS),
    (3, _V3_FOLLOWS),
)
LATEST = MIGRATIONS[-1][0]


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def distinct_terms(indexed: str | None) -> str:
    """The distinct terms of an indexed column (space-separated), as a JSON array."""
    return json.dumps(sorted(set(indexed.split()))) if indexed else "[]"


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database has not had; returns its version."""
    conn.create_function("tinbot_terms", 1, distinct_terms, deterministic=True)
    current = version(conn)
    if current > LATEST:
        raise ConfigError(
            f"this data dir was written by a newer tinbot (schema {current}, this one knows "
            f"{LATEST}); upgrade tinbot or use another TINBOT_DATA_DIR"
        )
    for number, script in MIGRATIONS:
        if number > current:
            conn.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")
            current = number
    return current
