"""Keeping the stores in agreement: the consistency check, repair, backup and reindex.

These run under the same write lock as ingesting and use the ingester's writing path, but are
a job of their own: an operator's, not a source's.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tqdm import tqdm

from bot.errors import TinbotError
from bot.ingesting import Ingester


class Maintenance:
    def __init__(self, ingester: Ingester) -> None:
        self.ingester = ingester

    def verify(self) -> dict[str, int]:
        """Counts that must agree after any write or recovery: passages in the store, the
        lexical index and Chroma, and the vectors no passage owns (or passages without one)."""
        self.ingester.data.sync_vectors()
        live = self.ingester.store.all_chunk_ids()
        vector_ids = self.ingester.data.vectors.ids()
        return {
            "articles": self.ingester.store.stats().articles,
            "passages": len(live),
            "lexical": self.ingester.lexical.index_rows(),
            "vectors": len(vector_ids),
            "orphan_vectors": len(vector_ids - live),
            "missing_vectors": len(live - vector_ids),
            "duplicate_passages": self.ingester.store.duplicate_passages(),
            "term_stat_errors": self.ingester.lexical.term_stat_errors(),
        }

    def repair(self) -> dict[str, int]:
        """Delete orphan vectors and re-embed passages whose vectors are missing."""
        with self.ingester.write_lock():
            self.ingester.recover()
            live = self.ingester.store.all_chunk_ids()
            vector_ids = self.ingester.data.vectors.ids()
            orphans = vector_ids - live
            if orphans:
                self.ingester.data.vectors_will_change()
                self.ingester.data.vectors.delete(orphans)
            missing = live - vector_ids
            if self.ingester.lexical.term_stat_errors():
                with self.ingester.store.transaction() as conn:
                    self.ingester.lexical.rebuild_term_stats(conn)
            articles = {c.article_id for c in self.ingester.store.chunks_by_ids(missing).values()}
            for article_id in sorted(articles):
                article = self.ingester.store.get(article_id)
                if article is not None:
                    self.ingester.writer.rewrite(article, article)
            return {"orphans_deleted": len(orphans), "articles_rewritten": len(articles)}

    def backup(self, dest: Path) -> Path:
        """A consistent copy of the data dir: taken under the write lock (no ingest can run),
        SQLite through its online backup API so readers need not stop."""
        dest = dest.expanduser().resolve()
        if dest.exists() and any(dest.iterdir()):
            raise TinbotError(f"{dest} exists and is not empty; give a new folder")
        dest.mkdir(parents=True, exist_ok=True)
        with self.ingester.write_lock():
            target = sqlite3.connect(dest / "tinbot.sqlite3")
            try:
                self.ingester.store.conn.backup(target)
            finally:
                target.close()
            chroma = self.ingester.settings.chroma.path
            if chroma.exists():
                shutil.copytree(chroma, dest / "chroma")
        return dest

    def reindex(self, *, progress: bool = False) -> int:
        """Rebuild passages, the lexical index and the vectors from the stored articles, e.g.
        after changing the embedding model or the chunk size."""
        with self.ingester.write_lock():
            self.ingester.on_new_vectors(self.ingester.data.recreate_vectors())
            ids = [a.article_id for a in self.ingester.store.articles()]
            for article_id in tqdm(ids, desc="reindex", unit="article", disable=not progress):
                article = self.ingester.store.get(article_id)
                if article is not None:
                    self.ingester.writer.rewrite(article, article)
            return len(ids)
