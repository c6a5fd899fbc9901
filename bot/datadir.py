"""The data dir several processes share: one writer at a time, and this process's copy of the
embedded Chroma index kept in step with what other processes write.

Writes (ingest) are serialised by a lock file in the data dir, so two ``tinbot ingest`` processes
or an ingest while the bot ingests an upload never interleave; reads go on during writes (SQLite
WAL, Chroma reads). An interrupted write leaves a pending marker that the next writer finishes.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

from bot.errors import StoreLockedError
from index.store import ArticleStore
from index.vectors import VectorStore

LOCK_WAIT_SECONDS = 60.0
PENDING_KEY = "pending_write"
# Bumped by a writer before it first changes Chroma in a write session: a process whose embedded
# Chroma copy was loaded at an older value reloads it (see ``sync_vectors``).
VECTORS_VERSION_KEY = "vectors_version"
_UNKNOWN = "?"


class DataDir:
    def __init__(
        self, path: Path, store: ArticleStore, open_vectors: Callable[[bool], VectorStore]
    ) -> None:
        self.path = path
        self.store = store
        self._open_vectors = open_vectors
        self._thread_lock = threading.Lock()
        self._vectors_seen = _UNKNOWN
        self._vectors_bumped = False
        with self._no_writer() as quiet:
            self.vectors = open_vectors(False)
            if quiet:
                self._vectors_seen = self._vectors_version()

    @property
    def lock_path(self) -> Path:
        return self.path / "write.lock"

    def close(self) -> None:
        self.vectors.close()

    # --- the embedded Chroma copy and other processes --------------------------------------
    @contextmanager
    def _no_writer(self) -> Iterator[bool]:
        """Hold writers off while this process loads Chroma; yields False, holding nothing, when
        one is writing right now (the load then counts as stale and is redone later)."""
        with open(self.lock_path, "a+") as handle:
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

    def sync_vectors(self, *, writing: bool = False) -> None:
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

    def vectors_will_change(self) -> None:
        """Call before the first Chroma change of a write session (see ``sync_vectors``)."""
        if self._vectors_bumped:
            return
        self.store.bump_counter(self.store.conn, VECTORS_VERSION_KEY)
        self._vectors_seen = self._vectors_version()
        self._vectors_bumped = True

    def recreate_vectors(self) -> VectorStore:
        """An empty collection in place of the current one (reindexing)."""
        self.vectors_will_change()
        self.vectors.close()
        self.vectors = self._open_vectors(True)
        return self.vectors

    # --- writing ---------------------------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer per data dir across processes; waits a while, then says who holds it."""
        with self._thread_lock, open(self.lock_path, "a+") as handle:
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
                            f"the data dir {self.path} is being written by "
                            f"{holder}; try again when it has finished"
                        ) from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            try:
                # Another process may have written since this one last held the lock.
                self.sync_vectors(writing=True)
                yield
            finally:
                self._vectors_bumped = False
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def mark_pending(self, article_ids: Sequence[str]) -> None:
        """The articles being written: what ``pending`` finds if the write is interrupted."""
        self.store.set_meta(PENDING_KEY, json.dumps(list(article_ids)))

    def clear_pending(self) -> None:
        self.store.conn.execute("DELETE FROM meta WHERE key = ?", (PENDING_KEY,))

    def pending(self) -> list[str]:
        value = self.store.get_meta(PENDING_KEY)
        if value is None:
            return []
        # Release 0.1 recorded a single article id, not a list.
        return [str(a) for a in json.loads(value)] if value.startswith("[") else [value]
