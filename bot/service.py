"""The tinbot service: one object that owns the stores and the model, used by the CLI and the bot.

Writes (ingest) are serialised by a lock file in the data dir, so two ``tinbot ingest`` processes
or an ingest while the bot ingests an upload never interleave; reads go on during writes (SQLite
WAL, Chroma reads).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from bot.answer import ExtractiveAnswerer, evidence_from_hits
from bot.errors import IngestError, StoreLockedError
from bot.query import analyse
from bot.settings import Settings
from bot.types import (
    Answer,
    ArticleInfo,
    IngestReport,
    IngestResult,
    IngestStatus,
    Passage,
    Stats,
)
from index.embeddings import Embedder, build_embedder
from index.lexical import LexicalIndex
from index.retrieve import HybridRetriever
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.chunking import chunk_article
from ingest.loaders import LoadLimits, expand_source, load, load_bytes
from ingest.models import Article, RawDocument
from ingest.pipeline import prepare

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 60.0
PENDING_KEY = "pending_write"


def embedding_context(article: Article) -> str:
    """What a passage is embedded with: a figure means little without its place and period."""
    parts = [article.title]
    if article.date:
        parts.append(article.date)
    return " — ".join(parts)


class Tinbot:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.store = ArticleStore(settings.data_dir / "tinbot.sqlite3")
        self.lexical = LexicalIndex(self.store.conn)
        self.vectors = VectorStore(settings, embedder.name, embedder.dim)
        self.retriever = HybridRetriever(
            self.store,
            self.lexical,
            self.vectors,
            embedder,
            dense_weight=settings.dense_weight,
        )
        self.answerer = ExtractiveAnswerer(self.lexical, self.store)
        self._generator = None
        if settings.llm != "none":
            from bot.generate import build_generator

            self._generator = build_generator(settings)
        self._thread_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> Tinbot:
        return cls(settings, build_embedder(settings))

    def close(self) -> None:
        self.store.close()

    # --- writing --------------------------------------------------------------------------
    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer per data dir across processes; waits a while, then says who holds it."""
        path = self.settings.data_dir / "write.lock"
        with self._thread_lock, open(path, "a+") as handle:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise StoreLockedError(
                            f"the data dir {self.settings.data_dir} is being written by "
                            f"{holder}; try again when it has finished"
                        ) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _limits(self) -> LoadLimits:
        return LoadLimits(
            max_bytes=self.settings.max_source_bytes,
            allow_private_urls=self.settings.allow_private_urls,
            timeout=self.settings.url_timeout,
        )

    def ingest(self, sources: Sequence[str], *, progress: bool = False) -> IngestReport:
        report = IngestReport()
        origins: list[str] = []
        for source in sources:
            try:
                origins.extend(expand_source(source))
            except IngestError as exc:
                report.results.append(IngestResult(origin=source, status="failed", reason=str(exc)))
        limits = self._limits()
        with self._write_lock():
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
        return report

    def ingest_bytes(self, data: bytes, *, filename: str, origin: str) -> IngestReport:
        report = IngestReport()
        try:
            raw = load_bytes(data, filename=filename, origin=origin, limits=self._limits())
        except IngestError as exc:
            report.results.append(IngestResult(origin, "failed", reason=str(exc)))
            return report
        with self._write_lock():
            self.recover()
            report.results.append(self._ingest_raw(raw))
        return report

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
            return IngestResult(
                article.origin,
                "unchanged",
                twin.article_id,
                twin.title,
                reason=f"same text as {twin.origin}; not indexed twice",
            )
        try:
            n = self._write_article(article, existing)
        except IngestError as exc:
            return IngestResult(article.origin, "failed", reason=str(exc))
        status: IngestStatus = "updated" if existing is not None else "added"
        return IngestResult(article.origin, status, article.article_id, article.title, chunks=n)

    def _write_article(self, article: Article, existing: Article | None) -> int:
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
        self._mark_pending(article.article_id)
        self.vectors.upsert(
            [c.chunk_id for c in chunks],
            vectors,
            [
                {"article_id": c.article_id, "position": c.position, "start": c.start, "end": c.end}
                for c in chunks
            ],
            [c.text for c in chunks],
        )
        with self.store.transaction() as conn:
            stored = self.store.put(conn, article, chunks, context)
            self.lexical.add(conn, stored, article.title)
        stale = old_ids - {c.chunk_id for c in chunks}
        if stale:
            self.vectors.delete(stale)
        self._clear_pending()
        return len(chunks)

    def _mark_pending(self, article_id: str) -> None:
        self.store.set_meta(PENDING_KEY, article_id)

    def _clear_pending(self) -> None:
        self.store.conn.execute("DELETE FROM meta WHERE key = ?", (PENDING_KEY,))

    def recover(self) -> str | None:
        """Finish what an interrupted write left behind: vectors of the article it was writing
        that the store does not reference. Returns that article's id, if any."""
        pending = self.store.get_meta(PENDING_KEY)
        if pending is None:
            return None
        live = {c.chunk_id for c in self.store.chunks_of(pending)}
        orphans = self.vectors.ids_for_article(pending) - live
        if orphans:
            logger.warning(
                "cleaning up %d passages of an interrupted write of %s", len(orphans), pending
            )
            self.vectors.delete(orphans)
        self._clear_pending()
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
        with self._write_lock():
            article = self.store.find(id_or_origin)
            if article is None:
                return None
            self.recover()
            self._mark_pending(article.article_id)
            with self.store.transaction() as conn:
                self.store.delete(conn, article.article_id)
            self.vectors.delete(self.vectors.ids_for_article(article.article_id))
            self._clear_pending()
            return article

    def reindex(self, *, progress: bool = False) -> int:
        """Rebuild passages, the lexical index and the vectors from the stored articles, e.g.
        after changing the embedding model or the chunk size."""
        with self._write_lock():
            self.vectors = VectorStore(
                self.settings, self.embedder.name, self.embedder.dim, recreate=True
            )
            self.retriever.vectors = self.vectors
            ids = [a.article_id for a in self.store.articles()]
            for article_id in tqdm(ids, desc="reindex", unit="article", disable=not progress):
                article = self.store.get(article_id)
                if article is not None:
                    self._write_article(article, article)
            return len(ids)

    # --- reading --------------------------------------------------------------------------
    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None) -> Answer:
        query = analyse(question)
        hits = self.retriever.search(query.search_text, k=self.settings.top_k)
        evidence = evidence_from_hits(hits, self.store)
        extractive = self.answerer.answer(question, evidence)
        if self._generator is None or not evidence:
            return extractive
        return self._generator.answer(question, evidence, extractive, history=history)

    def articles(self) -> list[ArticleInfo]:
        return self.store.articles()

    def stats(self) -> Stats:
        return self.store.stats()

    def passage(
        self, article_id: str, start: int, end: int, context_chars: int = 300
    ) -> Passage | None:
        article = self.store.get(article_id)
        if article is None or not 0 <= start <= end <= len(article.text):
            return None
        before = article.text[max(0, start - context_chars) : start]
        after = article.text[end : end + context_chars]
        return Passage(
            article_id=article.article_id,
            title=article.title,
            date=article.date,
            origin=article.origin,
            before=before,
            quote=article.text[start:end],
            after=after,
        )

    def example_questions(self, n: int = 3) -> list[str]:
        return self.answerer.example_questions(self.store, n)
