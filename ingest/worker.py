"""Reading sources in a separate Python process, so that a bulk ingest reads (pure Python:
cleaning, figures, fingerprints) on one core while the writer embeds and stores on another.

A plain child interpreter (``python -m ingest.worker``) that answers pickled requests in order
over its stdin and stdout: unlike ``multiprocessing``'s spawn it never re-imports the caller's
main script (a script without an ``if __name__ == "__main__"`` guard would run again), and
unlike fork it does not inherit the parent's running threads (Chroma's, the model's).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Collection
from concurrent.futures import BrokenExecutor, Future
from typing import IO

from ingest.loaders import LoadLimits
from ingest.pipeline import SourceRead, read_source


class ReaderStopped(BrokenExecutor):
    """The reader process ended before answering."""


class ReaderProcess:
    """``submit`` a source, get a future of its reading; answers come in the order asked."""

    def __init__(self, known: Collection[str]) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._child = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._child.stdin is not None and self._child.stdout is not None
        self._requests: IO[bytes] = self._child.stdin
        self._pending: deque[Future[SourceRead]] = deque()
        self._lock = threading.Lock()
        self._stopped = False
        pickle.dump(frozenset(known), self._requests)
        self._requests.flush()
        self._answers = threading.Thread(
            target=self._collect, args=(self._child.stdout,), name="tinbot-reader", daemon=True
        )
        self._answers.start()

    def submit(self, origin: str, limits: LoadLimits) -> Future[SourceRead]:
        future: Future[SourceRead] = Future()
        with self._lock:
            if self._stopped:
                raise ReaderStopped("the reader process has stopped")
            self._pending.append(future)
            try:
                pickle.dump((origin, limits), self._requests)
                self._requests.flush()
            except OSError as exc:
                self._pending.pop()
                self._stop_locked()
                raise ReaderStopped("the reader process has stopped") from exc
        return future

    def _collect(self, answers: IO[bytes]) -> None:
        while True:
            try:
                read = pickle.load(answers)
            except Exception:  # EOF or a broken pipe: the child is gone
                with self._lock:
                    self._stop_locked()
                return
            with self._lock:
                future = self._pending.popleft() if self._pending else None
            if future is not None:
                future.set_result(read)

    def _stop_locked(self) -> None:
        self._stopped = True
        while self._pending:
            self._pending.popleft().set_exception(ReaderStopped("the reader process stopped"))

    def close(self) -> None:
        with self._lock:
            self._stopped = True
            unanswered = bool(self._pending)
        if unanswered:  # the ingest stopped early: reading what is queued would be wasted
            self._child.kill()
        with contextlib.suppress(OSError):
            self._requests.close()  # end of requests: the child exits
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._answers.join(timeout=10)
        with self._lock:
            self._stop_locked()


def main() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and closing the requests
    # ends this process (no second traceback from here).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = sys.stdin.buffer
    # Answers go on a private copy of stdout; anything printed lands on stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    known = pickle.load(requests)
    while True:
        try:
            origin, limits = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(read_source(origin, limits, known), answers)
        answers.flush()


if __name__ == "__main__":
    main()
