"""Ingesting sources and removing articles: what to do with each source, in batches.

Sources are read and cleaned a few ahead in a worker thread; each article is then decided on —
unchanged input is skipped without re-embedding, the same text from another origin becomes an
alias, near-duplicates follow ``TINBOT_NEAR_DUPLICATES`` — and the new or changed ones are
written in batches by ``bot.writing.ArticleWriter``, which keeps the stores consistent through a
crash. (Check, repair, backup and reindex are in ``bot.maintenance``.)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
from ingest.facts import Fact, extract_facts
from ingest.loaders import LoadLimits, expand_source, is_url, load, load_bytes
from ingest.models import Article, Chunk, RawDocument
from ingest.pipeline import prepare
from ingest.similarity import Signature, most_similar, signature

logger = logging.getLogger(__name__)


READ_AHEAD = 4  # sources read and cleaned ahead of the one being written

# A read source: what failed, or the document, its cleaned article and its fingerprint.
# (None for the signature and figures of a text already stored: unchanged, or an alias.)
_Read = IngestResult | tuple[RawDocument, Article, Signature | None, list[Fact] | None]


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


def _unexpected(exc: Exception) -> str:
    return f"could not be read ({type(exc).__name__}: {exc}; `tinbot --verbose` logs where)"


def _with_warnings(result: IngestResult, raw: RawDocument) -> IngestResult:
    """What the loader had to repair to read the source goes with its result."""
    return replace(result, warnings=raw.warnings) if raw.warnings else result


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

        with (
            ThreadPoolExecutor(1, thread_name_prefix="tinbot-read") as reader,
            _Lock(self) as lock,
        ):
            known = self.store.content_hashes()
            for origin, future in self._read_ahead(reader, origins, limits, known):
                bar.set_postfix_str(Path(origin).name[-30:], refresh=False)
                slot = len(results)
                results.append(None)
                if is_url(origin) and not future.done() and lock.held:
                    # A download can take up to the URL timeout; other writers (the bot
                    # ingesting an upload) go on meanwhile, the lock is taken again to write.
                    flush()
                    lock.release()
                read = future.result()
                if isinstance(read, IngestResult):
                    results[slot] = read
                    bar.update()
                    continue
                lock.take()
                raw, article, maybe_sig, facts = read
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

    def _read_ahead(
        self,
        reader: ThreadPoolExecutor,
        origins: Sequence[str],
        limits: LoadLimits,
        known: Collection[str],
    ) -> Iterator[tuple[str, Future[_Read]]]:
        """Each origin with the future of its reading, ``READ_AHEAD`` submitted in advance."""
        pending: deque[tuple[str, Future[_Read]]] = deque()
        queue = iter(origins)
        for origin in queue:
            pending.append((origin, reader.submit(self._read, origin, limits, known)))
            if len(pending) >= READ_AHEAD:
                break
        while pending:
            yield pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, reader.submit(self._read, following, limits, known)))

    @staticmethod
    def _read(origin: str, limits: LoadLimits, known: Collection[str] = ()) -> _Read:
        """Load, clean and fingerprint one source (in the reader thread). Whatever goes wrong
        with one source is that source's failure: the rest of a folder is still ingested."""
        try:
            raw = load(origin, limits)
        except IngestError as exc:
            return IngestResult(origin, "failed", reason=str(exc))
        except Exception as exc:  # a loader's bug must not end the whole ingest
            logger.debug("reading %s failed", origin, exc_info=True)
            return IngestResult(origin, "failed", reason=_unexpected(exc))
        try:
            article = prepare(raw)
            if article.content_hash in known:
                return raw, article, None, None  # unchanged or an alias: nothing to compute
            # Figures are read here too: pure Python, while the main thread waits on Chroma.
            return raw, article, signature(article.text), extract_facts(article)
        except IngestError as exc:
            return _with_warnings(IngestResult(raw.origin, "failed", reason=str(exc)), raw)
        except Exception as exc:
            logger.debug("cleaning %s failed", origin, exc_info=True)
            return _with_warnings(IngestResult(raw.origin, "failed", reason=_unexpected(exc)), raw)

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
