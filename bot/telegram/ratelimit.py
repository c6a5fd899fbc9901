"""Per-user sliding-window rate limit on questions.

Telegram's own flood limits are handled by python-telegram-bot's ``AIORateLimiter``; this one
keeps a single user from monopolising the answerer (each question costs an embedding and a search).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class SlidingWindowLimiter:
    """At most ``limit`` events per key within any ``window`` seconds; ``limit`` 0 = unlimited."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        if window <= 0:
            raise ValueError("window must be > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable) -> float:
        """Record an event for ``key`` if allowed. Returns 0.0 when allowed, otherwise the
        seconds until the oldest event in the window expires (nothing is recorded then)."""
        if self.limit == 0:
            return 0.0
        now = self._clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= self._max_keys:
                    self._prune(now)
                events = self._events[key] = deque()
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(events[0] + self.window - now, 0.001)
            events.append(now)
            return 0.0

    def remaining(self, key: Hashable) -> int:
        if self.limit == 0:
            return -1
        now = self._clock()
        with self._lock:
            events = self._events.get(key, deque())
            return self.limit - sum(1 for t in events if t > now - self.window)

    def _prune(self, now: float) -> None:
        # Memory stays bounded however many users write: idle keys are dropped.
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.window]:
            del self._events[key]
