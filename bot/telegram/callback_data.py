"""What inline buttons carry: Telegram gives a button 64 bytes of callback data, so a button
names what it stands for ("s:<article>:<start>:<end>" for a passage, "f:<answer>:u" for a vote,
"p:<page>", "q:<article>") and ``decode`` accepts only what this bot produces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MAX_CALLBACK_DATA = 64  # bytes


@dataclass(frozen=True)
class SourceRef:
    article_id: str
    start: int
    end: int
    n: int | None = None


@dataclass(frozen=True)
class FeedbackRef:
    answer_id: int
    rating: Literal[1, -1]


@dataclass(frozen=True)
class PageRef:
    page: int


@dataclass(frozen=True)
class AskRef:
    """ "Ask about this article": the person's next question searches only this article."""

    article_id: str


CallbackRef = SourceRef | FeedbackRef | PageRef | AskRef

_SOURCE_RE = re.compile(r"s:([A-Za-z0-9_-]{1,40}):(\d{1,9}):(\d{1,9})(?::(\d{1,3}))?")
_FEEDBACK_RE = re.compile(r"f:(\d{1,18}):([ud])")
_PAGE_RE = re.compile(r"p:(\d{1,6})")
ASK_PREFIX = "q:"
_ASK_RE = re.compile(r"q:([A-Za-z0-9_-]{1,40})")


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


def encode_source(ref: SourceRef) -> str:
    n = f":{ref.n}" if ref.n is not None else ""
    return _checked(f"s:{ref.article_id}:{ref.start}:{ref.end}{n}")


def encode_feedback(ref: FeedbackRef) -> str:
    return _checked(f"f:{ref.answer_id}:{'u' if ref.rating == 1 else 'd'}")


def encode_page(ref: PageRef) -> str:
    return _checked(f"p:{ref.page}")


def encode_ask(ref: AskRef) -> str:
    return _checked(f"{ASK_PREFIX}{ref.article_id}")


def fits(ref: CallbackRef) -> bool:
    try:
        encode(ref)
    except ValueError:
        return False
    return True


def encode(ref: CallbackRef) -> str:
    if isinstance(ref, SourceRef):
        return encode_source(ref)
    if isinstance(ref, FeedbackRef):
        return encode_feedback(ref)
    if isinstance(ref, AskRef):
        return encode_ask(ref)
    return encode_page(ref)


def decode(data: str | None) -> CallbackRef | None:
    """Parse callback data; None for anything this bot did not produce."""
    if not data:
        return None
    if match := _SOURCE_RE.fullmatch(data):
        article_id, start, end, n = match.groups()
        if int(start) > int(end):
            return None
        return SourceRef(article_id, int(start), int(end), int(n) if n else None)
    if match := _FEEDBACK_RE.fullmatch(data):
        return FeedbackRef(int(match.group(1)), 1 if match.group(2) == "u" else -1)
    if match := _PAGE_RE.fullmatch(data):
        return PageRef(int(match.group(1)))
    if match := _ASK_RE.fullmatch(data):
        return AskRef(match.group(1))
    return None


@dataclass(frozen=True)
class Button:
    text: str
    callback: CallbackRef | None = None
    url: str | None = None
