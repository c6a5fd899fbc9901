"""Writing to the data dir: ingesting sources, removing articles, and the maintenance that keeps
the stores in agreement (recovery after an interrupted write, check and repair, backup, reindex).

Vectors go to Chroma before the SQLite transaction that makes an article's passages live, so a
crash in between leaves only unreferenced vectors, which retrieval ignores and ``recover``
deletes on the next write. Unchanged input is skipped without re-embedding; the same text from
another origin becomes an alias; near-duplicates follow ``TINBOT_NEAR_DUPLICATES``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bot.datadir import DataDir
from bot.errors import IngestError, TinbotError
from bot.settings import Settings
from bot.types import IngestReport, IngestResult, IngestStatus
from index.embeddings import Embedder
from index.facts import FactStore
from index.lexical import LexicalIndex
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.chunking import chunk_article
from ingest.facts import extract_facts
from ingest.loaders import LoadLimits, expand_source, is_url, load, load_bytes
from ingest.models import Article, RawDocument
from ingest.pipeline import prepare
from ingest.similarity import Signature, most_similar, signature

logger = logging.getLogger(__name__)


def embedding_context(article: Article) -> str:
    """What a passage is embedded with: a figure means little without its place and period."""
    parts = [article.title]
    if article.date:
        parts.append(article.date)
    return " — ".join(parts)


class Ingester:
    def __init__(
        self,
        settings: Settings,
        data: DataDir,
        store: ArticleStore,
        lexical: LexicalIndex,
        facts: FactStore,
        embedder: Embedder,
        on_new_vectors: Callable[[VectorStore], None],
    ) -> None:
        self.settings = settings
        self.data = data
        self.store = store
        self.lexical = lexical
        self.facts = facts
        self.embedder = embedder
        self.on_new_vectors = on_new_vectors
        self._signatures: tuple[list[str], np.ndarray, dict[str, int]] | None = None

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        with self.data.write_lock():
            # Another process may have written since this one last held the lock.
            self._signatures = None
            yield

    def limits(self) -> LoadLimits:
        return LoadLimits(
            max_bytes=self.settings.max_source_bytes,
            allow_private_urls=self.settings.allow_private_urls,
            timeout=self.settings.url_timeout,
        )

    def ingest(
        self, sources: Sequence[str], *, progress: bool = False, prune: bool = False
    ) -> IngestReport:
        """Ingest files, folders and URLs. With ``prune``, articles that came from a file under
        one of the given folders that no longer exists are removed."""
        report = IngestReport()
        origins: list[str] = []
        for source in sources:
            try:
                origins.extend(expand_source(source))
            except IngestError as exc:
                report.results.append(IngestResult(origin=source, status="failed", reason=str(exc)))
        limits = self.limits()
        with self.write_lock():
            self.recover()
            bar = tqdm(origins, desc="ingest", unit="article", disable=not progress, leave=False)
            for origin in bar:
                bar.set_postfix_str(Path(origin).name[-30:], refresh=False)
                try:
                    raw = load(origin, limits)
                except IngestError as exc:
                    report.results.append(IngestResult(origin, "failed", reason=str(exc)))
                    continue
                report.results.append(self._ingest_raw(raw))
            if prune:
                folders = [Path(s).expanduser().resolve() for s in sources if Path(s).is_dir()]
                report.results.extend(self._prune(folders))
        return report

    def ingest_bytes(self, data: bytes, *, filename: str, origin: str) -> IngestReport:
        report = IngestReport()
        try:
            raw = load_bytes(data, filename=filename, origin=origin, limits=self.limits())
        except IngestError as exc:
            report.results.append(IngestResult(origin, "failed", reason=str(exc)))
            return report
        with self.write_lock():
            self.recover()
            report.results.append(self._ingest_raw(raw))
        return report

    def ingest_raw(self, raw: RawDocument) -> IngestResult:
        """Ingest an already loaded document (feeds hand over entries this way)."""
        with self.write_lock():
            self.recover()
            return self._ingest_raw(raw)

    def _ingest_raw(self, raw: RawDocument) -> IngestResult:
        try:
            article = prepare(raw)
        except IngestError as exc:
            return IngestResult(raw.origin, "failed", reason=str(exc))
        existing = self.store.by_origin(article.origin)
        if existing is not None and existing.content_hash == article.content_hash:
            return IngestResult(
                article.origin,
                "unchanged",
                article.article_id,
                existing.title,
                chunks=len(self.store.chunks_of(existing.article_id)),
            )
        twin = self.store.by_hash(article.content_hash)
        if twin is not None and twin.origin != article.origin:
            self.store.add_alias(article.origin, twin.article_id)
            return IngestResult(
                article.origin,
                "unchanged",
                twin.article_id,
                twin.title,
                reason=f"same text as {twin.origin}; recorded as an alias, not indexed twice",
            )
        sig = signature(article.text)
        near = self._near_duplicate(sig, article.article_id)
        reason = None
        replaced: Article | None = None
        if near is not None:
            other, score = near
            what = f"near-duplicate of {other.origin} ({score:.0%} similar)"
            policy = self.settings.near_duplicates
            if policy == "skip":
                return IngestResult(
                    article.origin, "skipped", other.article_id, other.title, reason=what
                )
            if policy == "keep-newest":
                replaced = other
                reason = f"{what}; replaces it"
            else:
                reason = f"{what}; kept both"
        try:
            n = self._write_article(article, existing, raw_text=raw.text, minhash=sig.tobytes())
        except IngestError as exc:
            return IngestResult(article.origin, "failed", reason=str(exc))
        self._remember_signature(article.article_id, sig)
        if replaced is not None:
            self._remove_locked(replaced)
        status: IngestStatus = "updated" if existing is not None else "added"
        return IngestResult(
            article.origin, status, article.article_id, article.title, chunks=n, reason=reason
        )

    def _near_duplicate(self, sig: Signature, article_id: str) -> tuple[Article, float] | None:
        if self._signatures is None:
            # Loaded once per write session, then kept up to date by this writer (the lock
            # guarantees no other one), instead of re-reading every signature per article.
            ids, matrix = self.store.signatures()
            self._signatures = (ids, matrix, {a: i for i, a in enumerate(ids)})
        ids, matrix, _ = self._signatures
        if not ids:
            return None
        best = most_similar(sig, matrix)
        if best is not None and ids[best[0]] == article_id:
            # The article's own previous version: compare with everything else.
            others = [i for i, a in enumerate(ids) if a != article_id]
            found = most_similar(sig, matrix[others]) if others else None
            best = None if found is None else (others[found[0]], found[1])
        if best is None or best[1] < self.settings.near_duplicate_threshold:
            return None
        other = self.store.get(ids[best[0]])
        return None if other is None else (other, best[1])

    def _remember_signature(self, article_id: str, sig: Signature) -> None:
        if self._signatures is None:
            return
        ids, matrix, index = self._signatures
        if article_id in index:
            matrix[index[article_id]] = sig
            return
        index[article_id] = len(ids)
        ids.append(article_id)
        self._signatures = (ids, np.vstack([matrix, sig]) if matrix.size else sig[None, :], index)

    def _prune(self, folders: Sequence[Path]) -> list[IngestResult]:
        results: list[IngestResult] = []
        for origin in self.store.origins():
            if is_url(origin):
                continue
            path = Path(origin)
            if any(path.is_relative_to(f) for f in folders) and not path.exists():
                article = self.store.by_origin(origin)
                if article is not None:
                    self._remove_locked(article)
                    results.append(
                        IngestResult(
                            origin, "removed", article.article_id, article.title, reason="file gone"
                        )
                    )
        return results

    def _write_article(
        self,
        article: Article,
        existing: Article | None,
        *,
        raw_text: str | None = None,
        minhash: bytes | None = None,
    ) -> int:
        chunks = chunk_article(
            article, size=self.settings.chunk_size, overlap=self.settings.chunk_overlap
        )
        if not chunks:
            raise IngestError(f"{article.origin}: no passages after cleaning")
        context = embedding_context(article)
        texts = [f"{context}\n{c.text}" for c in chunks]
        vectors = self._embed_cached(texts)
        old_ids = (
            {c.chunk_id for c in self.store.chunks_of(existing.article_id)} if existing else set()
        )
        # Vectors first, then the SQLite transaction that makes the passages live: a crash in
        # between leaves only unreferenced vectors, which retrieval ignores and ``recover``
        # deletes on the next write.
        self.data.mark_pending(article.article_id)
        self.data.vectors_will_change()
        self.data.vectors.upsert(
            [c.chunk_id for c in chunks],
            vectors,
            [
                {"article_id": c.article_id, "position": c.position, "start": c.start, "end": c.end}
                for c in chunks
            ],
            [c.text for c in chunks],
        )
        facts = extract_facts(article)
        with self.store.transaction() as conn:
            stored = self.store.put(
                conn, article, chunks, context, raw_text=raw_text, minhash=minhash
            )
            self.lexical.add(conn, stored, article.title)
            self.facts.replace(conn, article.article_id, facts)
        stale = old_ids - {c.chunk_id for c in chunks}
        if stale:
            self.data.vectors.delete(stale)
        self.data.clear_pending()
        return len(chunks)

    def recover(self) -> str | None:
        """Finish what an interrupted write left behind: vectors of the article it was writing
        that the store does not reference. Returns that article's id, if any."""
        pending = self.data.pending()
        if pending is None:
            return None
        live = {c.chunk_id for c in self.store.chunks_of(pending)}
        orphans = self.data.vectors.ids_for_article(pending) - live
        if orphans:
            logger.warning(
                "cleaning up %d passages of an interrupted write of %s", len(orphans), pending
            )
            self.data.vectors_will_change()
            self.data.vectors.delete(orphans)
        self.data.clear_pending()
        return pending

    def _embed_cached(self, texts: list[str]) -> list[list[float]]:
        keys = [hashlib.sha1(f"{self.embedder.name}\n{t}".encode()).hexdigest() for t in texts]
        cached = self.store.cached_vectors(keys)
        missing = [i for i, k in enumerate(keys) if k not in cached]
        if missing:
            fresh = self.embedder.embed_documents([texts[i] for i in missing])
            new = {keys[i]: v for i, v in zip(missing, fresh, strict=True)}
            self.store.cache_vectors(new)
            cached.update(new)
        return [cached[k] for k in keys]

    def remove(self, id_or_origin: str) -> Article | None:
        """Delete an article and every passage of it from both indexes."""
        with self.write_lock():
            article = self.store.find(id_or_origin)
            if article is None:
                return None
            self.recover()
            self._remove_locked(article)
            return article

    def remove_alias(self, origin: str) -> Article | None:
        """Forget an alias origin; the article stays live under its own origin."""
        with self.write_lock():
            target = self.store.alias_target(origin)
            if target is None:
                return None
            self.store.remove_alias(origin)
            return self.store.get(target)

    def _remove_locked(self, article: Article) -> None:
        self._signatures = None
        self.data.mark_pending(article.article_id)
        self.data.vectors_will_change()
        with self.store.transaction() as conn:
            self.store.delete(conn, article.article_id)
        self.data.vectors.delete(self.data.vectors.ids_for_article(article.article_id))
        self.data.clear_pending()

    def verify(self) -> dict[str, int]:
        """Counts that must agree after any write or recovery: passages in the store, the
        lexical index and Chroma, and the vectors no passage owns (or passages without one)."""
        self.data.sync_vectors()
        live = self.store.all_chunk_ids()
        vector_ids = self.data.vectors.ids()
        return {
            "articles": self.store.stats().articles,
            "passages": len(live),
            "lexical": self.lexical.index_rows(),
            "vectors": len(vector_ids),
            "orphan_vectors": len(vector_ids - live),
            "missing_vectors": len(live - vector_ids),
            "duplicate_passages": self.store.duplicate_passages(),
            "term_stat_errors": self.lexical.term_stat_errors(),
        }

    def repair(self) -> dict[str, int]:
        """Delete orphan vectors and re-embed passages whose vectors are missing."""
        with self.write_lock():
            self.recover()
            live = self.store.all_chunk_ids()
            vector_ids = self.data.vectors.ids()
            orphans = vector_ids - live
            if orphans:
                self.data.vectors_will_change()
                self.data.vectors.delete(orphans)
            missing = live - vector_ids
            if self.lexical.term_stat_errors():
                with self.store.transaction() as conn:
                    self.lexical.rebuild_term_stats(conn)
            articles = {c.article_id for c in self.store.chunks_by_ids(missing).values()}
            for article_id in sorted(articles):
                article = self.store.get(article_id)
                if article is not None:
                    self._write_article(article, article)
            return {"orphans_deleted": len(orphans), "articles_rewritten": len(articles)}

    def backup(self, dest: Path) -> Path:
        """A consistent copy of the data dir: taken under the write lock (no ingest can run),
        SQLite through its online backup API so readers need not stop."""
        dest = dest.expanduser().resolve()
        if dest.exists() and any(dest.iterdir()):
            raise TinbotError(f"{dest} exists and is not empty; give a new folder")
        dest.mkdir(parents=True, exist_ok=True)
        with self.write_lock():
            target = sqlite3.connect(dest / "tinbot.sqlite3")
            try:
                self.store.conn.backup(target)
            finally:
                target.close()
            chroma = self.settings.chroma.path
            if chroma.exists():
                shutil.copytree(chroma, dest / "chroma")
        return dest

    def reindex(self, *, progress: bool = False) -> int:
        """Rebuild passages, the lexical index and the vectors from the stored articles, e.g.
        after changing the embedding model or the chunk size."""
        with self.write_lock():
            self.on_new_vectors(self.data.recreate_vectors())
            ids = [a.article_id for a in self.store.articles()]
            for article_id in tqdm(ids, desc="reindex", unit="article", disable=not progress):
                article = self.store.get(article_id)
                if article is not None:
                    self._write_article(article, article)
            return len(ids)
