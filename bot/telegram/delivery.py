"""Getting each message to Telegram once: retry what Telegram provably did not act on, never
what it may have.

Every Bot API call passes through the application's rate limiter, so the policy lives there, in
one place, for answers, pages, toasts and files alike:

- **429** (flood control): wait ``retry_after`` and try again — python-telegram-bot's
  ``AIORateLimiter`` does this when given retries.
- **An error status** (500, 502, …): Telegram answered that it failed, so nothing was
  delivered: try again after a short back-off.
- **No connection** (refused, connect timeout, no free connection in the pool): the request
  never left, so try again.
- **Anything after the request was sent** (read timeout, connection dropped before the answer):
  the message may well have arrived. The Bot API has no way to ask, so the call is *not* retried
  — a person sees the answer once or, rarely, not at all, never twice — and the error is raised
  as ``DeliveryUnknown`` so the error handler does not send an apology on top.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

RETRIES = 4  # per call, for 429 and for failures known to have delivered nothing
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class DeliveryUnknown(NetworkError):
    """The request reached Telegram (or may have) but no answer came back."""


def delivered_nothing(exc: NetworkError) -> bool:
    """Whether a failed call certainly had no effect, so that sending it again is safe."""
    cause = exc.__cause__
    if isinstance(cause, _NOT_SENT):
        return True
    # python-telegram-bot raises NetworkError without a cause for an HTTP error status: the
    # server answered, and an error answer means it did not act on the request.
    return cause is None and not isinstance(exc, TimedOut)


class DeliveringRateLimiter(AIORateLimiter):
    """``AIORateLimiter`` (Telegram's flood limits, 429 retried) plus the retry policy above."""

    def __init__(self, retries: int = RETRIES) -> None:
        super().__init__(max_retries=retries)
        self.retries = retries

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        for attempt in range(self.retries + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except DeliveryUnknown:
                raise
            except NetworkError as exc:
                if endpoint == "getUpdates":
                    raise  # the updater has its own retry loop, and a fetch is always safe
                if not delivered_nothing(exc):
                    logger.warning("%s: delivery unknown, not sent again (%s)", endpoint, exc)
                    raise DeliveryUnknown(str(exc)) from exc
                if attempt == self.retries:
                    raise
                delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
                logger.info("%s failed (%s); trying again in %.1f s", endpoint, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
