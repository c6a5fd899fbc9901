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
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bot.answer import evidence_from_hits, example_questions
from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.multi import answer_multi, is_multi
from bot.errors import IngestError, StoreLockedError, TinbotError
from bot.facts_answer import FactsAnswerer
from bot.query import Query, analyse
from bot.settings import Settings
from bot.types import (
    Answer,
    ArticleInfo,
    Evidence,
    IngestReport,
    IngestResult,
    IngestStatus,
    Passage,
    Stats,
)
from index.embeddings import Embedder
from index.facts import FactStore
from index.lexical import LexicalIndex
from index.retrieve import Hit, HybridRetriever
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.chunking import chunk_article
from ingest.facts import extract_facts
from ingest.loaders import LoadLimits, expand_source, is_url, load, load_bytes
from ingest.models import Article, RawDocument
from ingest.pipeline import prepare
from ingest.similarity import Signature, most_similar, signature

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 60.0
PENDING_KEY = "pending_write"
# Bumped by a writer before it first changes Chroma in a write session: a process whose embedded
# Chroma copy was loaded at an older value reloads it (see ``_sync_vectors``).
VECTORS_VERSION_KEY = "vectors_version"
_UNKNOWN = "?"


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
        self._vectors_seen = _UNKNOWN
        self._vectors_bumped = False
        with self._no_writer() as quiet:
            self.vectors = VectorStore(settings.chroma, embedder.name, embedder.dim)
            if quiet:
                self._vectors_seen = self._vectors_version()
        self.retriever = HybridRetriever(
            self.store,
            self.lexical,
            self.vectors,
            embedder,
            dense_weight=settings.dense_weight,
        )
        self.facts = FactStore(self.store.conn)
        self.answerer = ExtractiveAnswerer(self.lexical, self.store, self.facts)
        self.facts_answerer = FactsAnswerer(self.facts, self.store)
        try:
            # Articles stored before facts existed, or read by an older extractor: rules only,
            # nothing is embedded, so this is quick.
            self.facts.refresh(self.store)
        except sqlite3.OperationalError as exc:  # another process is writing; next open retries
            logger.warning("facts not refreshed: %s", exc)
        self._generator = None
        if settings.llm != "none":
            from bot.generate import build_generator

            self._generator = build_generator(settings)
        self._thread_lock = threading.Lock()
        self._signatures: tuple[list[str], np.ndarray, dict[str, int]] | None = None

    @classmethod
    def open(cls, settings: Settings) -> Tinbot:
        return cls(settings, settings.embedder_instance())

    def close(self) -> None:
        self.vectors.close()
        self.store.close()

    # --- the embedded Chroma copy and other processes --------------------------------------
    @property
    def _lock_path(self) -> Path:
        return self.settings.data_dir / "write.lock"

    @contextmanager
    def _no_writer(self) -> Iterator[bool]:
        """Hold writers off while this process loads Chroma; yields False, holding nothing, when
        one is writing right now (the load then counts as stale and is redone later)."""
        with open(self._lock_path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _vectors_version(self) -> str:
        return self.store.get_meta(VECTORS_VERSION_KEY) or ""

    def _sync_vectors(self, *, writing: bool = False) -> None:
        """Reload the embedded Chroma index when another process has changed it since this one
        loaded it. Readers reload only while no writer is busy, so they never load half of a
        write; meanwhile they answer from the older copy, whose passages the store filters.
        A writer already holds the write lock."""
        if not self.vectors.embedded or self._vectors_version() == self._vectors_seen:
            return
        with nullcontext(True) if writing else self._no_writer() as quiet:
            if quiet:
                current = self._vectors_version()
                self.vectors.reopen()
                self._vectors_seen = current

    def _vectors_will_change(self) -> None:
        if self._vectors_bumped:
            return
        self.store.bump_counter(self.store.conn, VECTORS_VERSION_KEY)
        self._vectors_seen = self._vectors_version()
        self._vectors_bumped = True

    # --- writing --------------------------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer per data dir across processes; waits a while, then says who holds it."""
        with self._thread_lock, open(self._lock_path, "a+") as handle:
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
            # Another process may have written since this one last held the lock.
            self._signatures = None
            try:
                self._sync_vectors(writing=True)
                yield
            finally:
                self._vectors_bumped = False
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

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
        self._mark_pending(article.article_id)
        self._vectors_will_change()
        self.vectors.upsert(
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
            self._vectors_will_change()
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
        self._mark_pending(article.article_id)
        self._vectors_will_change()
        with self.store.transaction() as conn:
            self.store.delete(conn, article.article_id)
        self.vectors.delete(self.vectors.ids_for_article(article.article_id))
        self._clear_pending()

    def verify(self) -> dict[str, int]:
        """Counts that must agree after any write or recovery: passages in the store, the
        lexical index and Chroma, and the vectors no passage owns (or passages without one)."""
        self._sync_vectors()
        live = self.store.all_chunk_ids()
        vector_ids = self.vectors.ids()
        return {
            "articles": self.store.stats().articles,
            "passages": len(live),
            "lexical": self.lexical.index_rows(),
            "vectors": len(vector_ids),
            "orphan_vectors": len(vector_ids - live),
            "missing_vectors": len(live - vector_ids),
            "duplicate_passages": self.store.duplicate_passages(),
        }

    def repair(self) -> dict[str, int]:
        """Delete orphan vectors and re-embed passages whose vectors are missing."""
        with self.write_lock():
            self.recover()
            live = self.store.all_chunk_ids()
            vector_ids = self.vectors.ids()
            orphans = vector_ids - live
            if orphans:
                self._vectors_will_change()
                self.vectors.delete(orphans)
            missing = live - vector_ids
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
            chroma = self.settings.data_dir / "chroma"
            if chroma.exists():
                shutil.copytree(chroma, dest / "chroma")
        return dest

    def reindex(self, *, progress: bool = False) -> int:
        """Rebuild passages, the lexical index and the vectors from the stored articles, e.g.
        after changing the embedding model or the chunk size."""
        with self.write_lock():
            self._vectors_will_change()
            self.vectors.close()
            self.vectors = VectorStore(
                self.settings.chroma, self.embedder.name, self.embedder.dim, recreate=True
            )
            self.retriever.vectors = self.vectors
            ids = [a.article_id for a in self.store.articles()]
            for article_id in tqdm(ids, desc="reindex", unit="article", disable=not progress):
                article = self.store.get(article_id)
                if article is not None:
                    self._write_article(article, article)
            return len(ids)

    # --- reading --------------------------------------------------------------------------
    def answer(
        self,
        question: str,
        *,
        history: list[tuple[str, str]] | None = None,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Answer:
        """Answer from all articles, or only those given / published in a date range."""
        evidence, baseline = self._prepare_answer(question, article_ids, date_from, date_to)
        if self._generator is None or not evidence:
            return baseline
        return self._generator.answer(question, evidence, baseline, history=history)

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        """The passages the answerer reads for a question, best first."""
        return self._search(analyse(question), k, article_ids, date_from, date_to)

    def _search(
        self,
        query: Query,
        k: int,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        self._sync_vectors()
        return self.retriever.search(
            query.search_text,
            k=k,
            article_ids=article_ids,
            date_from=date_from,
            date_to=date_to,
            about=query.entities,
        )

    def _prepare_answer(
        self,
        question: str,
        article_ids: Sequence[str] | None,
        date_from: str | None,
        date_to: str | None,
    ) -> tuple[list[Evidence], Answer]:
        """The numbered evidence a generator would read, and the answer given without one.

        Figures, comparisons, lists and totals come exactly from the fact table; a generator
        then receives the facts' sentences as the first numbered passages, and the fact answer is
        its fallback. Anything the facts cannot answer goes to retrieval and the extractive
        answerer.
        """
        query = analyse(question)
        from_facts = None
        if article_ids is None and date_from is None and date_to is None:
            # Comparisons, totals, lists: the fact table first (it knows each figure's kind,
            # place and period); a comparison or total it cannot make is split into one
            # question per place for the extractive answerer.
            from_facts = self.facts_answerer.answer(question, query, figures=False)
            if from_facts is not None and self._generator is None:
                return [], from_facts
            kind = is_multi(query)
            if from_facts is None and kind is not None and self._generator is None:
                multi = answer_multi(
                    query,
                    kind,
                    self._answer_one,
                    lambda q, c: self.answerer.fact_scores(q, c.article_id, c.start, c.end),
                )
                if multi is not None:
                    return [], multi
        hits = self._search(query, self.settings.top_k, article_ids, date_from, date_to)
        evidence = evidence_from_hits(hits, self.store)
        if from_facts is None:
            return evidence, self.answerer.answer(query, evidence)
        facts_evidence = [
            Evidence(
                n=0,
                chunk_id=f"fact-{c.article_id}-{c.start}",
                article_id=c.article_id,
                title=c.title,
                date=c.date,
                origin=c.origin,
                text=c.quote,
                start=c.start,
                end=c.end,
                score=1.0,
            )
            for c in from_facts.citations
        ]
        rest = [
            e
            for e in evidence
            if not any(
                f.article_id == e.article_id and f.start >= e.start and f.end <= e.end
                for f in facts_evidence
            )
        ]
        merged = (facts_evidence + rest)[: max(self.settings.top_k, len(facts_evidence))]
        return [replace(e, n=i) for i, e in enumerate(merged, start=1)], from_facts

    def _answer_one(self, query: Query) -> Answer:
        hits = self._search(query, self.settings.top_k)
        return self.answerer.answer(query, evidence_from_hits(hits, self.store))

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
        return example_questions(self.store, n)

    def explain(self, question: str, *, top: int = 5) -> dict[str, object]:
        """Why the extractive answerer answers or refuses: its best candidates with every
        feature and the probability (``tinbot ask --explain``)."""
        query = analyse(question)
        hits = self._search(query, self.settings.top_k)
        return self.answerer.explain(query, evidence_from_hits(hits, self.store), top)
