"""Ingesting sources and removing articles: what to do with each source, in batches.

Sources are read and cleaned a few ahead by a worker (a process for a folder of many files, so
that the reading runs on another core beside the writing; a thread otherwise); each article is
then decided on —
unchanged input is skipped without re-embedding, the same text from another origin becomes an
alias, near-duplicates follow ``TINBOT_NEAR_DUPLICATES`` — and the new or changed ones are
written in batches by ``bot.writing.ArticleWriter``, which keeps the stores consistent through a
crash. (Check, repair, backup and reindex are in ``bot.maintenance``.)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bot.datadir import DataDir
from bot.errors import IngestError
from bot.settings import Settings
from bot.signatures import KnownSignatures
from bot.types import IngestReport, IngestResult, IngestStatus
from bot.writing import ArticleWriter, Write
from index.embeddings import Embedder
from index.facts import FactStore
from index.lexical import LexicalIndex
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.facts import Fact
from ingest.loaders import LoadLimits, expand_source, is_url, load_bytes
from ingest.models import Article, Chunk, RawDocument
from ingest.pipeline import SourceRead, prepare, read_source
from ingest.similarity import Signature, most_similar, signature
from ingest.worker import ReaderProcess

logger = logging.getLogger(__name__)


READ_AHEAD = 32  # sources read and cleaned ahead of the one being written
# From this many sources on, they are read in a worker process: reading is pure Python (cleaning,
# figures, fingerprints), which a thread could only run while the writer waits on Chroma or
# SQLite. Fewer are not worth the process's start (about half a second).
PROCESS_MIN_SOURCES = 32


@dataclass
class _Planned:
    """An article to embed and write: everything decided before its batch is written."""

    slot: int
    raw: RawDocument
    article: Article
    existing: Article | None
    signature: Signature
    chunks: list[Chunk]
    reason: str | None = None
    replaces: Article | None = None
    facts: list[Fact] | None = None  # read ahead with the source


class _Lock:
    """The data dir's write lock, taken when there is something to write and released while
    waiting on a slow download; recovery runs each time it is taken."""

    def __init__(self, ingester: Ingester) -> None:
        self._ingester = ingester
        self._stack = ExitStack()
        self.held = False

    def take(self) -> None:
        if not self.held:
            self._stack.enter_context(self._ingester.write_lock())
            self.held = True
            self._ingester.recover()

    def release(self) -> None:
        self._stack.close()
        self.held = False

    def __enter__(self) -> _Lock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _with_warnings(result: IngestResult, raw: RawDocument) -> IngestResult:
    """What the loader had to repair to read the source goes with its result."""
    return replace(result, warnings=raw.warnings) if raw.warnings else result


def _failure(read: SourceRead) -> IngestResult | None:
    """The result of a source that could not be read (with what the loader repaired, if it
    was loaded), or None."""
    if read.error is None:
        return None
    if read.raw is None:
        return IngestResult(read.origin, "failed", reason=read.error)
    return _with_warnings(IngestResult(read.raw.origin, "failed", reason=read.error), read.raw)


class _Readers:
    """Where sources are read: worker processes for many (taking turns, so answers keep the
    order asked), else a thread. Should a process die (killed for memory, say), what it was
    reading and everything after is read by the thread instead: the ingest goes on."""

    def __init__(self, processes: int, known: Collection[str]) -> None:
        self._known = known
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tinbot-read")
        self._processes: list[ReaderProcess] = []
        self._turn = 0
        try:
            for _ in range(processes):
                self._processes.append(ReaderProcess(known))
        except OSError as exc:  # no interpreter to start (an embedded Python, say)
            logger.warning("no reader process (%s); reading in this process", exc)
            self._broken()

    def __enter__(self) -> _Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.shutdown(cancel_futures=True)
        for process in self._processes:
            process.close()

    def submit(self, origin: str, limits: LoadLimits) -> Future[SourceRead]:
        if self._processes:
            self._turn = (self._turn + 1) % len(self._processes)
            try:
                return self._processes[self._turn].submit(origin, limits)
            except BrokenExecutor:
                self._broken()
        return self._thread.submit(read_source, origin, limits, self._known)

    def result(self, origin: str, future: Future[SourceRead], limits: LoadLimits) -> SourceRead:
        try:
            return future.result()
        except BrokenExecutor:
            self._broken()
            return read_source(origin, limits, self._known)

    def _broken(self) -> None:
        if self._processes:
            logger.warning("a reader process stopped; reading the rest in this process")
            for process in self._processes:
                process.close()
            self._processes = []


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
        self.data = data
        self.store = store
        self.lexical = lexical
        self.facts = facts
        self.embedder = embedder
        self.on_new_vectors = on_new_vectors
        self.writer = ArticleWriter(data, store, lexical, facts, embedder, settings)
        self.signatures = KnownSignatures(store)

    @property
    def settings(self) -> Settings:
        return self.writer.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.writer.settings = settings

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        with self.data.write_lock():
            # Another process may have written since this one last held the lock.
            self.signatures.forget()
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
        one of the given folders that no longer exists are removed.

        Files are read and cleaned a few ahead in a worker thread while the model embeds, and
        articles are written in batches of about ``TINBOT_INGEST_BATCH`` passages: one embedding
        call, one Chroma call and one SQLite transaction per batch."""
        report = IngestReport()
        origins: list[str] = []
        for source in sources:
            try:
                found = expand_source(source)
            except IngestError as exc:
                report.results.append(IngestResult(origin=source, status="failed", reason=str(exc)))
                continue
            origins.extend(found.origins)
            report.results.extend(
                IngestResult(origin, "failed", reason=str(exc)) for origin, exc in found.refused
            )
        limits = self.limits()
        results: list[IngestResult | None] = []
        pruned: list[IngestResult] = []
        batch: list[_Planned] = []
        bar = tqdm(total=len(origins), desc="ingest", unit="article", disable=not progress)

        def flush() -> None:
            if batch:
                for planned, result in zip(batch, self._write_batch(batch), strict=True):
                    results[planned.slot] = result
                bar.update(len(batch))
                batch.clear()

        workers = self.settings.ingest_workers if len(origins) >= PROCESS_MIN_SOURCES else 0
        with _Lock(self) as lock, _Readers(workers, self.store.content_hashes()) as readers:
            for origin, reading in self._read_ahead(readers, origins, limits):
                bar.set_postfix_str(Path(origin).name[-30:], refresh=False)
                slot = len(results)
                results.append(None)
                if is_url(origin) and not reading.done() and lock.held:
                    # A download can take up to the URL timeout; other writers (the bot
                    # ingesting an upload) go on meanwhile, the lock is taken again to write.
                    flush()
                    lock.release()
                read = readers.result(origin, reading, limits)
                failed = _failure(read)
                if failed is not None:
                    results[slot] = failed
                    bar.update()
                    continue
                lock.take()
                raw, article, maybe_sig, facts = read.raw, read.article, read.signature, read.facts
                assert raw is not None and article is not None  # read_source sets both, or error
                unchanged = self._unchanged(raw, article)
                if unchanged is not None:
                    results[slot] = unchanged
                    bar.update()
                    continue
                sig = maybe_sig if maybe_sig is not None else signature(article.text)
                if self._depends_on(batch, article, sig):
                    flush()  # the batch must be in the store before this one is compared to it
                    unchanged = self._unchanged(raw, article)  # its twin may have been in it
                    if unchanged is not None:
                        results[slot] = unchanged
                        bar.update()
                        continue
                planned = self._plan(raw, article, sig, slot, facts)
                if isinstance(planned, IngestResult):
                    results[slot] = planned
                    bar.update()
                    continue
                batch.append(planned)
                if sum(len(p.chunks) for p in batch) >= self.settings.ingest_batch:
                    flush()
            flush()
            if prune:
                lock.take()
                folders = [Path(s).expanduser().resolve() for s in sources if Path(s).is_dir()]
                pruned = self._prune(folders)
        bar.close()
        report.results.extend(r for r in results if r is not None)
        report.results.extend(pruned)
        return report

    @staticmethod
    def _read_ahead(
        readers: _Readers, origins: Sequence[str], limits: LoadLimits
    ) -> Iterator[tuple[str, Future[SourceRead]]]:
        """Each origin with the future of its reading, ``READ_AHEAD`` submitted in advance."""
        pending: deque[tuple[str, Future[SourceRead]]] = deque()
        queue = iter(origins)
        for origin in queue:
            pending.append((origin, readers.submit(origin, limits)))
            if len(pending) >= READ_AHEAD:
                break
        while pending:
            yield pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, readers.submit(following, limits)))

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
            return _with_warnings(IngestResult(raw.origin, "failed", reason=str(exc)), raw)
        unchanged = self._unchanged(raw, article)
        if unchanged is not None:
            return unchanged
        planned = self._plan(raw, article, signature(article.text), 0)
        if isinstance(planned, IngestResult):
            return planned
        return self._write_batch([planned])[0]

    def _depends_on(self, batch: Sequence[_Planned], article: Article, sig: Signature) -> bool:
        """Whether deciding about ``article`` needs the batch written first: the same origin,
        text or id, or — when the policy skips or replaces near-duplicates — a near-duplicate
        of an article in the batch. (Kept both, a near-duplicate only changes the report's
        words, and the batch's signatures are known before it is written.)"""
        for planned in batch:
            other = planned.article
            if article.origin == other.origin or article.content_hash == other.content_hash:
                return True
            if article.article_id == other.article_id:
                return True
        if not batch or self.settings.near_duplicates == "keep-both":
            return False
        best = most_similar(sig, np.stack([p.signature for p in batch]))
        return best is not None and best[1] >= self.settings.near_duplicate_threshold

    def _unchanged(self, raw: RawDocument, article: Article) -> IngestResult | None:
        """The result for a text already stored: under this origin (unchanged), or under
        another (recorded as an alias, not indexed twice)."""
        existing = self.store.by_origin(article.origin)
        if existing is not None and existing.content_hash == article.content_hash:
            merged = {**existing.extra, **article.extra}
            if merged != existing.extra:
                self.store.update_extra(existing.article_id, merged)
            return _with_warnings(
                IngestResult(
                    article.origin,
                    "unchanged",
                    article.article_id,
                    existing.title,
                    chunks=len(self.store.chunks_of(existing.article_id)),
                ),
                raw,
            )
        twin = self.store.by_hash(article.content_hash)
        if twin is not None and twin.origin != article.origin:
            self.store.add_alias(article.origin, twin.article_id)
            return _with_warnings(
                IngestResult(
                    article.origin,
                    "unchanged",
                    twin.article_id,
                    twin.title,
                    reason=f"same text as {twin.origin}; recorded as an alias, not indexed twice",
                ),
                raw,
            )
        return None

    def _plan(
        self,
        raw: RawDocument,
        article: Article,
        sig: Signature,
        slot: int,
        facts: list[Fact] | None = None,
    ) -> IngestResult | _Planned:
        """What to do with a cleaned article that ``_unchanged`` found new or changed: a final
        result (skipped, failed), or the passages to embed and write."""
        existing = self.store.by_origin(article.origin)
        near = self.signatures.nearest(
            sig, article.article_id, self.settings.near_duplicate_threshold
        )
        reason = None
        replaced: Article | None = None
        if near is not None:
            other, score = near
            what = f"near-duplicate of {other.origin} ({score:.0%} similar)"
            policy = self.settings.near_duplicates
            if policy == "skip":
                return _with_warnings(
                    IngestResult(
                        article.origin, "skipped", other.article_id, other.title, reason=what
                    ),
                    raw,
                )
            if policy == "keep-newest":
                replaced = other
                reason = f"{what}; replaces it"
            else:
                reason = f"{what}; kept both"
        chunks = self.writer.chunks(article)
        if not chunks:
            return _with_warnings(
                IngestResult(
                    article.origin, "failed", reason=f"{article.origin}: no passages after cleaning"
                ),
                raw,
            )
        # Later articles of the same batch are compared with this one too.
        self.signatures.remember(article.article_id, sig, article)
        return _Planned(slot, raw, article, existing, sig, chunks, reason, replaced, facts)

    def _write_batch(self, batch: Sequence[_Planned]) -> list[IngestResult]:
        try:
            self.writer.write(
                [
                    Write(
                        p.article,
                        p.existing,
                        p.chunks,
                        p.raw.text,
                        p.signature.tobytes(),
                        p.facts,
                    )
                    for p in batch
                ]
            )
        except IngestError as exc:
            self.signatures.forget()
            return [
                _with_warnings(IngestResult(p.article.origin, "failed", reason=str(exc)), p.raw)
                for p in batch
            ]
        self.signatures.written()
        results: list[IngestResult] = []
        for p in batch:
            if p.replaces is not None:
                self._remove_locked(p.replaces)
            status: IngestStatus = "updated" if p.existing is not None else "added"
            result = IngestResult(
                p.article.origin,
                status,
                p.article.article_id,
                p.article.title,
                chunks=len(p.chunks),
                reason=p.reason,
            )
            results.append(_with_warnings(result, p.raw))
        return results

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

    def recover(self) -> list[str]:
        return self.writer.recover()

    def _remove_locked(self, article: Article) -> None:
        self.signatures.forget()
        self.writer.remove(article)

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
